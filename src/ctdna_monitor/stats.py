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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta, betabinom, binom, fisher_exact

from .values import is_missing

DETECTED, NOT_DETECTED, NOT_ASSESSABLE = "detected", "not_detected", "not_assessable"
LOD_POWER = 0.95


@dataclass(frozen=True)
class DetectionParams:
    alpha: float = 0.01
    min_alt_reads: int = 2
    assessable_vaf: float = 0.01


@dataclass(frozen=True)
class Detection:
    status: str
    p_value: float | None
    lod: float | None


def beta_shape(rate: float, rho: float) -> tuple[float, float]:
    """Beta parameters (a, b) of a beta-binomial with mean `rate` and intra-class correlation `rho`."""
    scale = (1.0 - rho) / rho
    return rate * scale, (1.0 - rate) * scale


def null_sf(alt_reads: int, depth: int, rate: float, rho: float = 0.0) -> float:
    """P(X >= alt_reads) under the null (beta-binomial; binomial when rho is 0)."""
    if alt_reads <= 0:
        return 1.0
    if rho <= 0:
        return float(binom.sf(alt_reads - 1, depth, rate))
    a, b = beta_shape(rate, rho)
    return float(betabinom.sf(alt_reads - 1, depth, a, b))


def binomial_p_value(alt_reads: int, depth: int, error: float) -> float:
    return null_sf(alt_reads, depth, error, 0.0)


def critical_alt_reads(depth: int, rate: float, rho: float, alpha: float, min_alt_reads: int = 1) -> int:
    """Smallest alt count the test calls detected at this depth."""
    mean = depth * rate
    spread = math.sqrt(max(mean * (1 - rate) * (1 + (depth - 1) * rho), 1.0))
    upper = min(depth, int(mean + 40 * spread + 20))
    ks = np.arange(1, upper + 1)
    if rho <= 0:
        sf = binom.sf(ks - 1, depth, rate)
    else:
        sf = betabinom.sf(ks - 1, depth, *beta_shape(rate, rho))
    hits = np.nonzero(sf <= alpha)[0]
    k = int(ks[hits[0]]) if len(hits) else depth + 1
    return max(k, min_alt_reads)


def lod95(depth: int, rate: float, rho: float, params: DetectionParams) -> float | None:
    """Smallest VAF detected with 95% probability at this depth (None if unreachable)."""
    if depth <= 0:
        return None
    k = critical_alt_reads(depth, rate, rho, params.alpha, params.min_alt_reads)
    if k > depth:
        return None
    # P(Binomial(n, p) >= k) is the Beta(k, n - k + 1) CDF at p: 95% power from its 95% quantile.
    p_star = float(beta.ppf(LOD_POWER, k, depth - k + 1))
    return max(0.0, (p_star - rate) / (1.0 - rate))


def classify(alt_reads, depth, vaf, params: DetectionParams, rate: float, rho: float = 0.0) -> Detection:
    """Status, p-value and LoD95 of one variant in one draw, against the site's error model."""
    if is_missing(depth) or depth <= 0:
        if is_missing(alt_reads) and not is_missing(vaf) and vaf > 0:
            # VAF-only input (e.g. a vendor report): the assay called it, counts are unknown.
            return Detection(DETECTED, None, None)
        return Detection(NOT_ASSESSABLE, None, None)
    depth = int(depth)
    lod = lod95(depth, rate, rho, params)
    if is_missing(alt_reads):
        if not is_missing(vaf) and vaf > 0:
            return Detection(DETECTED, None, lod)
        return Detection(NOT_ASSESSABLE, None, lod)
    alt_reads = int(alt_reads)
    p_value = null_sf(alt_reads, depth, rate, rho)
    if p_value <= params.alpha and alt_reads >= params.min_alt_reads:
        return Detection(DETECTED, p_value, lod)
    if lod is None or lod > params.assessable_vaf:
        return Detection(NOT_ASSESSABLE, p_value, lod)
    return Detection(NOT_DETECTED, p_value, lod)


def rise_p_value(alt_before: int, depth_before: int, alt_after: int, depth_after: int) -> float:
    """One-sided Fisher exact test that the alt fraction is higher in the later draw."""
    table = [[alt_after, depth_after - alt_after], [alt_before, depth_before - alt_before]]
    return float(fisher_exact(table, alternative="greater").pvalue)
