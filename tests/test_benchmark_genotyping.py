"""The genotyping benchmark script runs end to end on a tiny data set and its comparison is exact on SNVs."""

import shutil
import subprocess
import sys

import pytest


@pytest.mark.skipif(not (shutil.which("bcftools") and shutil.which("samtools")), reason="needs bcftools and samtools")
def test_benchmark_script_compares_with_bcftools(root, tmp_path):
    out = tmp_path / "bench"
    command = [sys.executable, str(root / "benchmarks/genotyping/run_benchmark.py"), "--out", str(out),
               "--bams", "2", "--sites", "12", "--indels", "2", "--depth", "300", "--jobs", "1"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    row = next(line for line in result.stdout.splitlines() if line.startswith("| 2 |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[6] == "20/20"  # every SNV site in every BAM: same REF and ALT counts as bcftools
    assert float(cells[5]) > 0 and (out / "result.md").exists()
