"""Integration: run Snakemake for real on the embedded demo cohort, and on a bad sample sheet."""

import os
import shutil
import subprocess
import sys

import chromium
import pandas as pd
import pytest

from ctdna_monitor.alerts import ALERT_COLUMNS
from ctdna_monitor.report import patient_anchor
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
    # melanoma on checkpoint inhibitors: knowledge-base matches (anti-EGFR evidence in CRC) but no alert
    assert "DEMO-P07" not in set(alerts.patient)
    timeline = pd.read_csv(demo_run / "results" / "timeline.tsv", sep="\t", keep_default_na=False)
    assert {"BRAF_V600E", "NRAS_G12D"} <= set(timeline[timeline.patient == "DEMO-P07"].kb_id)
    report = (demo_run / "results" / "report.html").read_text()
    assert "Cancer type: SKCM (Cutaneous Melanoma)" in report and "unknown-therapies" not in report


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


@pytest.mark.skipif(not chromium.available(), reason="chromium, chromedriver or selenium missing (.ci/run installs them)")
def test_demo_report_in_headless_chromium(demo_run, tmp_path):
    """Open the report offline, use the overview, click through to a patient: plots render, no errors, no requests."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    report = demo_run / "results" / "report.html"
    patients = sorted(pd.read_csv(demo_run / "results" / "timeline.tsv", sep="\t")["patient"].unique())
    with chromium.chromium() as driver:
        driver.get("about:blank")
        chromium.requested_urls(driver)  # drop what the browser itself loaded before the report
        driver.get(report.as_uri() + "?lazy")  # draw patients only on demand, as for a large cohort
        chromium.wait_for(driver, "window.ctdnaReady")
        # plotly.js is embedded but evaluated only after the overview is interactive
        assert driver.execute_script("return window.ctdnaPlotlyAtReady") == "undefined"
        # the swimmer plot is the page's own SVG: one labelled lane per patient, a subpath per draw tick
        labels = driver.execute_script("return Array.from(document.querySelectorAll('#swimmer-plot .swim-label')).map(t => t.textContent)")
        assert sorted(labels) == patients
        ticks = driver.execute_script(
            "return (document.querySelector('#swimmer-plot path[data-kind=draw]').getAttribute('d').match(/M/g) || []).length")
        assert ticks == len(pd.read_csv(demo_run / "results" / "timeline.tsv", sep="\t")["sample"].unique())
        legend = driver.execute_script("return document.getElementById('swimmer-legend').textContent")
        assert "resistance alert" in legend and "lead time" in legend
        # point at the middle of a lane: the tooltip names its patient; clicking it opens that patient (not the
        # last patient, whose on-demand drawing is checked below)
        lane = next(i for i in (2, 1) if labels[i] != patients[-1])
        lanes = driver.find_element("css selector", "#swimmer-plot svg.swim-lanes")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", lanes)
        box = driver.execute_script("var r = arguments[0].getBoundingClientRect(); return [r.width, r.height]", lanes)
        lane_px = (box[1] - 10) / len(patients)
        ActionChains(driver).move_to_element_with_offset(lanes, 0, int(4 + (lane + 0.5) * lane_px - box[1] / 2)).perform()
        tip = driver.execute_script("var t = document.getElementById('swimmer-tip'); return t.hidden ? '' : t.textContent")
        assert tip.startswith(f"Patient {labels[lane]}"), tip
        # keyboard: the plot takes focus; arrow keys move between lanes and name the patient
        lanes.send_keys(Keys.ARROW_DOWN, Keys.ARROW_DOWN)
        tip = driver.execute_script("var t = document.getElementById('swimmer-tip'); return t.hidden ? '' : t.textContent")
        assert tip.startswith(f"Patient {labels[1]}"), tip
        ActionChains(driver).move_to_element_with_offset(lanes, 0, int(4 + (lane + 0.5) * lane_px - box[1] / 2)).click().perform()
        chromium.wait_for(driver, f"document.getElementById('{patient_anchor(labels[lane])}').dataset.rendered === '1'")
        assert driver.execute_script("return location.hash") == "#" + patient_anchor(labels[lane])
        driver.save_screenshot(str(tmp_path / "swimmer.png"))
        driver.execute_script("history.replaceState(null, '', location.pathname + location.search); window.scrollTo(0, 0)")
        # sort the alert table by lead time, then filter it by type
        driver.find_element("xpath", "//table[@id='alert-table']//th[starts-with(., 'Lead time')]").click()
        leads = driver.execute_script(
            "return Array.from(document.querySelectorAll('#alert-table tbody tr')).map(r => r.cells[11].getAttribute('data-v'))")
        numbers = [float(x) for x in leads if x]
        assert numbers == sorted(numbers) and leads[-1] == ""  # ascending, empty last
        driver.execute_script("var s = document.querySelector('[data-filter=type]'); s.value = 'emergence'; s.dispatchEvent(new Event('change'))")
        visible = driver.execute_script("return Array.from(document.querySelectorAll('#alert-table tbody tr')).filter(r => !r.hidden).map(r => r.dataset.type)")
        assert visible and set(visible) == {"emergence"}
        # click through to the last patient: its section is drawn only now
        target = patients[-1]
        section = f"document.getElementById('{patient_anchor(target)}')"
        assert driver.execute_script(f"return {section}.dataset.rendered") is None
        driver.find_element("xpath", f"//table[@id='patient-table']//a[text()='{target}']").click()
        chromium.wait_for(driver, f"{section}.dataset.rendered === '1'")
        traces = driver.execute_script(f"return {section}.querySelectorAll('.main-svg .scatterlayer .trace').length")
        points = driver.execute_script(f"return {section}.querySelectorAll('.main-svg .scatterlayer .point').length")
        rows = driver.execute_script(f"return {section}.querySelectorAll('table.vaf-table tbody tr').length")
        assert traces >= 2 and points > 0 and rows >= 1
        driver.save_screenshot(str(tmp_path / "patient.png"))
        # without ?lazy a small cohort draws every patient
        driver.get(report.as_uri())
        chromium.wait_for(driver, f"document.querySelectorAll('section.patient[data-rendered]').length === {len(patients)}")
        driver.save_screenshot(str(tmp_path / "overview.png"))
        errors = chromium.console_errors(driver)
        urls = chromium.requested_urls(driver)
    assert not errors, errors
    assert urls and all(url.split("?")[0] == report.as_uri() or url.startswith(("data:", "blob:")) for url in urls), urls
    assert (tmp_path / "patient.png").stat().st_size > 10_000


def test_truncated_vcf_stops_the_run_before_any_job(root, tmp_path):
    """A bgzipped VCF cut mid-block is found by the pre-flight check (no BGZF end-of-file block), not in its job."""
    workdir = copy_project(root, tmp_path)
    demo = workdir / "resources" / "demo"
    broken = demo / "vcf" / "broken.vcf.gz"
    broken.write_bytes((demo / "vcf" / "DEMO-P01-D2.vcf.gz").read_bytes()[:300])  # cut mid-block
    (demo / "one.tsv").write_text("patient\tsample\tdate\tvcf\nP9\tP9-D1\t2025-01-01\tvcf/broken.vcf.gz\n")
    result = snakemake(workdir, "--config", "samples=resources/demo/one.tsv", "events=")
    assert result.returncode != 0
    assert "one.tsv, row 1, column 'vcf' (draw P9-D1)" in result.stderr and "broken.vcf.gz: the file is truncated" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (workdir / "results").exists()


def test_misspelt_drug_in_events_stops_before_any_output(root, tmp_path):
    workdir = copy_project(root, tmp_path)
    events = workdir / "resources" / "demo" / "events.tsv"
    events.write_text(events.read_text().replace("cetuximab", "cetuxumab", 1))
    result = snakemake(workdir)
    assert result.returncode != 0
    assert "events.tsv, row 7, column 'value'" in result.stderr and "did you mean 'cetuximab'" in result.stderr
    assert not (workdir / "results").exists()


def test_a_patient_page_deleted_by_hand_is_rendered_again(demo_run, tmp_path):
    workdir = tmp_path / "demo"
    shutil.copytree(demo_run, workdir, symlinks=True)
    assert snakemake(workdir).returncode == 0  # (the VCF paths moved with the copy: their batches are read again)
    assert "Nothing to be done" in (lambda r: r.stdout + r.stderr)(snakemake(workdir, "--dry-run"))
    (workdir / "results" / "patients" / "DEMO-P02.html").unlink()
    result = snakemake(workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "rule render_patient_pages" in result.stdout + result.stderr
    assert (workdir / "results" / "patients" / "DEMO-P02.html").is_file()


def test_a_pdf_asked_for_an_unknown_patient_stops_before_any_job(root, tmp_path):
    workdir = copy_project(root, tmp_path)
    result = snakemake(workdir, "results/patients/NOBODY.pdf")
    assert result.returncode != 0
    assert "results/patients/NOBODY.pdf: no patient 'NOBODY' in the sample sheet" in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    # no job ran (the draw lists under results/ingest/draws/ are written while the workflow is read)
    assert not list((workdir / "results" / "ingest").glob("batch-*.tsv")) and not (workdir / "logs").exists()
