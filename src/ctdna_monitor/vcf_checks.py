"""Plausibility of what a VCF record says: values that cannot be right are flagged, never used as if right.

- An allele fraction written by the caller (AF, VAF, VF, FREQ) is kept only when it can come from the
  record's own read counts: a binomial likelihood-ratio test of `alt` reads out of `depth` at that
  fraction must not reject it at p < 1e-6 (two-sided), against the dialect's depth or, for AD-based
  callers, the sum of AD (Mutect2 and SAGE estimate their AF from informative reads only). Such a band
  holds Mutect2's AF of 0.1 at 0 of 8 reads and catches a percent-scale value (0.36 for 12 of 3,335
  reads) or a decimal comma. Callers whose AF is a model estimate (the `allele_depth_af` dialect: Mutect2,
  DRAGEN, SAGE) may also write a fraction *below* alt/depth (but above 0 beside alt reads): Mutect2
  discounts alt reads it believes are errors (the shared corpus has AF 0.015 at 64 of 332 strand-biased
  reads), whereas no model finds more alt support than the reads show. Otherwise the VAF is taken from
  the counts and the row is flagged; without counts it is left missing.
- A record whose ALT equals its REF is not a variant: flagged, all values missing, no annotation.
- The same allele listed twice in one draw with different values: one row, values missing, flagged, and
  every row of the draw marked (`draw_has_conflicting_duplicate_records`).
- A file whose fractions without counts include values above 1 (up to 100) writes percent: its other
  fractions without counts (0.36 meaning 0.36 %) are flagged and left missing too (`file_vaf_percent_scale`).
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

# chi-square (1 df) quantile at p = 1e-6: the likelihood-ratio statistic a written fraction may reach.
MAX_LIKELIHOOD_RATIO = 23.93
# Half a unit of the 4th decimal place (VarDict and VarScan2 round what they write), plus float32 slack.
ROUNDING = 5.01e-5
DRAW_MARK = "draw_has_conflicting_duplicate_records"
# Dialects whose written fraction is a caller's model estimate rather than a ratio of the counts written.
MODEL_ESTIMATES = frozenset({"allele_depth_af"})
PERCENT_FILE = "file_vaf_percent_scale"
_ABOVE_ONE = re.compile(r"(?:^|;)vaf_([0-9.e+]+)_outside_0_1")


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0 else x * math.log(y)


def likelihood_ratio(alt: int, depth: int, fraction: float) -> float:
    """G statistic of `alt` of `depth` reads against a true fraction `fraction` (0 when they agree)."""
    if depth <= 0:
        return 0.0
    ref = depth - alt
    if (fraction <= 0 and alt > 0) or (fraction >= 1 and ref > 0):
        return math.inf
    observed = _xlogy(alt, alt / depth) + _xlogy(ref, ref / depth)
    expected = _xlogy(alt, fraction) + _xlogy(ref, 1 - fraction)
    return max(0.0, 2 * (observed - expected))


def fraction_fits(fraction: float, alt: int, depths, model_estimate: bool = False) -> bool:
    """True when `fraction` can come from `alt` reads out of any of `depths` (None entries skipped);
    a `model_estimate` may also lie anywhere below alt/depth, but not at 0 when alt reads were seen (a
    posterior estimate is never exactly 0; a decimal comma in a multi-allelic record reads '0,36' as 0 and 36)."""
    for depth in depths:
        if depth is None or depth <= 0 or alt > depth:
            continue
        if abs(fraction - alt / depth) <= ROUNDING or (model_estimate and 0 < fraction <= alt / depth):
            return True
        if likelihood_ratio(alt, depth, fraction) <= MAX_LIKELIHOOD_RATIO:
            return True
    return False


def review_fraction(counts, fraction_problem: str = ""):
    """`counts` (vcf_reader.Counts, counts already checked) with a VAF that agrees with its counts.

    A written VAF that is unreadable (`fraction_problem`), above 1, or outside the binomial band of
    its counts is replaced by alt/depth and flagged; without counts it becomes missing (flagged)."""
    alt, depth, vaf = counts.alt_reads, counts.depth, counts.vaf
    ratio = alt / depth if alt is not None and depth and depth > 0 else None
    problem = fraction_problem
    if not problem and vaf is not None:
        depths = (depth, counts.informative_depth)
        if vaf < 0 or vaf > 1:
            scaled = ratio is not None and vaf <= 100 and fraction_fits(vaf / 100, alt, depths)
            problem = f"vaf_{vaf:g}_percent_scale" if scaled else f"vaf_{vaf:g}_outside_0_1"
        elif ratio is not None and not fraction_fits(vaf, alt, depths, counts.dialect in MODEL_ESTIMATES):
            scaled = alt > 0 and fraction_fits(vaf / 100, alt, depths)
            problem = f"vaf_{vaf:g}_contradicts_{alt}_of_{depth}_reads" + ("_percent_scale" if scaled else "")
    if not problem:
        return counts
    if ratio is None:
        if vaf is not None and not fraction_problem and not 0 <= vaf <= 1:
            # A fraction above 1 without counts: nothing in the record can be trusted (as before).
            return replace(counts, alt_reads=None, depth=None, vaf=None, flag=_join(counts.flag, problem))
        return replace(counts, vaf=None, flag=_join(counts.flag, problem))
    return replace(counts, vaf=ratio, flag=_join(counts.flag, problem, "vaf_from_counts"))


def _join(*parts: str) -> str:
    return ";".join(part for part in parts if part)


def alt_equals_ref(ref: str, alt: str) -> bool:
    return ref.upper() == alt.upper()


def _values(call) -> tuple:
    return call.alt_reads, call.depth, call.vaf


def _has_values(call) -> bool:
    return any(value is not None for value in _values(call))


def merge_duplicates(calls: list, record_numbers: list[int]) -> tuple[list, int]:
    """One call per allele of the draw; (calls, number of alleles listed twice with different values).

    Identical repeats collapse into the first, and a repeat without any value gives way to one with
    values. Different values: one row, counts missing, flagged with the record numbers; then every row
    of the draw carries DRAW_MARK."""
    first: dict[tuple, int] = {}
    records: dict[tuple, list[int]] = {}
    conflicting: set[tuple] = set()
    kept: list = []
    for call, number in zip(calls, record_numbers):
        key = (call.chrom, call.pos, call.ref, call.alt)
        if key not in first:
            first[key] = len(kept)
            records[key] = [number]
            kept.append(call)
            continue
        records[key].append(number)
        seen = kept[first[key]]
        if not _has_values(call):
            continue  # a repeat that says nothing contradicts nothing
        if not _has_values(seen):
            kept[first[key]] = call
        elif _values(seen) != _values(call):
            conflicting.add(key)
    if not conflicting:
        return kept, 0
    for key in conflicting:
        call = kept[first[key]]
        numbers = "_".join(str(n) for n in records[key])
        kept[first[key]] = replace(
            call, alt_reads=None, depth=None, vaf=None, flag=_join(call.flag, f"conflicting_duplicate_records_{numbers}")
        )
    kept = [replace(call, flag=_join(call.flag, DRAW_MARK)) for call in kept]
    return kept, len(conflicting)


def percent_scale_file(calls: list) -> tuple[list, int]:
    """(calls, number newly flagged): when a fraction without counts is above 1 and at most 100, the file
    writes percent, and its other fractions without counts cannot be read as fractions."""
    percent = False
    for call in calls:
        match = _ABOVE_ONE.search(call.flag) if call.alt_reads is None else None
        if match and 1 < float(match.group(1)) <= 100:
            percent = True
            break
    if not percent:
        return calls, 0
    flagged = 0
    marked = []
    for call in calls:
        if call.alt_reads is None and call.vaf is not None:
            call = replace(call, vaf=None, flag=_join(call.flag, PERCENT_FILE))
            flagged += 1
        marked.append(call)
    return marked, flagged
