"""Draw-level error: draw factors (a raised library or run), bursts (many sites spiking in one draw).

Methods of BackgroundModel, kept here so each concern stays small (see model.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .common import BURST_MIN_SITES, BURST_SHARE, HUBER_C, RAISED_Z, SITE, SPIKE_P, tail_p


class DrawEffects:
    """Draw factors and burst draws of a BackgroundModel."""

    def _fit_draw_factors(self, obs, index, rate) -> np.ndarray:
        """Per row, its draw's error factor from the draw's other panel sites (leave-this-site-out).

        Panel sites are those with `hotspot_min_patients` noise patients in the cohort (a patient's
        private sites, as in tumour-informed panels, never inform a factor). All of the draw's rows
        there count, carriers included, because a burst makes every site of its draw look like a
        carrier; instead, the factor starts from the median site and a site far from it is left out,
        so the draw's own variants do not move it."""
        alt = obs.alt_reads.to_numpy().astype(float)
        depth = obs.depth.to_numpy().astype(float)
        rate = self._own_other_rates(obs, index, rate, alt, depth)
        expected = depth * rate
        panel = np.zeros(len(obs), dtype=bool)
        read_often = np.zeros(len(obs), dtype=bool)
        rho = np.zeros(len(obs))  # beta-binomial rho of each row: relative overdispersion x rate
        own_draws = obs.groupby([*SITE, "patient"], sort=False)["sample"].transform("size").to_numpy()
        patients = obs.patient.to_numpy()
        for site, rows in index.items():
            entry = self.sites.get(site, {})
            carriers = set(entry.get("carriers", ()))
            # a cohort panel site, or a site the patient was read at in 3+ draws without carrying a
            # variant there (its own other draws say what the site's error is in this patient)
            cohort_panel = entry.get("n", 0) >= self.params.hotspot_min_patients
            read_often[rows] = cohort_panel | (own_draws[rows] >= 3)
            own = (own_draws[rows] >= 3) & np.array([p not in carriers for p in patients[rows]], dtype=bool)
            panel[rows] = cohort_panel | own
            rho[rows] = np.minimum(self._relative_dispersion(site) * rate[rows], self.params.max_dispersion)
        samples = obs["sample"].to_numpy()
        codes = pd.factorize(samples)[0]
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
        self._sum_draws(samples, alt * weight, expected * weight, weight, var)
        keys = list(zip(obs[SITE].itertuples(index=False, name=None), samples))
        self.draw_rows = {key: (a * w, e * w, v) for key, a, e, w, v in zip(keys, alt, expected, weight, var) if w > 0}
        factor = self._vector_factors(codes, alt * weight, expected * weight, weight > 0, leave_out=True, var=var)
        burst_mean = expected * median_factor
        # (bursts make their patients look like carriers at the spiked sites, so carriers count here;
        # a real variant is told apart by persisting from draw to draw)
        factor = np.maximum(factor, self._burst_factors(obs, samples, codes, read_often, alt, expected, burst_mean, depth, rho))
        # Factors are never below 1, so the typical draw has a factor a little above 1: site rates are
        # reported for the typical draw, and a draw's own rate is raised only above it.
        whole = self._vector_factors(codes, alt * weight, expected * weight, weight > 0, leave_out=False, var=var)
        counts = np.bincount(codes, weights=(weight > 0).astype(float)) if len(codes) else np.zeros(0)
        first = np.unique(codes, return_index=True)[1] if len(codes) else np.zeros(0, dtype=int)
        typical = whole[first][counts >= self.params.min_sites_for_draw_factor]
        # (the mean of the lower 90 %: bursts and raised runs are not typical)
        typical = np.sort(typical)[: max(1, int(np.ceil(0.9 * len(typical))))] if len(typical) else [1.0]
        self.typical_factor = float(np.mean(typical))
        return factor

    def _own_other_rates(self, obs, index, rate, alt, depth) -> np.ndarray:
        """Each row's site rate updated with the patient's other draws at the site (this draw left out),
        the cohort rate weighing its posterior weight in reads: where the cohort knows the site, little
        changes; where it does not, the patient's own draws tell how much the site errs in this patient,
        so a draw whose sites all err more than in the patient's other draws shows a raised factor."""
        keys = obs.groupby([*SITE, "patient"], sort=False).ngroup().to_numpy()
        other_alt = np.bincount(keys, weights=alt)[keys] - alt
        other_depth = np.bincount(keys, weights=depth)[keys] - depth
        weight = np.empty(len(obs))
        for site, rows in index.items():
            weight[rows] = self._site_posterior(site)[1]
        return np.where(other_depth > 0, (rate * weight + other_alt) / (weight + other_depth), rate)

    def _burst_factors(self, obs, samples, codes, panel, alt, expected, mean, depth, rho) -> np.ndarray:
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
        spike = panel & (tail_p(alt, depth, rate, rho) < SPIKE_P)
        # a patient's variant persists from one draw to the next; a burst does not (the same site
        # spiking in two consecutive draws of a patient by two bursts is rare)
        order = pd.DataFrame({"key": obs.groupby([*SITE, "patient"], sort=False).ngroup().to_numpy(),
                              "date": obs["date"].to_numpy() if "date" in obs else np.zeros(len(obs)),
                              "spike": spike})  # fmt: skip
        order = order.sort_values(["key", "date"], kind="stable")
        by_variant = order.groupby("key", sort=False)["spike"]
        beside = by_variant.shift(-1).fillna(False).astype(bool) | by_variant.shift(1).fillna(False).astype(bool)
        beside = beside.reindex(range(len(obs))).to_numpy()
        n_panel = np.bincount(codes, weights=panel.astype(float))

        def many(rows):  # per row: does its draw have enough of `rows` to be a burst?
            n = np.bincount(codes, weights=rows.astype(float), minlength=len(n_panel))
            return ((n >= BURST_MIN_SITES) & (n >= BURST_SHARE * n_panel))[codes]

        # and a variant the patient's other draws show (a truncal variant rising at progression),
        # judged without the patient's other burst candidates: a patient with two bursts would
        # otherwise have each burst's spikes 'shown' by the other
        candidate = many(spike & ~beside)
        keys = order["key"].sort_index().to_numpy()
        calm = (~candidate).astype(float)
        other_alt = np.bincount(keys, weights=alt * calm)[keys] - alt * calm
        other_mean = np.bincount(keys, weights=mean * calm)[keys] - mean * calm
        other_depth = np.bincount(keys, weights=depth * calm)[keys] - depth * calm
        other_rate = np.clip(other_mean / np.maximum(other_depth, 1.0), self.params.min_error, 0.5)
        shown = (other_depth > 0) & (tail_p(other_alt, other_depth, other_rate, 0.0) < SPIKE_P)
        transient = spike & ~beside & ~shown
        bursty = np.zeros(len(n_panel), dtype=bool)
        bursty[codes] = many(transient)
        out = np.ones(len(codes))
        if not bursty.any():
            return out
        ratio = alt / np.maximum(expected, 1e-9)  # (transient spikes have many reads: no smoothing)
        for code in np.flatnonzero(bursty):
            rows = np.flatnonzero((codes == code) & transient)
            # the largest ratio of its transient spikes: a burst spikes sites by different amounts,
            # and any of them could be the largest, so the null of a burst draw reaches its largest
            # spike (a variant the patient's other draws show is not a transient spike and cannot
            # set the null)
            value = float(max(ratio[rows].max(), 1.0))
            out[codes == code] = value
            self.burst[samples[rows[0]]] = value
        return out

    def _vector_factors(self, codes, alt, expected, used, leave_out: bool, floor: float = 1.0, var=None) -> np.ndarray:
        """draw_factor of every row at once (its own row left out when `leave_out`); with `var`
        (noise variances), 1 unless the draw's excess is significant."""
        if not len(codes):
            return np.ones(0)
        sum_alt, sum_exp = np.bincount(codes, weights=alt), np.bincount(codes, weights=expected)
        sum_n = np.bincount(codes, weights=used.astype(float))
        a, e, n = sum_alt[codes], sum_exp[codes], sum_n[codes]
        v = np.bincount(codes, weights=var)[codes] if var is not None else None
        if leave_out:
            a, e, n = np.maximum(a - alt, 0.0), np.maximum(e - expected, 0.0), n - used
            v = None if v is None else np.maximum(v - var, 0.0)
        k0 = self.params.draw_prior_errors
        factor = np.clip((a + k0) / (e + k0), floor, 1000.0)
        if v is not None:
            factor = np.where(a - e > RAISED_Z * np.sqrt(np.maximum(v, 1e-12)), factor, 1.0)
        return np.where(n >= self.params.min_sites_for_draw_factor, factor, 1.0)

    def _sum_draws(self, samples, alt, expected, weight, var):
        sums = pd.DataFrame({"sample": samples, "alt": alt, "exp": expected, "n": (weight > 0).astype(int), "var": var})
        sums = sums.groupby("sample", sort=False)[["alt", "exp", "n", "var"]].sum()
        self.draws = {s: (a, e, int(n), v) for s, a, e, n, v in zip(sums.index, sums.alt, sums.exp, sums.n, sums["var"])}
        self.draw_rows = {}

    def draw_factor(self, site, sample) -> float:
        """The draw's error factor from its other panel sites; 1 with too few of them."""
        burst = self.burst.get(sample, 1.0)
        if sample not in self.draws:
            return burst
        alt, expected, n, var = self.draws[sample]
        own = self.draw_rows.get((site, sample))
        if own is not None:
            alt, expected, n, var = max(alt - own[0], 0.0), max(expected - own[1], 0.0), n - 1, max(var - own[2], 0.0)
        if n < self.params.min_sites_for_draw_factor or alt - expected <= RAISED_Z * math.sqrt(max(var, 1e-12)):
            return burst
        k0 = self.params.draw_prior_errors
        # Never below 1: a draw that looks cleaner than the cohort by chance must not narrow the null.
        return max(min(max((alt + k0) / (expected + k0), 1.0), 1000.0), burst)
