"""Detection statistics: is an alt-read count more than background sequencing error explains?

Null model: at a site read n times, the reads that show the ALT allele by error follow a
beta-binomial with mean error rate e and intra-class correlation rho (rho = 0 is the binomial).
rho captures draw-to-draw variation of the error, which makes isolated high counts less surprising
than a binomial would say. A draw is `detected` when P(X >= alt_reads | null) <= alpha and at least
`min_alt_reads` reads show the allele.

LoD95: the smallest VAF f at which a draw of that depth would be called detected with 95%
probability: the test needs k* alt reads, and Binomial(n, f + (1 - f) e) reaches k* with 95%
probability when its success rate is the 95% quantile of Beta(k*, n - k* + 1).

`not_assessable`: no usable counts, or not detected with an LoD95 above `assessable_vaf` (the draw
was too shallow to see the variant at a clinically relevant level, so absence says little).

A VAF without read counts (a vendor report) cannot be tested directly. It is `detected` when it is
at least `vaf_only_min_fold` times the site's background error (a caller's call at a position that
errs at 0.5 % is not evidence at 0.6 %) and when the test passes on the counts that VAF would be at
the record's depth, or at `vaf_only_depth` when the depth is unknown too (a low plasma depth: a VAF
of 0.3 % is 3 reads at 1,000x, which a site erring at 0.1 % gives by chance one time in twelve);
else `not_assessable`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .values import is_missing

DETECTED, NOT_DETECTED, NOT_ASSESSABLE = "detected", "not_detected", "not_assessable"
LOD_POWER = 0.95


@dataclass(frozen=True)
class DetectionParams:
    alpha: float = 0.01
    min_alt_reads: int = 2
    assessable_vaf: float = 0.01
    # A VAF without read counts (vendor reports) is a detection only this many times above the site's error.
    vaf_only_min_fold: float = 3.0
    # ... and its counts at this depth (when the depth is unknown too) must pass the test.
    vaf_only_depth: int = 1000


@dataclass(frozen=True)
class Detection:
    status: str
    p_value: float | None
    lod: float | None


def beta_shape(rate: float, rho: float) -> tuple[float, float]:
    """Beta parameters (a, b) of a beta-binomial with mean `rate` and intra-class correlation `rho`."""
    scale = (1.0 - rho) / rho
    return rate * scale, (1.0 - rate) * scale


_TERMS_PER_CHUNK = 2_000_000  # pmf terms of one cumulative sum in betabinom_sf (see _pmf_sums)
_TERMS_PER_BLOCK = 1 << 15  # pmf terms evaluated at once: the temporaries stay in the CPU cache
_TAIL_SD = 40  # an upper tail is summed over this many decay lengths (+ 50 terms): the rest is negligible


def _pmf_sums(n, a, b, first_j, counts) -> np.ndarray:
    """For each element i: sum of the Beta-binomial(n_i, a_i, b_i) pmf over j = first_j_i .. first_j_i + counts_i - 1.

    The first term of each element comes from beta functions; the next ones from the pmf's ratio
    pmf(j)/pmf(j-1) = (n-j+1)(j-1+a) / (j (n-j+b)), summed in log space (four logs per term instead
    of three beta functions).

    The log ratios of about _TERMS_PER_CHUNK terms (whole elements) form one running sum, and a term's
    log pmf is its element's first term plus the running sum minus the sum at the element's start.
    That arithmetic fixes every bit of the results (earlier results must be reproduced exactly), so the
    faster evaluation keeps it: the running sum is carried from block to block of _TERMS_PER_BLOCK terms
    (a cumulative sum restarted from the carried value adds in the same order)."""
    from scipy.special import betaln  # (imported when used: scipy.stats alone takes 0.5 s to import)
    n, first_j, counts = (np.asarray(x, dtype=np.int64) for x in (n, first_j, counts))
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    sums = np.empty(len(n))
    log_first = -np.log1p(n) - betaln(n - first_j + 1, first_j + 1) + betaln(first_j + a, n - first_j + b) - betaln(a, b)
    ends = np.cumsum(counts)
    first = 0
    while first < len(n):
        last = max(int(np.searchsorted(ends, ends[first] - counts[first] + _TERMS_PER_CHUNK, side="right")), first + 1)
        carry = 0.0  # the running sum of the chunk so far
        block = first
        while block < last:
            stop = max(int(np.searchsorted(ends, ends[block] - counts[block] + _TERMS_PER_BLOCK, side="right")), block + 1)
            stop = min(stop, last)
            part = slice(block, stop)
            sums[part], carry = _block_sums(n[part], a[part], b[part], first_j[part], counts[part], log_first[part], carry)
            block = stop
        first = last
    return sums


def _block_sums(n, a, b, first_j, counts, log_first, carry):
    """(pmf sums of a block of elements, the running sum of log ratios at its end); see _pmf_sums."""
    total = int(counts.sum())
    starts = np.zeros(len(n), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    j = np.arange(total, dtype=np.int64)
    j += np.repeat(first_j - starts, counts)
    nn = np.repeat(n, counts)
    above = nn - j  # n - j
    with np.errstate(divide="ignore", invalid="ignore"):
        steps = np.log(above + 1) - np.log(j)
        steps += np.log(j - 1 + np.repeat(a, counts))
        steps -= np.log(above + np.repeat(b, counts))
    steps[starts] = 0.0
    steps[0] += carry
    walked = np.cumsum(steps, out=steps)
    log_pmf = np.repeat(log_first, counts)
    log_pmf += walked
    log_pmf -= np.repeat(walked[starts], counts)
    np.exp(log_pmf, out=log_pmf)
    return np.add.reduceat(log_pmf, starts), float(walked[-1])


def betabinom_sf(k, n, a, b) -> np.ndarray:
    """P(X > k) for X ~ Beta-binomial(n, a, b), elementwise over arrays.

    Up to the mean it is 1 - the pmf summed over 0..k (the value is large, nothing cancels); above
    the mean the tail itself is summed over 40 decay lengths, so small p-values keep their digits
    where 1 - cdf (scipy's way) leaves rounding noise of about 1e-12. All terms of all elements go
    through a few numpy calls: scipy sums each element in its own Python call, which dominated the
    run time of large cohorts."""
    k, n = np.atleast_1d(np.asarray(k, dtype=np.int64)), np.atleast_1d(np.asarray(n, dtype=np.int64))
    a, b = np.broadcast_to(np.asarray(a, dtype=float), k.shape), np.broadcast_to(np.asarray(b, dtype=float), k.shape)
    out = np.where(k < 0, 1.0, 0.0)  # k >= n: nothing above
    # (an invalid shape is NaN on its own: summed with the others, it would spoil their running sums)
    valid = np.isfinite(a) & np.isfinite(b)
    out[~valid] = np.nan
    inside = valid & (k >= 0) & (k < n)
    mean = n * a / (a + b)
    sd = np.sqrt(n * a * b * (a + b + n) / ((a + b) ** 2 * (a + b + 1)))
    upper = inside & (k > mean)
    lower = np.flatnonzero(inside & ~upper)
    upper = np.flatnonzero(upper)
    if len(lower):
        cdf = _pmf_sums(n[lower], a[lower], b[lower], np.zeros(len(lower), dtype=np.int64), k[lower] + 1)
        out[lower] = np.clip(1.0 - cdf, 0.0, 1.0)
    if len(upper):
        # far out the pmf falls by about (n - j) / (n - j + b) per step, so its decay length is at most
        # n / b terms; the spread of the bulk is sd. 40 of the longer of the two leave < e^-40 behind.
        scale = np.maximum(sd[upper], n[upper] / b[upper])
        counts = np.minimum(n[upper] - k[upper], np.ceil(_TAIL_SD * scale + 50).astype(np.int64))
        out[upper] = np.clip(_pmf_sums(n[upper], a[upper], b[upper], k[upper] + 1, counts), 0.0, 1.0)
    return out


def null_sf(alt_reads: int, depth: int, rate: float, rho: float = 0.0) -> float:
    """P(X >= alt_reads) under the null (beta-binomial; binomial when rho is 0)."""
    from scipy.stats import binom
    if alt_reads <= 0:
        return 1.0
    if rho <= 0:
        return float(binom.sf(alt_reads - 1, depth, rate))
    a, b = beta_shape(rate, rho)
    return float(betabinom_sf(alt_reads - 1, depth, a, b)[0])


def binomial_p_value(alt_reads: int, depth: int, error: float) -> float:
    return null_sf(alt_reads, depth, error, 0.0)


def critical_alt_reads(depth: int, rate: float, rho: float, alpha: float, min_alt_reads: int = 1) -> int:
    """Smallest alt count the test calls detected at this depth."""
    return int(critical_alt_reads_many([depth], [rate], [rho], alpha, min_alt_reads)[0])


def critical_alt_reads_many(depth, rate, rho, alpha: float, min_alt_reads: int = 1) -> np.ndarray:
    """critical_alt_reads of many (depth, rate, rho) at once (depth + 1 where no count is significant).

    The survival function is searched over k = 1 .. mean + sd * sqrt(1/alpha - 1) + 20 (Cantelli's bound: no
    critical count lies beyond it): binomial by scipy, beta-binomial as scipy defines it (1 - the sum of the pmf
    over 0..k-1) but from one pmf evaluation per row.
    """
    depth = np.asarray(depth, dtype=np.int64)
    rate = np.asarray(rate, dtype=float)
    rho = np.asarray(rho, dtype=float)
    mean = depth * rate
    spread = np.sqrt(np.maximum(mean * (1 - rate) * (1 + (depth - 1) * rho), 1.0))
    # Cantelli: P(X >= mean + t) <= var / (var + t^2), which is <= alpha once t >= sd * sqrt(1/alpha - 1), so the
    # first significant count lies below that bound (whatever the shape of the tail); the margin covers rounding.
    reach = np.sqrt(max(1.0 / alpha - 1.0, 0.0))
    upper = np.minimum(depth, (mean + reach * spread + 20).astype(np.int64))
    result = depth + 1
    order = np.argsort(upper, kind="stable")
    start = 0
    while start < len(order):  # rows of similar width together, about 2 million cells per block
        width = max(int(upper[order[start]]), 1)
        rows = max(1, 2_000_000 // width)
        block = order[start : start + rows]
        width = max(int(upper[block].max()), 1)
        result[block] = _first_significant(depth[block], rate[block], rho[block], upper[block], width, alpha)
        start += len(block)
    return np.maximum(result, min_alt_reads)


def _first_significant(depth, rate, rho, upper, width, alpha) -> np.ndarray:
    """The first k in 1 .. upper with P(X >= k) <= alpha for each row (depth + 1 where none is)."""
    from scipy.stats import binom
    result = depth + 1
    binomial = rho <= 0
    if binomial.any():
        ks = np.arange(1, width + 1)[None, :]
        sf = binom.sf(ks - 1, depth[binomial, None], rate[binomial, None])
        hit = (sf <= alpha) & (ks <= upper[binomial, None])
        result[binomial] = np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, depth[binomial] + 1)
    if (~binomial).any():
        rows = ~binomial
        result[rows] = _first_significant_betabinom(depth[rows], rate[rows], rho[rows], upper[rows], alpha)
    return result


def _first_significant_betabinom(depth, rate, rho, upper, alpha) -> np.ndarray:
    """_first_significant of beta-binomial rows, as scipy defines the tail (1 - the pmf summed over 0..k-1).

    pmf(0) from beta functions, then pmf(j) / pmf(j-1) = (n-j+1)(j-1+a) / (j (n-j+b)) in log space (four
    logs per cell instead of three beta functions), running sums over j for the log pmf and the cdf. The
    cells go a few k at a time and a row stops at its first significant k (most stop within a few reads of
    the mean, far below `upper`); each slab starts its running sums from the previous slab's last values,
    so every sum adds the same numbers in the same order as one pass over all k would."""
    from scipy.special import betaln
    a, b = beta_shape(rate, rho)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # cells beyond the depth are masked below
        log_first = -np.log(depth + 1) - betaln(depth + 1, 1) + betaln(a, depth + b) - betaln(a, b)
    result = depth + 1
    active = np.arange(len(depth))  # rows without a significant k so far
    log_pmf = np.zeros(0)  # per active row: log pmf(k0 - 2), then the cdf up to k0 - 2
    cdf = np.zeros(0)
    k0, slab = 1, 4
    while len(active):
        ks = np.arange(k0, k0 + slab)[:, None]  # cells (k, row): the running sums add whole rows at once
        j = ks - 1
        nn, aa, bb = depth[active][None, :], a[active][None, :], b[active][None, :]
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            steps = np.log(nn - j + 1) - np.log(j) + np.log(j - 1 + aa) - np.log(nn - j + bb)
            if k0 == 1:
                steps[0] = log_first[active]
            else:
                steps[0] += log_pmf
            walked = np.cumsum(steps, axis=0)
            pmf = np.where(j < nn, np.exp(walked), 0.0)
        if k0 > 1:
            pmf[0] += cdf
        mass = np.cumsum(pmf, axis=0)
        hit = (np.clip(1.0 - mass, 0.0, 1.0) <= alpha) & (ks <= upper[active][None, :])
        found = hit.any(axis=0)
        result[active[found]] = hit.argmax(axis=0)[found] + k0
        going = ~found & (upper[active] >= k0 + slab)
        active, log_pmf, cdf = active[going], walked[-1, going], mass[-1, going]
        k0, slab = k0 + slab, min(slab * 2, 64)
    return result


def lod95(depth: int, rate: float, rho: float, params: DetectionParams) -> float | None:
    """Smallest VAF detected with 95% probability at this depth (None if unreachable)."""
    if depth <= 0:
        return None
    lod = lod95_many([depth], [rate], [rho], params)[0]
    return None if np.isnan(lod) else float(lod)


def lod95_many(depth, rate, rho, params: DetectionParams) -> np.ndarray:
    """lod95 of many draws at once; NaN where unreachable or without depth."""
    from scipy.stats import beta
    depth = np.asarray(depth, dtype=np.int64)
    rate = np.asarray(rate, dtype=float)
    lod = np.full(len(depth), np.nan)
    positive = depth > 0
    k = np.full(len(depth), 0, dtype=np.int64)
    k[positive] = critical_alt_reads_many(depth[positive], rate[positive], np.asarray(rho, dtype=float)[positive],
                                          params.alpha, params.min_alt_reads)  # fmt: skip
    reachable = positive & (k <= depth)
    # P(Binomial(n, p) >= k) is the Beta(k, n - k + 1) CDF at p: 95% power from its 95% quantile.
    # (k, depth) pairs repeat across draws: one quantile per distinct pair
    pairs, which = np.unique(k[reachable] * (int(depth.max(initial=0)) + 1) + depth[reachable], return_inverse=True)
    k_of, depth_of = np.divmod(pairs, int(depth.max(initial=0)) + 1)
    p_star = beta.ppf(LOD_POWER, k_of, depth_of - k_of + 1)[which]
    lod[reachable] = np.maximum(0.0, (p_star - rate[reachable]) / (1.0 - rate[reachable]))
    return lod


def null_sf_many(alt_reads, depth, rate, rho, decide_at: float | None = None) -> np.ndarray:
    """null_sf of many draws at once (alt_reads and depth integers).

    With `decide_at`, the result serves only comparisons with that threshold: a beta-binomial tail that a
    bound puts clearly below it is returned as 0.0 and one clearly above it as 1.0, without summing its
    terms (see _decided_tails); the others are exact. `p < decide_at` and `p >= decide_at` are then the
    same as with exact values."""
    from scipy.stats import binom
    alt_reads, depth = np.asarray(alt_reads, dtype=np.int64), np.asarray(depth, dtype=np.int64)
    rate, rho = np.asarray(rate, dtype=float), np.asarray(rho, dtype=float)
    out = np.ones(len(alt_reads))
    binomial = (alt_reads > 0) & (rho <= 0)
    if decide_at is not None and decide_at < 0.5:
        # at or below floor(depth x rate), the binomial median or less, the tail is at least one half
        binomial &= ~(alt_reads <= np.floor(depth * rate))
    out[binomial] = binom.sf(alt_reads[binomial] - 1, depth[binomial], rate[binomial])
    over = np.flatnonzero((alt_reads > 0) & (rho > 0))
    if len(over):
        a, b = beta_shape(rate[over], rho[over])
        if decide_at is not None:
            decided = _decided_tails(alt_reads[over], depth[over], a, b, decide_at)
            out[over] = decided
            keep = np.isnan(decided)
            over, a, b = over[keep], a[keep], b[keep]
        out[over] = betabinom_sf(alt_reads[over] - 1, depth[over], a, b)
    return out


def _decided_tails(k, n, a, b, threshold: float) -> np.ndarray:
    """P(X >= k) for X ~ Beta-binomial(n, a, b) where two cheap bounds place it on one side of `threshold`:
    0.0 where it is clearly below, 1.0 where clearly above, NaN where the tail must be summed.

    Below: from j = k on, each pmf ratio pmf(j+1)/pmf(j) = [(n-j)/(n-j-1+b)] [(j+a)/(j+1)] is at most
    R = [(n-k)/(n-k-1+b)] (k + max(a, 1))/(k+1) when b >= 1 (the first factor falls with j; the second falls
    with j when a >= 1 and stays below 1 when a < 1), so the tail is at most pmf(k) / (1 - R) if R < 1.
    Above: the tail is at least its first term pmf(k). Both margins (a half, and 0.1 %) are far wider
    than the rounding of the summed tail, so the comparison comes out as with the summed value.
    (Carriers' counts are thousands of decay lengths out, where summing cost most of the background fit.)"""
    from scipy.special import betaln
    k, n = np.asarray(k, dtype=np.int64), np.asarray(n, dtype=np.int64)
    out = np.full(len(k), np.nan)
    valid = (k > 0) & (k <= n) & np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
    if not valid.any():
        return out
    kk, nn, aa, bb = k[valid], n[valid], a[valid], b[valid]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_first = -np.log1p(nn) - betaln(nn - kk + 1, kk + 1) + betaln(kk + aa, nn - kk + bb) - betaln(aa, bb)
        ratio = (nn - kk) / (nn - kk - 1 + bb) * (kk + np.maximum(aa, 1.0)) / (kk + 1)
        log_bound = log_first - np.log1p(-np.minimum(ratio, 1.0))
    below = (bb >= 1) & (ratio < 1) & np.isfinite(log_bound) & (log_bound < np.log(0.5 * threshold))
    above = np.isfinite(log_first) & (log_first >= np.log(threshold * 1.001))
    decided = np.where(below, 0.0, np.where(above, 1.0, np.nan))
    out[valid] = decided
    return out


def classify(alt_reads, depth, vaf, params: DetectionParams, rate: float, rho: float = 0.0) -> Detection:
    """Status, p-value and LoD95 of one variant in one draw, against the site's error model."""
    vaf_called = bool(_vaf_called(np.array([np.nan if is_missing(vaf) else vaf], float),
                                  np.array([np.nan if is_missing(depth) else depth], float),
                                  np.array([rate], float), np.array([rho], float), params)[0])  # fmt: skip
    if is_missing(depth) or depth <= 0:
        if is_missing(alt_reads) and vaf_called:
            # VAF-only input (e.g. a vendor report): the assay called it, counts are unknown.
            return Detection(DETECTED, None, None)
        return Detection(NOT_ASSESSABLE, None, None)
    depth = int(depth)
    lod = lod95(depth, rate, rho, params)
    if is_missing(alt_reads):
        return Detection(DETECTED if vaf_called else NOT_ASSESSABLE, None, lod)
    alt_reads = int(alt_reads)
    p_value = null_sf(alt_reads, depth, rate, rho)
    if p_value <= params.alpha and alt_reads >= params.min_alt_reads:
        return Detection(DETECTED, p_value, lod)
    if lod is None or lod > params.assessable_vaf:
        return Detection(NOT_ASSESSABLE, p_value, lod)
    return Detection(NOT_DETECTED, p_value, lod)


def classify_many(alt_reads, depth, vaf, params: DetectionParams, rate, rho):
    """classify() of many draws at once: (status, p_value, lod) arrays, NaN where classify gives None.

    alt_reads, depth and vaf are floats with NaN for missing values.
    """
    alt_reads, depth, vaf = (np.asarray(x, dtype=float) for x in (alt_reads, depth, vaf))
    rate, rho = np.asarray(rate, dtype=float), np.asarray(rho, dtype=float)
    count = len(depth)
    status = np.full(count, NOT_ASSESSABLE, dtype=object)
    p_value, lod = np.full(count, np.nan), np.full(count, np.nan)
    vaf_shown = _vaf_called(vaf, depth, rate, rho, params)
    no_depth = np.isnan(depth) | (depth <= 0)
    status[no_depth & np.isnan(alt_reads) & vaf_shown] = DETECTED  # VAF-only input: the assay called it
    counted = ~no_depth
    if not counted.any():
        return status, p_value, lod
    depth_int = np.where(counted, np.nan_to_num(depth), 0).astype(np.int64)
    lod[counted] = lod95_many(depth_int[counted], rate[counted], rho[counted], params)
    vaf_only = counted & np.isnan(alt_reads)
    status[vaf_only & vaf_shown] = DETECTED
    tested = counted & ~np.isnan(alt_reads)
    alt_int = np.where(tested, np.nan_to_num(alt_reads), 0).astype(np.int64)
    p_value[tested] = null_sf_many(alt_int[tested], depth_int[tested], rate[tested], rho[tested])
    detected = tested & (p_value <= params.alpha) & (alt_int >= params.min_alt_reads)
    shallow = np.isnan(lod) | (lod > params.assessable_vaf)
    status[tested & ~detected & ~shallow] = NOT_DETECTED
    status[detected] = DETECTED
    return status, p_value, lod


def _vaf_called(vaf, depth, rate, rho, params: DetectionParams) -> np.ndarray:
    """Whether each VAF without counts is a detection: vaf_only_min_fold x the error, and the counts
    it would be at its depth (vaf_only_depth when unknown) significant at alpha."""
    shown = ~np.isnan(vaf) & (vaf > 0) & (vaf >= params.vaf_only_min_fold * rate)
    if not shown.any():
        return shown
    depth = np.where(np.isnan(depth) | (depth <= 0), params.vaf_only_depth, depth)
    reads = np.round(np.nan_to_num(vaf[shown]) * depth[shown])
    p = null_sf_many(reads, depth[shown], rate[shown], rho[shown])
    shown[shown] = (p <= params.alpha) & (reads >= params.min_alt_reads)
    return shown


def rise_p_value(alt_before: int, depth_before: int, alt_after: int, depth_after: int) -> float:
    """One-sided Fisher exact test that the alt fraction is higher in the later draw."""
    from scipy.stats import fisher_exact
    table = [[alt_after, depth_after - alt_after], [alt_before, depth_before - alt_before]]
    return float(fisher_exact(table, alternative="greater").pvalue)
