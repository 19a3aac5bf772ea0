"""Benchmark of the folder report (report_single_file_max_patients): a synthetic cohort of N patients (small
tables: 2 draws x 1 variant each, an alert for every 10th patient (--alert-every), one tiny real patient page each, written by
report.patient_page), rendered with report.folder into <out>/report/, then opened in headless Chromium.

Measured (median of --loads fresh loads, each in a fresh browser profile):
- overview interactive: performance.now() when the page script has loaded the patient index and drawn its first
  rows (window.ctdnaReadyAt; the alert table is sortable before that);
- sorting the alert table by VAF (click to the header marked sorted, rows redrawn);
- search: time from typing a patient ID (Enter) until that patient's row is the first row of the index;
- open a patient: click on the found patient's link until its page's load event (navigation timing loadEventEnd)
  and the wall time from click to document.readyState == complete.

    PYTHONPATH=src python3 benchmarks/report/folder_benchmark.py --patients 10000 --out /tmp/folder-bench
Research use only; synthetic data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
import chromium  # noqa: E402 (tests/chromium.py: the project's headless Chromium settings)

from ctdna_monitor.report.folder import render_report_folder, write_report_folder  # noqa: E402
from ctdna_monitor.report.patient_page import render_patient_page  # noqa: E402

META = {"workflow_version": "bench", "run_date": "2026-01-01", "genome_build": "GRCh38",
        "knowledgebase_version": "bench", "config": {}, "checksums": [["samples", "samples.tsv", "1", "0" * 64]]}  # fmt: skip


def patient_id(i: int) -> str:
    return f"PT-{i:06d}"


def cohort(n: int, alert_every: int = 10):
    """(timeline, alerts, events, response) of n synthetic patients, an alert for every `alert_every`-th."""
    timeline, alerts = [], []
    for i in range(n):
        pid = patient_id(i)
        for d, (date, alt) in enumerate((("2025-01-10", 0), ("2025-03-10", 20 + i % 50))):
            timeline.append({"patient": pid, "sample": f"{pid}-D{d + 1}", "date": date, "chrom": "chr7",
                             "pos": 55181378, "ref": "C", "alt": "T", "gene": "EGFR", "protein_change": "p.T790M",
                             "alt_reads": alt, "depth": 5000, "vaf": alt / 5000,
                             "status": "detected" if alt else "not_detected", "p_value": 1e-9 if alt else 0.6,
                             "lod": 0.001, "kb_id": "EGFR_T790M" if i % 3 == 0 else "", "source": "vcf",
                             "filter": "PASS", "guard": ""})  # fmt: skip
        if i % alert_every == 0:
            alerts.append({"patient": pid, "type": "emergence", "gene": "EGFR", "protein_change": "p.T790M",
                           "chrom": "chr7", "pos": 55181378, "ref": "C", "alt": "T", "sample": f"{pid}-D2",
                           "date": "2025-03-10", "vaf": 0.01, "alt_reads": 50, "depth": 5000, "p_value": 1e-9,
                           "resistance_to": "osimertinib", "therapy": "erlotinib", "progression_date": "",
                           "lead_time_days": "", "kb_id": "EGFR_T790M", "evidence": "PMID:23470965",
                           "confirmed": "yes"})  # fmt: skip
    events = pd.DataFrame(columns=["patient", "date", "event", "value"])
    response = pd.DataFrame({"patient": [patient_id(i) for i in range(n)], "response": "stable",
                             "change_from_baseline_pct": "", "doubling_time_days": ""})  # fmt: skip
    return pd.DataFrame(timeline), pd.DataFrame(alerts), events, response


def build(n: int, out: Path, pages: bool = True, alert_every: int = 10) -> float:
    """Writes out/report/ and out/patients/<patient>.html; returns the seconds the folder report took."""
    timeline, alerts, events, response = cohort(n, alert_every)
    start = time.perf_counter()
    files = render_report_folder(timeline, alerts, events, META, response)
    write_report_folder(out / "report", files)
    seconds = time.perf_counter() - start
    if pages:
        (out / "patients").mkdir(parents=True, exist_ok=True)
        alerted = {row["patient"]: [row] for row in alerts.to_dict("records")}
        for pid, rows in timeline.groupby("patient", sort=False):
            mine = alerted.get(pid, [])
            html = render_patient_page(pid, rows.to_dict("records"), mine, events, META)
            (out / "patients" / f"{pid}.html").write_text(html, encoding="utf-8")
    return seconds


def measure_once(url: str, target: str) -> dict:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with chromium.chromium() as driver:
        driver.get(url)
        chromium.wait_for(driver, "window.ctdnaReady === true", timeout=60)
        ready = driver.execute_script("return window.ctdnaReadyAt")
        vaf = driver.find_element(By.CSS_SELECTOR, "#alert-table th:nth-child(6)")
        start = time.perf_counter()
        vaf.click()
        chromium.wait_for(driver, "document.querySelector('#alert-table th:nth-child(6)').getAttribute('aria-sort')")
        sort = time.perf_counter() - start
        box = driver.find_element(By.ID, "patient-filter")
        start = time.perf_counter()
        box.send_keys(target, Keys.ENTER)
        chromium.wait_for(driver, "(document.querySelector('#patient-table tbody tr') || {}).getAttribute && "
                          f"document.querySelector('#patient-table tbody tr').getAttribute('data-patient') === '{target}'")
        found = time.perf_counter() - start
        link = driver.find_element(By.CSS_SELECTOR, "#patient-table tbody tr a")
        start = time.perf_counter()
        link.click()
        chromium.wait_for(driver, f"document.title.indexOf('{target}') >= 0 && document.readyState === 'complete'")
        wall = time.perf_counter() - start
        load = driver.execute_script("var n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd;")
        errors = chromium.console_errors(driver)
    return {"ready_ms": ready, "sort_s": sort, "search_s": found, "open_load_ms": load, "open_wall_s": wall, "errors": errors}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10000)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--alert-every", type=int, default=10, help="an alert for every n-th patient (default 10)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/ctdna-folder-bench"))
    args = parser.parse_args(argv)
    if not chromium.available():
        print("headless Chromium / chromedriver / selenium not available", file=sys.stderr)
        return 2
    print(f"load average before: {os.getloadavg()}")
    seconds = build(args.patients, args.out, alert_every=args.alert_every)
    sizes = {p.name: p.stat().st_size for p in (args.out / "report").rglob("*") if p.is_file()}
    print(f"{args.patients} patients: folder report written in {seconds:.1f} s; files (bytes): {sizes}")
    target = patient_id(args.patients * 7 // 10 + 3)
    url = (args.out / "report" / "index.html").resolve().as_uri()
    runs = [measure_once(url, target) for _ in range(args.loads)]
    for run in runs:
        print(f"overview interactive {run['ready_ms']:.0f} ms; sort alerts by VAF {run['sort_s'] * 1000:.0f} ms; search {run['search_s'] * 1000:.0f} ms; "
              f"open patient: load event {run['open_load_ms']:.0f} ms, wall {run['open_wall_s'] * 1000:.0f} ms; "
              f"console errors {run['errors']}")
    med = lambda key: statistics.median(r[key] for r in runs)  # noqa: E731
    print(f"median of {len(runs)}: overview interactive {med('ready_ms') / 1000:.2f} s (target <= 3), search "
          f"{med('search_s'):.2f} s, open patient {med('open_load_ms') / 1000:.3f} s load event / "
          f"{med('open_wall_s'):.3f} s wall (target <= 0.5)")
    print(f"load average after: {os.getloadavg()}")
    ok = med("ready_ms") <= 3000 and med("open_load_ms") <= 500 and not any(r["errors"] for r in runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
