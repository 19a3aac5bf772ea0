"""Indel placement: VCF-style, left-aligned, from plus-strand genomic windows (research use only).

HGVS shifts indels to the 3' end of the transcript while VCF normalisation shifts them to the left of the
genome, so an indel's position needs the genomic sequence around it; without a window covering it (and room
to shift) the row is refused with a reason.
"""

from __future__ import annotations

from .hgvs import CChange
from .lrg import revcomp
from .placement import (
    Placement,
    PlacementData,
    PlacementError,
    TranscriptData,
    _genomic_range,
    cds_to_genome,
)


class _Seq:
    """1-based access to a plus-strand window."""

    def __init__(self, start: int, seq: str):
        self.start, self.seq = start, seq

    def base(self, pos: int) -> str:
        i = pos - self.start
        if not 0 <= i < len(self.seq):
            raise PlacementError("indel shifts beyond the genomic window held in resources/placement; place by hand")
        return self.seq[i]

    def bases(self, lo: int, hi: int) -> str:
        return "".join(self.base(p) for p in range(lo, hi + 1))


def _window(data: PlacementData, build: str, chrom: str, lo: int, hi: int) -> _Seq:
    hit = data.window(build, chrom, lo, hi)
    if hit is None:
        raise PlacementError(f"no {build} genomic sequence around {chrom}:{lo}-{hi} in resources/placement; "
                             "indel not placed")
    return _Seq(*hit)


def _deletion(seq: _Seq, chrom: str, build: str, lo: int, hi: int) -> Placement:
    while seq.base(lo - 1) == seq.base(hi):  # shift left while the deleted bases rotate into the same sequence
        lo, hi = lo - 1, hi - 1
    anchor = seq.base(lo - 1)
    return Placement(build, chrom, lo - 1, anchor + seq.bases(lo, hi), anchor)


def _insertion(seq: _Seq, chrom: str, build: str, after: int, ins: str) -> Placement:
    while seq.base(after) == ins[-1]:
        ins, after = ins[-1] + ins[:-1], after - 1
    anchor = seq.base(after)
    return Placement(build, chrom, after, anchor, anchor + ins)


def place_indel(data: PlacementData, tr: TranscriptData, change: CChange, build: str, ref_tx: str) -> Placement:
    plus = tr.strand == "+"
    if change.kind == "ins":
        chrom, g_a = cds_to_genome(tr, build, change.start)
        _c, g_b = cds_to_genome(tr, build, change.end)
        if abs(g_b - g_a) != 1:
            raise PlacementError(f"{change.text} lies at an exon boundary on {build}; place by hand")
        after = min(g_a, g_b)
        seq = _window(data, build, chrom, after - 1, after + 1)
        return _insertion(seq, chrom, build, after, change.alt if plus else revcomp(change.alt))
    chrom, lo, hi = _genomic_range(tr, build, change.start, change.end)
    seq = _window(data, build, chrom, lo - 1, hi + 1)
    ref_plus = ref_tx if plus else revcomp(ref_tx)
    if seq.bases(lo, hi) != ref_plus:
        raise PlacementError(f"{build} genomic sequence {seq.bases(lo, hi)} at {chrom}:{lo} differs from the CDS")
    if change.kind == "del":
        return _deletion(seq, chrom, build, lo, hi)
    if change.kind == "dup":
        return _insertion(seq, chrom, build, hi, ref_plus)
    alt_plus = change.alt if plus else revcomp(change.alt)
    # delins of unequal length: trim shared flanks; what is left is a pure indel or stays a complex record
    ref, alt, pos = ref_plus, alt_plus, lo
    while ref and alt and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while ref and alt and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    if not alt:
        return _deletion(seq, chrom, build, pos, pos + len(ref) - 1)
    if not ref:
        return _insertion(seq, chrom, build, pos - 1, alt)
    return Placement(build, chrom, pos, ref, alt)
