"""Background sequencing error per site and substitution, with overdispersion between draws.

Sources, in order of preference for a site:
1. a panel of normals: a precomputed `chrom pos ref alt error_rate [dispersion]` table, or the
   counts of normal-plasma VCFs at the site;
2. the cohort itself: the same site in other patients' draws (never the patient's own), from
   patients whose VCFs genotype sites (force-called or gVCF: they contain records with 0 alt
   reads). A sparse VCF lists a site only when it has alt reads, which would overstate the error,
   so it is not used;
3. the substitution class (C>T, C>A, ..., indel) pooled over the cohort, else a documented default.

Draws that really carry a variant would inflate the error of its site, so a draw whose counts at
the site are significant against the site's provisional error rate (p < carrier_p) is left out,
iterating from the median of the patients' rates (robust to a minority of carriers; a noisy site,
noisy in everyone, keeps its high rate). Judging draws rather than patients keeps a patient's
draws from before a resistant clone appeared; the draw just before a flagged one is left out too
(`carrier_margin_draws`), as a growing clone is usually already there below significance. Site estimates are shrunk towards the class rate with a
prior worth `prior_depth` reads. Overdispersion (draw-to-draw variation of the error, the
beta-binomial intra-class correlation rho) is estimated per substitution class by the method of
moments on the draws used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import binom

from .stats import beta_shape, betabinom_sf

COMPLEMENT = str.maketrans("ACGT", "TGCA")
SITE = ["chrom", "pos", "ref", "alt"]
BACKGROUND_COLUMNS = [
    "chrom", "pos", "ref", "alt", "substitution", "error_rate", "dispersion", "source",
    "n_patients", "n_draws_excluded", "alt_reads", "depth",
]  # fmt: skip


@dataclass(frozen=True)
class BackgroundParams:
    default_error: float = 5e-4
    min_error: float = 1e-5
    default_dispersion: float = 0.0
    prior_depth: float = 5000.0
    carrier_p: float = 1e-4
    carrier_margin_draws: int = 1
    max_dispersion: float = 0.01
    min_sites_for_dispersion: int = 10


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


def counted(observations: pd.DataFrame) -> pd.DataFrame:
    """Rows with usable counts, typed."""
    frame = observations.copy()
    frame["alt_reads"] = pd.to_numeric(frame["alt_reads"], errors="coerce")
    frame["depth"] = pd.to_numeric(frame["depth"], errors="coerce")
    frame = frame[(frame.depth > 0) & frame.alt_reads.notna()]
    return frame.assign(alt_reads=frame.alt_reads.astype(int), depth=frame.depth.astype(int))


class BackgroundModel:
    """Fitted error rates; `null(site, patient)` gives the leave-that-patient-out error model."""

    def __init__(self, params: BackgroundParams, observations=None, table=None, normals=None):
        self.params = params
        self.class_rate: dict[str, float] = {}
        self.class_dispersion: dict[str, float] = {}
        self.overall_dispersion: float | None = None
        self.table = {}  # site -> (rate, dispersion) from a panel-of-normals table
        self.sites = {}  # site -> dict of cohort/normal sums
        if table is not None and len(table):
            for row in table.itertuples(index=False):
                dispersion = getattr(row, "dispersion", params.default_dispersion)
                dispersion = params.default_dispersion if pd.isna(dispersion) else float(dispersion)
                self.table[(row.chrom, int(row.pos), row.ref, row.alt)] = (float(row.error_rate), dispersion)
        obs = _empty_obs() if observations is None else counted(observations)
        normal_obs = _empty_obs() if normals is None else counted(normals)
        self._fit(obs, normal_obs)

    # ------------------------------------------------------------------ fitting

    def _fit(self, obs: pd.DataFrame, normals: pd.DataFrame):
        obs = obs.reset_index(drop=True)
        for frame in (obs, normals):
            frame["substitution"] = [substitution(r, a) for r, a in zip(frame.ref, frame.alt)]
        # Which draws are noise depends on the overdispersion, which is estimated from the noise:
        # alternate the two a few times (the first pass judges draws with a binomial).
        for _ in range(3):
            self._fit_once(obs, normals)

    def _fit_once(self, obs: pd.DataFrame, normals: pd.DataFrame):
        self.sites = {}
        sites = obs.groupby(SITE, sort=False).indices
        flagged = np.zeros(len(obs), dtype=bool)
        wide = {site for site, index in sites.items() if obs.patient.iloc[index].nunique() >= 3}
        # Sites seen in >= 3 patients start from the median of their patients' rates; the class
        # rates they give then judge the sites seen in fewer patients.
        for site in wide:
            flagged[sites[site]] = self._flag_draws(obs.iloc[sites[site]], None, self._class(site)[1])
        in_wide = np.zeros(len(obs), dtype=bool)
        for site in wide:
            in_wide[sites[site]] = True
        self._fit_class_rates(obs[in_wide & ~flagged])
        for site, index in sites.items():
            if site not in wide:
                prior, rho = self._class(site)
                flagged[index] = self._flag_draws(obs.iloc[index], prior, rho)
        flagged |= self._preceding_draws(obs, flagged)
        clean = obs[~flagged]
        self._fit_class_rates(clean)
        excluded = obs[flagged].groupby(SITE, sort=False).size().to_dict()
        for site, part in clean.groupby(SITE, sort=False):
            per_patient = part.groupby("patient", sort=False)[["alt_reads", "depth"]].sum()
            self.sites[site] = {
                "alt": int(part.alt_reads.sum()), "depth": int(part.depth.sum()), "n": len(per_patient),
                "excluded": int(excluded.get(site, 0)),
                "per_patient": {
                    p: (int(a), int(d)) for p, a, d in zip(per_patient.index, per_patient.alt_reads, per_patient.depth)
                },
            }  # fmt: skip
        for site, count in excluded.items():
            self.sites.setdefault(site, {"alt": 0, "depth": 0, "n": 0, "excluded": int(count), "per_patient": {}})
        for site, part in normals.groupby(SITE, sort=False):
            entry = self.sites.setdefault(site, {"alt": 0, "depth": 0, "n": 0, "excluded": 0, "per_patient": {}})
            entry["normal_alt"], entry["normal_depth"] = int(part.alt_reads.sum()), int(part.depth.sum())
        self._fit_dispersion(clean)

    def _fit_class_rates(self, clean: pd.DataFrame):
        """Typical rate per substitution class: the median of its sites' rates (a site where most
        patients carry a tumour variant must not raise the class), shrunk towards the default."""
        m, default = self.params.prior_depth, self.params.default_error
        self.class_rate = {}
        for klass, part in clean.groupby("substitution"):
            sums = part.groupby(SITE, sort=False)[["alt_reads", "depth"]].sum()
            informative = sums[sums.depth >= m]
            if len(informative):
                self.class_rate[klass] = float(np.median(informative.alt_reads / informative.depth))
            else:
                self.class_rate[klass] = (part.alt_reads.sum() + m * default) / (part.depth.sum() + m)

    def _flag_draws(self, part: pd.DataFrame, start_rate: float | None, rho: float) -> np.ndarray:
        """Draws whose counts at one site are far above that site's error: the variant is really there.

        Judged per draw, so a patient's draws from before a resistant clone appeared still count
        as background.
        """
        alt, depth = part.alt_reads.to_numpy(), part.depth.to_numpy()
        if start_rate is None:
            totals = part.groupby("patient", sort=False)[["alt_reads", "depth"]].sum()
            rate = float(np.median(totals.alt_reads / totals.depth))
        else:
            rate = start_rate
        rate = max(rate, self.params.min_error)
        # One pass against the robust starting rate: re-estimating the rate from the kept draws and
        # flagging again would eat into the upper tail of the noise itself, round after round.
        if rho > 0:
            return betabinom_sf(alt - 1, depth, *beta_shape(rate, rho)) < self.params.carrier_p
        return binom.sf(alt - 1, depth, rate) < self.params.carrier_p

    def _preceding_draws(self, obs: pd.DataFrame, flagged: np.ndarray) -> np.ndarray:
        """The draw just before a patient's flagged draw at a site: a growing clone is usually
        already there at a lower, not yet significant level, which would pass for noise."""
        extra = np.zeros(len(obs), dtype=bool)
        if "date" not in obs or not flagged.any() or self.params.carrier_margin_draws <= 0:
            return extra
        for _, index in obs.groupby(SITE + ["patient"], sort=False).indices.items():
            order = index[np.argsort(obs.date.to_numpy()[index], kind="stable")]
            hits = np.nonzero(flagged[order])[0]
            for hit in hits:
                extra[order[max(0, hit - self.params.carrier_margin_draws) : hit]] = True
        return extra & ~flagged

    def _fit_dispersion(self, clean: pd.DataFrame):
        """Beta-binomial rho: the median of per-site method-of-moments estimates (robust to the few
        sites where the 'noise' is really a tumour variant in most patients), per substitution
        class when the class has `min_sites_for_dispersion` sites, else over all sites."""
        estimates: dict[str, list[float]] = {}
        for site, draws in clean.groupby(SITE, sort=False):
            if len(draws) < 5:
                continue
            rate = max(draws.alt_reads.sum() / draws.depth.sum(), self.params.min_error)
            n, k = draws.depth.to_numpy(float), draws.alt_reads.to_numpy(float)
            z = ((k - n * rate) ** 2 / (n * rate * (1 - rate))).mean()
            estimates.setdefault(substitution(site[2], site[3]), []).append((z - 1.0) / np.mean(n - 1.0))
        pooled = [e for values in estimates.values() for e in values]
        if len(pooled) < self.params.min_sites_for_dispersion:
            return
        overall = float(np.median(pooled))
        for klass, values in estimates.items():
            rho = float(np.median(values)) if len(values) >= self.params.min_sites_for_dispersion else overall
            self.class_dispersion[klass] = float(np.clip(rho, 0.0, self.params.max_dispersion))
        self.overall_dispersion = float(np.clip(overall, 0.0, self.params.max_dispersion))

    # ------------------------------------------------------------------ queries

    def _class(self, site) -> tuple[float, float]:
        klass = substitution(site[2], site[3])
        fallback = self.params.default_dispersion if self.overall_dispersion is None else self.overall_dispersion
        return (
            max(self.class_rate.get(klass, self.params.default_error), self.params.min_error),
            self.class_dispersion.get(klass, fallback),
        )

    def _site_rate(self, site, exclude: str | None = None) -> float:
        prior_rate, _ = self._class(site)
        entry = self.sites.get(site)
        if entry is None:
            return prior_rate
        alt, depth = entry["alt"], entry["depth"]
        if exclude in entry["per_patient"]:
            own_alt, own_depth = entry["per_patient"][exclude]
            alt, depth = alt - own_alt, depth - own_depth
        m = self.params.prior_depth
        return max((alt + m * prior_rate) / (depth + m), self.params.min_error)

    def null(self, site, patient: str | None = None) -> Null:
        """Error model at `site` for `patient`, never using that patient's own draws."""
        site = (site[0], int(site[1]), site[2], site[3])
        prior_rate, prior_dispersion = self._class(site)
        if site in self.table:
            rate, dispersion = self.table[site]
            return Null(rate, dispersion, "panel_of_normals")
        entry = self.sites.get(site)
        if entry and entry.get("normal_depth"):
            m = self.params.prior_depth
            rate = (entry["normal_alt"] + m * prior_rate) / (entry["normal_depth"] + m)
            return Null(max(rate, self.params.min_error), prior_dispersion, "panel_of_normals")
        if entry:
            own = patient in entry["per_patient"]
            if entry["n"] - own > 0:
                return Null(self._site_rate(site, patient), prior_dispersion, "cohort")
        source = "substitution_class" if substitution(site[2], site[3]) in self.class_rate else "default"
        return Null(prior_rate, prior_dispersion, source)

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
                    "depth": entry.get("depth", 0),
                }  # fmt: skip
            )
        return pd.DataFrame(rows, columns=BACKGROUND_COLUMNS)


def _empty_obs() -> pd.DataFrame:
    return pd.DataFrame(columns=["patient", "sample", *SITE, "alt_reads", "depth"])
