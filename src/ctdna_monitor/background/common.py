"""Shared pieces of the background model: settings, thresholds, the null type and small helpers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..stats import null_sf_many

COMPLEMENT = str.maketrans("ACGT", "TGCA")
SITE = ["chrom", "pos", "ref", "alt"]
RECURRENT = "recurrent_variant"
CLASS_CEILING_FOLD = 100.0  # no noise rate above 100 x its base change's typical rate
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
    max_error: float = 0.02
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


def tail_p(alt, depth, rate, rho) -> np.ndarray:
    """P(X >= alt) under a beta-binomial (binomial where rho is 0), elementwise; rate and rho may be scalars."""
    alt = np.asarray(alt, dtype=np.int64)
    rate, rho = np.broadcast_to(np.asarray(rate, float), alt.shape), np.broadcast_to(np.asarray(rho, float), alt.shape)
    flat = [np.ravel(x) for x in (alt, np.broadcast_to(np.asarray(depth, dtype=np.int64), alt.shape), rate, rho)]
    return null_sf_many(*flat).reshape(alt.shape)


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
