"""Every placed knowledge-base row is found by position alone, in each build, through the real VCF reader."""

import pytest
from vcf_fixtures import fmt, info, make_vcf

from ctdna_monitor.knowledgebase import BUILDS, KnowledgeBase
from ctdna_monitor.vcf_reader import read_calls


@pytest.fixture(scope="module")
def kb(root):
    return KnowledgeBase(root / "resources" / "resistance_mutations.tsv")


def _unannotated_vcf(path, placed, contig_style):
    """A Mutect2-like VCF (AD/AF, no CSQ/ANN/BCSQ) with one record per placed row, sorted as a caller writes it."""
    records = []
    chroms = []
    for chrom, pos, ref, alt in sorted(placed, key=lambda c: (c[0], c[1], c[2], c[3])):
        name = chrom if contig_style == "chr" else chrom.removeprefix("chr")
        chroms.append(name)
        records.append({"chrom": name, "pos": pos, "ref": ref, "alts": (alt,),
                        "fmt": {"T": {"GT": (0, 1), "AD": (950, 50), "AF": (0.05,), "DP": 1000}}})  # fmt: skip
    header = [fmt("GT", 1, "String"), fmt("AD", "R", "Integer"), fmt("AF", "A", "Float"), fmt("DP", 1, "Integer")]
    contigs = list(dict.fromkeys(chroms))
    return make_vcf(path, header, ["T"], records, contigs=contigs)


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("contig_style", ["chr", "bare"])
def test_every_placed_row_matches_by_position_alone(kb, tmp_path, build, contig_style):
    placed = {entry.coords[build]: kb_id for kb_id, entry in kb.entries.items() if build in entry.coords}
    assert placed, f"no {build} coordinates in the knowledge base"
    calls, _ = read_calls(_unannotated_vcf(tmp_path / "raw.vcf", placed, contig_style))
    assert len(calls) == len(placed)
    found = {}
    for call in calls:
        assert not call.gene and not call.protein_change  # truly unannotated
        found[(call.chrom, call.pos, call.ref, call.alt)] = kb.match(build, call.chrom, call.pos, call.ref, call.alt)
    missed = sorted(kb_id for coord, kb_id in placed.items() if found.get(coord) != kb_id)
    assert not missed, f"{len(missed)} placed rows not matched by position in {build}: {missed[:10]}"


def test_position_wins_over_a_non_canonical_transcript_annotation(kb, tmp_path):
    """A caller annotating only another transcript (other protein numbering) still matches by position."""
    kb_id, entry = next((i, e) for i, e in kb.entries.items() if "GRCh38" in e.coords)
    chrom, pos, ref, alt = entry.coords["GRCh38"]
    line = info("CSQ", ".", "String", "Consequence annotations from Ensembl VEP. Format: Consequence|HGVSp|Allele|SYMBOL")
    path = make_vcf(
        tmp_path / "noncanonical.vcf",
        [line, fmt("GT", 1, "String"), fmt("AD", "R", "Integer"), fmt("DP", 1, "Integer")],
        ["T"],
        [{"chrom": chrom, "pos": pos, "ref": ref, "alts": (alt,),
          "info": {"CSQ": [f"missense_variant|ENSP0000099999.1:p.Thr9999Met|{alt}|{entry.gene}"]},
          "fmt": {"T": {"GT": (0, 1), "AD": (90, 10), "DP": 100}}}],
        contigs=(chrom,),
    )  # fmt: skip
    (call,) = read_calls(path)[0]
    assert (call.gene, call.protein_change) == (entry.gene, "T9999M")
    assert kb.match("GRCh38", call.chrom, call.pos, call.ref, call.alt, call.gene, call.protein_change) == kb_id


def test_annotation_alone_still_matches_and_other_builds_do_not(kb):
    kb_id, entry = next((i, e) for i, e in kb.entries.items() if "GRCh38" in e.coords and "GRCh37" in e.coords)
    chrom, pos, ref, alt = entry.coords["GRCh38"]
    assert kb.match("GRCh38", "chr1", 1, "A", "G", gene=entry.gene.lower(), protein_change=entry.protein_change)
    if entry.coords["GRCh37"][1] != pos:
        assert kb.match("GRCh37", chrom, pos, ref, alt) != kb_id  # a GRCh38 position in a GRCh37 run
