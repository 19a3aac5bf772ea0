"""Background sequencing error per site and substitution, learnt only from observations that are noise.

Sources, in order of preference for a site:
1. a panel of normals: a precomputed `chrom pos ref alt error_rate [dispersion] [sample]` table (a
   row with a `sample` gives that draw's error, e.g. from an oracle that knows it), or the counts
   of normal-plasma VCFs at the site;
2. the cohort itself: the same site in other patients' draws (never the patient's own), from
   patients whose VCFs genotype sites (force-called or gVCF: they contain records with 0 alt
   reads) or whose BAMs were counted. A sparse VCF lists a site only when it has alt reads, which
   would overstate the error, so it is never used;
3. the substitution class (C>T, C>A, ..., indel) over the cohort's sites, else a documented default.

Why the cohort cannot learn a variant as noise (issue 11): several patients may carry the same
variant (a truncal hotspot, a germline polymorphism, CHIP), and sometimes only the carriers report
the site at all. So:
- a site's error can never exceed a physical ceiling (`max_error`, 1 % for SNVs: raw NGS errs at
  about 1e-3..1e-2 per base, so an 'error' of several percent is a variant);
- a draw whose counts are significant (p < carrier_p) against the larger of the ceiling and the
  site's current error makes its patient a *carrier* at that site, and every draw of a carrier is
  left out of the site's background (also its draws before the variant was significant: a clone
  is present before it is detectable). A patient whose draws are each unremarkable but whose pooled
  counts are significant is a carrier too (a stable low-level variant);
- a site starts from the median of its patients' rates (each patient one vote, robust to a
  minority of carriers), and is re-judged against its own noise-only estimate a few rounds, so a
  site whose patients are mostly carriers falls back to its noise patients or to the class rate;
- with noise data from a single patient, a site's rate is at most `hotspot_fold` times its class
  rate: one patient cannot make a position a noisy hotspot;
- a site with carriers in `recurrent_min_patients` or more patients is reported as a recurrent
  variant (results/background.tsv, the timeline's `background_flag`, the report's background QC).

Draw-level noise: a library or run problem raises the error at every site of a draw (bursts, batch
effects between runs). Where a draw has at least `min_sites_for_draw_factor` other panel sites, its
error factor is their observed/expected errors (from the draw's median site, sites beyond HUBER_C sd
left out, so the draw's own variants do not count), shrunk towards 1 with `draw_prior_errors`
expected errors. It applies only when the excess is significant (RAISED_Z) and never lowers a null.
The site under test is left out of its own draw's factor, so a variant cannot raise its own null.
Site rates are reported for the typical draw (the mean factor of the lower 90 % of draws).

Time: where the other patients' noise draws within `local_window_days` of a draw show significantly
more errors at a site than its overall rate (a drifting site error, a bad run), that local rate is
used for the draw (only ever raising it).

Overdispersion (beta-binomial rho) is fitted on noise draws only: per site by the method of
moments against each draw's expected error, shrunk towards the class median with a weight of
`dispersion_prior_draws` draws, and bounded by `max_dispersion`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import binom

from .stats import beta_shape, betabinom_sf

COMPLEMENT = str.maketrans("ACGT", "TGCA")
SITE = ["chrom", "pos", "ref", "alt"]
RECURRENT = "recurrent_variant"
SITE_RHO_FOLD = 2.0  # a site's relative overdispersion is at most twice its class's
HOTSPOT_CAP_PATIENTS = 2  # with fewer noise patients, a site's rate is at most hotspot_fold x its class
SPIKE_P = 1e-3  # a site's count this improbable at its draw's median factor is a spike
BURST_MIN_SITES = 3  # a burst draw has at least this many sites spiking in it alone ...
BURST_SHARE = 0.1  # ... making up at least this share of its panel sites
MIN_SITES_FOR_PRIOR = 10  # informative sites of a class needed to measure the spread of site errors
MIN_PRIOR_KAPPA = 100.0  # the class prior of a site's rate weighs at least this many reads
MAX_RELATIVE_DISPERSION = 1.0  # error CV^2 between draws of at most 1 (rho itself is bounded by max_dispersion)
RAISED_Z = 3.09  # one-sided p = 0.001: a draw's errors must be this far above expected to raise its null
HUBER_C = 4.0  # a site more than 4 sd from its draw's factor does not inform the factor
BACKGROUND_COLUMNS = [
    "chrom", "pos", "ref", "alt", "substitution", "error_rate", "dispersion", "source",
    "n_patients", "n_draws_excluded", "alt_reads", "depth", "carrier_patients", "recurrent_variant",
]  # fmt: skip


@dataclass(frozen=True)
class BackgroundParams:
    default_error: float = 5e-4
    min_error: float = 1e-5
    # Ceiling of a noise rate: SNV/MNV, and indels (homopolymer stutter errs more than substitutions).
    max_error: float = 0.01
    max_indel_error: float = 0.05
    default_dispersion: float = 0.0
    prior_depth: float = 5000.0
    carrier_p: float = 1e-4
    carrier_margin_draws: int = 1  # superseded: every draw of a carrier patient is left out
    max_dispersion: float = 0.01
    min_sites_for_dispersion: int = 10
    dispersion_prior_draws: float = 30.0
    recurrent_min_patients: int = 2
    hotspot_fold: float = 10.0
    hotspot_min_patients: int = 3
    min_sites_for_draw_factor: int = 5
    draw_prior_errors: float = 2.0
    rounds: int = 4
    local_window_days: float = 30.0
    local_prior_depth: float = 20000.0


@dataclass(frozen=True)
class Null:
    """The error model at one site for one patient."""

    error_rate: float
    dispersion: float
    source: str


def substitution(ref: str, alt: str) -> str:
    """Pyrimidine-centred SNV class (G>A is C>T), or 'indel' / 'mnv'."""
    if len(ref) == 1 and len(alt) == 1:
        if ref in "GA":
            ref, alt = ref.translate(COMPLEMENT), alt.translate(COMPLEMENT)
        return f"{ref}>{alt}"
    return "mnv" if len(ref) == len(alt) else "indel"


def genotyping_samples(calls: pd.DataFrame) -> set[str]:
    """Draws of patients whose VCFs genotype sites (some record has 0 alt reads and a depth).

    Judged per patient: a force-calling pipeline may by chance have no zero-count record in a draw
    where every tracked site has reads, and that draw is no less unbiased.
    """
    alt = pd.to_numeric(calls["alt_reads"], errors="coerce")
    depth = pd.to_numeric(calls["depth"], errors="coerce")
    patients = set(calls.loc[(alt == 0) & (depth > 0), "patient"])
    return set(calls.loc[calls["patient"].isin(patients), "sample"])


def sparse_observations(rows: pd.DataFrame, draws: pd.DataFrame) -> pd.DataFrame:
    """Counts of sparse VCFs (records only where there are alt reads) made usable for the background.

    A sparse file's silence at a site means "no alt read" only if its caller lists single-read
    alleles, so this applies to a patient whose records include one with exactly 1 alt read. Then the
    patient's panel is every site its files report in any draw, and a draw silent at one of them
    counts as 0 alt reads at that draw's median depth (its records' depths; the patient's median for a
    draw without records). Other sparse patients give nothing: a list of alleles above a caller's
    threshold would overstate the error. Columns: patient sample date chrom pos ref alt alt_reads depth."""
    frame = counted(rows)
    if frame.empty:
        return frame[[c for c in rows.columns]]
    single = frame.groupby("patient")["alt_reads"].min() == 1
    frame = frame[frame["patient"].map(single).fillna(False).astype(bool)]
    if frame.empty:
        return frame
    frame = frame.drop_duplicates(["sample", *SITE])
    mine = draws[draws["patient"].isin(set(frame["patient"]))][["patient", "sample", "date"]].drop_duplicates("sample")
    panel = frame[["patient", *SITE]].drop_duplicates()
    grid = panel.merge(mine, on="patient")
    depth_of = frame.groupby("sample")["depth"].median()
    patient_depth = frame.groupby("patient")["depth"].median()
    grid = grid.merge(frame[["sample", *SITE, "alt_reads", "depth"]], on=["sample", *SITE], how="left")
    silent = grid["alt_reads"].isna()
    fill = grid["sample"].map(depth_of).fillna(grid["patient"].map(patient_depth))
    grid.loc[silent, "alt_reads"] = 0
    grid.loc[silent, "depth"] = fill[silent].round()
    grid = grid.dropna(subset=["depth"])
    return grid.astype({"alt_reads": int, "depth": int})[["patient", "sample", "date", *SITE, "alt_reads", "depth"]]


def counted(observations: pd.DataFrame) -> pd.DataFrame:
    """Rows with usable counts, typed."""
    frame = observations.copy()
    frame["alt_reads"] = pd.to_numeric(frame["alt_reads"], errors="coerce")
    frame["depth"] = pd.to_numeric(frame["depth"], errors="coerce")
    frame = frame[(frame.depth > 0) & frame.alt_reads.notna()]
    return frame.assign(alt_reads=frame.alt_reads.astype(int), depth=frame.depth.astype(int))


def tail_p(alt, depth, rate, rho) -> np.ndarray:
    """P(X >= alt) under a beta-binomial (binomial where rho is 0), elementwise."""
    alt, depth = np.asarray(alt, dtype=np.int64), np.asarray(depth, dtype=np.int64)
    rate, rho = np.broadcast_to(np.asarray(rate, float), alt.shape), np.broadcast_to(np.asarray(rho, float), alt.shape)
    out = np.ones(alt.shape)
    flat = (alt > 0) & (rho <= 0)
    out[flat] = binom.sf(alt[flat] - 1, depth[flat], rate[flat])
    over = (alt > 0) & (rho > 0)
    if over.any():
        out[over] = betabinom_sf(alt[over] - 1, depth[over], *beta_shape(rate[over], rho[over]))
    return out


class BackgroundModel:
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
        self.draws = {}  # sample -> (noise alt reads, expected errors, noise sites) for draw factors
        self.draw_rows = {}  # (site, sample) -> (alt reads, expected errors) of a noise row
        self.exposure = np.zeros(0)
        self.typical_factor = 1.0
        self.local = {}
        self.own = {}  # (site, patient) -> the patient's draws at the site, for _own_past
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
            frame["substitution"] = [substitution(r, a) for r, a in zip(frame.ref, frame.alt)]
        index = obs.groupby(SITE, sort=False).indices
        factor = np.ones(len(obs))
        rate = self._start_rates(obs, index)
        days = _days(obs)
        local = rate
        # Carriers are judged with the class dispersion (the median over sites resists the sites
        # where carriers dominate: a site's own estimate would widen its null around its carriers);
        # the first round uses all draws below the ceiling.
        self._fit_dispersion(obs, index, ~self._above_ceiling(obs, rate), rate)
        # Which draws are noise depends on the rates, dispersions and draw factors, which are
        # estimated from the noise: alternate a few rounds from a robust start.
        for _ in range(self.params.rounds):
            expected = np.maximum(rate, local) * factor
            relative = np.array([self._class(site)[1] for site in obs[SITE].itertuples(index=False, name=None)])
            carrier = self._carriers(obs, expected, np.minimum(relative * expected, self.params.max_dispersion))
            self._fit_sites(obs, index, ~carrier, factor)
            rate = self._row_rates(obs, index)
            factor = self._fit_draw_factors(obs, index, rate)
            self._fit_local(obs, index, ~carrier, factor, days)
            local = self.local_rates(obs[SITE].itertuples(index=False, name=None), obs.patient, days, rate)
            self._fit_dispersion(obs, index, ~carrier, np.maximum(rate, local) * factor)
        self._fit_own(obs, factor, days)
        self._add_normals(normals)

    def _fit_local(self, obs, index, noise, factor, days):
        """Per site, the noise rows sorted by date with running sums, for windowed (local) rates."""
        self.local = {}
        if days is None:
            return
        alt, exposure = obs.alt_reads.to_numpy(float), obs.depth.to_numpy(float) * factor
        patients = obs.patient.to_numpy()
        for site, rows in index.items():
            keep = rows[noise[rows]]
            keep = keep[np.argsort(days[keep], kind="stable")]
            own = {}
            for patient in np.unique(patients[keep]):
                mine = keep[patients[keep] == patient]
                own[patient] = _running(days[mine], alt[mine], exposure[mine])
            self.local[site] = (_running(days[keep], alt[keep], exposure[keep]), own)

    def local_rates(self, sites, patients, days, site_rates) -> np.ndarray:
        """Each row's site rate near its date: the other patients' noise draws within
        `local_window_days`, shrunk towards `site_rates` (per unit draw factor) with
        `local_prior_depth` reads. A site error that drifts over months, or a run of raised error,
        moves it; a carrier cannot (carriers are not noise)."""
        site_rates = np.asarray(site_rates, float)
        out = site_rates.copy()
        if days is None or not self.local:
            return out
        sites = [(c, int(p), r, a) for c, p, r, a in sites]
        patients, days = np.asarray(patients), np.asarray(days, float)
        w, m = self.params.local_window_days, self.params.local_prior_depth
        groups = pd.Series(range(len(sites))).groupby(pd.Series(sites, dtype=object), sort=False).indices if sites else {}
        for site, rows in groups.items():
            if site not in self.local or np.isnan(days[rows]).any():
                continue
            whole, own = self.local[site]
            a, e = _window(whole, days[rows], w)
            for patient in np.unique(patients[rows]):
                if patient in own:
                    mine = rows[patients[rows] == patient]
                    oa, oe = _window(own[patient], days[mine], w)
                    where = np.searchsorted(rows, mine)
                    a[where] -= oa
                    e[where] -= oe
            a, e = np.maximum(a, 0.0), np.maximum(e, 0.0)
            expected = e * site_rates[rows]
            raised = a - expected > RAISED_Z * np.sqrt(np.maximum(expected, 1e-12))
            out[rows] = np.where(raised, (a + m * site_rates[rows]) / (e + m), site_rates[rows])
        return out

    def _ceiling(self, klass: str) -> float:
        return self.params.max_indel_error if klass == "indel" else self.params.max_error

    def _site_ceiling(self, site) -> float:
        return self._ceiling(substitution(site[2], site[3]))

    def _above_ceiling(self, obs, expected_rate) -> np.ndarray:
        """Draws significantly above the ceiling (or their expected error, if higher): variants."""
        ceiling = np.array([self._ceiling(k) for k in obs.substitution])
        alt, depth = obs.alt_reads.to_numpy(), obs.depth.to_numpy()
        return tail_p(alt, depth, np.maximum(ceiling, expected_rate), 0.0) < self.params.carrier_p

    def _start_rates(self, obs, index) -> np.ndarray:
        """A robust first rate per row: the median of the site's patients' rates (each patient one
        vote; of two patients the lower) where >= 2 patients see it, else the class median of those
        sites; capped at the ceiling. Two patients whose draws all show the same low-level signal at
        a position are more likely a noisy position than two carriers of one variant at one level."""
        rate = np.full(len(obs), np.nan)
        medians = {}
        for site, rows in index.items():
            part = obs.iloc[rows]
            if part.patient.nunique() >= 2:
                totals = part.groupby("patient", sort=False)[["alt_reads", "depth"]].sum()
                ceiling = self._ceiling(substitution(site[2], site[3]))
                values = totals.alt_reads / totals.depth
                start = float(np.median(values)) if len(values) >= 3 else float(values.min())
                medians[site] = min(start, ceiling)
                rate[rows] = medians[site]
        by_class: dict[str, list[float]] = {}
        for site, value in medians.items():
            by_class.setdefault(substitution(site[2], site[3]), []).append(value)
        self.class_rate = {k: float(np.median(v)) for k, v in by_class.items()}
        for site, rows in index.items():
            if site not in medians:
                rate[rows] = self._class(site)[0]
        return np.maximum(rate, self.params.min_error)

    def _carriers(self, obs, expected_rate, rho) -> np.ndarray:
        """Rows of carrier patients: a patient with a significant draw at a site (against the draw's
        expected error, or against its own other draws there), or significant pooled counts (against
        the larger of the ceiling and the expected error), carries the variant there, and all its
        draws at the site are left out."""
        if not len(obs):
            return np.zeros(0, dtype=bool)
        p = self.params
        alt, depth = obs.alt_reads.to_numpy(), obs.depth.to_numpy()
        significant = tail_p(alt, depth, expected_rate, rho) < p.carrier_p
        # Pooled per patient and site: a stable low-level carrier is unremarkable draw by draw. The
        # ceiling is judged on the pooled counts: a position erring near 1 % exceeds it in a raised
        # draw now and then; a patient whose draws together exceed it carries a variant.
        keys = obs.groupby([*SITE, "patient"], sort=False).ngroup().to_numpy()
        pooled_alt = np.bincount(keys, weights=alt)
        pooled_depth = np.bincount(keys, weights=depth)
        pooled_rate = np.bincount(keys, weights=depth * expected_rate) / pooled_depth
        pooled_rho = np.bincount(keys, weights=rho) / np.bincount(keys)
        counts = pooled_alt.astype(np.int64), pooled_depth.astype(np.int64)
        pooled = tail_p(*counts, pooled_rate, pooled_rho) < p.carrier_p
        ceiling = np.bincount(keys, weights=np.array([self._ceiling(k) for k in obs.substitution]))
        ceiling /= np.bincount(keys)
        pooled |= tail_p(*counts, np.maximum(ceiling, pooled_rate), 0.0) < p.carrier_p
        # A draw far above the patient's own other draws at the site (their observed/expected ratio
        # carried over): noise is alike from draw to draw, a variant comes and grows.
        expected = depth * expected_rate
        other_alt = pooled_alt[keys] - alt
        other_expected = np.bincount(keys, weights=expected)[keys] - expected
        own_rate = np.clip(expected_rate * (other_alt + 1.0) / (other_expected + 1.0), p.min_error, 0.5)
        significant |= (other_expected > 0) & (tail_p(alt, depth, own_rate, rho) < p.carrier_p)
        carrier_key = np.bincount(keys, weights=significant, minlength=len(pooled_alt)) > 0
        return (carrier_key | pooled)[keys]

    def _fit_sites(self, obs, index, noise, factor):
        """Noise-only sums per site (exposure = depth x draw factor) and per patient; class rates."""
        self.sites = {}
        self.exposure = obs.depth.to_numpy() * factor
        for site, rows in index.items():
            keep = rows[noise[rows]]
            part = obs.iloc[keep]
            exposure = self.exposure[keep]
            sums = pd.DataFrame({"patient": part.patient.to_numpy(), "alt": part.alt_reads.to_numpy(), "exp": exposure})
            per_patient = sums.groupby("patient", sort=False)[["alt", "exp"]].sum()
            carriers = sorted(set(obs.patient.iloc[rows[~noise[rows]]]))
            self.sites[site] = {
                "alt": int(part.alt_reads.sum()), "exposure": float(exposure.sum()), "depth": int(part.depth.sum()),
                "n": len(per_patient), "excluded": int((~noise[rows]).sum()), "carriers": carriers,
                "per_patient": {p: (float(a), float(e)) for p, a, e in zip(per_patient.index, per_patient.alt, per_patient.exp)},
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

    def _row_rates(self, obs, index) -> np.ndarray:
        """Each row's site rate, all noise patients used (for the next round's judgements)."""
        rate = np.empty(len(obs))
        for site, rows in index.items():
            rate[rows] = self._site_rate(site) / self.typical_factor  # per unit draw factor
        return rate

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
            rho[rows] = np.minimum(self.site_dispersion.get(site, self._class(site)[1]) * rate[rows], self.params.max_dispersion)
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
        burst draw; its factor is the second-largest of its sites' observed/expected ratios, so the
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
        # and a variant the patient's other draws show (a truncal variant rising at progression)
        keys = order["key"].sort_index().to_numpy()
        other_alt = np.bincount(keys, weights=alt)[keys] - alt
        other_mean = np.bincount(keys, weights=mean)[keys] - mean
        other_depth = np.bincount(keys, weights=depth)[keys] - depth
        other_rate = np.clip(other_mean / np.maximum(other_depth, 1.0), self.params.min_error, 0.5)
        shown = (other_depth > 0) & (tail_p(other_alt, other_depth, other_rate, 0.0) < SPIKE_P)
        transient = spike & ~beside.reindex(range(len(obs))).to_numpy() & ~shown
        n_panel = np.bincount(codes, weights=panel.astype(float))
        n_transient = np.bincount(codes, weights=transient.astype(float), minlength=len(n_panel))
        bursty = (n_transient >= BURST_MIN_SITES) & (n_transient >= BURST_SHARE * n_panel)
        out = np.ones(len(codes))
        if not bursty.any():
            return out
        ratio = (alt + 0.5) / (expected + 0.5)
        for code in np.flatnonzero(bursty):
            rows = np.flatnonzero((codes == code) & panel)
            # the second-largest ratio: a burst spikes sites by different amounts, so the null of a
            # burst draw reaches its largest spikes; one variant at the top cannot set its own null
            value = float(max(np.sort(ratio[rows])[-2], 1.0))
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
        if n < self.params.min_sites_for_draw_factor or alt - expected <= RAISED_Z * np.sqrt(max(var, 1e-12)):
            return burst
        k0 = self.params.draw_prior_errors
        # Never below 1: a draw that looks cleaner than the cohort by chance must not narrow the null.
        return max(float(np.clip((alt + k0) / (expected + k0), 1.0, 1000.0)), burst)

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

    def _rho(self, site, rate, weight) -> float:
        """Beta-binomial rho of a draw: draw-to-draw overdispersion (relative x rate, bounded) plus the
        uncertainty of the rate itself (a beta posterior weighing `weight` reads)."""
        relative = self.site_dispersion.get(site, self._class(site)[1])
        return min(relative * rate, self.params.max_dispersion) + 1.0 / (weight + 1.0)

    def null(self, site, patient: str | None = None) -> Null:
        """Error model at `site` for `patient`, never using that patient's own draws."""
        site = (site[0], int(site[1]), site[2], site[3])
        prior_rate, _ = self._class(site)
        if site in self.table:
            rate, dispersion = self.table[site]
            return Null(rate, dispersion, "panel_of_normals")
        entry = self.sites.get(site)
        if entry and entry.get("normal_depth"):
            m = self.params.prior_depth
            rate = (entry["normal_alt"] + m * prior_rate) / (entry["normal_depth"] + m)
            rate = max(rate, self.params.min_error)
            return Null(rate, self._rho(site, rate, entry["normal_depth"] + m), "panel_of_normals")
        if entry:
            own = patient in entry["per_patient"]
            if entry["n"] - own > 0:
                rate, weight = self._site_posterior(site, patient)
                return Null(rate, self._rho(site, rate, weight), "cohort")
        source = "substitution_class" if substitution(site[2], site[3]) in self.class_rate else "default"
        rate, weight = self._prior(site)
        rate = max(rate, self.params.min_error)
        return Null(rate, self._rho(site, rate, weight), source)

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
        sites = [(c, int(p), r, a) for c, p, r, a in sites]
        rate, dispersion = np.asarray(rate, float).copy(), np.asarray(dispersion, float).copy()
        source = np.asarray(source, dtype=object).copy()
        cohort = np.array([not str(x).startswith("panel_of_normals") for x in source], dtype=bool)
        weight = np.full(len(sites), np.inf)
        patients = None if patients is None else np.asarray(patients, dtype=object)
        days = None
        if patients is not None:
            cache = {}
            for i, (site, patient) in enumerate(zip(sites, patients)):
                if cohort[i]:
                    if (site, patient) not in cache:
                        cache[(site, patient)] = self._null_weight(site, patient)
                    weight[i] = cache[(site, patient)]
        if patients is not None and dates is not None and len(sites):
            days = _days(pd.DataFrame({"date": np.asarray(dates)}))
            # own earlier draws first: the cohort's recent draws (a drifting site, a raised run) can
            # only raise the result, and the patient's older draws must not pull a rise back down
            rate, weight = self._own_past(sites, patients, days, rate, weight, cohort)
            local = self.local_rates(sites, patients, days, rate / self.typical_factor) * self.typical_factor
            ceiling = np.array([self._site_ceiling(site) for site in sites])
            rate = np.where(cohort, np.maximum(rate, np.minimum(local, ceiling)), rate)
        for i, (site, sample) in enumerate(zip(sites, samples)):
            if (site, sample) in self.table_draws:
                rate[i], dispersion[i] = self.table_draws[(site, sample)]
                source[i] = "panel_of_normals_draw"
            elif source[i] != "panel_of_normals":
                rate[i] = min(rate[i] * max(self.draw_factor(site, sample) / self.typical_factor, 1.0), 0.5)
                if np.isfinite(weight[i]):
                    dispersion[i] = self._rho(site, rate[i], weight[i])
        return rate, dispersion, source

    def _null_weight(self, site, patient) -> float:
        """Weight in reads of the rate null(site, patient) gives (see null())."""
        entry = self.sites.get(site)
        if entry and not entry.get("normal_depth") and entry["n"] - (patient in entry["per_patient"]) > 0:
            return self._site_posterior(site, patient)[1]
        if entry and entry.get("normal_depth"):
            return entry["normal_depth"] + self.params.prior_depth
        return self._prior(site)[1]

    def _own_past(self, sites, patients, days, rate, weight, cohort):
        """A patient's own earlier draws at a site are noise data too, unless they show the variant:
        pooled, they update the site's rate (a beta posterior weighing `weight` reads). An emergence is
        then judged against the site's behaviour in this patient so far: a position that errs in this
        patient's libraries stays quiet, one that never erred gets a tighter null. Draws of the same date
        or later never count, nor do own draws whose pooled counts are significant (p < carrier_p)."""
        rate, weight = rate.copy(), weight.copy()
        if days is None or not self.own or np.isnan(days).any():
            return rate, weight
        groups = pd.Series(range(len(sites))).groupby(pd.Series(list(zip(sites, patients)), dtype=object), sort=False).indices
        for key, rows in groups.items():
            if key not in self.own or not cohort[rows[0]]:
                continue
            own_days, cum_alt, cum_exposure, cum_depth = self.own[key]
            upto = np.searchsorted(own_days, days[rows], "left")
            alt, exposure, depth = cum_alt[upto], cum_exposure[upto], cum_depth[upto]
            site = key[0]
            used = exposure > 0
            if not used.any():
                continue
            rho = np.array([self._rho(site, r, w) for r, w in zip(rate[rows], weight[rows])])
            quiet = tail_p(alt.astype(np.int64), depth.astype(np.int64), rate[rows], rho) >= self.params.carrier_p
            used &= quiet
            updated = (rate[rows] * weight[rows] + alt) / (weight[rows] + exposure)
            ceiling = self._site_ceiling(site)
            rate[rows] = np.where(used, np.clip(updated, self.params.min_error, ceiling), rate[rows])
            weight[rows] = np.where(used, weight[rows] + exposure, weight[rows])
        return rate, weight

    def _fit_own(self, obs, factor, days):
        """Per (site, patient), the patient's draws sorted by date with running sums of alt reads,
        exposure (depth x draw factor, per typical draw) and depth, for _own_past."""
        self.own = {}
        if days is None or not len(obs) or np.isnan(days).any():
            return
        exposure = obs.depth.to_numpy(float) * factor / self.typical_factor
        alt, depth = obs.alt_reads.to_numpy(float), obs.depth.to_numpy(float)
        keys = list(zip(obs[SITE].itertuples(index=False, name=None), obs.patient))
        for key, rows in pd.Series(range(len(obs))).groupby(pd.Series(keys, dtype=object), sort=False).indices.items():
            rows = rows[np.argsort(days[rows], kind="stable")]
            zero = np.zeros(1)
            self.own[key] = (days[rows], np.concatenate((zero, np.cumsum(alt[rows]))),
                             np.concatenate((zero, np.cumsum(exposure[rows]))), np.concatenate((zero, np.cumsum(depth[rows]))))  # fmt: skip

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


def _days(obs) -> np.ndarray | None:
    """Days since 1970 of each row's draw (NaN where unknown), or None without dates."""
    if "date" not in obs or not len(obs):
        return None
    stamps = pd.to_datetime(obs["date"], errors="coerce")
    days = (stamps - pd.Timestamp("1970-01-01")).dt.days.to_numpy(float)
    return None if np.isnan(days).all() else days


def _running(days, alt, exposure):
    order = np.argsort(days, kind="stable")
    return days[order], np.concatenate(([0.0], np.cumsum(alt[order]))), np.concatenate(([0.0], np.cumsum(exposure[order])))


def _window(running, days, width):
    """Sums of alt reads and exposure of the rows within `width` days of each of `days`."""
    sorted_days, cum_alt, cum_exp = running
    lo, hi = np.searchsorted(sorted_days, days - width, "left"), np.searchsorted(sorted_days, days + width, "right")
    return cum_alt[hi] - cum_alt[lo], cum_exp[hi] - cum_exp[lo]


def _empty_entry() -> dict:
    return {"alt": 0, "exposure": 0.0, "depth": 0, "n": 0, "excluded": 0, "carriers": [], "per_patient": {}}


def _empty_obs() -> pd.DataFrame:
    return pd.DataFrame(columns=["patient", "sample", *SITE, "alt_reads", "depth"])
