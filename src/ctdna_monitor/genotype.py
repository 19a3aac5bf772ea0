"""Count reads supporting a known allele in a BAM/CRAM: tumour-informed re-genotyping of tracked sites.

For each site (VCF-style 1-based pos, ref, alt) every read overlapping it is classified as
supporting the ALT allele, the REF allele, or neither (another base, an incomplete overlap, or a
low-quality base). Filters, all configurable: minimum mapping quality and base quality; duplicate,
secondary, supplementary and QC-fail reads are skipped; a fragment whose two mates both cover the
site counts once (dropped when the mates disagree); with UMI-collapsed reads a minimum family size
can be required (e.g. fgbio's `cD` tag).

SNVs and MNVs compare aligned bases; a deletion is supported by a read whose alignment deletes
exactly the deleted bases right after the anchor base, an insertion by a read that inserts exactly
the inserted sequence there. Alleles are expected left-aligned, as callers and aligners write them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pysam

from .errors import CtdnaError

ALT, REF, OTHER = "alt", "ref", "other"
_MATCH_OPS = {0, 7, 8}  # M, =, X
_DEL, _INS = 2, 1


@dataclass(frozen=True)
class GenotypeParams:
    min_mapping_quality: int = 20
    min_base_quality: int = 20
    skip_duplicates: bool = True
    skip_secondary: bool = True
    skip_supplementary: bool = True
    skip_qcfail: bool = True
    umi_family_tag: str = ""  # e.g. "cD" (fgbio consensus depth); empty: no UMI filter
    min_family_size: int = 1


@dataclass
class SiteCounts:
    alt_reads: int = 0
    ref_reads: int = 0
    other_reads: int = 0
    alt_forward: int = 0
    alt_reverse: int = 0
    ref_forward: int = 0
    ref_reverse: int = 0

    @property
    def depth(self) -> int:
        """Fragments that could tell REF from ALT (the denominator of the VAF)."""
        return self.alt_reads + self.ref_reads + self.other_reads

    def add(self, support: str, reverse: bool):
        if support == ALT:
            self.alt_reads += 1
            self.alt_reverse += reverse
            self.alt_forward += not reverse
        elif support == REF:
            self.ref_reads += 1
            self.ref_reverse += reverse
            self.ref_forward += not reverse
        else:
            self.other_reads += 1


def _passes(read: pysam.AlignedSegment, params: GenotypeParams) -> bool:
    if read.is_unmapped or read.mapping_quality < params.min_mapping_quality:
        return False
    if (params.skip_duplicates and read.is_duplicate) or (params.skip_secondary and read.is_secondary):
        return False
    if (params.skip_supplementary and read.is_supplementary) or (params.skip_qcfail and read.is_qcfail):
        return False
    if params.umi_family_tag and params.min_family_size > 1:
        if not read.has_tag(params.umi_family_tag) or int(read.get_tag(params.umi_family_tag)) < params.min_family_size:
            return False
    return True


def _blocks(read):
    """(op, ref_start, query_start, length) for each CIGAR operation, 0-based."""
    ref, query = read.reference_start, 0
    for op, length in read.cigartuples or ():
        yield op, ref, query, length
        if op in _MATCH_OPS:
            ref, query = ref + length, query + length
        elif op in (_DEL, 3):  # deletion, reference skip
            ref += length
        elif op in (_INS, 4):  # insertion, soft clip
            query += length


def _aligned_bases(read, start: int, length: int, params) -> str | None:
    """Read bases aligned to reference [start, start+length) as matches, or None if any is missing/low quality."""
    bases = []
    qualities = read.query_qualities
    sequence = read.query_sequence
    for op, ref, query, size in _blocks(read):
        if op not in _MATCH_OPS:
            if op in (_DEL, 3) and ref < start + length and ref + size > start:
                return None  # a deletion inside the allele
            if op == _INS and start < ref < start + length:
                return None  # an insertion inside an MNV
            continue
        low, high = max(start, ref), min(start + length, ref + size)
        for position in range(low, high):
            offset = query + position - ref
            if qualities is not None and qualities[offset] < params.min_base_quality:
                return None
            bases.append((position, sequence[offset]))
    if len(bases) != length:
        return None
    return "".join(base for _, base in sorted(bases))


def _indel_after(read, anchor: int):
    """('del', n) / ('ins', seq) / ('none', None) for what the read does right after reference base `anchor`."""
    previous_end = None
    for op, ref, query, size in _blocks(read):
        if op in _MATCH_OPS:
            previous_end = ref + size
            continue
        if previous_end == anchor + 1 and ref == anchor + 1:
            if op == _DEL:
                return "del", size
            if op == _INS:
                return "ins", read.query_sequence[query : query + size]
    return "none", None


def classify_read(read, pos: int, ref: str, alt: str, params: GenotypeParams) -> str:
    """ALT, REF or OTHER support of one read for a VCF allele (1-based `pos`)."""
    start = pos - 1
    if len(ref) == len(alt):  # SNV / MNV
        bases = _aligned_bases(read, start, len(ref), params)
        if bases is None:
            return OTHER
        return ALT if bases == alt else REF if bases == ref else OTHER
    anchor_base = _aligned_bases(read, start, 1, params)
    if anchor_base is None:
        return OTHER
    kind, value = _indel_after(read, start)
    if len(ref) > len(alt):  # deletion of ref[1:]
        deleted = len(ref) - len(alt)
        if kind == "del":
            return ALT if value == deleted else OTHER
        if kind == "ins":
            return OTHER
        return REF if _aligned_bases(read, start + 1, deleted, params) is not None else OTHER
    inserted = alt[len(ref) :]
    if kind == "ins":
        return ALT if value == inserted else OTHER
    if kind == "del":
        return OTHER
    return REF if _aligned_bases(read, start + 1, 1, params) is not None else OTHER


def count_site(alignments: pysam.AlignmentFile, chrom: str, pos: int, ref: str, alt: str, params=GenotypeParams()) -> SiteCounts:
    """Fragment-level counts of REF/ALT support at one site."""
    per_fragment: dict[str, tuple[str, bool]] = {}
    disagreeing = set()
    span = max(len(ref), 1)
    for read in alignments.fetch(chrom, pos - 1, pos - 1 + span + 1):
        if not _passes(read, params):
            continue
        support = classify_read(read, pos, ref, alt, params)
        name = read.query_name
        if name in per_fragment:
            if per_fragment[name][0] != support:  # overlapping mates disagree: trust neither
                disagreeing.add(name)
            continue
        per_fragment[name] = (support, read.is_reverse)
    counts = SiteCounts()
    for name, (support, reverse) in per_fragment.items():
        if name not in disagreeing:
            counts.add(support, reverse)
    return counts


def contig_name(alignments: pysam.AlignmentFile, chrom: str) -> str | None:
    """The BAM's own name for a canonical 'chr7' ('chr7' or '7'), or None if absent."""
    names = set(alignments.references)
    bare = chrom[3:] if chrom.startswith("chr") else chrom
    for candidate in (chrom, bare, "MT" if bare == "M" else bare):
        if candidate in names:
            return candidate
    return None


def genotype_sites(path, sites, params=GenotypeParams(), reference: str | None = None) -> list[dict]:
    """Counts at `sites` ((chrom, pos, ref, alt) with canonical chrom) in one BAM/CRAM."""
    rows = []
    try:
        alignments = pysam.AlignmentFile(str(path), reference_filename=reference)
    except (ValueError, OSError) as exc:
        raise CtdnaError(f"{path}: cannot be read as BAM/CRAM ({exc}); check the file and, for CRAM, `reference`") from None
    if not alignments.has_index():
        alignments.close()
        raise CtdnaError(f"{path}: no index (.bai/.crai) found; create one with `samtools index {path}`")
    with alignments:
        for chrom, pos, ref, alt in sites:
            contig = contig_name(alignments, chrom)
            counts = count_site(alignments, contig, int(pos), ref, alt, params) if contig else SiteCounts()
            depth = counts.depth
            rows.append({
                "chrom": chrom, "pos": int(pos), "ref": ref, "alt": alt, "alt_reads": counts.alt_reads,
                "depth": depth, "vaf": counts.alt_reads / depth if depth else None,
                "alt_forward": counts.alt_forward, "alt_reverse": counts.alt_reverse,
                "ref_forward": counts.ref_forward, "ref_reverse": counts.ref_reverse,
            })  # fmt: skip
    return rows
