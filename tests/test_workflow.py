"""Integration: run Snakemake for real on the embedded demo cohort, and on a bad sample sheet."""

import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from ctdna_monitor.alerts import ALERT_COLUMNS
from ctdna_monitor.timeline import TIMELINE_COLUMNS

PARTS = ("Snakefile", "config", "workflow", "scripts", "resources")


def copy_project(root, dest):
    for part in PARTS:
        source = root / part
        if source.is_dir():
            shutil.copytree(source, dest / part)
        else:
            shutil.copy(source, dest / part)
    return dest


def snakemake(workdir, *args):
    command = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.fixture(scope="module")
def demo_run(root, tmp_path_factory):
    workdir = copy_project(root, tmp_path_factory.mktemp("demo"))
    result = snakemake(workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


def test_demo_writes_the_three_outputs(demo_run):
    for name in ("timeline.tsv", "alerts.tsv", "report.html"):
        assert (demo_run / "results" / name).stat().st_size > 0
    assert (demo_run / "logs" / "timeline" / "build_timeline.log").exists()


def test_demo_timeline_contract(demo_run):
    timeline = pd.read_csv(demo_run / "results" / "timeline.tsv", sep="\t", keep_default_na=False)
    assert list(timeline.columns) == TIMELINE_COLUMNS
    assert set(timeline.status) == {"detected", "not_detected", "not_assessable"}
    # one row per (patient, draw, variant): every variant of a patient appears at each of its draws
    per_patient = timeline.groupby("patient").apply(lambda g: len(g) == g["sample"].nunique() * g[["chrom", "pos", "ref", "alt"]].drop_duplicates().shape[0])
    assert per_patient.all()
    # P02's draws have BAMs: sites its sparse VCFs skip are counted there instead of being not assessable
    from_bam = timeline[(timeline.patient == "DEMO-P02") & (timeline.source == "bam")]
    assert len(from_bam) and (pd.to_numeric(from_bam.depth) > 0).all()
    assert set(from_bam.status) <= {"detected", "not_detected"}
    assert (demo_run / "results" / "genotype" / "DEMO-P02.tsv").exists()
    assert "re-genotyped from the BAM" in (demo_run / "results" / "report.html").read_text()


def test_demo_alert_scenarios(demo_run):
    alerts = pd.read_csv(demo_run / "results" / "alerts.tsv", sep="\t", keep_default_na=False)
    assert list(alerts.columns) == ALERT_COLUMNS
    kinds = {(row.patient, row.type, row.protein_change) for row in alerts.itertuples()}
    assert ("DEMO-P01", "emergence", "T790M") in kinds
    assert ("DEMO-P02", "emergence", "G12D") in kinds
    assert ("DEMO-P04", "pre_existing", "T315I") in kinds
    assert ("DEMO-P05", "emergence", "D816V") in kinds
    assert {"rising", "molecular_progression"} <= set(alerts.type)
    p01 = alerts[(alerts.patient == "DEMO-P01") & (alerts.type == "emergence")].iloc[0]
    assert p01.therapy == "erlotinib" and int(p01.lead_time_days) > 60
    assert "DEMO-P03" not in set(alerts.patient)  # the responder
    assert not ((alerts.patient == "DEMO-P02") & (alerts.gene == "BRAF")).any()  # noise reads
    assert not ((alerts.patient == "DEMO-P06") & (alerts.gene == "BRAF")).any()  # encorafenib's target
    assert set(alerts[alerts.patient == "DEMO-P05"].therapy) == {"unknown"}


def test_bad_sample_sheet_stops_before_any_output(root, tmp_path):
    workdir = copy_project(root, tmp_path)
    sheet = workdir / "resources" / "demo" / "samples.tsv"
    lines = sheet.read_text().splitlines()
    lines[3] = lines[3].replace("DEMO-P01-D3", "DEMO-P01-D2")  # duplicate sample ID in data row 3
    sheet.write_text("\n".join(lines) + "\n")
    result = snakemake(workdir)
    assert result.returncode != 0
    message = result.stderr + result.stdout
    assert "samples.tsv, row 3, column 'sample'" in message
    assert "Traceback" not in message
    assert not (workdir / "results").exists()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs it)")
def test_demo_report_renders_in_headless_chromium(demo_run, tmp_path):
    report = demo_run / "results" / "report.html"
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--dump-dom", report.as_uri(),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    dom = result.stdout
    patients = pd.read_csv(demo_run / "results" / "timeline.tsv", sep="\t")["patient"].nunique()
    # plotly replaces each figure's placeholder with rendered SVG: one per patient
    assert dom.count('class="main-svg"') >= patients, dom[-2000:]
    console_errors = [line for line in result.stderr.splitlines() if "CONSOLE" in line and ("Error" in line or "error" in line)]
    assert not console_errors, console_errors


def test_unreadable_vcf_fails_its_job_with_a_clear_line(root, tmp_path):
    workdir = copy_project(root, tmp_path)
    demo = workdir / "resources" / "demo"
    broken = demo / "vcf" / "broken.vcf.gz"
    broken.write_bytes((demo / "vcf" / "DEMO-P01-D2.vcf.gz").read_bytes()[:300])  # cut mid-block
    (demo / "one.tsv").write_text("patient\tsample\tdate\tvcf\nP9\tP9-D1\t2025-01-01\tvcf/broken.vcf.gz\n")
    result = snakemake(workdir, "--config", "samples=resources/demo/one.tsv", "events=")
    assert result.returncode != 0
    log = (workdir / "logs" / "ingest" / "batch-1.log").read_text()  # the one patient's ingestion batch
    assert "broken.vcf.gz" in log and "Traceback" not in log
    assert not (workdir / "results" / "ingest" / "batch-1.tsv").exists()


def test_unknown_drug_in_events_stops_before_any_output(root, tmp_path):
    workdir = copy_project(root, tmp_path)
    events = workdir / "resources" / "demo" / "events.tsv"
    events.write_text(events.read_text().replace("cetuximab", "cetuxumab", 1))
    result = snakemake(workdir)
    assert result.returncode != 0
    assert "events.tsv, row" in result.stderr and "unknown drug 'cetuxumab'" in result.stderr
    assert not (workdir / "results").exists()
