"""VCF ingestion per caller dialect; every fixture is written here with pysam in the caller's layout."""

import gzip
import shutil

import pytest
from vcf_fixtures import fmt, info, make_vcf

from ctdna_monitor.errors import VcfError
from ctdna_monitor.vcf_reader import main, read_calls

GT = fmt("GT", 1, "String")


def one(calls, **where):
    hits = [c for c in calls if all(getattr(c, k) == v for k, v in where.items())]
    assert len(hits) == 1, hits
    return hits[0]


def test_mutect2_uses_tumor_sample_header_and_af(tmp_path):
    path = make_vcf(
        tmp_path / "m2.vcf",
        ["##tumor_sample=PLASMA1", "##normal_sample=BUFFY", GT, fmt("AD", "R", "Integer"), fmt("AF", "A", "Float"), fmt("DP", 1, "Integer")],
        ["BUFFY", "PLASMA1"],
        [
            {
                "chrom": "chr7", "pos": 55181378, "ref": "C", "alts": ("T",),
                "fmt": {"BUFFY": {"GT": (0, 0), "AD": (900, 0), "AF": (0.001,), "DP": 900},
                        "PLASMA1": {"GT": (0, 1), "AD": (1990, 10), "AF": (0.0052,), "DP": 2003}},
            }
        ],
    )  # fmt: skip
    calls, info_ = read_calls(path)
    assert info_["sample"] == "PLASMA1"
    call = one(calls, pos=55181378)
    assert (call.alt_reads, call.depth, call.vaf, call.dialect) == (10, 2003, pytest.approx(0.0052), "allele_depth_af")


def test_vardict_sample_named_like_the_draw(tmp_path):
    path = make_vcf(
        tmp_path / "vd.vcf",
        [GT, fmt("DP", 1, "Integer"), fmt("VD", 1, "Integer"), fmt("AD", "R", "Integer"), fmt("AF", "A", "Float")],
        ["P1-draw3", "P1-normal"],
        [{"chrom": "chr12", "pos": 25245350, "ref": "C", "alts": ("T",),
          "fmt": {"P1-draw3": {"GT": (0, 1), "DP": 4000, "VD": 12, "AD": (3988, 12), "AF": (0.003,)},
                  "P1-normal": {"GT": (0, 0), "DP": 500, "VD": 0, "AD": (500, 0), "AF": (0.0,)}}}],
    )  # fmt: skip
    calls, info_ = read_calls(path, draw_id="P1-draw3")
    assert info_["sample"] == "P1-draw3"
    assert (calls[0].alt_reads, calls[0].depth) == (12, 4000)


def test_strelka2_snv_tier1_counts_and_indel_tar_tir(tmp_path):
    header = [fmt("DP", 1, "Integer")] + [fmt(f"{b}U", 2, "Integer") for b in "ACGT"] + [fmt("TAR", 2, "Integer"), fmt("TIR", 2, "Integer")]
    snv = {"chrom": "chr1", "pos": 100, "ref": "G", "alts": ("A",),
           "fmt": {"TUMOR": {"DP": 999, "AU": (7, 9), "CU": (0, 0), "GU": (493, 500), "TU": (0, 0)},
                   "NORMAL": {"DP": 300, "AU": (0, 0), "CU": (0, 0), "GU": (300, 300), "TU": (0, 0)}}}  # fmt: skip
    indel = {"chrom": "chr1", "pos": 200, "ref": "GTT", "alts": ("G",),
             "fmt": {"TUMOR": {"DP": 400, "TAR": (380, 390), "TIR": (20, 21)}, "NORMAL": {"DP": 300, "TAR": (300, 300), "TIR": (0, 0)}}}  # fmt: skip
    path = make_vcf(tmp_path / "strelka.vcf.gz", header, ["NORMAL", "TUMOR"], [snv, indel])
    calls, _ = read_calls(path)
    snv_call, indel_call = one(calls, pos=100), one(calls, pos=200)
    assert (snv_call.alt_reads, snv_call.depth) == (7, 500)  # tier 1, depth = ref + alt, not FORMAT/DP
    assert snv_call.vaf == pytest.approx(7 / 500)
    assert (indel_call.alt_reads, indel_call.depth, indel_call.dialect) == (20, 400, "strelka2_indel")


def test_freebayes_ao_dp_and_multiallelic_split(tmp_path):
    path = make_vcf(
        tmp_path / "fb.vcf",
        [GT, fmt("DP", 1, "Integer"), fmt("RO", 1, "Integer"), fmt("AO", "A", "Integer")],
        ["S1"],
        [{"chrom": "chr1", "pos": 50, "ref": "A", "alts": ("C", "G"), "fmt": {"S1": {"GT": (0, 1), "DP": 1000, "RO": 970, "AO": (20, 10)}}}],
    )  # fmt: skip
    calls, _ = read_calls(path)
    assert [(c.alt, c.alt_reads, c.depth) for c in calls] == [("C", 20, 1000), ("G", 10, 1000)]


def test_varscan2_percent_string_and_alt_only_ad(tmp_path):
    path = make_vcf(
        tmp_path / "vs.vcf",
        [GT, fmt("DP", 1, "Integer"), fmt("RD", 1, "Integer"), fmt("AD", 1, "Integer"), fmt("FREQ", 1, "String")],
        ["NORMAL", "TUMOR"],
        [{"chrom": "chr1", "pos": 10, "ref": "C", "alts": ("T",),
          "fmt": {"NORMAL": {"GT": (0, 0), "DP": 300, "RD": 300, "AD": 0, "FREQ": "0%"},
                  "TUMOR": {"GT": (0, 1), "DP": 2100, "RD": 2000, "AD": 100, "FREQ": "4.76%"}}}],
    )  # fmt: skip
    calls, info_ = read_calls(path)
    assert info_["sample"] == "TUMOR"
    assert (calls[0].alt_reads, calls[0].depth, calls[0].vaf) == (100, 2100, pytest.approx(0.0476))


def test_bcftools_ad_and_legacy_dp4_site_level(tmp_path):
    modern = make_vcf(
        tmp_path / "bt.bcf",
        [GT, fmt("AD", "R", "Integer"), fmt("DP", 1, "Integer")],
        ["S"],
        [{"chrom": "chr1", "pos": 5, "ref": "G", "alts": ("A",), "fmt": {"S": {"GT": (0, 1), "AD": (95, 5), "DP": 100}}}],
    )
    calls, _ = read_calls(modern)
    assert (calls[0].alt_reads, calls[0].depth, calls[0].vaf) == (5, 100, pytest.approx(0.05))
    legacy = make_vcf(
        tmp_path / "legacy.vcf",
        [info("DP4", 4, "Integer"), info("DP", 1, "Integer")],
        [],
        [{"chrom": "chr1", "pos": 5, "ref": "G", "alts": ("A",), "info": {"DP4": (10, 10, 3, 2), "DP": 40}}],
    )
    calls, info_ = read_calls(legacy)
    assert info_["sample"] is None
    assert (calls[0].alt_reads, calls[0].depth, calls[0].dialect) == (5, 25, "samtools_dp4")


def test_lofreq_info_af_dp_dp4(tmp_path):
    path = make_vcf(
        tmp_path / "lofreq.vcf",
        [info("DP", 1, "Integer"), info("AF", 1, "Float"), info("DP4", 4, "Integer")],
        [],
        [{"chrom": "chr1", "pos": 7, "ref": "T", "alts": ("C",), "info": {"DP": 1800, "AF": 0.0061, "DP4": (900, 880, 6, 5)}}],
    )
    calls, _ = read_calls(path)
    assert (calls[0].alt_reads, calls[0].depth, calls[0].vaf, calls[0].dialect) == (11, 1800, pytest.approx(0.0061), "lofreq")


def test_deepvariant_vaf_and_ad(tmp_path):
    path = make_vcf(
        tmp_path / "dv.vcf",
        [GT, fmt("AD", "R", "Integer"), fmt("DP", 1, "Integer"), fmt("VAF", "A", "Float")],
        ["S"],
        [{"chrom": "chr1", "pos": 9, "ref": "A", "alts": ("G",), "fmt": {"S": {"GT": (0, 1), "AD": (60, 40), "DP": 100, "VAF": (0.4,)}}}],
    )
    calls, _ = read_calls(path)
    assert (calls[0].alt_reads, calls[0].depth, calls[0].vaf, calls[0].dialect) == (40, 100, pytest.approx(0.4), "deepvariant")


def test_vaf_only_file_keeps_vaf_and_leaves_counts_missing(tmp_path):
    path = make_vcf(
        tmp_path / "vendor.vcf",
        [GT, fmt("AF", "A", "Float")],
        ["S"],
        [{"chrom": "chr7", "pos": 55181378, "ref": "C", "alts": ("T",), "fmt": {"S": {"GT": (0, 1), "AF": (0.012,)}}}],
    )
    calls, _ = read_calls(path)
    assert calls[0].alt_reads is None and calls[0].depth is None  # never 0
    assert calls[0].vaf == pytest.approx(0.012)


def test_contig_styles_are_canonicalised(tmp_path):
    path = make_vcf(
        tmp_path / "nochr.vcf",
        [GT, fmt("AD", "R", "Integer"), fmt("DP", 1, "Integer")],
        ["S"],
        [{"chrom": "7", "pos": 55181378, "ref": "C", "alts": ("T",), "fmt": {"S": {"GT": (0, 1), "AD": (90, 10), "DP": 100}}}],
    )
    calls, _ = read_calls(path)
    assert calls[0].chrom == "chr7"


def test_impossible_counts_are_flagged_not_divided(tmp_path):
    path = make_vcf(
        tmp_path / "swap.vcf",
        [GT, fmt("DP", 1, "Integer"), fmt("AC", 1, "Integer"), fmt("AF", 1, "Float")],
        ["S"],
        [{"chrom": "chr1", "pos": 3, "ref": "C", "alts": ("T",), "fmt": {"S": {"GT": (0, 1), "DP": 5, "AC": 3164, "AF": 0.00158}}}],
    )
    calls, info_ = read_calls(path)
    assert calls[0].alt_reads is None and calls[0].vaf is None
    assert "exceeds_depth" in calls[0].flag and info_["flagged"] == 1


def test_symbolic_alleles_are_skipped(tmp_path):
    path = make_vcf(
        tmp_path / "gvcf.vcf",
        [GT, fmt("AD", "R", "Integer"), fmt("DP", 1, "Integer")],
        ["S"],
        [{"chrom": "chr1", "pos": 3, "ref": "C", "alts": ("T", "<NON_REF>"), "fmt": {"S": {"GT": (0, 1), "AD": (90, 10, 0), "DP": 100}}}],
    )
    calls, info_ = read_calls(path)
    assert [c.alt for c in calls] == ["T"] and info_["skipped_symbolic"] == 1


def test_plain_gzip_is_read_as_a_stream(tmp_path):
    text = make_vcf(
        tmp_path / "plain.vcf",
        [GT, fmt("AD", "R", "Integer"), fmt("DP", 1, "Integer")],
        ["S"],
        [{"chrom": "chr1", "pos": 3, "ref": "C", "alts": ("T",), "fmt": {"S": {"GT": (0, 1), "AD": (90, 10), "DP": 100}}}],
    )
    gz = tmp_path / "plain.vcf.gz"
    with open(text, "rb") as src, gzip.open(gz, "wb") as dst:  # gzip, not BGZF
        shutil.copyfileobj(src, dst)
    calls, _ = read_calls(gz)
    assert calls[0].alt_reads == 10


def test_truncated_and_headerless_files_give_one_line_errors(tmp_path, capsys):
    good = make_vcf(
        tmp_path / "x.vcf.gz",
        [GT, fmt("AD", "R", "Integer"), fmt("DP", 1, "Integer")],
        ["S"],
        [{"chrom": "chr1", "pos": p, "ref": "C", "alts": ("T",), "fmt": {"S": {"GT": (0, 1), "AD": (90, 10), "DP": 100}}} for p in range(1, 4000)],
    )
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(good.read_bytes()[:9000])
    with pytest.raises(VcfError, match="cut.vcf.gz"):
        read_calls(cut)
    headerless = tmp_path / "noheader.vcf"
    headerless.write_text("chr1\t5\t.\tA\tT\t.\tPASS\t.\n")
    assert main([str(headerless)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "noheader.vcf" in err[0] and "Traceback" not in err[0]


def test_ambiguous_sample_columns_list_the_columns(tmp_path):
    path = make_vcf(
        tmp_path / "two.vcf",
        [GT, fmt("AD", "R", "Integer"), fmt("DP", 1, "Integer")],
        ["A", "B"],
        [],
    )
    with pytest.raises(VcfError, match="A, B"):
        read_calls(path, draw_id="draw9")
    with pytest.raises(VcfError, match="vcf_sample 'C'"):
        read_calls(path, sample="C")
    calls, info_ = read_calls(path, sample="B")
    assert info_["sample"] == "B" and calls == []
