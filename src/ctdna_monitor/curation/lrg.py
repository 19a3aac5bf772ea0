"""Read an LRG record (Locus Reference Genomic XML) and derive placement tables from it (research use only).

An LRG holds a genomic sequence, its transcripts (exons in LRG coordinates, coding region, translation) and
the alignment of the LRG to GRCh37 and GRCh38 (`mapping_span` with `diff` elements). Exon coordinates on each
build follow by arithmetic from that alignment; doing it here, under test, avoids hand arithmetic.
Used by `python3 -m ctdna_monitor.curation.lrg` to (re)build resources/placement/.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")


def revcomp(seq: str) -> str:
    return seq.translate(COMPLEMENT)[::-1]


@dataclass
class Span:
    lrg_start: int
    lrg_end: int
    other_start: int
    other_end: int
    strand: int
    diffs: list[dict] = field(default_factory=list)


@dataclass
class Mapping:
    build: str
    chrom: str
    spans: list[Span]


@dataclass
class Exon:
    label: str
    lrg_start: int
    lrg_end: int


@dataclass
class Transcript:
    name: str
    comments: list[str]
    exons: list[Exon]
    cds_lrg_start: int
    cds_lrg_end: int
    protein: str


@dataclass
class LrgRecord:
    lrg_id: str
    gene: str
    sequence: str
    transcripts: dict[str, Transcript]
    mappings: dict[str, Mapping]


def _build_name(coord_system: str) -> str | None:
    for build in ("GRCh37", "GRCh38"):
        if coord_system.startswith(build):
            return build
    return None


def parse_lrg(path) -> LrgRecord:
    root = ET.parse(path).getroot()
    fixed = root.find("fixed_annotation")
    lrg_id = fixed.findtext("id")
    transcripts = {}
    for tr in fixed.findall("transcript"):
        coding = tr.find("coding_region")
        if coding is None:
            continue
        cds = coding.find("coordinates")
        exons = []
        for exon in tr.findall("exon"):
            for coords in exon.findall("coordinates"):
                if coords.get("coord_system") == lrg_id:
                    exons.append(Exon(exon.get("label"), int(coords.get("start")), int(coords.get("end"))))
        transcripts[tr.get("name")] = Transcript(
            tr.get("name"), [c.text or "" for c in tr.findall("comment")], exons,
            int(cds.get("start")), int(cds.get("end")), coding.findtext("translation/sequence").strip())
    mappings = {}
    for mapping in root.iter("mapping"):
        build = _build_name(mapping.get("coord_system", ""))
        # main assembly only: patches and haplotypes have other_name like "7_KI270..." or a band name
        if build is None or mapping.get("type") not in ("main_assembly", "other_assembly", None):
            continue
        if not mapping.get("other_id", "").startswith("NC_"):
            continue
        spans = [Span(int(s.get("lrg_start")), int(s.get("lrg_end")), int(s.get("other_start")),
                      int(s.get("other_end")), int(s.get("strand")), [dict(d.attrib) for d in s.findall("diff")])
                 for s in mapping.findall("mapping_span")]
        mappings[build] = Mapping(build, "chr" + mapping.get("other_name"), spans)
    gene = next((loc.text for loc in root.iter("lrg_locus")), "")
    sequence = (fixed.findtext("sequence") or "").strip()
    if not sequence:
        sequence = _sequence_from_cdna(fixed, lrg_id, mappings)
    return LrgRecord(lrg_id, gene, sequence, transcripts, mappings)


def _sequence_from_cdna(fixed, lrg_id: str, mappings: dict) -> str:
    """Genomic sequence of an LRG excerpt without one: exon bases from the cDNA (an LRG transcript's cDNA is
    its exons' genomic sequence), N elsewhere. Two transcripts giving different bases for a position is an
    error (it would mean a transcription slip in the excerpt)."""
    length = max(s.lrg_end for m in mappings.values() for s in m.spans)
    seq = ["N"] * length
    for tr in fixed.findall("transcript"):
        cdna = (tr.findtext("cdna/sequence") or "").strip()
        system = f"{lrg_id}{tr.get('name')}"
        for exon in tr.findall("exon"):
            coords = {c.get("coord_system"): c for c in exon.findall("coordinates")}
            if lrg_id not in coords or system not in coords:
                continue
            g0, c0 = int(coords[lrg_id].get("start")), int(coords[system].get("start"))
            for k in range(int(coords[lrg_id].get("end")) - g0 + 1):
                if c0 + k - 1 < len(cdna):
                    base = cdna[c0 + k - 1]
                    if seq[g0 + k - 1] not in ("N", base):
                        raise ValueError(f"{lrg_id}: transcripts disagree at LRG position {g0 + k}")
                    seq[g0 + k - 1] = base
    return "".join(seq)


def lrg_to_genome(mapping: Mapping, pos: int) -> int | None:
    """Genome position of LRG position `pos`, or None where the alignment has no base for it.

    Within a span the offset is constant except after an indel `diff`: `other_ins` (bases in the genome, not
    in the LRG, between diff lrg_start and lrg_end) moves later LRG positions one base per inserted base
    further along the genome; `lrg_ins` (bases only in the LRG) moves them back, and has no genome position.
    """
    for span in mapping.spans:
        if not span.lrg_start <= pos <= span.lrg_end:
            continue
        shift = 0
        for diff in span.diffs:
            kind = diff.get("type")
            if kind == "other_ins" and pos >= int(diff["lrg_end"]):
                shift += len(diff["other_sequence"])
            elif kind == "lrg_ins":
                start, end = int(diff["lrg_start"]), int(diff["lrg_end"])
                if start <= pos <= end:
                    return None
                if pos > end:
                    shift -= end - start + 1
        step = pos - span.lrg_start + shift
        return span.other_start + step if span.strand == 1 else span.other_end - step
    return None


def mapping_is_consistent(mapping: Mapping) -> bool:
    """Span lengths agree with the declared indel diffs (guards the reading of the diff semantics)."""
    for span in mapping.spans:
        extra = sum(len(d["other_sequence"]) for d in span.diffs if d.get("type") == "other_ins")
        extra -= sum(int(d["lrg_end"]) - int(d["lrg_start"]) + 1 for d in span.diffs if d.get("type") == "lrg_ins")
        if span.other_end - span.other_start + 1 != span.lrg_end - span.lrg_start + 1 + extra:
            return False
    return True


def coding_parts(tr: Transcript) -> list[tuple[str, int, int, int, int]]:
    """(exon label, cds_start, cds_end, lrg_start, lrg_end) of the coding part of each exon, 5' to 3'."""
    parts, cds_pos = [], 1
    for exon in sorted(tr.exons, key=lambda e: e.lrg_start):
        start, end = max(exon.lrg_start, tr.cds_lrg_start), min(exon.lrg_end, tr.cds_lrg_end)
        if start > end:
            continue
        length = end - start + 1
        parts.append((exon.label, cds_pos, cds_pos + length - 1, start, end))
        cds_pos += length
    return parts


def cds_sequence(rec: LrgRecord, tr: Transcript) -> str:
    return "".join(rec.sequence[start - 1:end] for _l, _a, _b, start, end in coding_parts(tr))


def cds_to_lrg(tr: Transcript, cds_pos: int) -> int | None:
    for _label, a, b, start, _end in coding_parts(tr):
        if a <= cds_pos <= b:
            return start + cds_pos - a
    return None


def lrg_to_cds(tr: Transcript, lrg_pos: int) -> int | None:
    for _label, a, _b, start, end in coding_parts(tr):
        if start <= lrg_pos <= end:
            return a + lrg_pos - start
    return None


def genomic_window(rec: LrgRecord, mapping: Mapping, lrg_start: int, lrg_end: int) -> tuple[int, int, str] | None:
    """Plus-strand assembly sequence covering LRG positions lrg_start..lrg_end: (genome_start, genome_end, seq).

    Built from the LRG sequence with the mapping's mismatch/insertion diffs applied, so it equals the assembly.
    Returns None where that is not certain: the window crosses a span edge or an `lrg_ins`, or holds a diff
    on a minus-strand span (the orientation of `other_sequence` there was not verified on a test case).
    """
    spans = [s for s in mapping.spans if s.lrg_start <= lrg_start and lrg_end <= s.lrg_end]
    if len(spans) != 1:
        return None
    span = spans[0]
    inside = [d for d in span.diffs if int(d["lrg_end"]) >= lrg_start - 1 and int(d["lrg_start"]) <= lrg_end + 1]
    if any(d.get("type") == "lrg_ins" for d in inside) or (span.strand != 1 and inside):
        return None
    bases: dict[int, str] = {}
    for pos in range(lrg_start, lrg_end + 1):
        gpos = lrg_to_genome(mapping, pos)
        base = rec.sequence[pos - 1]
        bases[gpos] = base if span.strand == 1 else revcomp(base)
    for diff in inside:
        for k, base in enumerate(diff["other_sequence"]):
            gpos = int(diff["other_start"]) + k
            if gpos in bases or diff.get("type") == "other_ins":
                bases[gpos] = base
    lo, hi = min(bases), max(bases)
    if sorted(bases) != list(range(lo, hi + 1)) or "N" in bases.values():
        return None
    return lo, hi, "".join(bases[g] for g in range(lo, hi + 1))
