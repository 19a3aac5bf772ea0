"""Report benchmark: file size and time to interactive of the report of a large simulated cohort.

1. `ctdna_monitor.simulate.simulate_cohort` writes a cohort (VCFs, sample sheet, events); with
   --draws-per-patient N, each patient keeps its first N draws (the simulator plans 8-12 and stops
   one draw after progression, so N=10 only caps).
2. The workflow's own stage functions run in-process (ingest -> timeline -> alerts; running 1,000
   ingest jobs through Snakemake would measure job start-up, not the report), then the report is
   rendered exactly as the workflow's render_report rule does (`report_from_files`).
3. Headless Chromium (Selenium + chromedriver) opens the file from disk, --repeats times, each in a
   fresh browser profile. Time to interactive (TTI) = from navigation start (performance.timeOrigin)
   until the page script has wired the sortable/filterable tables and drawn the swimmer plot of every
   patient (its own SVG) and the browser has painted it: the page then sets
   `window.ctdnaReady = performance.now()`. Also recorded: DOMContentLoaded, load, when plotly.js
   (embedded as inert text) was evaluated after that and how long it took, the time to draw one patient
   after clicking it in the patient index (plotly.js already evaluated), and the time to draw the first
   patient when the page is opened on a patient link (includes evaluating plotly.js).
   The median of the repeats is reported, with the machine's load average. Research use only.

    python benchmarks/report/run_benchmark.py --patients 1000 --draws-per-patient 10 --out benchmarks/report/out
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the Chromium driver helper the browser tests use

import chromium  # noqa: E402

from ctdna_monitor.ingest import ingest_draws  # noqa: E402
from ctdna_monitor.report.from_files import report_from_files  # noqa: E402
from ctdna_monitor.runner import write_tsv  # noqa: E402
from ctdna_monitor.simulate import simulate_cohort  # noqa: E402
from ctdna_monitor.steps import alerts_step, timeline_files  # noqa: E402

KB = REPO / "resources" / "resistance_mutations.tsv"
DRUGS = REPO / "resources" / "drugs.tsv"
TRUNCAL = REPO / "resources" / "demo" / "truncal_variants.tsv"
BUDGET_MB, BUDGET_TTI_S = 15.0, 3.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--draws-per-patient", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--reuse", action="store_true", help="reuse the cohort and results under --out")
    return parser.parse_args(argv)


def cap_draws(cohort: Path, per_patient: int) -> None:
    """Keep each patient's first `per_patient` draws in samples.tsv (the VCFs stay on disk)."""
    with open(cohort / "samples.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    kept, seen = [], {}
    for row in sorted(rows, key=lambda r: (r["patient"], r["date"])):
        seen[row["patient"]] = seen.get(row["patient"], 0) + 1
        if seen[row["patient"]] <= per_patient:
            kept.append(row)
    with open(cohort / "samples.tsv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept)


def run_pipeline(cohort: Path, results: Path, config: dict) -> dict[str, float]:
    """ingest -> timeline -> alerts with the workflow's stage functions; seconds per stage."""
    seconds = {}
    results.mkdir(parents=True, exist_ok=True)
    with open(cohort / "samples.tsv", newline="") as handle:
        sheet = list(csv.DictReader(handle, delimiter="\t"))
    draws: dict[str, list] = {}
    for row in sheet:
        draws.setdefault(row["patient"], []).append([row["sample"], str(cohort / row["vcf"]), row.get("vcf_sample", "")])
    start = time.perf_counter()
    call_paths = []
    for patient, patient_draws in sorted(draws.items()):
        path = results / "ingest" / f"{patient}.tsv"
        path.parent.mkdir(exist_ok=True)
        write_tsv(ingest_draws(patient_draws), path)
        call_paths.append(str(path))
    seconds["ingest"] = time.perf_counter() - start
    start = time.perf_counter()
    timeline_files(str(cohort / "samples.tsv"), call_paths, str(KB), config["genome_build"], config["detection"],
                   config["background"], config["guards"]["chip_genes"],
                   outputs=[results / f"{name}.tsv" for name in ("timeline", "background", "negatives")])  # fmt: skip
    seconds["timeline"] = time.perf_counter() - start
    start = time.perf_counter()
    alerts, response = alerts_step(str(results / "timeline.tsv"), str(cohort / "samples.tsv"), str(cohort / "events.tsv"),
                                   str(KB), str(DRUGS), config["detection"], config["alerts"])
    write_tsv(alerts, results / "alerts.tsv")
    write_tsv(response, results / "molecular_response.tsv")
    seconds["alerts"] = time.perf_counter() - start
    return seconds


def measure(report: Path, repeats: int) -> list[dict]:
    runs = []
    for _ in range(repeats):
        with chromium.chromium() as driver:
            driver.get("about:blank")
            chromium.requested_urls(driver)
            driver.get(report.as_uri())
            tti = chromium.wait_for(driver, "window.ctdnaReady", timeout=120)
            nav = driver.execute_script(
                "var n = performance.getEntriesByType('navigation')[0];"
                "return [n.domContentLoadedEventEnd, n.loadEventEnd, window.ctdnaScriptStart, window.ctdnaDataParsed,"
                " window.ctdnaTablesReady, window.ctdnaSwimmerBuilt];")
            # open a patient near the end of the index: drawn on demand from the embedded data
            # plotly.js is evaluated when the browser is idle after ctdnaReady (or on first need); wait for it, so
            # that the click below measures drawing a patient alone
            plotly_loaded = chromium.wait_for(driver, "window.ctdnaPlotlyLoaded", timeout=60)
            plotly_ms, at_ready = driver.execute_script("return [window.ctdnaPlotlyMs, window.ctdnaPlotlyAtReady]")
            anchor = driver.execute_script("var a = document.querySelectorAll('#patient-table tbody a');"
                                           "var last = a[a.length - 1]; last.click(); return last.hash.slice(1);")
            draw_ms = chromium.wait_for(driver, f"document.getElementById('{anchor}').dataset.drawMs", timeout=60)
            errors = chromium.console_errors(driver)
            urls = [u for u in chromium.requested_urls(driver) if not u.startswith(report.as_uri())]
        with chromium.chromium() as driver:
            # the first patient opened before plotly.js was evaluated: a link to the patient (report.html#patient-…)
            # draws it as soon as the overview is ready, evaluating plotly.js first, inside the measured time
            driver.get(report.as_uri() + "#" + anchor)
            first_ms = chromium.wait_for(driver, f"document.getElementById('{anchor}').dataset.drawMs", timeout=120)
            first_plotly_ms = driver.execute_script("return window.ctdnaPlotlyMs")
            errors += chromium.console_errors(driver)
        runs.append({"tti_ms": tti, "page_script_start_ms": nav[2], "data_parsed_ms": nav[3], "tables_ready_ms": nav[4],
                     "swimmer_built_ms": nav[5],
                     "dom_content_loaded_ms": nav[0], "load_ms": nav[1], "plotly_at_ready": at_ready,
                     "plotly_loaded_ms": plotly_loaded, "plotly_eval_ms": plotly_ms, "patient_draw_ms": float(draw_ms),
                     "first_patient_draw_ms": float(first_ms), "first_patient_plotly_eval_ms": first_plotly_ms,
                     "console_errors": errors, "other_requests": urls})
    return runs


def baseline_page(path: Path) -> Path:
    """Reference: what evaluating the embedded plotly.js and drawing one tiny plot costs on this machine
    (the floor of the report's time to interactive when plotly.js ran during page load; now it runs after)."""
    import plotly.offline

    from ctdna_monitor.report.document import CSP

    path.write_text(
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<script>{plotly.offline.get_plotlyjs()}</script></head><body><div id=p></div><script>"
        "window.ctdnaScriptStart = performance.now();"
        "Plotly.newPlot('p', [{x: [1, 2], y: [1, 2]}]).then(function () { window.ctdnaReady = performance.now(); });"
        "</script></body></html>", encoding="utf-8")  # fmt: skip
    return path


def measure_baseline(page: Path, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        with chromium.chromium() as driver:
            driver.get(page.as_uri())
            times.append(chromium.wait_for(driver, "window.ctdnaReady", timeout=120))
    return statistics.median(times) / 1000


def main(argv=None) -> int:
    args = parse_args(argv)
    out = args.out.resolve()
    cohort, results = out / "cohort", out / "results"
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    timings = {}
    if not (args.reuse and (results / "alerts.tsv").exists()):
        start = time.perf_counter()
        simulate_cohort(cohort, args.patients, args.seed, KB, TRUNCAL)
        cap_draws(cohort, args.draws_per_patient)
        timings["simulate"] = time.perf_counter() - start
        timings.update(run_pipeline(cohort, results, config))
    config.update(samples=str(cohort / "samples.tsv"), events=str(cohort / "events.tsv"),
                  knowledgebase=str(KB), drugs=str(DRUGS))
    start = time.perf_counter()
    html = report_from_files(str(results / "timeline.tsv"), str(results / "alerts.tsv"),
                             str(results / "molecular_response.tsv"), config["samples"], config["events"],
                             config["knowledgebase"], config["drugs"], config)
    report = results / "report.html"
    report.write_text(html, encoding="utf-8")
    timings["render"] = time.perf_counter() - start

    with open(config["samples"], newline="") as handle:
        sheet = list(csv.DictReader(handle, delimiter="\t"))
    load_before = os.getloadavg()
    runs = measure(report, args.repeats)
    baseline_s = measure_baseline(baseline_page(out / "plotly_only.html"), args.repeats)
    size_mb = report.stat().st_size / 1e6
    tti_s = statistics.median(r["tti_ms"] for r in runs) / 1000
    summary = {
        "patients": len({r["patient"] for r in sheet}), "draws": len(sheet),
        "timeline_rows": sum(1 for _ in open(results / "timeline.tsv")) - 1,
        "alerts": sum(1 for _ in open(results / "alerts.tsv")) - 1,
        "size_mb": round(size_mb, 2), "tti_median_s": round(tti_s, 2),
        "plotly_only_page_tti_median_s": round(baseline_s, 2),
        "page_script_start_median_s": round(statistics.median(r["page_script_start_ms"] for r in runs) / 1000, 2),
        "patient_draw_median_ms": statistics.median(r["patient_draw_ms"] for r in runs),
        "first_patient_draw_median_ms": statistics.median(r["first_patient_draw_ms"] for r in runs),
        "plotly_eval_median_ms": round(statistics.median(r["plotly_eval_ms"] for r in runs)),
        "plotly_loaded_median_s": round(statistics.median(r["plotly_loaded_ms"] for r in runs) / 1000, 2),
        "load_average_1_5_15": {"before": [round(x, 2) for x in load_before],
                                "after": [round(x, 2) for x in os.getloadavg()]},
        "budget": {"size_mb": BUDGET_MB, "tti_s": BUDGET_TTI_S,
                   "met": size_mb <= BUDGET_MB and tti_s <= BUDGET_TTI_S},
        "seconds": {k: round(v, 1) for k, v in timings.items()}, "runs": runs,
    }
    (out / "results.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    clean = all(not r["console_errors"] and not r["other_requests"] and r["plotly_at_ready"] == "undefined" for r in runs)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
