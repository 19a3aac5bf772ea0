"""snakemake --lint and snakefmt --check stay clean."""

import shutil
import subprocess
import sys

import pytest


def test_snakemake_lint(root):
    result = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("snakefmt") is None, reason="snakefmt not installed")
def test_snakefmt_check(root):
    result = subprocess.run(["snakefmt", "--check", "Snakefile", "workflow"], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_check(root):
    """The rules in pyproject's [tool.ruff] hold for the package, scripts, tests and benchmarks."""
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
