"""Knowledge-base placement: c. parsing, LRG arithmetic, placement data self-checks, re-derivation of every
derived KB coordinate, liftover agreement and blind validation against two-source coordinates."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ctdna_monitor.curation import cli
from ctdna_monitor.curation.hgvs import HgvsError, parse_c
from ctdna_monitor.curation.kb_place import check_row, read_kb, row_value
from ctdna_monitor.curation.lrg import (
    Mapping,
    Span,
    lrg_to_genome,
    mapping_is_consistent,
    revcomp,
)
from ctdna_monitor.curation.placement import (
    BUILDS,
    DEFAULT_DIR,
    PlacementData,
    cds_to_genome,
    check_protein,
    place,
    translate,
)

ROOT = Path(__file__).resolve().parents[1]
KB = ROOT / "resources" / "resistance_mutations.tsv"
BLIND = DEFAULT_DIR / "blind_validation.tsv"
BLIND_COLS = ("id", "protein_change", "transcript", "hgvs_c", "coordinate_sources")
# ../shared beside the checkout (CI and a checkout); CTDNA_SHARED_DIR points elsewhere
SHARED = Path(os.environ.get("CTDNA_SHARED_DIR", ROOT.parent / "shared"))
CHAIN = SHARED / "reference" / "hg19ToHg38.over.chain.gz"
needs_chain = pytest.mark.skipif(not CHAIN.exists(), reason="../shared/reference chain not present")


@pytest.fixture(scope="module")
def data():
    return PlacementData()


# ---------------------------------------------------------------- c. parsing
@pytest.mark.parametrize("text,kind,start,end,alt", [
    ("c.2369C>T", "sub", 2369, 2369, "T"),
    ("c.2389_2390delinsAG", "delins", 2389, 2390, "AG"),
    ("c.2235_2249del", "del", 2235, 2249, ""),
    ("c.2310_2311insGGT", "ins", 2310, 2311, "GGT"),
    ("c.2300_2302dup", "dup", 2300, 2302, ""),
    ("c.10delA", "del", 10, 10, ""),
])
def test_parse_c(text, kind, start, end, alt):
    change = parse_c(text)
    assert (change.kind, change.start, change.end, change.alt) == (kind, start, end, alt)
    assert change.is_indel == (kind not in ("sub", "delins"))


@pytest.mark.parametrize("text", ["2369C>T", "c.100+1G>A", "c.-5A>G", "c.2369C>", "c.10_12delAA",
                                  "c.10_13insA", "NM_005228.5:c.2369C>T", "c.5_3del", ""])
def test_parse_c_rejects(text):
    with pytest.raises(HgvsError):
        parse_c(text)


# ---------------------------------------------------------------- LRG arithmetic (synthetic alignments)
def test_lrg_mapping_plus_strand_with_genome_insertion():
    # genome has one extra base between LRG 10 and 11 (an LRG `other_ins` diff)
    # (the shape of LRG_307's GRCh38 mapping: span lengths differ by the inserted base)
    diff = {"type": "other_ins", "lrg_start": "10", "lrg_end": "11", "other_start": "1011", "other_end": "1011",
            "other_sequence": "T", "lrg_sequence": "-"}
    m = Mapping("GRCh38", "chr1", [Span(1, 100, 1001, 1101, 1, [diff])])
    assert mapping_is_consistent(m)
    assert lrg_to_genome(m, 1) == 1001
    assert lrg_to_genome(m, 10) == 1010  # no shift before the insertion
    assert lrg_to_genome(m, 11) == 1012  # shifted past the inserted genome base 1011
    assert lrg_to_genome(m, 100) == 1101


def test_lrg_mapping_minus_strand():
    m = Mapping("GRCh37", "chr7", [Span(1, 50, 2001, 2050, -1, [])])
    assert lrg_to_genome(m, 1) == 2050 and lrg_to_genome(m, 50) == 2001
    assert lrg_to_genome(m, 51) is None
    broken = Mapping("GRCh37", "chr7", [Span(1, 50, 2001, 2051, -1, [])])
    assert not mapping_is_consistent(broken)


# ---------------------------------------------------------------- (d) placement data self-checks
def test_placement_data_loaded(data):
    assert len(data.transcripts) >= 8
    genes = {tr.gene for tr in data.transcripts.values()}
    assert {"EGFR", "BRAF", "NRAS", "MAP2K1", "ALK"} <= genes


def test_cds_and_protein_records(data):
    for tr in data.transcripts.values():
        cds = tr.cds
        assert len(cds) % 3 == 0, tr.transcript
        assert cds.startswith("ATG"), tr.transcript
        protein = translate(cds)
        assert protein.endswith("*") and "*" not in protein[:-1], f"{tr.transcript}: stop codons wrong"
        assert protein[:-1] == tr.protein, f"{tr.transcript}: translation differs from protein.fa"


def test_exon_tables_match_cds(data):
    for tr in data.transcripts.values():
        assert set(tr.exons) == set(BUILDS), tr.transcript
        for build, rows in tr.exons.items():
            assert sum(e - s + 1 for s, e, *_ in rows) == len(tr.cds), (tr.transcript, build)
            assert sum(g2 - g1 + 1 for *_, g1, g2 in rows) == len(tr.cds), (tr.transcript, build)
            # contiguous c. numbering, one chromosome, exons ordered along the transcript's strand
            assert [r[0] for r in rows] == [1] + [r[1] + 1 for r in rows[:-1]]
            assert len({r[2] for r in rows}) == 1
            starts = [r[3] for r in rows]
            assert starts == sorted(starts, reverse=(tr.strand == "-")), (tr.transcript, build)


def test_genomic_windows_agree_with_cds(data):
    """Every CDS base inside a genomic window equals the window base (complemented on minus strand),
    except at listed transcript/genome mismatches: the windows and the CDS come from one LRG, so this
    checks the exon arithmetic base for base."""
    checked = 0
    for tr in data.transcripts.values():
        for build in BUILDS:
            listed = tr.mismatches.get(build, {})
            for pos in range(1, len(tr.cds) + 1):
                chrom, g = cds_to_genome(tr, build, pos)
                hit = data.window(build, chrom, g, g)
                if hit is None:
                    continue
                base = hit[1][g - hit[0]]
                want = tr.cds[pos - 1] if tr.strand == "+" else revcomp(tr.cds[pos - 1])
                if pos in listed:
                    assert base != want
                else:
                    assert base == want, (tr.transcript, build, pos)
                checked += 1
    assert checked > 20000


def test_transcribed_excerpt_two_copies_agree():
    """LRG_344 was transcribed from read_file output: t1 and t2 cDNA were copied separately and must give
    the same bases on their shared exons 1-4 (the parser raises on any disagreement); the CDS checks above
    (ATG, stop, translation == the record's protein) cover the rest."""
    import xml.etree.ElementTree as ET

    from ctdna_monitor.curation.lrg import parse_lrg

    path = DEFAULT_DIR / "lrg_excerpts" / "LRG_344.xml"
    rec = parse_lrg(path)
    root = ET.parse(path).getroot()
    cdna = {t.get("name"): t.findtext("cdna/sequence").strip() for t in root.iter("transcript")}
    assert cdna["t1"][:640] == cdna["t2"][:640]
    assert cdna["t1"][640:643] != cdna["t2"][640:643]  # exon 5 (t2 only) starts there: the copies are distinct
    assert rec.sequence[10609 - 1:10730] == cdna["t1"][179:301]


def test_excerpt_tables_rebuild_identically(data):
    """The shipped LRG excerpts rebuild exactly the committed exon rows and CDS (the full LRG XMLs for the
    other genes are not shipped; their rebuild is `python3 -m ctdna_monitor.curation.placement_data`)."""
    from ctdna_monitor.curation.lrg import parse_lrg
    from ctdna_monitor.curation.placement_data import (
        _xml_path,
        read_sources,
        transcript_tables,
    )

    sources = [s for s in read_sources(DEFAULT_DIR / "lrg_sources.tsv") if s["origin"].startswith("excerpt:")]
    assert len(sources) >= 2
    for src in sources:
        tab = transcript_tables(parse_lrg(_xml_path(src, None)), src)
        tr = data.transcripts[src["transcript"]]
        assert tab["cds"] == tr.cds and tab["protein"] == tr.protein
        for build in BUILDS:
            rebuilt = sorted((r[2], r[3], r[5], r[6], r[7]) for r in tab["exons"] if r[4] == build)
            assert rebuilt == sorted(tr.exons[build]), (src["transcript"], build)


# ---------------------------------------------------------------- placement behaviour
def test_known_placements(data):
    placed, _reasons, _ = place(data, "NM_005228.5", "c.2369C>T", "T790M")
    assert (placed["GRCh38"].chrom, placed["GRCh38"].pos, placed["GRCh38"].ref) == ("chr7", 55181378, "C")
    # minus-strand gene: c.T>A is genomic A>T
    placed, _r, _n = place(data, "NM_004333.6", "c.1799T>A", "V600E")
    assert (placed["GRCh37"].pos, placed["GRCh37"].ref, placed["GRCh37"].alt) == (140453136, "A", "T")


def test_mnv_is_one_record(data):
    placed, _r, _n = place(data, "NM_005228.5", "c.2389_2390delinsAG", "C797S")
    p = placed["GRCh37"]
    assert (p.pos, p.ref, p.alt) == (55249091, "TG", "AG")


def test_refusals(data):
    _p, reasons, _n = place(data, "NM_999999.1", "c.1A>G")
    assert reasons["GRCh38"] == "no placement data for NM_999999.1"
    _p, reasons, _n = place(data, "NM_005228.5", "c.2369G>T", "T790M")
    assert "states G" in reasons["GRCh37"]
    _p, reasons, _n = place(data, "NM_005228.5", "c.2369C>T", "T791M")
    assert "not in codon 791" in reasons["GRCh37"]
    _p, reasons, _n = place(data, "NM_005228.5", "c.2369C>T", "A790M")
    assert "encodes T" in reasons["GRCh37"]


def test_listed_mismatch_is_refused(data):
    tr = next(t for t in data.transcripts.values() if t.mismatches)
    build, positions = next(iter(tr.mismatches.items()))
    pos = min(positions)
    ref = tr.cds[pos - 1]
    alt = "A" if ref != "A" else "C"
    placed, reasons, _n = place(data, tr.transcript, f"c.{pos}{ref}>{alt}")
    assert build not in placed and "mismatch" in reasons[build]


def test_indel_left_aligned(data):
    tr = data.transcripts["NM_005228.5"]
    # a 1-base deletion inside a homopolymer run moves to the run's left end, anchor base before it
    cds = tr.cds
    pos = next(i for i in range(200, len(cds) - 1) if cds[i - 1] == cds[i] == cds[i + 1] and cds[i - 2] != cds[i])
    placed, reasons, _n = place(data, tr.transcript, f"c.{pos + 2}del")
    assert "GRCh38" in placed, reasons
    _chrom, left = cds_to_genome(tr, "GRCh38", pos)
    p = placed["GRCh38"]
    assert p.pos == left - 1 and len(p.ref) == 2 and p.alt == p.ref[0]
    assert check_protein(tr, parse_c(f"c.{pos + 2}del"), f"X{(pos + 1) // 3 + 1}") is not None


# ---------------------------------------------------------------- (a) re-derivation of derived KB rows
def _derived_rows(path):
    kb = read_kb(path)
    return kb, [r for r in kb.rows if "exon-table" in r.get("coordinate_sources", "")]


def test_kb_derived_rows_rederive(data):
    _kb, rows = _derived_rows(KB)
    problems = [p for row in rows for p in check_row(data, row)]
    assert problems == []


def test_check_detects_changed_position_and_allele(tmp_path, data):
    """A temp copy with one position and one allele altered must fail `check` (exit 1)."""
    out = tmp_path / "placed.tsv"
    assert cli.main(["place", str(KB), "--out", str(out)]) == 0
    kb = read_kb(out)
    rows = [r for r in kb.rows if "exon-table" in r["coordinate_sources"]]
    assert len(rows) >= 2
    assert cli.main(["check", str(out)]) == 0
    text = out.read_text()
    a, b = rows[0], rows[1]
    moved = f"{a['grch38_chrom']}\t{int(a['grch38_pos']) + 1}\t"
    bad = text.replace(f"{a['grch38_chrom']}\t{a['grch38_pos']}\t", moved, 1)
    bad = bad.replace(f"\t{b['grch37_pos']}\t{b['grch37_ref']}\t{b['grch37_alt']}\t",
                      f"\t{b['grch37_pos']}\t{b['grch37_ref']}\t{'G' if b['grch37_alt'] != 'G' else 'T'}\t", 1)
    assert bad != text
    altered = tmp_path / "altered.tsv"
    altered.write_text(bad)
    problems = [p for row in read_kb(altered).rows for p in check_row(data, row)]
    assert any(a["id"] in p and "GRCh38" in p for p in problems)
    assert any(b["id"] in p and "GRCh37" in p for p in problems)
    assert cli.main(["check", str(altered)]) == 1


def test_place_never_overwrites_input_and_handles_unknown_genes(tmp_path):
    kb_copy = tmp_path / "kb.tsv"
    shutil.copy(KB, kb_copy)
    # every KB gene may have placement data by now: add a row on a transcript that has none
    lines = kb_copy.read_text().splitlines(keepends=True)
    header = next(line for line in lines if not line.startswith("#")).rstrip("\n").split("\t")
    extra = {c: "" for c in header} | {"id": "TEST_UNKNOWN_X1Y", "gene": "TEST", "protein_change": "X1Y",
                                       "transcript": "NM_999999.1", "hgvs_c": "c.1A>G"}
    kb_copy.write_text("".join(lines) + "\t".join(extra[c] for c in header) + "\n")
    original = kb_copy.read_text()
    assert cli.main(["place", str(kb_copy), "--out", str(kb_copy)]) == 2
    out = tmp_path / "out.tsv"
    assert cli.main(["place", str(kb_copy), "--out", str(out)]) == 0
    rows = {r["id"]: r for r in read_kb(out).rows}
    assert kb_copy.read_text() == original
    no_data = [r for r in rows.values() if "no placement data for" in r["note"]]
    assert no_data and all(not any(row_value(r, b)) or r["coordinate_sources"] for r in no_data for b in BUILDS)
    # a second run gives the same file (notes are not appended twice)
    out2 = tmp_path / "out2.tsv"
    assert cli.main(["place", str(out), "--out", str(out2)]) == 0
    assert out2.read_text() == out.read_text()


# ---------------------------------------------------------------- (b) liftover agreement
@needs_chain
def test_grch37_lifts_to_grch38(data):
    from ctdna_monitor.curation.placement import liftover_agrees

    kb = read_kb(KB)
    checked = 0
    for row in kb.rows + read_kb(BLIND, required=BLIND_COLS).rows:
        placed, _r, _n = place(data, row["transcript"], row["hgvs_c"], row.get("protein_change"))
        if len(placed) == 2:
            assert liftover_agrees(CHAIN, placed["GRCh37"], placed["GRCh38"]), row["id"]
            checked += 1
    assert checked >= 20


@needs_chain
def test_every_exon_end_lifts_to_grch38(data):
    """Both builds' exon tables come from separate LRG mappings; the UCSC chain must carry every GRCh37
    exon end onto the GRCh38 one (checks the mapping arithmetic, e.g. MAP2K2's GRCh38 `other_ins`)."""
    from ctdna_monitor.curation.liftover import lift_position

    for tr in data.transcripts.values():
        for r37, r38 in zip(tr.exons["GRCh37"], tr.exons["GRCh38"]):
            assert r37[:2] == r38[:2]
            for g37, g38 in ((r37[3], r38[3]), (r37[4], r38[4])):
                hit = lift_position(CHAIN, r37[2], g37)
                assert hit is not None and hit[:2] == (r38[2], g38), (tr.transcript, r37, r38)


# ---------------------------------------------------------------- (c) every REF base checked
def test_every_placed_ref_matches_sequence(data):
    for row in read_kb(BLIND, required=BLIND_COLS).rows + read_kb(KB).rows:
        placed, _r, _n = place(data, row["transcript"], row["hgvs_c"], row.get("protein_change"))
        for p in placed.values():
            tr = data.resolve(row["transcript"])[0]
            change = parse_c(row["hgvs_c"])
            ref_tx = tr.cds[change.start - 1:change.end]
            assert p.ref == (ref_tx if tr.strand == "+" else revcomp(ref_tx)), row["id"]
            hit = data.window(p.build, p.chrom, p.pos, p.pos + len(p.ref) - 1)
            if hit is not None:
                assert hit[1][p.pos - hit[0]:p.pos - hit[0] + len(p.ref)] == p.ref, row["id"]


def test_kb_codons_match_protein_change(data):
    """Each placeable KB row's c. change falls in the codon its protein_change names, and that codon of the
    CDS encodes the protein_change's reference amino acid (guards c. numbering and the transcript version)."""
    checked = 0
    for row in read_kb(KB).rows + read_kb(BLIND, required=BLIND_COLS).rows:
        tr, _note = data.resolve(row["transcript"])
        if tr is None or not row["hgvs_c"] or not row["protein_change"]:
            continue
        assert check_protein(tr, parse_c(row["hgvs_c"]), row["protein_change"]) is None, row["id"]
        checked += 1
    assert checked >= 60


def test_cli_parser_has_subcommands():
    parser = cli.build_parser()
    choices = parser._subparsers._group_actions[0].choices
    assert {"place", "check", "import-civic", "audit-evidence"} <= set(choices)


# ---------------------------------------------------------------- (e) blind validation
def blind_counts(data):
    counts = {b: {"agree": 0, "differ": [], "not_placed": 0} for b in BUILDS}
    for row in read_kb(BLIND, required=BLIND_COLS).rows:
        placed, _r, _n = place(data, row["transcript"], row["hgvs_c"], row["protein_change"])
        for build in BUILDS:
            have = row_value(row, build)
            if not any(have):
                continue
            if build not in placed:
                counts[build]["not_placed"] += 1
            elif (placed[build].chrom, str(placed[build].pos), placed[build].ref, placed[build].alt) == have:
                counts[build]["agree"] += 1
            else:
                counts[build]["differ"].append(row["id"])
    return counts


def test_blind_validation(data):
    counts = blind_counts(data)
    for build in BUILDS:
        assert counts[build]["differ"] == [], build
    # every two-source coordinate of KB 2026.11.0 (45 GRCh38, 68 GRCh37) is re-derived and agrees
    assert (counts["GRCh38"]["agree"], counts["GRCh38"]["not_placed"]) == (45, 0)
    assert (counts["GRCh37"]["agree"], counts["GRCh37"]["not_placed"]) == (68, 0)
