"""Build resources/placement/ tables from LRG records (research use only).

    python3 -m ctdna_monitor.curation.placement_data SOURCES.tsv LRG_XML_DIR OUT_DIR

SOURCES.tsv (resources/placement/lrg_sources.tsv) names, per transcript: lrg_id, gene, lrg_transcript (t1...),
transcript (RefSeq accession.version the KB uses), origin (where the XML was read, for provenance) and
version_diffs: `lrg_pos:lrg_base>transcript_base` items (comma-separated) where that RefSeq version differs
from the LRG transcript, as listed by the transcript's mapping in a current LRG record. The XML files are not
shipped (the tables carry the facts with their source); rerunning this rebuilds the tables byte for byte.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from ..errors import InputError
from .lrg import (
    LrgRecord,
    coding_parts,
    genomic_window,
    lrg_to_cds,
    lrg_to_genome,
    mapping_is_consistent,
    parse_lrg,
)

FLANK = 60  # genomic bases kept either side of each coding exon: room for left-aligning indels
BUILDS = ("GRCh37", "GRCh38")


def read_sources(path) -> list[dict]:
    with open(path, newline="") as fh:
        rows = [line for line in fh if not line.startswith("#")]
    return list(csv.DictReader(rows, delimiter="\t"))


def parse_version_diffs(text: str, rec: LrgRecord, where: str) -> dict[int, str]:
    diffs = {}
    for item in filter(None, (t.strip() for t in (text or "").split(","))):
        pos, change = item.split(":")
        old, new = change.split(">")
        if rec.sequence[int(pos) - 1] != old:
            raise InputError(where, f"version diff {item}: LRG base at {pos} is {rec.sequence[int(pos) - 1]}")
        diffs[int(pos)] = new
    return diffs


def transcript_tables(rec: LrgRecord, src: dict) -> dict[str, list]:
    tr = rec.transcripts[src["lrg_transcript"]]
    name = src["transcript"]
    where = f"{rec.lrg_id} {tr.name}"
    vdiffs = parse_version_diffs(src.get("version_diffs", ""), rec, where)
    seq = list(rec.sequence)
    for pos, base in vdiffs.items():
        seq[pos - 1] = base
    parts = coding_parts(tr)
    cds = "".join("".join(seq[a - 1:b]) for _l, _c1, _c2, a, b in parts)
    if set(cds) - set("ACGT"):
        raise InputError(where, "CDS has bases other than A/C/G/T (incomplete excerpt?)")
    source = f"{rec.lrg_id} {tr.name}"
    out = {"exons": [], "mismatches": [], "windows": [], "strand": None}
    for build in BUILDS:
        mapping = rec.mappings[build]
        if not mapping_is_consistent(mapping):
            raise InputError(where, f"{build} mapping spans disagree with their indel diffs")
        strands = {s.strand for s in mapping.spans}
        if len(strands) != 1:
            raise InputError(where, f"{build} mapping has spans on both strands")
        strand = "+" if strands.pop() == 1 else "-"
        if out["strand"] not in (None, strand):
            raise InputError(where, "strand differs between builds")
        out["strand"] = strand
        for label, c1, c2, a, b in parts:
            g1, g2 = lrg_to_genome(mapping, a), lrg_to_genome(mapping, b)
            if g1 is None or g2 is None or abs(g2 - g1) != b - a:
                raise InputError(where, f"exon {label} is not placed base for base on {build}")
            out["exons"].append([name, label, c1, c2, build, mapping.chrom, min(g1, g2), max(g1, g2),
                                 f"{source} via LRG {build} mapping"])
            window = genomic_window(rec, mapping, a - FLANK, b + FLANK)
            if window is not None:
                lo, hi, wseq = window
                out["windows"].append((f"{build}:{mapping.chrom}:{lo}-{hi}", (f"transcript={name} exon={label} "
                                       f"source={rec.lrg_id}"), wseq))
        # transcript/genome differences inside the CDS: LRG diffs, and sites where the RefSeq version differs
        sites = {int(d["lrg_start"]) for s in mapping.spans for d in s.diffs if d.get("type") == "mismatch"}
        for span in mapping.spans:
            for d in span.diffs:
                if d.get("type") != "mismatch" and lrg_to_cds(tr, int(d["lrg_start"])) is not None:
                    raise InputError(where, f"{build} has an indel difference inside the CDS; place by hand")
        genome_at = {int(d["lrg_start"]): d["other_sequence"] for s in mapping.spans for d in s.diffs
                     if d.get("type") == "mismatch"}
        for pos in sorted(sites | set(vdiffs)):
            cpos = lrg_to_cds(tr, pos)
            if cpos is None:
                continue
            if strand == "-" and pos in genome_at:
                raise InputError(where, "mismatch on a minus-strand LRG mapping: orientation not verified")
            genome_base = genome_at.get(pos, rec.sequence[pos - 1])
            if genome_base != seq[pos - 1]:
                out["mismatches"].append([name, build, cpos, seq[pos - 1], genome_base,
                                          f"{source} {build} mapping diff"])
    out["cds"] = cds
    out["protein"] = tr.protein
    return out


def write_tables(sources_path, xml_dir, out_dir) -> None:
    out_dir = Path(out_dir)
    transcripts, exons, mismatches, cds_fa, prot_fa, windows = [], [], [], [], [], []
    for src in read_sources(sources_path):
        rec = parse_lrg(_xml_path(src, xml_dir))
        if rec.gene != src["gene"]:
            raise InputError(sources_path, f"{src['lrg_id']} is {rec.gene}, not {src['gene']}")
        tab = transcript_tables(rec, src)
        transcripts.append([src["transcript"], src["gene"], tab["strand"],
                            f"{rec.lrg_id} {src['lrg_transcript']} ({src['origin']})", rec.lrg_id, src["notes"]])
        exons += tab["exons"]
        mismatches += tab["mismatches"]
        header = f">{src['transcript']} {src['gene']} source={rec.lrg_id}_{src['lrg_transcript']}"
        cds_fa.append(f"{header}\n{tab['cds']}\n")
        prot_fa.append(f"{header}\n{tab['protein']}\n")
        windows += [f">{w[0]} {w[1]}\n{w[2]}\n" for w in tab["windows"]]
    note = "# generated by python3 -m ctdna_monitor.curation.placement_data from lrg_sources.tsv; see README.md\n"
    _write_tsv(out_dir / "transcripts.tsv", note, ["transcript", "gene", "strand", "source", "lrg_id", "notes"],
               transcripts)
    _write_tsv(out_dir / "exons.tsv", note, ["transcript", "exon", "cds_start", "cds_end", "build", "chrom",
                                             "genome_start", "genome_end", "source"], exons)
    _write_tsv(out_dir / "genome_mismatches.tsv", note, ["transcript", "build", "cds_pos", "ref_in_transcript",
                                                         "ref_in_genome", "source"], mismatches)
    (out_dir / "cds.fa").write_text("".join(cds_fa))
    (out_dir / "protein.fa").write_text("".join(prot_fa))
    (out_dir / "genomic.fa").write_text("".join(windows))


def _xml_path(src: dict, xml_dir) -> Path:
    """Full LRG records come from xml_dir (not shipped); transcribed excerpts live in lrg_excerpts/."""
    if src["origin"].startswith("excerpt:"):
        return Path(__file__).resolve().parents[3] / src["origin"].split()[0].split(":", 1)[1]
    return Path(xml_dir) / f"{src['lrg_id']}.xml"


def _write_tsv(path, note, header, rows) -> None:
    with open(path, "w", newline="") as fh:
        fh.write(note)
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    write_tables(*args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
