"""Place a knowledge-base row (transcript, c. change) on GRCh37 and GRCh38 (research use only).

Reads resources/placement/ (formats in its README.md): exon table per build, CDS sequence, listed
transcript/genome mismatches and, for indels, plus-strand genomic windows. A substitution or MNV is placed by
exon arithmetic and its REF comes from the CDS sequence (complemented on minus-strand genes); an indel is
placed only inside a genomic window, left-aligned as VCF normalisation requires. Whatever cannot be placed
gets a reason instead of a guess.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .hgvs import CChange, HgvsError, parse_c
from .lrg import revcomp

BUILDS = ("GRCh37", "GRCh38")
DEFAULT_DIR = Path(__file__).resolve().parents[3] / "resources" / "placement"


@dataclass(frozen=True)
class Placement:
    build: str
    chrom: str
    pos: int
    ref: str
    alt: str


@dataclass
class TranscriptData:
    transcript: str
    gene: str
    strand: str
    source: str
    lrg_id: str
    same_cds_as: set[str]
    numbering_as: set[str]
    cds: str = ""
    protein: str = ""
    exons: dict[str, list[tuple[int, int, str, int, int]]] = field(default_factory=dict)  # build -> rows
    mismatches: dict[str, dict[int, tuple[str, str]]] = field(default_factory=dict)  # build -> cds_pos -> bases

    @property
    def short_source(self) -> str:
        return self.source.split(" (")[0]


def _read_tsv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def _read_fasta(path: Path) -> dict[str, tuple[str, str]]:
    records, name, header, chunks = {}, None, "", []
    if not path.exists():
        return records
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            if name:
                records[name] = (header, "".join(chunks).upper())
            header = line[1:]
            name, chunks = header.split()[0], []
        elif line.strip():
            chunks.append(line.strip())
    if name:
        records[name] = (header, "".join(chunks).upper())
    return records


class PlacementData:
    """All placement tables of a directory and of its direct sub-directories (gene groups)."""

    def __init__(self, directory=DEFAULT_DIR):
        self.directory = Path(directory)
        self.transcripts: dict[str, TranscriptData] = {}
        self.windows: dict[tuple[str, str], list[tuple[int, int, str]]] = {}
        dirs = [self.directory] + sorted(p for p in self.directory.iterdir() if p.is_dir())
        for d in dirs:
            if (d / "transcripts.tsv").exists():
                self._load(d)

    def _load(self, d: Path) -> None:
        for i, row in enumerate(_read_tsv(d / "transcripts.tsv"), start=2):
            name = row["transcript"]
            if name in self.transcripts:
                raise InputError(d / "transcripts.tsv", f"transcript {name} defined twice", row=i)
            if row["strand"] not in "+-" or len(row["strand"]) != 1:
                raise InputError(d / "transcripts.tsv", "strand must be + or -", row=i, column="strand")
            aliases: dict[str, set[str]] = {"same_cds_as": set(), "numbering_as": set()}
            for token in (row.get("notes") or "").replace(";", " ").split():
                key, _eq, value = token.partition("=")
                if key in aliases:
                    aliases[key] |= set(filter(None, value.split(",")))
            self.transcripts[name] = TranscriptData(name, row["gene"], row["strand"], row["source"],
                                                    row.get("lrg_id", ""), aliases["same_cds_as"],
                                                    aliases["numbering_as"])
        for name, (_h, seq) in _read_fasta(d / "cds.fa").items():
            if name in self.transcripts:
                self.transcripts[name].cds = seq
        for name, (_h, seq) in _read_fasta(d / "protein.fa").items():
            if name in self.transcripts:
                self.transcripts[name].protein = seq
        for i, row in enumerate(_read_tsv(d / "exons.tsv"), start=2):
            tr = self.transcripts.get(row["transcript"])
            if tr is None:
                raise InputError(d / "exons.tsv", f"{row['transcript']} is not in transcripts.tsv", row=i)
            tr.exons.setdefault(row["build"], []).append(
                (int(row["cds_start"]), int(row["cds_end"]), row["chrom"], int(row["genome_start"]),
                 int(row["genome_end"])))
        for tr in self.transcripts.values():
            for rows in tr.exons.values():
                rows.sort()
        if (d / "genome_mismatches.tsv").exists():
            for row in _read_tsv(d / "genome_mismatches.tsv"):
                tr = self.transcripts[row["transcript"]]
                tr.mismatches.setdefault(row["build"], {})[int(row["cds_pos"])] = (
                    row["ref_in_transcript"], row["ref_in_genome"])
        for header, (_h, seq) in _read_fasta(d / "genomic.fa").items():
            build, chrom, span = header.split(":")
            start, end = (int(x) for x in span.split("-"))
            self.windows.setdefault((build, chrom), []).append((start, end, seq))

    def resolve(self, transcript: str) -> tuple[TranscriptData | None, str]:
        """The data record for a KB transcript, or None with the reason it cannot be used.

        `same_cds_as` versions have a CDS checked identical; `numbering_as` versions are only asserted to
        share the CDS numbering, so their rows must also pass the reference-amino-acid check (see place()).
        """
        if transcript in self.transcripts:
            return self.transcripts[transcript], ""
        for tr in self.transcripts.values():
            if transcript in tr.same_cds_as:
                return tr, f"placed with {tr.transcript} data (same CDS as {transcript})"
            if transcript in tr.numbering_as:
                return tr, f"placed with {tr.transcript} data (same CDS numbering as {transcript}; codon checked)"
        accession = transcript.split(".")[0]
        held = sorted(t for t in self.transcripts if t.split(".")[0] == accession)
        if held:
            return None, (f"placement data hold {', '.join(held)}, not {transcript}; CDS identity of the versions "
                          "not verified")
        return None, f"no placement data for {transcript}"

    def window(self, build: str, chrom: str, start: int, end: int) -> tuple[int, str] | None:
        """(window start, plus-strand sequence) of a window holding start..end, or None."""
        for wstart, wend, seq in self.windows.get((build, chrom), []):
            if wstart <= start and end <= wend:
                return wstart, seq
        return None


class PlacementError(ValueError):
    """The row cannot be placed on a build; the message is the reason written to the KB note."""


def cds_to_genome(tr: TranscriptData, build: str, cds_pos: int) -> tuple[str, int]:
    for cds_start, cds_end, chrom, gstart, gend in tr.exons.get(build, []):
        if cds_start <= cds_pos <= cds_end:
            offset = cds_pos - cds_start
            return chrom, (gstart + offset if tr.strand == "+" else gend - offset)
    raise PlacementError(f"c.{cds_pos} is outside the {build} exon table of {tr.transcript}")


def _genomic_range(tr: TranscriptData, build: str, start: int, end: int) -> tuple[str, int, int]:
    """Plus-strand interval of CDS positions start..end; refuses ranges that cross an intron."""
    chrom, g1 = cds_to_genome(tr, build, start)
    _c, g2 = cds_to_genome(tr, build, end)
    lo, hi = min(g1, g2), max(g1, g2)
    if hi - lo != end - start:
        raise PlacementError(f"c.{start}_{end} crosses an exon boundary on {build}; place by hand")
    return chrom, lo, hi


def _check_ref(tr: TranscriptData, build: str, change: CChange) -> str:
    """Transcript-orientation reference bases of the change, checked against the description and mismatches."""
    if len(tr.cds) < change.end:
        raise PlacementError(f"c.{change.end} is beyond the CDS of {tr.transcript} ({len(tr.cds)} bases)")
    ref = tr.cds[change.start - 1:change.end] if change.kind != "ins" else ""
    if change.ref and change.ref != ref:
        raise PlacementError(f"{change.text} states {change.ref} but {tr.transcript} has {ref} there")
    if change.kind == "sub" and change.alt == ref:
        raise PlacementError(f"{change.text}: ALT equals the reference base")
    listed = tr.mismatches.get(build, {})
    for pos in range(change.start, change.end + 1):
        if pos in listed:
            tx, genome = listed[pos]
            raise PlacementError(f"c.{pos} is a listed {tr.transcript}/{build} mismatch (transcript {tx}, genome "
                                 f"{genome}); place by hand")
    return ref


def place_change(data: PlacementData, tr: TranscriptData, change: CChange, build: str) -> Placement:
    ref_tx = _check_ref(tr, build, change)
    if not change.is_indel:
        chrom, lo, _hi = _genomic_range(tr, build, change.start, change.end)
        ref, alt = (ref_tx, change.alt) if tr.strand == "+" else (revcomp(ref_tx), revcomp(change.alt))
        window = data.window(build, chrom, lo, lo + len(ref) - 1)
        if window is not None and window[1][lo - window[0]:lo - window[0] + len(ref)] != ref:
            raise PlacementError(f"{build} genomic sequence disagrees with the CDS at {chrom}:{lo}")
        return Placement(build, chrom, lo, ref, alt)
    from .indel import place_indel  # indels only: keeps this module to the common case

    return place_indel(data, tr, change, build, ref_tx)


CODON_TABLE = dict(zip(
    (a + b + c for a in "TCAG" for b in "TCAG" for c in "TCAG"),
    "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"))


def translate(cds: str) -> str:
    return "".join(CODON_TABLE.get(cds[i:i + 3], "X") for i in range(0, len(cds) - 2, 3))


def check_protein(tr: TranscriptData, change: CChange, protein_change: str) -> str | None:
    """Reason to refuse when the KB protein change does not fit the codon the c. change hits, else None.

    Guards the c. numbering (a transcript-version or isoform mix-up shifts codons) using the KB's own
    protein_change, e.g. T790M needs Thr at codon 790 and c.2369 inside codon 790.
    """
    m = re.match(r"^(?:p\.)?([A-Z])(\d+)", protein_change or "")
    if not m:
        return f"protein_change '{protein_change}' gives no reference amino acid to check the codon"
    aa, codon = m.group(1), int(m.group(2))
    slack = 3 if change.is_indel else 0  # an in-frame indel may start in the codon before the one named
    if not (codon - 1) * 3 - slack < change.start <= codon * 3 + slack:
        return f"{change.text} is not in codon {codon} of {tr.transcript} ({protein_change})"
    found = translate(tr.cds[(codon - 1) * 3:codon * 3])
    if found != aa:
        return f"codon {codon} of {tr.transcript} encodes {found}, not {aa} ({protein_change})"
    return None


def place(data: PlacementData, transcript: str, hgvs_c: str, protein_change: str | None = None
          ) -> tuple[dict[str, Placement], dict[str, str], str]:
    """Placements per build, reasons per build for the builds not placed, and a general note.

    With a protein_change given the codon is checked too; for a `numbering_as` transcript version that
    check is required (an empty protein_change then refuses the row).
    """
    tr, note = data.resolve(transcript)
    if tr is None:
        return {}, {b: note for b in BUILDS}, note
    try:
        change = parse_c(hgvs_c)
    except HgvsError as err:
        return {}, {b: str(err) for b in BUILDS}, str(err)
    if protein_change or transcript in tr.numbering_as:
        problem = check_protein(tr, change, protein_change or "")
        if problem:
            return {}, {b: problem for b in BUILDS}, problem
    placed, reasons = {}, {}
    for build in BUILDS:
        try:
            placed[build] = place_change(data, tr, change, build)
        except PlacementError as err:
            reasons[build] = str(err)
    return placed, reasons, note


def liftover_agrees(chain_path, p37: Placement, p38: Placement) -> bool:
    from .liftover import lift_position

    hit = lift_position(chain_path, p37.chrom, p37.pos)
    return hit is not None and hit[0] == p38.chrom and hit[1] == p38.pos and hit[2] == "+"
