"""The folder report (config report_single_file_max_patients; ctdna_monitor.report.folder): the demo run with
the threshold set low writes results/report/ instead of results/report.html; in headless Chromium the overview
opens offline, search by patient ID finds a patient and its link opens results/patients/<patient>.html; hostile
patient IDs and genes stay text; the Content-Security-Policy blocks a request to a network origin.
Timing at 10,000 patients is benchmarks/report/folder_benchmark.py, not a test."""

from __future__ import annotations

import html
import http.server
import json
import re
import threading

import chromium
import numpy as np
import pandas as pd
import pytest
from test_workflow import copy_project, snakemake

from ctdna_monitor.report.folder import FOLDER_CSP, render_report_folder, write_report_folder

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(1)</script>"
HOSTILE_PATIENT = "PT" + IMG
HOSTILE_GENE = "KRAS" + SCRIPT
needs_chromium = pytest.mark.skipif(not chromium.available(), reason="headless Chromium + chromedriver + selenium")


def _row(patient, sample, date, gene, vaf):
    return {"patient": patient, "sample": sample, "date": date, "chrom": "chr7", "pos": 25245350, "ref": "C",
            "alt": "T", "gene": gene, "protein_change": "p.G12C", "alt_reads": int(vaf * 5000), "depth": 5000,
            "vaf": vaf, "status": "detected", "p_value": 1e-9, "lod": 0.001, "kb_id": ""}  # fmt: skip


@pytest.fixture
def hostile_folder(tmp_path):
    timeline = pd.DataFrame([_row("PT-001", "S1", "2023-01-10", "EGFR", 0.01),
                             _row(HOSTILE_PATIENT, "SA" + SCRIPT, "2023-02-01", HOSTILE_GENE, 0.02),
                             _row("PT-003", "T1", "2023-02-15", "TP53", 0.05)])  # fmt: skip
    alerts = pd.DataFrame([{"patient": HOSTILE_PATIENT, "type": "emergence", "gene": HOSTILE_GENE,
                            "protein_change": "p.G12C", "date": "2023-02-01", "vaf": 0.02, "alt_reads": 100,
                            "depth": 5000, "p_value": 1e-9, "therapy": IMG, "resistance_to": IMG,
                            "lead_time_days": np.nan, "evidence": "PMID:1", "confirmed": "yes"}])  # fmt: skip
    events = pd.DataFrame(columns=["patient", "date", "event", "value"])
    meta = {"workflow_version": "t", "run_date": "2026-01-01", "config": {"note": IMG},
            "checksums": [["samples", IMG, "1", "0" * 64]]}  # fmt: skip
    files = render_report_folder(timeline, alerts, events, meta, cancer_types={"PT-001": IMG})
    write_report_folder(tmp_path / "report", files)
    return tmp_path / "report", files


def test_folder_files_escape_hostile_values(hostile_folder):
    folder, files = hostile_folder
    assert sorted(files) == ["assets/folder.js", "assets/style.css", "data/alerts.js", "data/checksums.js",
                             "data/patients.js", "index.html"]
    index = files["index.html"]
    for value in (IMG, SCRIPT, HOSTILE_PATIENT):
        assert value not in index
    assert html.escape(HOSTILE_GENE) in index  # the alert filter lists the gene, escaped
    alerts = json.loads(re.fullmatch(r"window\.ctdnaData=.*?\[\"alerts\"\]=(.*);\n", files["data/alerts.js"], re.S).group(1))
    (row,) = alerts["rows"]  # the row's markup, escaped as in the single-file report; filter values and sort keys
    assert IMG not in row[0] and SCRIPT not in row[0] and html.escape(HOSTILE_PATIENT) in row[0]
    assert '<a href="../patients/PT%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.html">' in row[0]
    assert row[1:4] == ["emergence", HOSTILE_GENE, IMG.lower()]  # type, gene, drugs: compared, never shown
    assert f'content="{FOLDER_CSP}"' in index and "http" not in FOLDER_CSP
    assert "<script>" not in index and "unsafe-inline" not in FOLDER_CSP  # no inline script at all
    data = json.loads(re.fullmatch(r"window\.ctdnaData=.*?\[\"patients\"\]=(.*);\n", files["data/patients.js"], re.S).group(1))
    rows = {row[0]: row for row in data["rows"]}
    assert set(rows) == {"PT-001", HOSTILE_PATIENT, "PT-003"}
    assert rows[HOSTILE_PATIENT][-1] == "../patients/PT%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.html"
    assert rows["PT-001"][-1] == "../patients/PT-001.html"
    assert (folder / "index.html").read_text() == index
    assert 'href="#patient-' not in index and 'href=\\"#patient-' not in files["data/alerts.js"]


def _network_log(driver, prefix: str) -> tuple[set, set, set]:
    """Request ids, from Chrome's DevTools log, of requests to `prefix`: tried, answered, blocked by the CSP."""
    tried, answered, blocked = set(), set(), set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent" and params["request"]["url"].startswith(prefix):
            tried.add(params["requestId"])
        elif message["method"] == "Network.responseReceived" and params["response"]["url"].startswith(prefix):
            answered.add(params["requestId"])
        elif message["method"] == "Network.loadingFailed" and params.get("blockedReason") == "csp":
            blocked.add(params["requestId"])
    return tried, answered, blocked


@needs_chromium
def test_hostile_ids_stay_text_and_the_csp_blocks_the_network(hostile_folder):
    folder, _ = hostile_folder
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript")
            self.end_headers()
            self.wfile.write(b"window.leaked = true;")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with chromium.chromium() as driver:
            driver.get((folder / "index.html").as_uri())
            chromium.wait_for(driver, "window.ctdnaReady === true")
            assert driver.execute_script("return document.querySelectorAll('img, svg').length") == 0
            ids = driver.execute_script(
                "return Array.from(document.querySelectorAll('#patient-table tbody tr')).map(r => r.dataset.patient)")
            assert sorted(ids) == sorted(["PT-001", HOSTILE_PATIENT, "PT-003"])
            assert driver.execute_script("return document.querySelector('#alert-table tbody td').textContent") == HOSTILE_PATIENT
            assert driver.execute_script("return document.querySelector('#alert-table tbody td:nth-child(3)').textContent") == HOSTILE_GENE
            driver.execute_script("document.querySelector('#checksums').open = true")
            chromium.wait_for(driver, "document.querySelector('#checksum-box table') !== null")
            assert driver.execute_script("return document.querySelector('#checksum-box td:nth-child(2)').textContent") == IMG
            chromium.requested_urls(driver)  # drop the log so far
            # A page that somehow tried to reach the network: script, image, fetch and a style sheet.
            driver.execute_script(
                "window.violations = [];"
                "document.addEventListener('securitypolicyviolation', e => window.violations.push(e.blockedURI));"
                f"var s = document.createElement('script'); s.src = '{url}/x.js'; document.head.appendChild(s);"
                f"var i = new Image(); i.src = '{url}/x.png'; document.body.appendChild(i);"
                f"var l = document.createElement('link'); l.rel = 'stylesheet'; l.href = '{url}/x.css';"
                "document.head.appendChild(l);"
                f"fetch('{url}/x.json').catch(() => window.violations.push('fetch refused'));")
            chromium.wait_for(driver, "window.violations.length >= 4", timeout=10)
            assert not driver.execute_script("return window.leaked === true")
            tried, answered, blocked = _network_log(driver, url)
            assert answered == set() and tried <= blocked  # each attempt (if logged) failed as blocked by the CSP
            assert not any(IMG in m or "alert" in m for m in chromium.console_errors(driver) if "Refused" not in m)
    finally:
        server.shutdown()
    assert hits == []


@pytest.fixture(scope="module")
def folder_run(root, tmp_path_factory):
    workdir = copy_project(root, tmp_path_factory.mktemp("folder"))
    result = snakemake(workdir, "--config", "report_single_file_max_patients=3")
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


def test_workflow_writes_the_folder_report_above_the_threshold(folder_run):
    results = folder_run / "results"
    assert (results / "report" / "index.html").is_file()
    assert not (results / "report.html").exists()
    assert 'href="#patient-' not in (results / "report" / "index.html").read_text()  # no link to a missing section
    data = (results / "report" / "data" / "patients.js").read_text()
    links = re.findall(r'"(\.\./patients/[^"]+\.html)"', data)
    assert len(links) >= 4
    for link in links:  # every index entry opens an existing patient page
        assert (results / "report" / link).resolve().is_file(), link
    # back below the threshold: the single file again, and the stale folder goes
    result = snakemake(folder_run, "--config", "report_single_file_max_patients=1000")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (results / "report.html").is_file() and not (results / "report").exists()
    result = snakemake(folder_run, "--config", "report_single_file_max_patients=3")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (results / "report" / "index.html").is_file() and not (results / "report.html").exists()


@needs_chromium
def test_folder_report_search_and_open_a_patient_in_chromium(folder_run):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    index = folder_run / "results" / "report" / "index.html"
    with chromium.chromium() as driver:
        driver.get(index.as_uri())
        chromium.wait_for(driver, "window.ctdnaReady === true")
        assert [u for u in chromium.requested_urls(driver) if u.startswith("file:")] == [
            (index.parent / name).as_uri()
            for name in ("index.html", "assets/style.css", "assets/folder.js", "data/alerts.js", "data/patients.js")]
        ids = driver.execute_script(
            "return Array.from(document.querySelectorAll('#patient-table tbody tr')).map(r => r.dataset.patient)")
        assert len(ids) >= 4
        # the index opens sorted by patient; a click on that column reverses it (the shared sort of folder.js)
        driver.execute_script("document.querySelector('#patient-table thead th').click()")
        again = driver.execute_script(
            "return Array.from(document.querySelectorAll('#patient-table tbody tr')).map(r => r.dataset.patient)")
        assert again == sorted(ids, key=str.lower, reverse=True)
        assert driver.execute_script("return document.querySelector('#patient-table thead th').getAttribute('aria-sort')") == "descending"
        target = ids[-1]
        driver.find_element(By.ID, "patient-filter").send_keys(target, Keys.ENTER)
        chromium.wait_for(driver, f"document.querySelector('#patient-table tbody tr').dataset.patient === '{target}'")
        assert "1 of" in driver.find_element(By.ID, "patient-count").text
        assert driver.find_elements(By.CSS_SELECTOR, "#alert-table tbody tr")  # the demo has alerts
        types = driver.execute_script("return Array.from(document.querySelectorAll('#alert-table tbody td:nth-child(2)'))"
                                      ".map(td => td.textContent)")
        Select(driver.find_element(By.CSS_SELECTOR, "#alert-filters select[data-filter='1']")).select_by_value(types[0])
        shown = driver.execute_script("return Array.from(document.querySelectorAll('#alert-table tbody td:nth-child(2)'))"
                                      ".map(td => td.textContent)")
        assert shown == [t for t in types if t == types[0]]
        driver.find_element(By.CSS_SELECTOR, "#patient-table tbody tr a").click()
        chromium.wait_for(driver, "document.readyState === 'complete' && location.pathname.endsWith('.html') && "
                                  "location.pathname.indexOf('/patients/') >= 0")
        assert target in driver.title
        assert driver.current_url == (folder_run / "results" / "patients" / f"{target}.html").as_uri()
        # (the browser's own new-tab page loads chrome:// resources before the report)
        assert [u for u in chromium.requested_urls(driver) if u.split(":")[0] not in ("file", "data", "chrome")] == []
        assert chromium.console_errors(driver) == []


def test_folder_report_from_chunks_of_patients_is_the_whole_report(tmp_path):
    """The workflow reads a large timeline a chunk of whole patients at a time (report.from_files._patient_chunks)
    and keeps only each patient's index row: the files are those of the whole timeline at once, flagged records,
    site names, counts and a patient with an alert but no timeline row included."""
    from ctdna_monitor.report.from_files import _patient_chunks
    from ctdna_monitor.steps import read_timeline

    rows = []
    for n in range(7):
        for d, vaf in enumerate((0.01, 0.02, 0.0)):
            gene = "KRAS" if n == 6 else "" if n % 2 else "EGFR"  # PT-006 names PT-000's site otherwise
            row = _row(f"PT-{n:03d}", f"S{n}-{d}", f"2023-0{d + 1}-10", gene, vaf)
            flag = "vaf_0.5_contradicts_50_of_5000_reads;vaf_from_counts" if (n, d) == (3, 1) else ""
            rows.append({**row, "flag": flag, "pos": 25245350 + n % 3})
    timeline = pd.DataFrame(rows)
    path = tmp_path / "timeline.tsv"
    timeline.to_csv(path, sep="\t", index=False)
    alerts = pd.DataFrame([{"patient": "PT-999", "type": "emergence", "gene": "EGFR", "protein_change": "p.T790M",
                            "date": "2023-02-01", "vaf": 0.02, "alt_reads": 100, "depth": 5000, "p_value": 1e-9,
                            "therapy": "erlotinib", "resistance_to": "erlotinib", "lead_time_days": 30,
                            "evidence": "PMID:1", "confirmed": "yes"}])  # fmt: skip
    background = pd.DataFrame([{"chrom": "chr7", "pos": pos, "ref": "C", "alt": "T", "error_rate": 1e-4,
                                "recurrent_variant": "yes", "carrier_patients": 3, "source": "cohort"}
                               for pos in (25245350, 25245351)])  # fmt: skip
    events = pd.DataFrame(columns=["patient", "date", "event", "value"])
    meta = {"workflow_version": "t", "run_date": "2026-01-01", "config": {}, "checksums": []}
    whole = render_report_folder(read_timeline(path), alerts, events, meta, background=background)
    chunks = list(_patient_chunks(str(path), None, 4))  # 4 rows: a patient's 3 draws never split
    assert len(chunks) > 3 and all(set(c.patient).isdisjoint(d.patient) for c, d in zip(chunks, chunks[1:]))
    assert render_report_folder(iter(chunks), alerts, events, meta, background=background) == whole
    # 2 rows: chunks without a whole patient (empty ones) in between
    assert render_report_folder(_patient_chunks(str(path), None, 2), alerts, events, meta, background=background) == whole
    assert "PT-003" in whole["index.html"] and "PT-999" in whole["data/patients.js"]
    assert "EGFR p.G12C (3 patients)" in whole["index.html"]  # the first name of the site, not the last (KRAS)
    # a timeline not in patient order is read whole, in one chunk
    backwards = tmp_path / "backwards.tsv"
    timeline.iloc[::-1].to_csv(backwards, sep="\t", index=False)
    assert len(list(_patient_chunks(str(backwards), None, 4))) == 1
    assert render_report_folder(_patient_chunks(str(backwards), None, 4), alerts, events, meta,
                                background=background) == render_report_folder(read_timeline(backwards), alerts,
                                                                               events, meta, background=background)  # fmt: skip
