"""Shared pieces of the background model: settings, thresholds, the null type and small helpers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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
QUIET_P = 0.05  # a carrier's draw at least this probable at its base change's typical rate is still quiet
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


@lru_cache(maxsize=65536)  # (called for every null: a few distinct pairs, many times)
def substitution(ref: str, alt: str) -> str:
    """Pyrimidine-centred SNV class (G>A is C>T), or 'indel' / 'mnv'."""
    if len(ref) == 1 and len(alt) == 1:
        if ref in "GA":
            ref, alt = ref.translate(COMPLEMENT), alt.translate(COMPLEMENT)
        return f"{ref}>{alt}"
    return "mnv" if len(ref) == len(alt) else "indel"


def tail_p(alt, depth, rate, rho, decide_at: float | None = None) -> np.ndarray:
    """P(X >= alt) under a beta-binomial (binomial where rho is 0), elementwise; rate and rho may be scalars.
    With `decide_at`, only for comparison with that threshold (see stats.null_sf_many)."""
    alt = np.asarray(alt, dtype=np.int64)
    rate, rho = np.broadcast_to(np.asarray(rate, float), alt.shape), np.broadcast_to(np.asarray(rho, float), alt.shape)
    flat = [np.ravel(x) for x in (alt, np.broadcast_to(np.asarray(depth, dtype=np.int64), alt.shape), rate, rho)]
    return null_sf_many(*flat, decide_at=decide_at).reshape(alt.shape)


def tail_below(alt, depth, rate, rho, threshold: float) -> np.ndarray:
    """tail_p(...) < threshold, elementwise: tails a bound puts clearly on one side are not summed."""
    return tail_p(alt, depth, rate, rho, decide_at=threshold) < threshold


def _days(obs) -> np.ndarray | None:
    """Days since 1970 of each row's draw (NaN where unknown), or None without dates."""
    if "date" not in obs or not len(obs):
        return None
    # (each distinct date once; the first date still decides the format, as it is first among them)
    which, dates = pd.factorize(obs["date"].to_numpy(dtype=object), use_na_sentinel=False)
    stamps = pd.to_datetime(pd.Series(dates, dtype=object), errors="coerce")
    days = (stamps - pd.Timestamp("1970-01-01")).dt.days.to_numpy(float)[which]
    return None if np.isnan(days).all() else days


SHORT_SEGMENT = 64  # segments up to this many rows are summed side by side in one padded table


def substitutions(ref, alt) -> np.ndarray:
    """substitution() of every row, computed once per distinct (ref, alt) pair."""
    ref_code, refs = pd.factorize(pd.Series(ref, dtype=object), use_na_sentinel=False)
    alt_code, alts = pd.factorize(pd.Series(alt, dtype=object), use_na_sentinel=False)
    pair = ref_code.astype(np.int64) * max(len(alts), 1) + alt_code
    distinct, which = np.unique(pair, return_inverse=True)
    classes = np.array([substitution(refs[p // len(alts)], alts[p % len(alts)]) for p in distinct], dtype=object)
    return classes[which] if len(pair) else np.array([], dtype=object)


def restarting_cumsum(values, counts) -> np.ndarray:
    """Running sums of `values` (sorted by segment, counts[k] rows in segment k) that restart at every
    segment, each segment's led by a 0: segment k's sums sit at starts[k] + k .. starts[k] + k + counts[k].

    Each segment is summed on its own, sequentially, so every sum is bit for bit np.cumsum of its
    segment alone: results never depend on which other segments were fitted alongside."""
    values, counts = np.asarray(values, float), np.asarray(counts, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    out = np.zeros(len(values) + len(counts))
    short = np.flatnonzero(counts <= SHORT_SEGMENT)
    if len(short):  # one padded row per segment; cumsum along rows (numpy accumulates sequentially)
        width = int(counts[short].max()) + 1
        table = np.zeros((len(short), width))
        lengths = counts[short]
        row = np.repeat(np.arange(len(short)), lengths)
        within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        table[row, within + 1] = values[starts[short][row] + within]
        running = np.cumsum(table, axis=1)
        kept = np.arange(width) <= lengths[:, None]
        target = (starts[short] + short)[:, None] + np.arange(width)
        out[target[kept]] = running[kept]
    for k in np.flatnonzero(counts > SHORT_SEGMENT):
        out[starts[k] + k + 1 : starts[k] + k + 1 + counts[k]] = np.cumsum(values[starts[k] : starts[k] + counts[k]])
    return out


class DateIndex:
    """Rows in date order within segments (a site; a site and patient), to sum any per-row values over
    a date range of a segment in two look-ups, for many queries at once. A row without a date is in
    no range. Values to ignore are given as 0 (adding 0 changes no running sum)."""

    def __init__(self, segment, days, n_segments):
        self.dated = ~np.isnan(days)
        segment = np.asarray(segment, dtype=np.int64)[self.dated]
        self.dates = np.unique(days[self.dated])
        rank = np.searchsorted(self.dates, days[self.dated])
        self.order = np.lexsort((rank, segment))  # stable: rows of one date keep their order
        self.width = len(self.dates) + 1
        self.keys = segment[self.order] * self.width + rank[self.order]
        self.counts = np.bincount(segment, minlength=n_segments)

    def running(self, values) -> np.ndarray:
        """Running sums of `values` (one per row) in this order, restarting at each segment."""
        return restarting_cumsum(np.asarray(values, float)[self.dated][self.order], self.counts)

    def _positions(self, segment, *date_ranks) -> list[np.ndarray]:
        """Index into running sums of the rows of `segment` dated before the `date_rank`-th date, for
        each of `date_ranks` (each ordered like the first, so one sort of the queries serves all)."""
        queries = [segment * self.width + rank for rank in date_ranks]
        if len(segment) > 1 and not (queries[0][1:] >= queries[0][:-1]).all():
            # (a search of sorted queries stays in cache: ~10x faster than random ones)
            order = np.argsort(queries[0], kind="stable")
            found = []
            for query in queries:
                at = np.empty(len(query), dtype=np.int64)
                at[order] = np.searchsorted(self.keys, query[order], "left")
                found.append(at + segment)
            return found
        return [np.searchsorted(self.keys, query, "left") + segment for query in queries]

    def between(self, segment, first, last) -> list[np.ndarray]:
        """Per query, where its segment's rows dated first..last (both included) start and end in
        running sums: their sum is running[end] - running[start]. (last - first is the same for all.)"""
        return self._positions(segment, np.searchsorted(self.dates, first, "left"), np.searchsorted(self.dates, last, "right"))

    def before(self, segment, day) -> np.ndarray:
        """Per query, where its segment's rows dated before `day` end in running sums."""
        return self._positions(segment, np.searchsorted(self.dates, day, "left"))[0]


@dataclass
class RowCodes:
    """Integer codes of the fitted rows, computed once: site (in the order of the fit's site index),
    patient, (site, patient) pair ('key') and draw, so that per-group work is numpy, not Python."""

    sites: list  # site tuples, numbered as `site`
    site: np.ndarray
    patients: pd.Index
    patient: np.ndarray
    key: np.ndarray  # dense code of (site, patient)
    key_site: np.ndarray  # site of each key
    pair: np.ndarray  # sorted site * n_patients + patient of each key
    draws: pd.Index
    draw: np.ndarray
    date_rank: np.ndarray  # order of the rows' date texts (missing last)
    draw_first: np.ndarray  # first row of each draw
    by_site_draw: np.ndarray  # rows sorted by (site, draw), stable
    by_key_date: np.ndarray  # rows sorted by (key, date text), stable

    @classmethod
    def of(cls, obs, index) -> RowCodes:
        site = np.zeros(len(obs), dtype=np.int64)
        for number, rows in enumerate(index.values()):
            site[rows] = number
        patient, patients = pd.factorize(obs["patient"].to_numpy(dtype=object), use_na_sentinel=False)
        pair = site * max(len(patients), 1) + patient
        pairs, key = np.unique(pair, return_inverse=True)
        draw, draws = pd.factorize(obs["sample"].to_numpy(dtype=object), use_na_sentinel=False)
        if "date" in obs:
            date_rank, _ = pd.factorize(obs["date"].to_numpy(dtype=object), sort=True)
            date_rank = np.where(date_rank < 0, len(date_rank) + 1, date_rank)
        else:
            date_rank = np.zeros(len(obs), dtype=np.int64)
        draw_first = np.unique(draw, return_index=True)[1]
        by_site_draw = np.argsort(site * max(len(draws), 1) + draw, kind="stable")
        return cls(list(index), site, pd.Index(patients, dtype=object), patient.astype(np.int64), key.reshape(-1),
                   pairs // max(len(patients), 1), pairs, pd.Index(draws, dtype=object), draw.astype(np.int64),
                   date_rank, draw_first, by_site_draw, np.lexsort((date_rank, key.reshape(-1))))  # fmt: skip

    def site_codes(self, sites) -> np.ndarray:
        """Code of each of `sites` (tuples), -1 for a site the fit did not see."""
        number = {site: i for i, site in enumerate(self.sites)}
        return np.array([number.get(site, -1) for site in sites], dtype=np.int64)

    def key_codes(self, site, patients) -> np.ndarray:
        """(site, patient) key of each query (site codes, patient names), -1 where the fit has none."""
        if not len(self.pair):
            return np.full(len(site), -1)
        patient = self.patients.get_indexer(pd.Index(np.asarray(patients, dtype=object), dtype=object))
        pair = site * len(self.patients) + patient
        at = np.minimum(np.searchsorted(self.pair, pair), len(self.pair) - 1)
        return np.where((site >= 0) & (patient >= 0) & (self.pair[at] == pair), at, -1)


def _empty_entry() -> dict:
    return {"alt": 0, "exposure": 0.0, "depth": 0, "n": 0, "excluded": 0, "carriers": [], "per_patient": {}}


def _empty_obs() -> pd.DataFrame:
    return pd.DataFrame(columns=["patient", "sample", *SITE, "alt_reads", "depth"])
