"""What a draw's file is, whether it is complete, and which genome build its header declares.

`inspect(path, column)` looks at one file named in the sample sheet (`column` "vcf" or "bam") and returns
`FileFacts`: the kind found from the content (not the name), problems that depend on the file alone (one
sentence each, saying what to do), and the contig lengths the header declares. Nothing here depends on
the configuration, so the facts can be cached by path, size and modification time (preflight.py judges
the genome build and duplicates).

Completeness: a BGZF file (bgzipped VCF, BCF, BAM) must end with the BGZF end-of-file block (SAM
specification, section 4.1.2); a plain-gzip VCF must decompress to its end; a plain VCF must end with a
newline and its last record must have all the columns of its #CHROM line (an interrupted copy usually
stops mid-line); a CRAM 3 file must end with the CRAM end-of-file container.
"""

from __future__ import annotations

import gzip
import os
import re
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pysam

from .genome_builds import CHROMOSOME_LENGTHS
from .variants import canonical_chrom

BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
# The CRAM 3.x end-of-file container (CRAM specification v3, "End of file container"; equal to the last
# 38 bytes htslib 1.x writes, checked on a file written by pysam). CRAM 2.x files are not judged by it.
CRAM3_EOF = bytes.fromhex("0f000000ffffffff0fe0454f4600000000010005bdd94f0001000606010001000100ee63014b")
VCF_MAGIC = b"##fileformat=VCF"
KIND_NAMES = {"vcf": "a plain-text VCF", "vcf.gz": "a bgzipped VCF", "vcf.gzip": "a plain-gzip VCF", "bcf": "a BCF",
              "bam": "a BAM", "cram": "a CRAM", "gzip": "gzip data", "text": "text", "unknown": "data"}  # fmt: skip
ALLOWED = {"vcf": ("vcf", "vcf.gz", "vcf.gzip", "bcf"), "bam": ("bam", "cram")}
CONTIG = re.compile(r"^##contig=<(.*)>\s*$")
TAIL = 1 << 16
PRIMARY = set(CHROMOSOME_LENGTHS["GRCh38"])  # only these decide a build; others are not kept


@dataclass
class FileFacts:
    kind: str
    problems: list[str] = field(default_factory=list)
    lengths: dict[str, int] = field(default_factory=dict)  # canonical contig name -> length, from the header
    indexed: bool = True  # BAM/CRAM: an index was found


def kind_by_name(path) -> str | None:
    name = str(path).lower()
    for suffix, kind in ((".vcf", "vcf"), (".vcf.gz", "vcf.gz"), (".vcf.bgz", "vcf.gz"), (".bcf", "bcf"),
                         (".bam", "bam"), (".cram", "cram")):  # fmt: skip
        if name.endswith(suffix):
            return kind
    return None


def kind_by_content(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(18)
    if head[:4] == b"CRAM":
        return "cram"
    if head.startswith(VCF_MAGIC):
        return "vcf"
    if head[:2] != b"\x1f\x8b":
        return "text" if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head) else "unknown"
    bgzf = len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC"
    try:
        with gzip.open(path, "rb") as handle:
            start = handle.read(len(VCF_MAGIC))
    except (OSError, EOFError, zlib.error):
        start = b""
    if start.startswith(b"BAM\x01"):
        return "bam"
    if start.startswith(b"BCF\x02"):
        return "bcf"
    if start.startswith(VCF_MAGIC):
        return "vcf.gz" if bgzf else "vcf.gzip"
    return "gzip"


def inspect(path, column: str = "vcf") -> FileFacts:
    """Facts about the regular, readable file at `path` (the caller checks that it is one)."""
    path = Path(path)
    if path.stat().st_size == 0:
        return FileFacts("empty", ["the file is empty (0 bytes): re-run the caller or copy the file again"])
    kind = kind_by_content(path)
    facts = FileFacts(kind)
    named = kind_by_name(path)
    if kind not in ALLOWED[column]:
        wanted = "a VCF, VCF.gz or BCF" if column == "vcf" else "a BAM or CRAM"
        facts.problems.append(f"the file is {KIND_NAMES[kind]}, not {wanted}: check the path in the sample sheet")
        return facts
    if named and named != kind and not (named == "vcf.gz" and kind == "vcf.gzip"):
        suffix = {"vcf": ".vcf", "vcf.gz": ".vcf.gz", "vcf.gzip": ".vcf.gz", "bcf": ".bcf", "bam": ".bam", "cram": ".cram"}[kind]
        facts.problems.append(f"the file is {KIND_NAMES[kind]} but its name says {KIND_NAMES[named]}: rename it to end in {suffix}")
    if kind in ("vcf.gz", "bcf", "bam") and not _has_bgzf_eof(path):
        facts.problems.append("the file is truncated (no BGZF end-of-file block): copy it again from its source")
        return facts
    if kind == "cram" and _cram_major(path) == 3 and not _ends_with(path, CRAM3_EOF):
        facts.problems.append("the file is truncated (no CRAM end-of-file container): copy it again from its source")
        return facts
    if kind in ("bam", "cram"):
        _inspect_alignments(path, facts)
    elif kind == "bcf":
        _inspect_bcf(path, facts)
    else:
        _inspect_vcf_text(path, kind, facts)
    return facts


def _has_bgzf_eof(path: Path) -> bool:
    return _ends_with(path, BGZF_EOF)


def _ends_with(path: Path, marker: bytes) -> bool:
    with open(path, "rb") as handle:
        handle.seek(max(path.stat().st_size - len(marker), 0))
        return handle.read() == marker


def _cram_major(path: Path) -> int:
    with open(path, "rb") as handle:
        return handle.read(6)[4]


def _inspect_alignments(path: Path, facts: FileFacts):
    try:
        with pysam.AlignmentFile(str(path), "rc" if facts.kind == "cram" else "rb") as alignments:
            facts.lengths = _primary(zip(alignments.references, alignments.lengths))
            facts.indexed = alignments.has_index()
    except (ValueError, OSError) as exc:
        text = str(exc)
        if "EOF" in text or "truncated" in text:
            facts.problems.append("the file is truncated (no end-of-file block): copy it again from its source")
        else:
            facts.problems.append(f"htslib cannot read it ({text}): check the file")


def _inspect_bcf(path: Path, facts: FileFacts):
    try:
        with pysam.VariantFile(str(path)) as vcf:
            facts.lengths = _primary((name, c.length) for name, c in vcf.header.contigs.items() if c.length)
    except (ValueError, OSError) as exc:
        facts.problems.append(f"htslib cannot read its header ({exc}): check the file")


def _read_header(handle) -> tuple[list[str], str | None]:
    """The '##' lines of a text VCF and its #CHROM line (None when the header ends without one)."""
    lines = []
    for raw in handle:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.startswith("#CHROM"):
            return lines, line
        if not line.startswith("#"):
            break
        lines.append(line)
    return lines, None


def _inspect_vcf_text(path: Path, kind: str, facts: FileFacts):
    opener = open if kind == "vcf" else gzip.open
    try:
        with opener(path, "rb") as handle:
            lines, chrom_line = _read_header(handle)
    except (OSError, EOFError, zlib.error) as exc:
        facts.problems.append(f"the gzip data is corrupt or truncated ({exc}): copy the file again from its source")
        return
    for line in lines:
        match = CONTIG.match(line)
        if match:
            _contig(match.group(1), facts)
    if chrom_line is None:
        facts.problems.append("the header has no #CHROM line (or ends early): not a complete VCF")
        return
    columns = len(chrom_line.split("\t"))
    tail = _text_tail(path, kind, facts)
    if tail is None:
        return
    if not tail.endswith(b"\n"):
        facts.problems.append("the file does not end with a line break: it was cut off (an interrupted copy?); "
                              "copy it again from its source")  # fmt: skip
        return
    last = tail.rstrip(b"\r\n").rsplit(b"\n", 1)[-1].decode("utf-8", "replace")
    if last.startswith("#"):
        return  # no records
    fields = last.split("\t")
    if len(fields) != columns or not fields[1].isdigit():
        facts.problems.append(f"the last record has {len(fields)} of the {columns} columns of the #CHROM line: the file "
                              "is cut off or malformed; copy it again from its source")  # fmt: skip


def _text_tail(path: Path, kind: str, facts: FileFacts) -> bytes | None:
    if kind == "vcf":
        with open(path, "rb") as handle:
            handle.seek(max(os.path.getsize(path) - TAIL, 0))
            return handle.read()
    # plain gzip: the whole stream must decompress (it has no end-of-file block); keep the last bytes
    tail = b""
    try:
        with gzip.open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                tail = (tail + chunk)[-TAIL:]
    except (OSError, EOFError, zlib.error) as exc:
        facts.problems.append(f"the gzip data is corrupt or truncated ({exc}): copy the file again from its source")
        return None
    return tail


def _contig(fields: str, facts: FileFacts):
    facts.lengths.update(_contig_length(fields))


@lru_cache(maxsize=8192)  # a cohort's VCFs repeat the same few dozen contig lines: parse each once
def _contig_length(fields: str) -> dict[str, int]:
    values = dict(part.split("=", 1) for part in fields.split(",") if "=" in part)
    name, length = values.get("ID"), values.get("length", "")
    return _primary([(name, length)]) if name and length.isdigit() else {}


def _primary(pairs) -> dict[str, int]:
    named = ((canonical_chrom(name), int(length)) for name, length in pairs)
    return {name: length for name, length in named if name in PRIMARY}


def has_records(path) -> bool:
    """True when the VCF/VCF.gz/BCF at `path` has at least one record (reads up to the first one)."""
    path = Path(path)
    try:
        kind = kind_by_content(path)
        if kind == "bcf":
            with pysam.VariantFile(str(path)) as vcf:
                return next(iter(vcf), None) is not None
        if kind not in ("vcf", "vcf.gz", "vcf.gzip"):
            return True  # BAM/CRAM and anything else: judged by content alone
        with (open if kind == "vcf" else gzip.open)(path, "rb") as handle:
            return any(line.strip() and not line.startswith(b"#") for line in handle)
    except (OSError, ValueError, EOFError, zlib.error):
        return True  # unreadable to the end: its own problem is reported; as a copy it counts
