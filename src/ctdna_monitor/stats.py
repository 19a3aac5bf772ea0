"""Detection statistics: is an alt-read count more than background sequencing error explains?

Model: at a site sequenced to depth n with a per-base background error rate e,
the number of error reads supporting one specific ALT allele is Binomial(n, e).
A draw is `detected` when P(X >= alt_reads) <= alpha (one-sided exact binomial
test). The limit of detection (lod) is k*/n where k* is the smallest alt count
that the test would call detected at that depth: below it the draw cannot tell
the variant from noise. A site with depth below `min_depth` that is not detected
is `not_assessable` (absence there says little).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from scipy.stats import binom, fisher_exact

from .values import is_missing

DETECTED, NOT_DETECTED, NOT_ASSESSABLE = "detected", "not_detected", "not_assessable"


@dataclass(frozen=True)
class DetectionParams:
    background_error: float = 5e-4
    alpha: float = 0.01
    min_depth: int = 100
    min_alt_reads: int = 2


@dataclass(frozen=True)
class Detection:
    status: str
    p_value: float | None
    lod: float | None


def binomial_p_value(alt_reads: int, depth: int, error: float) -> float:
    """P(X >= alt_reads) for X ~ Binomial(depth, error)."""
    if alt_reads <= 0:
        return 1.0
    return float(binom.sf(alt_reads - 1, depth, error))


@lru_cache(maxsize=65536)
def critical_alt_reads(depth: int, error: float, alpha: float, min_alt_reads: int) -> int:
    """Smallest alt count the test calls detected at this depth."""
    # binom.isf gives the smallest k with P(X > k) <= alpha, i.e. P(X >= k + 1) <= alpha.
    k = int(binom.isf(alpha, depth, error)) + 1
    while k > 1 and binomial_p_value(k - 1, depth, error) <= alpha:  # guard against isf rounding
        k -= 1
    while binomial_p_value(k, depth, error) > alpha:
        k += 1
    return max(k, min_alt_reads)


def limit_of_detection(depth: int | None, params: DetectionParams) -> float | None:
    if not depth or depth <= 0:
        return None
    return critical_alt_reads(int(depth), params.background_error, params.alpha, params.min_alt_reads) / depth


def classify(alt_reads, depth, vaf, params: DetectionParams) -> Detection:
    """Status, p-value and LoD of one variant in one draw from the counts the VCF gave."""
    if is_missing(depth) or depth <= 0:
        if is_missing(alt_reads) and not is_missing(vaf) and vaf > 0:
            # VAF-only input (e.g. a vendor report): the assay called it, counts are unknown.
            return Detection(DETECTED, None, None)
        return Detection(NOT_ASSESSABLE, None, None)
    depth = int(depth)
    lod = limit_of_detection(depth, params)
    if is_missing(alt_reads):
        if not is_missing(vaf) and vaf > 0:
            return Detection(DETECTED, None, lod)
        return Detection(NOT_ASSESSABLE, None, lod)
    alt_reads = int(alt_reads)
    p_value = binomial_p_value(alt_reads, depth, params.background_error)
    if p_value <= params.alpha and alt_reads >= params.min_alt_reads:
        return Detection(DETECTED, p_value, lod)
    if depth < params.min_depth:
        return Detection(NOT_ASSESSABLE, p_value, lod)
    return Detection(NOT_DETECTED, p_value, lod)


def rise_p_value(alt_before: int, depth_before: int, alt_after: int, depth_after: int) -> float:
    """One-sided Fisher exact test that the alt fraction is higher in the later draw."""
    table = [[alt_after, depth_after - alt_after], [alt_before, depth_before - alt_before]]
    return float(fisher_exact(table, alternative="greater").pvalue)
