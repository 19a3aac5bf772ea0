"""The background model: noise-only site rates, carriers, class priors, overdispersion and each draw's null
(the method is described in the package docstring, ctdna_monitor.background)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import (
    BACKGROUND_COLUMNS,
    CLASS_CEILING_FOLD,
    HOTSPOT_CAP_PATIENTS,
    MAX_RELATIVE_DISPERSION,
    MIN_PRIOR_KAPPA,
    MIN_SITES_FOR_PRIOR,
    QUIET_P,
    RECURRENT,
    SITE,
    SITE_RHO_FOLD,
    BackgroundParams,
    Null,
    RowCodes,
    _days,
    _empty_entry,
    _empty_obs,
    substitution,
    substitutions,
    tail_below,
)  # fmt: skip
from .draws import DrawEffects
from .observations import counted
from .time_effects import TimeEffects


class BackgroundModel(DrawEffects, TimeEffects):
    """Fitted error rates; `null(site, patient)` gives the leave-that-patient-out error model and
    `per_draw(rows)` the error of each (site, draw) row, draw factors and per-draw tables included."""

    def __init__(self, params: BackgroundParams, observations=None, table=None, normals=None):
        self.params = params
        self.class_rate: dict[str, float] = {}
        self.class_dispersion: dict[str, float] = {}  # relative: rho / rate
        self.class_mean: dict[str, float] = {}
        self.class_kappa: dict[str, float] = {}
        self.overall_dispersion: float | None = None
        self.table = {}  # site -> (rate, dispersion) from a panel-of-normals table
        self.table_draws = {}  # (site, sample) -> (rate, dispersion): a draw's own error
        self.sites = {}  # site -> dict of noise-only sums and carriers
        self.site_dispersion: dict[tuple, float] = {}
        self.draws = None  # per draw: its noise rows' sums (alt, exp, n, var), for draw factors
        self.draw_rows = None  # (site, draw) keys of the noise rows and their parts of those sums
        self.exposure = np.zeros(0)
        self.typical_factor = 1.0
        self.local = None  # running sums of the noise rows per site and per (site, patient), by date
        self.own = None  # running sums of each (site, patient)'s draws by date, for _own_past
        self.obs, self.rows = _empty_obs(), None  # the fitted rows and their integer codes (RowCodes)
        self.dated = None  # the fitted rows in date order per site and per (site, patient) (DateIndex)
        self.burst = {}  # sample -> error factor of a draw where many sites spike at once
        self._read_table(table)
        obs = _empty_obs() if observations is None else counted(observations)
        normal_obs = _empty_obs() if normals is None else counted(normals)
        self._fit(obs, normal_obs)

    def _read_table(self, table):
        if table is None or not len(table):
            return
        for row in table.to_dict("records"):
            dispersion = row.get("dispersion", np.nan)
            dispersion = self.params.default_dispersion if pd.isna(dispersion) else float(dispersion)
            site = (row["chrom"], int(row["pos"]), row["ref"], row["alt"])
            sample = row.get("sample", "")
            if isinstance(sample, str) and sample:
                self.table_draws[(site, sample)] = (float(row["error_rate"]), dispersion)
            else:
                self.table[site] = (float(row["error_rate"]), dispersion)

    # ------------------------------------------------------------------ fitting

    def _fit(self, obs: pd.DataFrame, normals: pd.DataFrame):
        obs = obs.reset_index(drop=True)
        for frame in (obs, normals):
            frame["substitution"] = substitutions(frame.ref, frame.alt)
        index = obs.groupby(SITE, sort=False).indices
        self.obs, self.rows = obs, RowCodes.of(obs, index)
        factor = np.ones(len(obs))
        rate = self._start_rates(obs)
        days = _days(obs)
        self._index_dates(days)
        windows = None if days is None else self._windows(self.rows.site, self.rows.key, days)  # (the same every round)
        local = rate
        # Carriers are judged with the class dispersion (the median over sites resists the sites
        # where carriers dominate: a site's own estimate would widen its null around its carriers);
        # the first round uses all draws below the ceiling.
        self._fit_dispersion(obs, index, ~self._above_ceiling(obs, rate), rate)
        # Which draws are noise depends on the rates, dispersions and draw factors, which are
        # estimated from the noise: alternate a few rounds from a robust start.
        # Burst draws (draws.py) are no noise data: their spiked sites would raise rates, dispersions
        # and nearby dates, their quiet sites would pull rates down, and their spikes would make
        # carriers; they are judged with their own factor instead.
        burst = np.zeros(len(obs), dtype=bool)
        for _ in range(self.params.rounds):
            expected = np.maximum(rate, local) * factor
            relative = self._site_values(lambda site: self._class(site)[1])[self.rows.site]
            rho = np.minimum(relative * expected, self.params.max_dispersion)
            carrier = self._carriers(obs, expected, rho, burst)
            noise = (~carrier | self._quiet_before(obs, carrier, factor, burst)) & ~burst
            self._fit_sites(obs, noise, factor, carrier)
            rate = self._row_rates()
            factor = self._fit_draw_factors(obs, rate, carrier)
            burst = self.rows.draws.isin(list(self.burst))[self.rows.draw]
            noise &= ~burst
            self._fit_local(noise, factor, days)
            local = self._local_rates(self.rows.site, self.rows.key, days, rate, windows)
            self._fit_dispersion(obs, index, noise, np.maximum(rate, local) * factor)
        self._fit_own(factor, days, ~burst)
        self._add_normals(normals)

    def _ceiling(self, klass: str) -> float:
        """The highest noise rate of a base change (or indels): max_error (max_indel_error), and at
        most CLASS_CEILING_FOLD x the class's typical rate once that is known (in a UMI cohort erring
        at 1e-5, a position at 1 % is a variant, whatever raw sequencing allows)."""
        ceiling = self.params.max_indel_error if klass == "indel" else self.params.max_error
        if klass in self.class_rate:
            ceiling = min(ceiling, CLASS_CEILING_FOLD * max(self.class_rate[klass], self.params.min_error))
        return ceiling

    def _site_ceiling(self, site) -> float:
        """_ceiling of the site's base change."""
        return self._ceiling(substitution(site[2], site[3]))

    def _site_values(self, value, sites=None) -> np.ndarray:
        """value(site) of every fitted site (numbered as self.rows.site), or of each of `sites`."""
        return np.array([value(site) for site in (self.rows.sites if sites is None else sites)], dtype=float)

    def _above_ceiling(self, obs, expected_rate) -> np.ndarray:
        """Draws significantly above the ceiling (or their expected error, if higher): variants."""
        ceiling = self._site_values(self._site_ceiling)[self.rows.site]
        alt, depth = obs.alt_reads.to_numpy(), obs.depth.to_numpy()
        return tail_below(alt, depth, np.maximum(ceiling, expected_rate), 0.0, self.params.carrier_p)

    def _start_rates(self, obs) -> np.ndarray:
        """A robust first rate per row: the median of the site's patients' rates (each patient one
        vote; of two patients the lower) where >= 2 patients see it, else the class median of those
        sites; capped at the ceiling. Two patients whose draws all show the same low-level signal at
        a position are more likely a noisy position than two carriers of one variant at one level."""
        rows = self.rows
        # per (site, patient) key: its rate; keys are numbered site by site
        alt = np.bincount(rows.key, weights=obs.alt_reads.to_numpy(float), minlength=len(rows.pair))
        depth = np.bincount(rows.key, weights=obs.depth.to_numpy(float), minlength=len(rows.pair))
        values = alt / depth
        n_patients = np.bincount(rows.key_site, minlength=len(rows.sites))
        ends = np.cumsum(n_patients)
        medians = {}
        for number in np.flatnonzero(n_patients >= 2):
            site, mine = rows.sites[number], values[ends[number] - n_patients[number] : ends[number]]
            start = float(np.median(mine)) if len(mine) >= 3 else float(mine.min())
            medians[number] = min(start, self._site_ceiling(site))
        by_class: dict[str, list[float]] = {}
        for number, value in medians.items():
            site = rows.sites[number]
            by_class.setdefault(substitution(site[2], site[3]), []).append(value)
        self.class_rate = {k: float(np.median(v)) for k, v in by_class.items()}
        site_rates = [medians[i] if i in medians else self._class(site)[0] for i, site in enumerate(rows.sites)]
        return np.maximum(np.array(site_rates, dtype=float)[rows.site], self.params.min_error)

    def _carriers(self, obs, expected_rate, rho, skip) -> np.ndarray:
        """Rows of carrier patients: a patient with a significant draw at a site (against the draw's
        expected error, or against its own other draws there), or significant pooled counts (against
        the larger of the ceiling and the expected error), carries the variant there, and all its
        draws at the site are left out."""
        if not len(obs):
            return np.zeros(0, dtype=bool)
        p = self.params
        # rows in `skip` (burst draws) neither make a carrier nor count in the pooled sums
        use = ~skip
        alt, depth = obs.alt_reads.to_numpy() * use, obs.depth.to_numpy() * use
        significant = use & (tail_below(alt, depth, expected_rate, rho, p.carrier_p))
        # Pooled per patient and site: a stable low-level carrier is unremarkable draw by draw. The
        # ceiling is judged on the pooled counts: a position erring near 1 % exceeds it in a raised
        # draw now and then; a patient whose draws together exceed it carries a variant.
        keys = self.rows.key
        pooled_alt = np.bincount(keys, weights=alt)
        pooled_depth = np.bincount(keys, weights=depth)
        pooled_rate = np.bincount(keys, weights=depth * expected_rate) / np.maximum(pooled_depth, 1.0)
        pooled_rho = np.bincount(keys, weights=rho) / np.bincount(keys)
        counts = pooled_alt.astype(np.int64), pooled_depth.astype(np.int64)
        pooled = tail_below(*counts, pooled_rate, pooled_rho, p.carrier_p)
        ceiling = np.bincount(keys, weights=self._site_values(self._site_ceiling)[self.rows.site])
        ceiling /= np.bincount(keys)
        pooled |= tail_below(*counts, np.maximum(ceiling, pooled_rate), 0.0, p.carrier_p)
        # A draw far above the patient's own other draws at the site (their observed/expected ratio
        # carried over): noise is alike from draw to draw, a variant comes and grows.
        expected = depth * expected_rate
        other_alt = pooled_alt[keys] - alt
        other_expected = np.bincount(keys, weights=expected)[keys] - expected
        own_rate = np.clip(expected_rate * (other_alt + 1.0) / (other_expected + 1.0), p.min_error, 0.5)
        # (rho is relative to the rate: at the patient's own, lower rate, its draws vary less)
        own_rho = rho * np.minimum(own_rate / np.maximum(expected_rate, p.min_error), 1.0)
        significant |= use & (other_expected > 0) & (tail_below(alt, depth, own_rate, own_rho, p.carrier_p))
        carrier_key = np.bincount(keys, weights=significant, minlength=len(pooled_alt)) > 0
        return (carrier_key | pooled)[keys]

    def _quiet_before(self, obs, carrier, factor, skip) -> np.ndarray:
        """Carrier rows from the quiet start of their patient's draws at the site: the draws dated before its
        first draw that the base change's typical rate does not explain (p < QUIET_P, no overdispersion). A
        patient who acquires a variant under therapy was read at the site for months before it: those draws
        are the site's cleanest noise data, and where every patient of a cohort carries a hotspot (T790M
        under erlotinib) they are the only data there are. A carrier from its first draw (truncal, germline,
        CHIP, pre-existing) has no quiet start; nor has one none of whose draws stands out on its own (a
        stable low-level variant, found by its pooled counts: all its draws carry it), nor any carrier
        without draw dates."""
        rows = self.rows
        if not len(obs) or "date" not in obs:
            return np.zeros(len(obs), dtype=bool)
        typical = self._site_values(lambda site: self._class(site)[0])[rows.site] * factor
        alt, depth = obs.alt_reads.to_numpy(), obs.depth.to_numpy()
        loud = carrier & ~skip & tail_below(alt, depth, typical, 0.0, QUIET_P)
        # per (site, patient): the date rank of its first loud draw (none: larger than any rank)
        none = np.iinfo(np.int64).max
        first_loud = np.full(len(rows.pair), none)
        np.minimum.at(first_loud, rows.key[loud], rows.date_rank[loud])
        mine = first_loud[rows.key]
        return carrier & (rows.date_rank < mine) & (mine < none)

    def _fit_sites(self, obs, noise, factor, carrier):
        """Noise-only sums per site (exposure = depth x draw factor) and per patient, the carrier
        patients of each site; class rates."""
        self.sites = {}
        rows = self.rows
        self.exposure = obs.depth.to_numpy() * factor
        frame = pd.DataFrame({"site": rows.site, "key": rows.key, "alt": obs.alt_reads.to_numpy(),
                              "exp": self.exposure, "depth": obs.depth.to_numpy()})  # fmt: skip
        quiet = frame[noise]
        # (pandas sums: its compensated float sums are the fitted values)
        per_key = quiet.groupby("key")[["alt", "exp"]].sum()  # (keys are numbered site by site)
        keys, names = per_key.index.to_numpy(), rows.patients.to_numpy()
        patients = names[rows.pair[keys] % max(len(names), 1)].tolist()
        sums = list(zip(per_key.alt.to_numpy(dtype=float).tolist(), per_key.exp.to_numpy().tolist()))
        ends = np.searchsorted(rows.key_site[keys], np.arange(len(rows.sites)), "right").tolist()
        by_site = [dict(zip(patients[start:end], sums[start:end])) for start, end in zip([0, *ends[:-1]], ends)]
        totals = quiet.groupby("site")[["alt", "exp", "depth"]].sum()
        n_sites = len(rows.sites)
        alt, exposure, depth = (totals[c].reindex(range(n_sites), fill_value=0).to_numpy() for c in ("alt", "exp", "depth"))
        # (carriers' draws left out; a carrier's quiet start is noise data, counted in 'n', not here)
        excluded = np.bincount(rows.site, weights=carrier & ~noise, minlength=n_sites).astype(int)
        carrier_keys = np.unique(rows.key[carrier])
        carriers: dict[int, list] = {}
        for number, patient in zip(rows.key_site[carrier_keys], rows.pair[carrier_keys] % max(len(names), 1)):
            carriers.setdefault(number, []).append(names[patient])
        for number, site in enumerate(rows.sites):
            mine = by_site[number]
            self.sites[site] = {
                "alt": int(alt[number]), "exposure": float(exposure[number]), "depth": int(depth[number]),
                "n": len(mine), "excluded": int(excluded[number]),
                "carriers": sorted(carriers.get(number, [])), "per_patient": mine,
            }  # fmt: skip
        self._fit_class_rates()

    def _fit_class_rates(self):
        """Typical rate per substitution class: the median of its informative sites' noise rates (a
        site where most patients carry a variant cannot raise the class), else pooled towards the default.

        Also the class prior of a site's rate, as a beta distribution: its mean is the mean of the
        informative sites' rates and its weight (`class_kappa`, in reads) follows from their spread
        beyond sampling noise. Site errors are heavy-tailed (a few positions err ten times more than
        the class), so a site with little noise data of its own gets a wide null, not the class median."""
        m, default = self.params.prior_depth, self.params.default_error
        by_class: dict[str, list[tuple]] = {}
        for site, entry in self.sites.items():
            by_class.setdefault(substitution(site[2], site[3]), []).append((entry["alt"], entry["exposure"]))
        self.class_rate, self.class_mean, self.class_kappa = {}, {}, {}
        deviations, noise = [], []  # relative, pooled over classes: each class has few sites
        for klass, sums in by_class.items():
            ceiling = self._ceiling(klass)
            pairs = [(min(a / e, ceiling), e) for a, e in sums if e >= m]
            informative = np.array([r for r, _ in pairs])
            if len(informative):
                rate = float(np.median(informative))
            else:
                rate = (sum(a for a, _ in sums) + m * default) / (sum(e for _, e in sums) + m)
            self.class_rate[klass] = min(rate, ceiling)
            if len(informative) >= 3:
                mean = max(float(np.mean(informative)), self.class_rate[klass])
                self.class_mean[klass] = mean
                deviations.extend(((informative - mean) / mean) ** 2)
                noise.extend(informative / np.array([e for _, e in pairs]) / mean**2)
        # the squared coefficient of variation of site rates beyond sampling noise, pooled
        spread = float(np.mean(deviations)) - float(np.mean(noise)) if len(deviations) >= MIN_SITES_FOR_PRIOR else 0.0
        for klass, mean in list(self.class_mean.items()):
            if spread > 0:
                self.class_kappa[klass] = float(np.clip((1 - mean) / (mean * spread) - 1, MIN_PRIOR_KAPPA, m))
            else:
                del self.class_mean[klass]

    def _row_rates(self) -> np.ndarray:
        """Each row's site rate, all noise patients used (for the next round's judgements).

        (Leaving each patient out here, as null() does, was tried on the development cohorts: carriers
        at sites read by few patients were then judged against the wide class prior, fewer were found,
        and sensitivity and lead time fell while specificity rose.)"""
        # per unit draw factor
        return self._site_values(lambda site: self._site_rate(site) / self.typical_factor)[self.rows.site]

    def _fit_dispersion(self, obs, index, noise, expected_rate):
        """Relative overdispersion per site: the beta-binomial rho of a draw divided by its error rate
        (rho = c x rate, i.e. c is the squared coefficient of variation of the error between draws,
        so a noisy site keeps its share of draw-to-draw variation). Fitted by the method of moments on
        the site's noise draws against each draw's expected error, shrunk towards the class median of
        the per-site estimates, at most SITE_RHO_FOLD x the class; rho itself at most max_dispersion."""
        estimates, per_site = {}, {}
        depth, alt = obs.depth.to_numpy(float), obs.alt_reads.to_numpy(float)
        for site, rows in index.items():
            keep = rows[noise[rows]]
            if len(keep) < 5:
                continue
            n, k, e = depth[keep], alt[keep], np.clip(expected_rate[keep], self.params.min_error, 0.5)
            z = ((k - n * e) ** 2 / (n * e * (1 - e))).mean()
            rho = (z - 1.0) / np.mean(n - 1.0)
            per_site[site] = (rho / float(np.mean(e)), len(keep))
            estimates.setdefault(substitution(site[2], site[3]), []).append(per_site[site][0])
        pooled = [e for values in estimates.values() for e in values]
        self.class_dispersion, self.overall_dispersion, self.site_dispersion = {}, None, {}
        if len(pooled) >= self.params.min_sites_for_dispersion:
            overall = float(np.median(pooled))
            for klass, values in estimates.items():
                c = float(np.median(values)) if len(values) >= self.params.min_sites_for_dispersion else overall
                self.class_dispersion[klass] = float(np.clip(c, 0.0, MAX_RELATIVE_DISPERSION))
            self.overall_dispersion = float(np.clip(overall, 0.0, MAX_RELATIVE_DISPERSION))
        w0 = self.params.dispersion_prior_draws
        for site, (c, draws) in per_site.items():
            prior = self._class(site)[1]
            # At most SITE_RHO_FOLD x the class: a site's 'noise' may still hold a few low-level
            # carriers never significant on their own, which would widen its null where it matters.
            cap = SITE_RHO_FOLD * prior if prior > 0 else MAX_RELATIVE_DISPERSION
            self.site_dispersion[site] = float(np.clip((draws * c + w0 * prior) / (draws + w0), 0.0, cap))

    def _add_normals(self, normals):
        for site, part in normals.groupby(SITE, sort=False):
            entry = self.sites.setdefault(site, _empty_entry())
            entry["normal_alt"], entry["normal_depth"] = int(part.alt_reads.sum()), int(part.depth.sum())

    # ------------------------------------------------------------------ queries

    def _class(self, site) -> tuple[float, float]:
        klass = substitution(site[2], site[3])
        rate = max(self.class_rate.get(klass, self.params.default_error), self.params.min_error)
        # (default_dispersion is an absolute rho at the class rate)
        fallback = self.params.default_dispersion / rate if self.overall_dispersion is None else self.overall_dispersion
        return rate, self.class_dispersion.get(klass, fallback)

    def _prior(self, site) -> tuple[float, float]:
        """(mean, weight in reads) of the class prior of a site's rate."""
        klass = substitution(site[2], site[3])
        if klass in self.class_kappa:
            return self.class_mean[klass], self.class_kappa[klass]
        return self._class(site)[0], self.params.prior_depth

    def _site_posterior(self, site, exclude: str | None = None) -> tuple[float, float]:
        """(rate, weight in reads) of the site's noise-only rate (without `exclude`'s draws) under the
        class prior; the rate at most the ceiling, and at most hotspot_fold x the class with few noise
        patients."""
        prior_rate, kappa = self._prior(site)
        entry = self.sites.get(site)
        if entry is None:
            return max(prior_rate, self.params.min_error), kappa
        alt, exposure, n = entry["alt"], entry["exposure"], entry["n"]
        if exclude in entry["per_patient"]:
            own_alt, own_exposure = entry["per_patient"][exclude]
            alt, exposure, n = alt - own_alt, exposure - own_exposure, n - 1
        rate = (alt + kappa * prior_rate) / (exposure + kappa) * self.typical_factor
        if n < HOTSPOT_CAP_PATIENTS:
            rate = min(rate, self.params.hotspot_fold * self._class(site)[0])
        rate = min(rate, self._site_ceiling(site))
        return max(rate, self.params.min_error), kappa + exposure

    def _site_rate(self, site, exclude: str | None = None) -> float:
        return self._site_posterior(site, exclude)[0]

    def _relative_dispersion(self, site) -> float:
        """The site's relative overdispersion (rho / rate), else its class's."""
        relative = self.site_dispersion.get(site)
        return self._class(site)[1] if relative is None else relative

    def _rho(self, site, rate, weight) -> float:
        """Beta-binomial rho of a draw: draw-to-draw overdispersion (relative x rate, bounded) plus the
        uncertainty of the rate itself (a beta posterior weighing `weight` reads)."""
        relative = self._relative_dispersion(site)
        return min(relative * rate, self.params.max_dispersion) + 1.0 / (weight + 1.0)

    def null(self, site, patient: str | None = None) -> Null:
        """Error model at `site` for `patient`, never using that patient's own draws."""
        return self._null_and_weight(site, patient)[0]

    def _null_and_weight(self, site, patient) -> tuple[Null, float]:
        """null(site, patient) and the weight, in reads, of its rate (inf for a panel-of-normals table row)."""
        site = (site[0], int(site[1]), site[2], site[3])
        if site in self.table:
            rate, dispersion = self.table[site]
            return Null(rate, dispersion, "panel_of_normals"), np.inf
        entry = self.sites.get(site)
        if entry and entry.get("normal_depth"):
            m = self.params.prior_depth
            rate = (entry["normal_alt"] + m * self._class(site)[0]) / (entry["normal_depth"] + m)
            source, weight = "panel_of_normals", entry["normal_depth"] + m
        elif entry and entry["n"] - (patient in entry["per_patient"]) > 0:
            (rate, weight), source = self._site_posterior(site, patient), "cohort"
        else:
            source = "substitution_class" if substitution(site[2], site[3]) in self.class_rate else "default"
            rate, weight = self._prior(site)
        rate = max(rate, self.params.min_error)
        return Null(rate, self._rho(site, rate, weight), source), weight

    def flag(self, site) -> str:
        """'recurrent_variant' where the site's variant is carried by several patients, else ''."""
        entry = self.sites.get((site[0], int(site[1]), site[2], site[3]))
        return RECURRENT if entry and len(entry["carriers"]) >= self.params.recurrent_min_patients else ""

    def per_draw(self, sites, samples, rate, dispersion, source, patients=None, dates=None):
        """Each row's (error_rate, dispersion, background_source): the site's null (`rate`,
        `dispersion`, `source` from null()) raised to its rate near the draw's date (other patients'
        draws; `patients`, `dates`), updated with the patient's own earlier draws at the site (when
        they are noise), times the draw's factor; or the draw's own row of a panel-of-normals table.
        A panel-of-normals site keeps its value (the table is the truth)."""
        samples = np.asarray(samples, dtype=object)
        rate, dispersion = np.asarray(rate, float).copy(), np.asarray(dispersion, float).copy()
        source = np.asarray(source, dtype=object).copy()
        kinds, names = pd.factorize(pd.Series(source, dtype=object).astype(str))
        cohort = ~np.array([name.startswith("panel_of_normals") for name in names], dtype=bool)[kinds]
        # the distinct sites of the rows (`distinct`: each row's), and their fitted codes (-1: not fitted)
        distinct, unique_sites = self._distinct_sites(sites)
        fitted = self.rows.site_codes(unique_sites) if self.rows is not None else np.full(len(unique_sites), -1)
        site = fitted[distinct]
        weight = np.full(len(distinct), np.inf)
        patients = None if patients is None else np.asarray(patients, dtype=object)
        if patients is not None:
            weight[cohort] = self._null_weights(distinct[cohort], unique_sites, patients[cohort])
        if patients is not None and dates is not None and len(distinct):
            days = _days(pd.DataFrame({"date": np.asarray(dates)}))
            key = self.rows.key_codes(site, patients) if self.rows is not None else np.full(len(distinct), -1)
            # own earlier draws first: the cohort's recent draws (a drifting site, a raised run) can
            # only raise the result, and the patient's older draws must not pull a rise back down
            rate, weight = self._own_past(site, key, days, rate, weight, cohort)
            local = self._local_rates(site, key, days, rate / self.typical_factor) * self.typical_factor
            ceiling = self._site_values(self._site_ceiling, unique_sites)[distinct]
            rate = np.where(cohort, np.maximum(rate, np.minimum(local, ceiling)), rate)
        table = np.zeros(len(distinct), dtype=bool)
        if self.table_draws:
            for i, pair in enumerate(zip((unique_sites[d] for d in distinct), samples)):
                if pair in self.table_draws:
                    table[i] = True
                    rate[i], dispersion[i] = self.table_draws[pair]
            source[table] = "panel_of_normals_draw"
        # the draw's factor, relative to the typical draw's, never lowers a null
        drawn = ~table & (source != "panel_of_normals")
        factor = self.draw_factors(site[drawn], samples[drawn]) / self.typical_factor
        rate[drawn] = np.minimum(rate[drawn] * np.maximum(factor, 1.0), 0.5)
        redo = drawn & np.isfinite(weight)
        relative = self._site_values(self._relative_dispersion, unique_sites)[distinct[redo]]
        dispersion[redo] = np.minimum(relative * rate[redo], self.params.max_dispersion) + 1.0 / (weight[redo] + 1.0)
        return rate, dispersion, source

    @staticmethod
    def _distinct_sites(sites) -> tuple[np.ndarray, list]:
        """(number of each row's site among the distinct sites, the distinct sites as (chrom, int pos, ref,
        alt)); the rows' tuples are hashed once, in pandas."""
        which, given = pd.factorize(pd.Series(list(sites), dtype=object))
        number: dict = {}
        renumber = np.array([number.setdefault((c, int(p), r, a), len(number)) for c, p, r, a in given], dtype=np.int64)
        return renumber[which] if len(which) else np.zeros(0, dtype=np.int64), list(number)

    def _null_weights(self, distinct, unique_sites, patients) -> np.ndarray:
        """The weight in reads of the rate null(site, patient) gives (as _null_and_weight) for each row
        (`distinct`: its number in `unique_sites`), once per (site, patient) and the site's part once per site."""
        patient, names = pd.factorize(pd.Series(patients, dtype=object), use_na_sentinel=False)
        n = max(len(names), 1)
        pairs, which = np.unique(distinct * n + patient, return_inverse=True)
        parts = [self._weight_parts(site) for site in unique_sites]
        names = list(names)
        weights = np.empty(len(pairs))
        for i, pair in enumerate(pairs.tolist()):
            fixed, kappa, exposure, noise_patients, per_patient = parts[pair // n]
            own = per_patient.get(names[pair % n])
            if fixed is not None:
                weights[i] = fixed
            elif noise_patients - (own is not None) > 0:  # the site's other patients' noise, under the prior
                weights[i] = kappa + (exposure if own is None else exposure - own[1])
            else:  # the class prior alone
                weights[i] = kappa
        return weights[which.reshape(-1)]

    def _weight_parts(self, site) -> tuple:
        """(the weight whatever the patient, or None; prior weight; noise exposure, noise patients and
        per-patient sums of the site) for _null_weights."""
        site = (site[0], int(site[1]), site[2], site[3])
        kappa = self._prior(site)[1]
        entry = self.sites.get(site)
        if site in self.table:
            return np.inf, kappa, 0.0, 0, {}
        if entry and entry.get("normal_depth"):
            return entry["normal_depth"] + self.params.prior_depth, kappa, 0.0, 0, {}
        if not entry:
            return None, kappa, 0.0, 0, {}
        return None, kappa, entry["exposure"], entry["n"], entry["per_patient"]

    def to_frame(self, sites) -> pd.DataFrame:
        """The fitted background of `sites` (cohort-level, all patients), for results/background.tsv."""
        rows = []
        for site in sorted({(c, int(p), r, a) for c, p, r, a in sites}):
            null = self.null(site)
            entry = self.sites.get(site, {})
            rows.append(
                {
                    "chrom": site[0], "pos": site[1], "ref": site[2], "alt": site[3],
                    "substitution": substitution(site[2], site[3]), "error_rate": null.error_rate,
                    "dispersion": null.dispersion, "source": null.source, "n_patients": entry.get("n", 0),
                    "n_draws_excluded": entry.get("excluded", 0), "alt_reads": entry.get("alt", 0),
                    "depth": entry.get("depth", 0), "carrier_patients": len(entry.get("carriers", ())),
                    "recurrent_variant": "yes" if self.flag(site) else "no",
                }  # fmt: skip
            )
        return pd.DataFrame(rows, columns=BACKGROUND_COLUMNS)
