"""Count reads supporting a known allele in a BAM/CRAM: tumour-informed re-genotyping of tracked sites.

For each site (VCF-style 1-based pos, ref, alt) every read overlapping it is classified as supporting
the ALT allele, the REF allele or neither (OTHER: another base, another indel, a deletion over the
site), or as not informative (a base below `min_base_quality`, an N, a read that ends inside the
allele or skips over it). Reads are filtered first, all configurably: mapping quality; duplicate,
secondary, supplementary and QC-fail flags; with UMI-collapsed reads a minimum family size (e.g.
fgbio's `cD` tag).

Fragments, not reads, are counted. When both mates of a pair cover the site and agree they count
once, with their base qualities summed (two agreeing reads are stronger evidence than one; htslib
does the same). When they disagree, a mate below `min_base_quality` yields to the other; if both
pass, neither counts, where htslib would keep the higher-quality base (this is the deliberate
difference from `bcftools mpileup -a AD,ADF,ADR`, chosen because a discordant pair is a classic
source of false low-VAF calls). A fragment that both mates saw is put on one strand chosen by a
checksum of its name, so such fragments split about evenly between the strands; htslib also picks a
mate by a hash of the name, so ADF/ADR of overlapping pairs differ from it while AD agrees. See
benchmarks/genotyping/README.md for the measured agreement.

SNVs are counted from htslib's pileup engine through pysam's column accessors (no Python work per
read until the fragments are merged); MNVs, indels and UMI-filtered counts walk each read's CIGAR.
A deletion is supported by a read whose alignment deletes exactly that many bases, an insertion by
a read that inserts exactly that sequence. In a repeat the same indel can be written at several
positions; with the reference FASTA the whole repeat is the window (see IndelWindow), so a
right-shifted VCF allele still matches left-aligned reads and the reverse. A read must span the
window and one base either side to count; one that aligns across it without an indel supports REF.
Without a reference only the VCF position is tried.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import pysam

from .errors import CtdnaError
from .genome_builds import check_build

ALT, REF, OTHER = "alt", "ref", "other"
GAP = "gap"  # the read deletes (or inserts) inside the allele
_DISAGREE = "disagree"
_GAP_QUALITY = 255  # a deletion has no base quality; it is never filtered as a low-quality base
_MAX_PAIR_QUALITY = 200  # the cap htslib puts on summed mate qualities
_MAX_DEPTH = 10_000_000  # pysam's default (8,000) would silently cap deep cfDNA sites
_MATCH_OPS = {0, 7, 8}  # M, =, X
_INS, _DEL, _SKIP, _SOFT_CLIP = 1, 2, 3, 4


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


def flag_mask(params: GenotypeParams) -> int:
    """SAM flag bits whose reads are skipped."""
    mask = 0x4  # unmapped
    mask |= 0x100 if params.skip_secondary else 0
    mask |= 0x200 if params.skip_qcfail else 0
    mask |= 0x400 if params.skip_duplicates else 0
    mask |= 0x800 if params.skip_supplementary else 0
    return mask


def _passes(read: pysam.AlignedSegment, params: GenotypeParams, mask: int) -> bool:
    if read.flag & mask or read.mapping_quality < params.min_mapping_quality:
        return False
    if params.umi_family_tag and params.min_family_size > 1:
        if not read.has_tag(params.umi_family_tag) or int(read.get_tag(params.umi_family_tag)) < params.min_family_size:
            return False
    return True


def _merge_mates(name: str, first: tuple, second: tuple, min_base_quality: int) -> tuple:
    """One (support, quality, is_reverse) for two reads of a fragment (see the module docstring)."""
    if first[0] == second[0]:
        reverse = second[2] if zlib.crc32(name.encode()) & 1 else first[2]  # an even, reproducible strand
        return first[0], min(first[1] + second[1], _MAX_PAIR_QUALITY), reverse
    first_ok, second_ok = first[1] >= min_base_quality, second[1] >= min_base_quality
    if first_ok != second_ok:
        return first if first_ok else second
    return _DISAGREE, 0, False


def combine_fragments(observations, min_base_quality: int) -> SiteCounts:
    """Per-read (name, support, base quality, is_reverse) -> fragment counts; support None: cannot tell."""
    fragments: dict[str, tuple] = {}
    for name, support, quality, reverse in observations:
        if support is None:
            continue
        seen = fragments.get(name)
        if seen is not None and seen[0] is _DISAGREE:
            continue  # a third read of the fragment does not revive it
        observed = (support, quality, reverse)
        fragments[name] = observed if seen is None else _merge_mates(name, seen, observed, min_base_quality)
    counts = SiteCounts()
    for support, quality, reverse in fragments.values():
        if support is not _DISAGREE and quality >= min_base_quality:
            counts.add(support, reverse)
    return counts


def _snv_observations(alignments, contig: str, pos: int, ref: str, alt: str, params: GenotypeParams, mask: int):
    """Per-read observations at one SNV from htslib's pileup: lists built in C, one pass in Python."""
    support = {ref: REF, ref.lower(): REF, alt: ALT, alt.lower(): ALT, "*": OTHER, "N": None, "n": None, ">": None, "<": None}
    for column in alignments.pileup(
        contig, pos - 1, pos, truncate=True, stepper="samtools", flag_filter=mask,
        min_mapping_quality=params.min_mapping_quality, min_base_quality=0, ignore_overlaps=False,
        ignore_orphans=False, compute_baq=False, max_depth=_MAX_DEPTH, multiple_iterators=False,
    ):  # fmt: skip
        # with add_indels a deletion reads "*" and a reference skip ">"/"<" (both are "" without);
        # an indel after the base is appended ("A+2CT") and irrelevant to an SNV
        bases = [entry[:1] for entry in column.get_query_sequences(add_indels=True)]
        return [
            (name, support.get(base, OTHER), _GAP_QUALITY if base == "*" else quality, base.islower())
            for name, base, quality in zip(column.get_query_names(), bases, column.get_query_qualities())
        ]
    return []


def _blocks(read):
    """(op, ref_start, query_start, length) for each CIGAR operation, 0-based."""
    ref, query = read.reference_start, 0
    for op, length in read.cigartuples or ():
        yield op, ref, query, length
        if op in _MATCH_OPS:
            ref, query = ref + length, query + length
        elif op in (_DEL, _SKIP):
            ref += length
        elif op in (_INS, _SOFT_CLIP):
            query += length


def _walk(read, start: int, length: int):
    """Read bases over reference [start, start+length): (bases, lowest quality), GAP if the read deletes
    or inserts inside, or None if it does not cover every base (or skips over them)."""
    found = []
    qualities = read.query_qualities
    sequence = read.query_sequence
    for op, ref, query, size in _blocks(read):
        if op not in _MATCH_OPS:
            if op == _SKIP and ref < start + length and ref + size > start:
                return None
            if op == _DEL and ref < start + length and ref + size > start:
                return GAP
            if op == _INS and start < ref < start + length:
                return GAP
            continue
        for position in range(max(start, ref), min(start + length, ref + size)):
            offset = query + position - ref
            found.append((position, sequence[offset], qualities[offset] if qualities is not None else _GAP_QUALITY))
    if len(found) != length:
        return None
    found.sort()
    bases = "".join(base for _, base, _ in found)
    return None if "N" in bases else (bases, min(quality for _, _, quality in found))


@dataclass(frozen=True)
class IndelWindow:
    """Where an indel can sit in the reference and mean the same haplotype (a repeat lets it slide).

    `left`..`right` are the 0-based anchor bases it may follow; `inserted` gives, per anchor, the
    inserted sequence there (it rotates as the insertion slides). Without a reference the window is
    the one anchor the VCF gave."""

    left: int
    right: int
    deleted: int = 0
    inserted: tuple = ()  # ((anchor, sequence), ...) for insertions

    @property
    def right_flank(self) -> int:
        """The first base after the window, which a read must reach to tell REF from ALT."""
        return self.right + self.deleted + 1


def indel_window(pos: int, ref: str, alt: str, sequence: str = "", offset: int = 0) -> IndelWindow:
    """IndelWindow of a VCF indel (1-based `pos`, anchor base first). `sequence` is the reference
    from 0-based `offset`; without it no sliding is possible."""
    anchor = pos - 1

    def base(position):
        index = position - offset
        return sequence[index] if 0 <= index < len(sequence) else None

    if len(ref) > len(alt):
        size = len(ref) - len(alt)
        left = right = anchor
        while base(left) is not None and base(left) == base(left + size):
            left -= 1
        while base(right + 1) is not None and base(right + 1) == base(right + 1 + size):
            right += 1
        return IndelWindow(left, right, deleted=size)
    inserted = alt[len(ref) :]
    by_anchor = {anchor: inserted}
    left, sliding = anchor, inserted
    while base(left) is not None and base(left) == sliding[-1]:
        sliding = base(left) + sliding[:-1]
        left -= 1
        by_anchor[left] = sliding
    right, sliding = anchor, inserted
    while base(right + 1) is not None and base(right + 1) == sliding[0]:
        sliding = sliding[1:] + base(right + 1)
        right += 1
        by_anchor[right] = sliding
    return IndelWindow(left, right, inserted=tuple(sorted(by_anchor.items())))


def _indels_between(read, low: int, high: int) -> list[tuple]:
    """(anchor, 'del', size) / (anchor, 'ins', sequence) for indels lying strictly between reference bases low and high."""
    found = []
    for op, ref, query, size in _blocks(read):
        if op == _DEL and ref - 1 >= low and ref + size <= high:
            found.append((ref - 1, "del", size))
        elif op == _INS and low <= ref - 1 < high:
            found.append((ref - 1, "ins", read.query_sequence[query : query + size]))
    return found


def _classify_indel(read, window: IndelWindow) -> tuple[str | None, int]:
    left = _walk(read, window.left, 1)
    right = _walk(read, window.right_flank, 1)
    if left is None or right is None:
        return None, _GAP_QUALITY  # the read does not span the repeat: it cannot tell
    if left is GAP or right is GAP:
        return OTHER, _GAP_QUALITY  # a larger deletion over the flank
    quality = left[1]
    events = _indels_between(read, window.left, window.right_flank)
    if not events:
        return REF, quality
    if len(events) == 1:
        anchor, kind, value = events[0]
        if window.deleted and kind == "del" and value == window.deleted and window.left <= anchor <= window.right:
            return ALT, quality
        if not window.deleted and kind == "ins" and (anchor, value) in window.inserted:
            return ALT, quality
    return OTHER, quality


def classify_read(read, pos: int, ref: str, alt: str, window: IndelWindow | None = None) -> tuple[str | None, int]:
    """(support, base quality) of one read for a VCF allele (1-based `pos`); support None: cannot tell.

    For an indel, `window` (from `indel_window` with the reference) lets the read's indel sit anywhere
    in a repeat; the read must then span the whole repeat and one base either side."""
    start = pos - 1
    if len(ref) == len(alt):  # SNV / MNV
        seen = _walk(read, start, len(ref))
        if seen is None or seen is GAP:
            return (None if seen is None else OTHER), _GAP_QUALITY
        bases, quality = seen
        return (ALT if bases == alt else REF if bases == ref else OTHER), quality
    return _classify_indel(read, window or indel_window(pos, ref, alt))


def _read_observations(alignments, contig, pos, ref, alt, params, mask, window=None):
    low, high = (window.left, window.right_flank + 1) if window else (pos - 1, pos + max(len(ref), 1))
    for read in alignments.fetch(contig, low, high):
        if _passes(read, params, mask):
            support, quality = classify_read(read, pos, ref, alt, window)
            yield read.query_name, support, quality, read.is_reverse


def count_site(alignments: pysam.AlignmentFile, chrom: str, pos: int, ref: str, alt: str, params=GenotypeParams(), window=None) -> SiteCounts:
    """Fragment-level counts of REF/ALT support at one site (`window`: see classify_read)."""
    mask = flag_mask(params)
    if len(ref) == len(alt) == 1 and not (params.umi_family_tag and params.min_family_size > 1):
        observations = _snv_observations(alignments, chrom, pos, ref, alt, params, mask)
    else:
        observations = _read_observations(alignments, chrom, pos, ref, alt, params, mask, window)
    return combine_fragments(observations, params.min_base_quality)


def count_site_by_reads(alignments, chrom: str, pos: int, ref: str, alt: str, params=GenotypeParams()) -> SiteCounts:
    """count_site through the per-read CIGAR walk for every allele type (the reference the pileup path is tested against)."""
    observations = _read_observations(alignments, chrom, pos, ref, alt, params, flag_mask(params))
    return combine_fragments(observations, params.min_base_quality)


def contig_name(alignments: pysam.AlignmentFile, chrom: str) -> str | None:
    """The BAM's own name for a canonical 'chr7' ('chr7' or '7'), or None if absent."""
    names = set(alignments.references)
    bare = chrom[3:] if chrom.startswith("chr") else chrom
    for candidate in (chrom, bare, "MT" if bare == "M" else bare):
        if candidate in names:
            return candidate
    return None


def _canonical(name: str) -> str:
    bare = name[3:] if name.startswith("chr") else name
    return "chrM" if bare in ("M", "MT") else f"chr{bare}"


class ReferenceGenome:
    """The configured FASTA: checks each site's REF allele and gives the sequence around indels."""

    FLANK = 500  # repeats longer than this are not followed further

    def __init__(self, path: str):
        try:
            self.fasta = pysam.FastaFile(path)
        except (OSError, ValueError) as exc:
            raise CtdnaError(f"{path}: the reference FASTA cannot be read ({exc}); it needs a .fai index (`samtools faidx {path}`)") from None
        self.path = path
        self.names = {_canonical(name): name for name in self.fasta.references}

    def sequence(self, chrom: str, start: int, end: int) -> str:
        name = self.names.get(chrom)
        return self.fasta.fetch(name, max(start, 0), end).upper() if name else ""

    def check_ref(self, chrom: str, pos: int, ref: str):
        found = self.sequence(chrom, pos - 1, pos - 1 + len(ref))
        if found and found != ref.upper():
            raise CtdnaError(
                f"{self.path}: {chrom}:{pos} reads {found} here but a tracked allele has REF {ref}; the variant "
                "calls or knowledge-base coordinates and this reference are of different builds"
            )

    def window(self, chrom: str, pos: int, ref: str, alt: str) -> IndelWindow:
        start = pos - 1 - self.FLANK
        return indel_window(pos, ref, alt, self.sequence(chrom, start, pos + len(ref) + self.FLANK), max(start, 0))


def _open_alignments(path, reference: str | None, build: str | None) -> pysam.AlignmentFile:
    try:
        alignments = pysam.AlignmentFile(str(path), reference_filename=reference)
    except (ValueError, OSError) as exc:
        raise CtdnaError(f"{path}: cannot be read as BAM/CRAM ({exc}); check the file and, for CRAM, `reference`") from None
    if not alignments.has_index():
        alignments.close()
        raise CtdnaError(f"{path}: no index (.bai/.crai) found; create one with `samtools index {path}`")
    if alignments.is_cram and not reference:
        alignments.close()  # htslib would otherwise try to download the reference
        raise CtdnaError(f"{path}: a CRAM file needs its reference FASTA; set `reference` in the config")
    lengths = {_canonical(name): length for name, length in zip(alignments.references, alignments.lengths)}
    problem = check_build(lengths, build) if build else None
    if problem:
        alignments.close()
        raise CtdnaError(f"{path}: {problem}; align to {build} or set genome_build to match")
    return alignments


def site_windows(sites, reference: str) -> dict[tuple, IndelWindow]:
    """Check every site's REF against the reference FASTA; the repeat window of each indel site.
    The same for every draw of a patient, so computed once per patient."""
    genome = ReferenceGenome(reference)
    windows = {}
    for chrom, pos, ref, alt in sites:
        genome.check_ref(chrom, int(pos), ref)
        if len(ref) != len(alt):
            windows[(chrom, int(pos), ref, alt)] = genome.window(chrom, int(pos), ref, alt)
    return windows


def genotype_sites(path, sites, params=GenotypeParams(), reference: str | None = None, build: str | None = None,
                   windows: dict | None = None) -> list[dict]:  # fmt: skip
    """Counts at `sites` ((chrom, pos, ref, alt) with canonical chrom) in one BAM/CRAM.

    With `reference` (a FASTA) each site's REF is checked against it and indels are matched anywhere
    in their repeat (see IndelWindow; pass `windows` from site_windows to do that once for many
    files); `build` checks the file's contig lengths."""
    if windows is None:
        windows = site_windows(sites, reference) if reference else {}
    rows = []
    with _open_alignments(path, reference, build) as alignments:
        if sites and not any(contig_name(alignments, chrom) for chrom, *_ in sites):
            raise CtdnaError(
                f"{path}: none of the tracked sites' chromosomes ({', '.join(sorted({c for c, *_ in sites}))}) "
                f"is in this file (it has {', '.join(alignments.references[:5])}...); check the build and the reference"
            )
        for chrom, pos, ref, alt in sites:
            pos = int(pos)
            contig = contig_name(alignments, chrom)
            window = windows.get((chrom, pos, ref, alt))
            counts = count_site(alignments, contig, pos, ref, alt, params, window) if contig else SiteCounts()
            depth = counts.depth
            rows.append({
                "chrom": chrom, "pos": pos, "ref": ref, "alt": alt, "alt_reads": counts.alt_reads,
                "depth": depth, "vaf": counts.alt_reads / depth if depth else None,
                "alt_forward": counts.alt_forward, "alt_reverse": counts.alt_reverse,
                "ref_forward": counts.ref_forward, "ref_reverse": counts.ref_reverse,
            })  # fmt: skip
    return rows
