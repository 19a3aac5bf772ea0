"""Records that cannot be right are flagged and never used as if right (issue 12, point 3).

Fixtures are written here: with pysam where pysam can write the value, as text where the point is a value
no writer would produce (a decimal comma)."""

import pytest
from vcf_fixtures import fmt, info, make_vcf

from ctdna_monitor.vcf_checks import DRAW_MARK, fraction_fits, likelihood_ratio
from ctdna_monitor.vcf_reader import read_calls

GT = fmt("GT", 1, "String")
MUTECT2 = [GT, fmt("AD", "R", "Integer"), fmt("AF", "A", "Float"), fmt("DP", 1, "Integer")]
CSQ = info("CSQ", ".", "String", "Consequence annotations from Ensembl VEP. Format: Allele|Consequence|IMPACT|SYMBOL|Feature|HGVSc|HGVSp|CANONICAL")
T790M = "T|missense_variant|MODERATE|EGFR|NM_005228.5|NM_005228.5:c.2369C>T|p.Thr790Met|YES"
TEXT_HEADER = """##fileformat=VCFv4.2
##contig=<ID=chr7,length=159345973>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allele depths">
##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fraction">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">
##FORMAT=<ID=RD,Number=1,Type=Integer,Description="VarScan2 reference depth">
##FORMAT=<ID=FREQ,Number=1,Type=String,Description="VarScan2 variant allele frequency">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tPLASMA
"""


def mutect2(path, records):
    return make_vcf(path, MUTECT2, ["PLASMA"], records)


def rec(pos, ref, alt, ad, af, dp, **extra):
    return {"chrom": "chr7", "pos": pos, "ref": ref, "alts": (alt,), "fmt": {"PLASMA": {"GT": (0, 1), "AD": ad, "AF": (af,), "DP": dp}}, **extra}


def test_alt_equal_to_ref_is_flagged_without_values_or_annotation(tmp_path):
    # A C>C record annotated as EGFR T790M used to become an "EGFR T790M C C" variant with 40 alt reads.
    path = make_vcf(tmp_path / "same.vcf", [*MUTECT2, CSQ], ["PLASMA"],
                    [rec(55181378, "C", "C", (2000, 40), 0.0196, 2040, info={"CSQ": (T790M,)})])  # fmt: skip
    calls, summary = read_calls(path)
    (call,) = calls
    assert call.flag == "alt_equals_ref"
    assert (call.alt_reads, call.depth, call.vaf, call.gene, call.protein_change) == (None, None, None, "", "")
    assert summary["alt_equals_ref"] == 1


def test_percent_scale_fraction_below_one_is_flagged_and_taken_from_counts(tmp_path):
    # The case: AF 0.36 (percent) beside 12 of 3,335 reads.
    (call,), _ = read_calls(mutect2(tmp_path / "pct.vcf", [rec(100, "C", "T", (3323, 12), 0.36, 3335)]))
    assert (call.alt_reads, call.depth) == (12, 3335)
    assert call.vaf == pytest.approx(12 / 3335)
    assert "vaf_0.36_contradicts_12_of_3335_reads_percent_scale" in call.flag and "vaf_from_counts" in call.flag


def test_fraction_above_one_with_counts_keeps_the_counts(tmp_path):
    # Used to drop the counts too; a percent value beside good counts loses nothing now.
    (call,), _ = read_calls(mutect2(tmp_path / "pct3.vcf", [rec(100, "C", "T", (3235, 100), 3.0, 3335)]))
    assert (call.alt_reads, call.depth, call.vaf) == (100, 3335, pytest.approx(100 / 3335))
    assert "vaf_3_percent_scale" in call.flag


def test_decimal_comma_is_flagged_and_never_read_as_zero(tmp_path):
    # htslib reads AF=0,0036 as two numbers (0 and 36); the first used to become the VAF: 0.
    path = tmp_path / "comma.vcf"
    path.write_text(TEXT_HEADER + "chr7\t100\t.\tC\tT\t.\tPASS\t.\tGT:AD:AF:DP\t0/1:3323,12:0,0036:3335\n")
    (call,), _ = read_calls(path)
    assert call.vaf == pytest.approx(12 / 3335)
    assert "AF_has_2_values_for_1_decimal_comma" in call.flag


def test_varscan2_decimal_comma_keeps_counts(tmp_path):
    # VarScan2 FREQ as a string with a decimal comma used to make the whole allele unreadable.
    path = tmp_path / "varscan.vcf"
    path.write_text(TEXT_HEADER.replace("AD,Number=R", "AD,Number=1")
                    + "chr7\t100\t.\tC\tT\t.\tPASS\t.\tGT:RD:AD:DP:FREQ\t0/1:3323:12:3335:0,36%\n")  # fmt: skip
    (call,), _ = read_calls(path)
    assert (call.alt_reads, call.depth, call.vaf) == (12, 3335, pytest.approx(12 / 3335))
    assert call.dialect == "varscan2" and "FREQ_has_2_values_for_1_decimal_comma" in call.flag


def test_model_estimates_stay_as_written():
    # Mutect2 writes AF 0.1 for 0 of 8 reads and estimates from informative reads (sum of AD < DP).
    assert fraction_fits(0.1, 0, (8, None))
    assert fraction_fits(0.0009784, 0, (1530, None))
    assert fraction_fits(0.33, 50, (300, 150))  # 50 of 300 at DP, 50 of 150 informative reads
    assert not fraction_fits(0.36, 12, (3335, 3335))
    assert likelihood_ratio(12, 3335, 12 / 3335) == pytest.approx(0.0, abs=1e-9)
    # Mutect2 discounting strand-biased, low-quality alt reads (shared corpus, cfdna-unfiltered chr2:29451790).
    assert fraction_fits(0.015, 64, (332, 332), model_estimate=True)
    assert not fraction_fits(0.015, 64, (332, 332))  # a counting caller cannot write that
    assert not fraction_fits(0.36, 12, (3335, 3335), model_estimate=True)  # nor find more than the reads show
    assert not fraction_fits(0.0, 12, (3335, 3335), model_estimate=True)  # nor exactly 0 beside alt reads


def test_decimal_comma_in_a_multiallelic_record(tmp_path):
    # Two ALTs and AF=0,36: two values for two alleles, 0 and 36; neither may be used.
    path = tmp_path / "multi.vcf"
    path.write_text(TEXT_HEADER + "chr7\t100\t.\tC\tT,G\t.\tPASS\t.\tGT:AD:AF:DP\t0/1:3322,12,1:0,36:3335\n")
    first, second = read_calls(path)[0]
    assert first.vaf == pytest.approx(12 / 3335) and "vaf_0_contradicts_12_of_3335_reads" in first.flag
    assert second.vaf == pytest.approx(1 / 3335) and "vaf_36_outside_0_1" in second.flag


def test_model_estimate_kept_in_a_file(tmp_path):
    (call,), _ = read_calls(mutect2(tmp_path / "m2.vcf", [rec(100, "C", "T", (100, 50), 0.33, 300)]))
    assert (call.vaf, call.flag) == (pytest.approx(0.33), "")


def test_conflicting_duplicate_records_are_flagged_and_the_draw_marked(tmp_path):
    # The same allele twice with different counts: the timeline used to keep the first one silently.
    path = mutect2(tmp_path / "dup.vcf", [
        rec(100, "C", "T", (3323, 12), 0.0036, 3335),
        rec(100, "C", "T", (3295, 40), 0.012, 3335),
        rec(200, "G", "A", (1990, 10), 0.005, 2000),
        rec(300, "G", "T", (1990, 10), 0.005, 2000),
        rec(300, "G", "T", (1990, 10), 0.005, 2000),
    ])  # fmt: skip
    calls, summary = read_calls(path)
    assert [c.pos for c in calls] == [100, 200, 300]
    duplicated, other, identical = calls
    assert (duplicated.alt_reads, duplicated.depth, duplicated.vaf) == (None, None, None)
    assert "conflicting_duplicate_records_1_2" in duplicated.flag
    assert all(DRAW_MARK in c.flag for c in calls)
    assert (other.alt_reads, identical.alt_reads) == (10, 10)
    assert summary["conflicting_duplicates"] == 1


def test_identical_duplicates_collapse_without_a_mark(tmp_path):
    path = mutect2(tmp_path / "same.vcf", [rec(300, "G", "T", (1990, 10), 0.005, 2000)] * 2)
    calls, summary = read_calls(path)
    assert len(calls) == 1 and calls[0].flag == "" and summary["conflicting_duplicates"] == 0


def _edit(path, old, new):
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_workflow_flags_records_that_cannot_be_right(root, tmp_path):
    """One demo patient with each case planted; Snakemake runs for real."""
    import subprocess

    import pandas as pd
    from test_job_errors import command, one_patient_project

    workdir = one_patient_project(root, tmp_path)
    vcf = workdir / "resources" / "demo" / "vcf"
    csq = "C|missense_variant|MODERATE|EGFR|NM_005228.5|NM_005228.5:c.2369C>T|p.Thr790Met|YES"
    same = f"chr7\t55181378\t.\tC\tC\t.\tPASS\tCSQ={csq}\tGT:AD:AF:DP\t0/0:800,0:0:800\t0/1:2216,40:0.0177:2256\n"
    _edit(vcf / "DEMO-P01-D3.vcf", "0/1:2763,18:0.0065:2781", "0/1:2763,18:0,0065:2781")  # decimal comma
    (vcf / "DEMO-P01-D3.vcf").write_text((vcf / "DEMO-P01-D3.vcf").read_text() + same)  # ALT equal to REF
    _edit(vcf / "DEMO-P01-D5.vcf", "0/1:3323,12:0.0036:3335", "0/1:3323,12:0.36:3335")  # percent scale
    d7 = (vcf / "DEMO-P01-D7.vcf").read_text()
    tp53 = next(line for line in d7.splitlines(keepends=True) if line.startswith("chr17\t7673802"))
    (vcf / "DEMO-P01-D7.vcf").write_text(d7 + tp53.replace("0/1:3085,29:0.0093:3114", "0/1:3024,90:0.0289:3114"))
    args, env = command(root)
    result = subprocess.run(args, cwd=workdir, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    timeline = pd.read_csv(workdir / "results" / "timeline.tsv", sep="\t", dtype=str, keep_default_na=False)
    alerts = pd.read_csv(workdir / "results" / "alerts.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert not (timeline["ref"] == timeline["alt"]).any()
    assert not alerts.apply(lambda row: " C C" in " ".join(row) or "C>C" in " ".join(row), axis=1).any()

    def row(sample, pos):
        return timeline[(timeline["sample"] == sample) & (timeline["pos"] == str(pos))].iloc[0]

    comma = row("DEMO-P01-D3", 55191822)
    assert float(comma["vaf"]) == pytest.approx(18 / 2781, rel=1e-4) and "decimal_comma" in comma["flag"]
    percent = row("DEMO-P01-D5", 55181378)
    assert float(percent["vaf"]) == pytest.approx(12 / 3335, rel=1e-4) and "percent_scale" in percent["flag"]
    duplicated = row("DEMO-P01-D7", 7673802)
    assert duplicated["alt_reads"] == "" and "conflicting_duplicate_records" in duplicated["flag"]
    assert DRAW_MARK in row("DEMO-P01-D7", 55181378)["flag"]
    report = (workdir / "results" / "report.html").read_text(encoding="utf-8")
    section = report.split('id="flagged-records"', 1)[1].split("</section>", 1)[0]
    assert "Records not used as written (3 draws)" in section
    assert "draw DEMO-P01-D7" in section and "draw marked" in section
    assert "allele fraction 0.36 contradicts 12 of 3335 reads (a percent?) (VAF taken from the read counts)" in section


def test_percent_scale_file_without_counts_leaves_fractions_missing(tmp_path):
    # A vendor file in percent: 3.5 is flagged as above 1, and 0.36 (meaning 0.36 %) must not become 36 %.
    records = [{"chrom": "chr7", "pos": pos, "ref": "C", "alts": ("T",), "fmt": {"S": {"GT": (0, 1), "AF": (af,)}}}
               for pos, af in ((100, 3.5), (200, 0.36))]  # fmt: skip
    calls, summary = read_calls(make_vcf(tmp_path / "vendor.vcf", [GT, fmt("AF", "A", "Float")], ["S"], records))
    assert [c.vaf for c in calls] == [None, None]
    assert "file_vaf_percent_scale" in calls[1].flag and summary["percent_scale"] == 1


def test_a_repeat_without_values_contradicts_nothing(tmp_path):
    # bcftools fill-tags style: the second record of the allele has no sample values at all.
    path = tmp_path / "repeat.vcf"
    path.write_text(TEXT_HEADER + "chr7\t100\t.\tC\tT\t.\tPASS\t.\tAD\t20,2\nchr7\t100\t.\tC\tT\t.\tPASS\t.\tAD\t.\n")
    (call,), summary = read_calls(path)
    assert (call.alt_reads, call.depth, call.flag, summary["conflicting_duplicates"]) == (2, 22, "", 0)


def test_report_lists_records_not_used_as_written():
    import pandas as pd

    from ctdna_monitor.report.records import flagged_records_html

    timeline = pd.DataFrame({
        "patient": ["P<1>", "P<1>", "P2"], "sample": ["D&1", "D&1", "D2"], "chrom": ["chr7"] * 3, "pos": [1, 2, 3],
        "ref": ["C"] * 3, "alt": ["T"] * 3, "gene": ["EGFR", "<b>KRAS</b>", ""], "protein_change": ["T790M", "G12C", ""],
        "flag": ["AF_has_2_values_for_1_decimal_comma;vaf_from_counts;" + DRAW_MARK,
                 "conflicting_duplicate_records_4_9;" + DRAW_MARK, "absent_from_vcf"],
    })  # fmt: skip
    section = flagged_records_html(timeline)
    assert "(1 draws)" in section and "P2" not in section
    assert "EGFR T790M: AF has a decimal comma (VAF taken from the read counts)" in section
    assert "listed twice with different values (records 4, 9) (not used)" in section and "draw marked" in section
    assert "<b>KRAS" not in section and "&lt;b&gt;KRAS" in section and "D&amp;1" in section and "P&lt;1&gt;" in section
    assert flagged_records_html(timeline.iloc[2:]) == ""
