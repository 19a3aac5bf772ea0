"""Annotation parsing: VEP CSQ (field order from the header), SnpEff ANN, bcftools csq BCSQ."""

import pytest
from vcf_fixtures import fmt, info, make_vcf

from ctdna_monitor.annotation import short_protein
from ctdna_monitor.vcf_reader import read_calls


@pytest.mark.parametrize(
    "raw, short",
    [
        ("p.Thr790Met", "T790M"),
        ("ENSP00000275493.2:p.Thr790Met", "T790M"),
        ("p.(Leu858Arg)", "L858R"),
        ("p.Glu746_Ala750del", "E746_A750del"),
        ("p.Leu747_Thr751delinsPro", "L747_T751delinsP"),
        ("p.Gly12Valfs*5", "G12Vfs*5"),
        ("p.Arg1450Ter", "R1450*"),
        ("p.Thr790%3D", "T790="),
        ("790T>790M", "T790M"),
        ("T790M", "T790M"),
        ("", ""),
        ("p.?", ""),
    ],
)
def test_short_protein(raw, short):
    assert short_protein(raw) == short


def _annotated(tmp_path, info_line, info_value, alts=("T",)):
    return make_vcf(
        tmp_path / "ann.vcf",
        [info_line, fmt("GT", 1, "String"), fmt("AD", "R", "Integer"), fmt("DP", 1, "Integer")],
        ["S"],
        [{"chrom": "chr7", "pos": 55181378, "ref": "C", "alts": alts, "info": info_value,
          "fmt": {"S": {"GT": (0, 1), "AD": (90,) + (10,) * len(alts), "DP": 100}}}],
    )  # fmt: skip


def test_vep_csq_field_order_comes_from_the_header(tmp_path):
    line = info("CSQ", ".", "String", "Consequence annotations from Ensembl VEP. Format: Consequence|HGVSp|Allele|CANONICAL|SYMBOL")
    entries = ["missense_variant|ENSP1:p.Thr100Met|T||OTHER", "missense_variant|ENSP2:p.Thr790Met|T|YES|EGFR"]
    calls, _ = read_calls(_annotated(tmp_path, line, {"CSQ": entries}))
    assert (calls[0].gene, calls[0].protein_change) == ("EGFR", "T790M")  # canonical transcript preferred


def test_snpeff_ann_matches_the_allele(tmp_path):
    line = info("ANN", ".", "String", "Functional annotations: 'Allele | Annotation | ...'")
    entries = [
        "T|missense_variant|MODERATE|EGFR|EGFR|transcript|NM_005228.5|protein_coding|20/28|c.2369C>T|p.Thr790Met",
        "G|missense_variant|MODERATE|EGFR|EGFR|transcript|NM_005228.5|protein_coding|20/28|c.2369C>G|p.Thr790Arg",
    ]
    calls, _ = read_calls(_annotated(tmp_path, line, {"ANN": entries}, alts=("T", "G")))
    assert [(c.alt, c.protein_change) for c in calls] == [("T", "T790M"), ("G", "T790R")]


def test_bcftools_csq(tmp_path):
    line = info("BCSQ", ".", "String", "Haplotype-aware consequence annotation from BCFtools/csq. Format: Consequence|gene|transcript|biotype|strand|amino_acid_change|dna_change")
    entries = ["missense|EGFR|ENST00000275493|protein_coding|+|790T>790M|55181378C>T"]
    calls, _ = read_calls(_annotated(tmp_path, line, {"BCSQ": entries}))
    assert (calls[0].gene, calls[0].protein_change) == ("EGFR", "T790M")
