"""Ingestion against the shared VCF corpus (../shared/vcf-corpus); skipped cleanly when it is absent."""

import subprocess
import sys

import pytest
from corpus_check import CORPUS, compare

pytestmark = pytest.mark.skipif(not (CORPUS / "expected.tsv").exists(), reason="shared VCF corpus not present")


def test_every_expected_row_is_reproduced():
    results = list(compare())
    problems = [f"{row['file']} {row['chrom']}:{row['pos']} {row['sample']}: {problem}" for row, _, problem in results if problem]
    assert len(results) >= 250
    assert not problems, "\n".join(problems)


EDGE_FILES = sorted(p for p in (CORPUS / "edge").glob("*") if p.suffix not in (".tbi", ".csi")) if CORPUS.exists() else []


@pytest.mark.parametrize("path", EDGE_FILES, ids=lambda p: p.name)
def test_edge_file_ingests_or_fails_with_one_clear_line(path):
    # Multi-sample edge files name no tumour column, so choose the first one explicitly.
    result = subprocess.run([sys.executable, "-m", "ctdna_monitor.vcf_reader", str(path)], capture_output=True, text=True, timeout=60)
    if result.returncode != 0 and "set vcf_sample" in result.stderr:
        first = result.stderr.split("the columns are: ", 1)[1].split(",")[0].split(";")[0].strip()
        result = subprocess.run(
            [sys.executable, "-m", "ctdna_monitor.vcf_reader", str(path), "--sample", first],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    if result.returncode == 0:
        for line in result.stdout.splitlines()[1:]:
            fields = line.split("\t")
            vaf = fields[8]
            assert vaf == "" or 0.0 <= float(vaf) <= 1.0, line
    else:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert path.name in lines[0] and "Traceback" not in lines[0]


def test_edge_files_with_impossible_counts_are_flagged():
    result = subprocess.run([sys.executable, "-m", "ctdna_monitor.vcf_reader", str(CORPUS / "edge" / "vcf2gsvar_somatic_in7.vcf")], capture_output=True, text=True)
    flagged = [line for line in result.stdout.splitlines()[1:] if "exceeds_depth" in line]
    assert flagged and all(line.split("\t")[8] == "" for line in flagged)
    result = subprocess.run([sys.executable, "-m", "ctdna_monitor.vcf_reader", str(CORPUS / "edge" / "crushed.genome.vcf")], capture_output=True, text=True)
    assert "AD_has_2_values_for_3_alleles" in result.stdout
