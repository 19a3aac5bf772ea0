"""Draw-level error: draw factors (a raised library or run), bursts (many sites spiking in one draw).

Methods of BackgroundModel, kept here so each concern stays small (see model.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import BURST_MIN_SITES, BURST_SHARE, HUBER_C, RAISED_Z, SPIKE_P, tail_below


class DrawEffects:
    """Draw factors and burst draws of a BackgroundModel."""

    def _fit_draw_factors(self, obs, rate, carrier) -> np.ndarray:
        """Per row, its draw's error factor from the draw's other panel sites (leave-this-site-out).

        Panel sites are those with `hotspot_min_patients` noise patients in the cohort (a patient's
        private sites, as in tumour-informed panels, never inform a factor). All of the draw's rows
        there count, carriers included, because a burst makes every site of its draw look like a
        carrier; instead, the factor starts from the median site and a site far from it is left out,
        so the draw's own variants do not move it. `carrier`: rows of the sites' carrier patients."""
        rows = self.rows
        alt = obs.alt_reads.to_numpy().astype(float)
        depth = obs.depth.to_numpy().astype(float)
        rate = self._own_other_rates(rate, alt, depth)
        expected = depth * rate
        # a cohort panel site, or a site the patient was read at in 3+ draws without carrying a
        # variant there (its own other draws say what the site's error is in this patient)
        cohort_panel = self._site_values(lambda site: self.sites.get(site, {}).get("n", 0))[rows.site]
        cohort_panel = cohort_panel >= self.params.hotspot_min_patients
        read_often = cohort_panel | (np.bincount(rows.key)[rows.key] >= 3)
        carrier_key = np.bincount(rows.key, weights=carrier, minlength=len(rows.pair)) > 0
        panel = cohort_panel | (read_often & ~carrier_key[rows.key])
        # beta-binomial rho of each row: relative overdispersion x rate
        rho = np.minimum(self._site_values(self._relative_dispersion)[rows.site] * rate, self.params.max_dispersion)
        codes = rows.draw
        # Start from the median observed/expected ratio of the draw's panel sites (a few variants
        # cannot move it), then pool the sites within HUBER_C standard deviations of the factor,
        # overdispersion included: a variant is left out entirely, a burst draw keeps its sites.
        ratio = pd.Series((alt + 0.5) / (expected + 0.5))[panel]
        start = ratio.groupby(codes[panel]).median()
        factor = start.reindex(codes).fillna(1.0).to_numpy()
        median_factor = np.maximum(factor, 1.0)
        weight = panel.astype(float)
        for _ in range(5):
            mean = expected * factor
            residual = np.abs(alt - mean) / np.sqrt(np.maximum(mean * (1 + depth * rho), 1e-12))
            weight = (panel & (residual <= HUBER_C)).astype(float)
            factor = self._vector_factors(codes, alt * weight, expected * weight, weight > 0, leave_out=False, floor=0.0)
        # Noise variance of each site at factor 1: a draw counts as noisier only when its excess is
        # significant beyond it (RAISED_Z), as chance excesses would widen ordinary draws' nulls.
        var = expected * (1 + depth * rho) * weight
        self._sum_draws(alt * weight, expected * weight, weight, var)
        factor = self._vector_factors(codes, alt * weight, expected * weight, weight > 0, leave_out=True, var=var)
        burst_mean = expected * median_factor
        # (bursts make their patients look like carriers at the spiked sites, so carriers count here;
        # a real variant is told apart by persisting from draw to draw)
        factor = np.maximum(factor, self._burst_factors(codes, read_often, alt, expected, burst_mean, depth, rho))
        # Factors are never below 1, so the typical draw has a factor a little above 1: site rates are
        # reported for the typical draw, and a draw's own rate is raised only above it.
        whole = self._vector_factors(codes, alt * weight, expected * weight, weight > 0, leave_out=False, var=var)
        counts = np.bincount(codes, weights=(weight > 0).astype(float)) if len(codes) else np.zeros(0)
        typical = whole[rows.draw_first][counts >= self.params.min_sites_for_draw_factor]
        # (the mean of the lower 90 %: bursts and raised runs are not typical)
        typical = np.sort(typical)[: max(1, int(np.ceil(0.9 * len(typical))))] if len(typical) else [1.0]
        self.typical_factor = float(np.mean(typical))
        return factor

    def _own_other_rates(self, rate, alt, depth) -> np.ndarray:
        """Each row's site rate updated with the patient's other draws at the site (this draw left out),
        the cohort rate weighing its posterior weight in reads: where the cohort knows the site, little
        changes; where it does not, the patient's own draws tell how much the site errs in this patient,
        so a draw whose sites all err more than in the patient's other draws shows a raised factor."""
        keys = self.rows.key
        other_alt = np.bincount(keys, weights=alt)[keys] - alt
        other_depth = np.bincount(keys, weights=depth)[keys] - depth
        weight = self._site_values(lambda site: self._site_posterior(site)[1])[self.rows.site]
        return np.where(other_depth > 0, (rate * weight + other_alt) / (weight + other_depth), rate)

    def _burst_factors(self, codes, panel, alt, expected, mean, depth, rho) -> np.ndarray:
        """Per row, the error factor of its draw when many of the draw's panel sites spike at once
        (a burst: a library or run problem that hits some sites of a draw, not all), else 1.

        A site spikes when its count is improbable (p < SPIKE_P) at the draw's median site's factor
        (a pooled factor would be pulled up by the spikes themselves). A patient's variant persists from draw to
        draw, so only a site that spikes in neither the patient's previous nor its next draw, and
        that the patient's other draws together do not show, counts. A draw
        with at least BURST_MIN_SITES transient spikes making up BURST_SHARE of its panel sites is a
        burst draw; its factor is the largest observed/expected ratio of its transient spikes, so the
        spiked sites are judged against the spikes, not against the quiet sites."""
        self.burst = {}
        if not len(codes):
            return np.ones(0)
        rate = np.clip(mean / np.maximum(depth, 1.0), self.params.min_error, 0.5)
        spike = panel & (tail_below(alt, depth, rate, rho, SPIKE_P))
        # a patient's variant persists from one draw to the next; a burst does not (the same site
        # spiking in two consecutive draws of a patient by two bursts is rare)
        keys = self.rows.key
        beside = self._spike_beside(keys, spike)
        n_panel = np.bincount(codes, weights=panel.astype(float))

        def many(rows):  # per draw: does it have enough of `rows` to be a burst?
            n = np.bincount(codes, weights=rows.astype(float), minlength=len(n_panel))
            return (n >= BURST_MIN_SITES) & (n >= BURST_SHARE * n_panel)

        # and a variant the patient's other draws show (a truncal variant rising at progression),
        # judged without the patient's other burst candidates: a patient with two bursts would
        # otherwise have each burst's spikes 'shown' by the other
        calm = (~many(spike & ~beside)[codes]).astype(float)
        other_alt = np.bincount(keys, weights=alt * calm)[keys] - alt * calm
        other_mean = np.bincount(keys, weights=mean * calm)[keys] - mean * calm
        other_depth = np.bincount(keys, weights=depth * calm)[keys] - depth * calm
        other_rate = np.clip(other_mean / np.maximum(other_depth, 1.0), self.params.min_error, 0.5)
        shown = (other_depth > 0) & (tail_below(other_alt, other_depth, other_rate, 0.0, SPIKE_P))
        transient = spike & ~beside & ~shown
        bursty = many(transient)
        if not bursty.any():
            return np.ones(len(codes))
        # the largest ratio of a burst draw's transient spikes: a burst spikes sites by different
        # amounts, and any of them could be the largest, so the null of a burst draw reaches its
        # largest spike (a variant the patient's other draws show is not a transient spike and cannot
        # set the null). (Transient spikes have many reads: no smoothing.)
        largest = np.full(len(n_panel), -np.inf)
        np.maximum.at(largest, codes[transient], (alt / np.maximum(expected, 1e-9))[transient])
        value = np.where(bursty, np.maximum(largest, 1.0), 1.0)
        names = self.rows.draws
        self.burst = {names[code]: float(value[code]) for code in np.flatnonzero(bursty)}
        return value[codes]

    def _spike_beside(self, keys, spike) -> np.ndarray:
        """Per row: does the same (site, patient) spike in its previous or its next draw (by date)?"""
        order = self.rows.by_key_date  # (stable: draws of one date keep their order)
        key, spiked = keys[order], spike[order]
        same = key[1:] == key[:-1]
        beside = np.zeros(len(keys), dtype=bool)
        beside[:-1] |= spiked[1:] & same  # the next draw spikes
        beside[1:] |= spiked[:-1] & same  # the previous draw spikes
        out = np.empty(len(keys), dtype=bool)
        out[order] = beside
        return out

    def _vector_factors(self, codes, alt, expected, used, leave_out: bool, floor: float = 1.0, var=None) -> np.ndarray:
        """draw_factor of every row at once (its own row left out when `leave_out`); with `var`
        (noise variances), 1 unless the draw's excess is significant."""
        if not len(codes):
            return np.ones(0)
        a, e = np.bincount(codes, weights=alt), np.bincount(codes, weights=expected)
        n = np.bincount(codes, weights=used.astype(float))
        v = None if var is None else np.bincount(codes, weights=var)
        if not leave_out:  # one factor per draw
            return self._factor(a, e, n, v, floor)[codes]
        a, e, n = np.maximum(a[codes] - alt, 0.0), np.maximum(e[codes] - expected, 0.0), n[codes] - used
        return self._factor(a, e, n, None if v is None else np.maximum(v[codes] - var, 0.0), floor)

    def _factor(self, a, e, n, v, floor) -> np.ndarray:
        """The error factor from sums of alt reads, expected errors, sites and noise variances (or None)."""
        k0 = self.params.draw_prior_errors
        factor = np.clip((a + k0) / (e + k0), floor, 1000.0)
        if v is not None:
            factor = np.where(a - e > RAISED_Z * np.sqrt(np.maximum(v, 1e-12)), factor, 1.0)
        return np.where(n >= self.params.min_sites_for_draw_factor, factor, 1.0)

    def _sum_draws(self, alt, expected, weight, var):
        """Per draw, the sums of its noise rows (alt reads, expected errors, number, noise variance),
        and each noise row's own part, for draw_factors (leave-this-site-out)."""
        rows = self.rows
        sums = pd.DataFrame({"draw": rows.draw, "alt": alt, "exp": expected, "n": (weight > 0).astype(int), "var": var})
        # (pandas sums: its compensated float sums are the fitted values)
        self.draws = sums.groupby("draw", sort=False)[["alt", "exp", "n", "var"]].sum().sort_index()
        self.draws.index = rows.draws[self.draws.index]
        used = rows.by_site_draw[weight[rows.by_site_draw] > 0]  # sorted by (site, draw)
        pair = rows.site[used] * max(len(rows.draws), 1) + rows.draw[used]
        self.draw_rows = (pair, alt[used], expected[used], var[used])

    def draw_factors(self, site, sample) -> np.ndarray:
        """Each (site, draw)'s error factor from the draw's other panel sites (1 with too few of them),
        or its burst factor if higher; `site`: fitted site codes (-1: not fitted), `sample`: draw names."""
        burst = pd.Series(self.burst, dtype=float).reindex(np.asarray(sample, dtype=object)).fillna(1.0).to_numpy()
        if self.draws is None or not len(self.draws):
            return burst
        draw = self.draws.index.get_indexer(pd.Index(np.asarray(sample, dtype=object), dtype=object))
        known = draw >= 0
        at = np.where(known, draw, 0)
        alt, expected = self.draws["alt"].to_numpy()[at], self.draws["exp"].to_numpy()[at]
        n, var = self.draws["n"].to_numpy()[at], self.draws["var"].to_numpy()[at]
        # the row itself left out (the last one, should a draw list a site twice)
        pairs, own_alt, own_expected, own_var = self.draw_rows
        if len(pairs):
            pair = site * len(self.draws) + draw
            last = np.maximum(np.searchsorted(pairs, pair, "right") - 1, 0)
            own = known & (site >= 0) & (pairs[last] == pair)
            alt = np.where(own, np.maximum(alt - own_alt[last], 0.0), alt)
            expected = np.where(own, np.maximum(expected - own_expected[last], 0.0), expected)
            var = np.where(own, np.maximum(var - own_var[last], 0.0), var)
            n = n - own
        k0 = self.params.draw_prior_errors
        # Never below 1: a draw that looks cleaner than the cohort by chance must not narrow the null.
        raised = np.maximum(np.minimum(np.maximum((alt + k0) / (expected + k0), 1.0), 1000.0), burst)
        significant = known & (n >= self.params.min_sites_for_draw_factor)
        significant &= ~(alt - expected <= RAISED_Z * np.sqrt(np.maximum(var, 1e-12)))
        return np.where(significant, raised, burst)
