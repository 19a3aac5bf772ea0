"""One printable page per patient (results/patients/<patient>.html) for the patient's record.

Static: the VAF plot is SVG drawn here (no plotly.js, no script at all), a Content-Security-Policy stricter than
the report's (no script may run) forbids fetching anything, and every value from the inputs is HTML-escaped.
Contents: the latest draw, the
status of every knowledge-base alteration tracked for the patient at that draw with its LoD95 ("not detected,
LoD95 0.070 %"), the alerts with their evidence, the VAF plot (copy number is not measured by this workflow),
therapy and scans, workflow and knowledge-base versions, "research use only". `print_pdf` prints a page to PDF
with headless Chromium.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import math
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pandas as pd

from ..alerts import EVENT_FIELDS, pd_scans_of, periods_of
from ..atomic import write_text, write_text_if_changed
from ..errors import InputError
from ..values import table_records
from .document import NOTICE
from .patients import Call, calls_from_records, group_variants
from .text import esc, evidence_html, int_text, iso_date, mapped_values, pct, text

# The report's policy, without any script: the page has none, so none may run (it is printed by
# Chromium, and a value that escaped the escaping must not be able to execute).
PAGE_CSP = (
    "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "connect-src 'none'; base-uri 'none'; form-action 'none'"
)

log = logging.getLogger("ctdna_monitor")
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 720, 300, 64, 16, 26, 40
PDF_LIMIT = 100  # patient PDFs per run at most (one headless Chromium start each)
STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:60em}
h1{font-size:1.4em;margin:0}h2{font-size:1.1em;margin:1.2em 0 .4em;border-bottom:1px solid #ccc}
.ruo{background:#fff3cd;border:1px solid #e0c060;padding:.3em .6em;font-weight:bold}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f3f3f3}.muted{color:#666}svg{width:100%;height:auto;max-width:100%;display:block}
.legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;width:1.4em;height:3px;vertical-align:middle;margin-right:.3em}
@page{size:A4;margin:14mm}@media print{body{margin:0;max-width:none}section{break-inside:avoid-page}}
"""


def _pct(value) -> str:
    shown = pct(value)
    return shown.replace("%", " %") if shown else ""


def kb_status(row: dict) -> str:
    """'detected, VAF 1.2 % (40/3,300 reads)', 'not detected, LoD95 0.070 %', 'not assessable (LoD95 3.0 %, depth 40)'."""
    return _status_text(text(row.get("status")), _pct(row.get("lod")), int_text(row.get("depth")),
                        int_text(row.get("alt_reads")), _pct(row.get("vaf")))  # fmt: skip


def _status_text(status: str, lod: str, depth: str, alt_reads: str, vaf: str) -> str:
    """kb_status from the row's values as shown (status text, LoD95 and VAF as _pct, counts as int_text)."""
    if status == "detected":
        reads = f" ({alt_reads}/{depth} reads)" if depth else ""
        return f"detected, VAF {vaf}{reads}"
    if status == "not_detected":
        return f"not detected, LoD95 {lod}" + (f" at {depth} reads" if depth else "") if lod else "not detected"
    if status == "not_assessable":
        return f"not assessable (LoD95 {lod or 'unknown'}{', depth ' + depth if depth else ''})"
    return status or "not reported"


def page_row(row: dict) -> dict:
    """What a page shows of a timeline row: its status (text) and kb_status (`shown`)."""
    return {"status": text(row.get("status")), "shown": kb_status(row)}


# The timeline columns a patient page shows (page_rows, patients.timeline_calls without a FILTER policy).
PAGE_INPUT_COLUMNS = (
    "patient", "sample", "date", "chrom", "pos", "ref", "alt", "kb_id", "gene", "protein_change", "guard", "vaf",
    "lod", "status", "depth", "alt_reads",
)  # fmt: skip


def page_rows(timeline: pd.DataFrame) -> list[dict]:
    """[page_row(row) for every row], column by column (each distinct value shown once)."""

    def shown(column, convert):
        return mapped_values(timeline[column], convert) if column in timeline else [convert(None)] * len(timeline)

    status = shown("status", text)
    parts = zip(status, shown("lod", _pct), shown("depth", int_text), shown("alt_reads", int_text), shown("vaf", _pct))
    return [{"status": values[0], "shown": _status_text(*values)} for values in parts]


@cache  # a cohort has a few hundred distinct draw dates, and one point per variant and draw
def _day(value) -> dt.date | None:
    shown = iso_date(value)
    return dt.date.fromisoformat(shown) if shown else None


def vaf_plot(variants, periods, scans) -> str:
    """Static SVG: VAF (log scale) per variant over time; not-detected draws as open circles at their LoD95,
    not-assessable ones as crosses; therapy periods shaded, PD scans marked."""
    points = [(v, c) for v in variants for c in v.rows]
    days = [d for _, c in points if (d := _day(c.date))] + [p.start for p in periods] + list(scans)
    if not points or not days:
        return '<p class="muted">No variant recorded.</p>'
    first, last = min(days), max(days)
    span = max((last - first).days, 1)
    values = [x for _, c in points for x in (c.vaf, c.lod) if x and x > 0]
    low = 10 ** math.floor(math.log10(min(values + [1e-3])))
    high = 10 ** math.ceil(math.log10(max(values + [0.01])))
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    log_high, log_range = math.log10(high), math.log10(high) - math.log10(low)  # the same arithmetic, once

    def x(day):
        return LEFT + inner_w * (day - first).days / span

    def y(vaf):
        vaf = min(max(vaf, low), high)
        return TOP + inner_h * (log_high - math.log10(vaf)) / log_range

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           'aria-label="VAF over time" font-size="11" font-family="sans-serif">']  # fmt: skip
    for period in periods:
        end = min(period.end or last, last)
        out.append(f'<rect x="{x(period.start):.1f}" y="{TOP}" width="{max(x(end) - x(period.start), 1):.1f}" '
                   f'height="{inner_h}" fill="#e8eef8"><title>{html.escape(period.drug)}</title></rect>'
                   f'<text x="{x(period.start) + 3:.1f}" y="{TOP - 6}" fill="#456">{html.escape(period.drug)}</text>')  # fmt: skip
    decade = low
    while decade <= high * 1.0001:
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(decade):.1f}" y2="{y(decade):.1f}" stroke="#ddd"/>'
                   f'<text x="{LEFT - 4}" y="{y(decade) + 4:.1f}" text-anchor="end">{html.escape(_pct(decade))}</text>')  # fmt: skip
        decade *= 10
    out.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + inner_h}" stroke="#888"/>'
               f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + inner_h}" y2="{TOP + inner_h}" stroke="#888"/>')  # fmt: skip
    for label_day in sorted({first, last} | set(scans)):
        anchor = "start" if label_day == first else "end" if label_day == last else "middle"
        out.append(f'<text x="{x(label_day):.1f}" y="{HEIGHT - 22}" text-anchor="{anchor}">{label_day.isoformat()}</text>')
    for scan in scans:
        sx = x(scan)
        out.append(f'<path d="M{sx:.1f},{TOP + inner_h - 10} l-5,9 h10 z" fill="#c00"><title>PD scan {scan}</title></path>')
    for index, variant in enumerate(variants):
        colour = COLOURS[index % len(COLOURS)]
        width = 3 if variant.kb_id else 1.5
        line = []
        for call in variant.rows:
            day, vaf, lod, status = _day(call.date), call.vaf, call.lod, call.row["status"]
            if day is None:
                continue
            tip = f"{variant.label} {call.date}: {call.row['shown']}"
            if status == "detected" and vaf and vaf > 0:
                cx, cy = f"{x(day):.1f}", f"{y(vaf):.1f}"
                line.append(f"{cx},{cy}")
                out.append(f'<circle cx="{cx}" cy="{cy}" r="4" fill="{colour}"><title>{html.escape(tip)}</title></circle>')
            elif status == "not_detected" and lod:
                out.append(f'<circle cx="{x(day):.1f}" cy="{y(lod):.1f}" r="4" fill="white" stroke="{colour}"><title>{html.escape(tip)}</title></circle>')
            elif lod:
                out.append(f'<path d="M{x(day) - 4:.1f},{y(lod) - 4:.1f} l8,8 m-8,0 l8,-8" stroke="{colour}"><title>{html.escape(tip)}</title></path>')
        if len(line) > 1:
            out.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="{colour}" stroke-width="{width}"/>')
    out.append(f'<text x="{LEFT + inner_w / 2:.0f}" y="{HEIGHT - 6}" text-anchor="middle" class="muted">'
               "date of draw; filled: detected (VAF), open circle: not detected (at its LoD95), cross: not assessable</text></svg>")  # fmt: skip
    legend = "".join(f'<span><i style="background:{COLOURS[i % len(COLOURS)]}"></i>{html.escape(v.label)}'
                     f'{" (knowledge base)" if v.kb_id else ""}</span>' for i, v in enumerate(variants))  # fmt: skip
    return "".join(out) + f'<p class="legend">{legend}</p>'


def _table(headers: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f'<p class="muted">{empty}</p>'
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_patient_page(patient: str, timeline: list[dict], alerts: list[dict], events: pd.DataFrame, meta: dict,
                        cancer_type: str = "") -> str:
    """The patient's page; `timeline`/`alerts`: the patient's rows (dicts); `events`: the events table;
    `meta`: workflow_version, knowledgebase_version, genome_build, run_date."""
    mine = table_records(events[events.patient == patient], EVENT_FIELDS) if len(events) else []
    calls = [call._replace(row=page_row(call.row)) for call in calls_from_records(timeline)]
    return patient_page(patient, calls, alerts, mine, meta, cancer_type)


def patient_page(patient: str, calls: list[Call], alerts: list[dict], events: list[dict], meta: dict,
                 cancer_type: str = "") -> str:
    """render_patient_page from the patient's timeline rows as Calls whose `row` is the page_row (see
    patients.timeline_calls and page_rows) and its events as dicts (alerts.events_by_patient)."""
    variants = group_variants(calls)
    draws = sorted({(text(c.date), c.sample) for c in calls})
    latest = draws[-1] if draws else None
    periods, scans = periods_of(events), pd_scans_of(events)
    kb_rows = []
    if latest:
        for variant in (v for v in variants if v.kb_id):
            call = next((c for c in variant.rows if c.sample == latest[1]), None)
            kb_rows.append([esc(variant.label), esc(variant.kb_id), html.escape(call.row["shown"] if call else "not reported at this draw")])
    alert_rows = [[iso_date(a.get("date")), esc(a.get("type")), esc(f"{text(a.get('gene'))} {text(a.get('protein_change'))}".strip() or "ctDNA level"),
                   html.escape(_pct(a.get("vaf"))), esc(a.get("therapy")), esc(", ".join(text(a.get("resistance_to")).split(","))), esc(a.get("confirmed")),
                   esc(a.get("lead_time_days")), evidence_html(a.get("evidence"))] for a in sorted(alerts, key=lambda a: text(a.get("date")))]  # fmt: skip
    event_rows = [[iso_date(e["date"]), esc(e["event"].replace("_", " ")), esc(e["value"])]
                  for e in sorted(events, key=lambda e: e["date"])]  # fmt: skip
    facts = [("Workflow version", meta.get("workflow_version")), ("Knowledge base", meta.get("knowledgebase_version")),
             ("Genome build", meta.get("genome_build")), ("Run date", meta.get("run_date"))]  # fmt: skip
    latest_text = f"{esc(latest[1])}, {iso_date(latest[0])} ({len(draws)} draw(s) in all)" if latest else "no draw with a variant"
    return "".join([
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{PAGE_CSP}">',
        f"<title>ctdna-monitor: patient {html.escape(patient)}</title><style>{STYLE}</style></head><body>",
        f"<header><h1>ctDNA monitoring: patient {html.escape(patient)}</h1>",
        f'<p class="ruo" role="note">{NOTICE}</p>',
        f"<p>Cancer type: {html.escape(cancer_type or 'not recorded')}. Latest draw: {latest_text}.</p></header>",
        "<section><h2>Knowledge-base alterations at the latest draw</h2>",
        _table(["Alteration", "Knowledge-base id", "Status"], kb_rows, "No knowledge-base alteration is tracked for this patient."),
        "</section><section><h2>Alerts</h2>",
        _table(["Draw date", "Type", "Alteration", "VAF", "Therapy", "Resistance to", "Confirmed", "Lead time (days)", "Evidence"],
               alert_rows, "No alert."),
        "</section><section><h2>Variant allele fraction over time</h2>", vaf_plot(variants, periods, scans),
        '<p class="muted">Copy number is not measured by this workflow.</p></section>',
        "<section><h2>Therapy and scans</h2>", _table(["Date", "Event", "Value"], event_rows, "No therapy or scan recorded."),
        "</section><section><h2>Versions</h2><table><tbody>",
        "".join(f"<tr><th>{name}</th><td>{esc(value) or 'n/a'}</td></tr>" for name, value in facts),
        f"</tbody></table></section><footer><p>{NOTICE}.</p></footer></body></html>\n",
    ])  # fmt: skip


def chromium_binary() -> str:
    return next((path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))), "")


def print_pdf(page, pdf, chromium: str = "", timeout: float = 120) -> None:
    """Print one page to PDF with headless Chromium (no header or footer lines); OSError when it cannot."""
    chromium = chromium or chromium_binary()
    if not chromium:
        raise OSError("headless Chromium not found (install chromium to print patient PDFs)")
    command = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
               "--no-pdf-header-footer", f"--print-to-pdf={pdf}", Path(page).resolve().as_uri()]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0 or not Path(pdf).exists():
        raise OSError(f"Chromium could not print {page}: {(result.stderr or '').strip()[-300:]}")


def print_changed(changes_path, pages: dict[str, str], out_dir, limit: int = PDF_LIMIT) -> list[str]:
    """PDF of the page of every patient with a change in results/alert_changes.tsv, into `out_dir` (each written
    to a temporary name, then moved), at most `limit` per run. None at the start of a history (every alert is
    new then: the first run of a cohort is not news to print). Without Chromium the pages stay HTML only:
    logged, not an error."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    changes = pd.read_csv(changes_path, sep="\t", dtype=str, keep_default_na=False)
    if len(changes) and (changes["previous_run"] == "").all():
        log.info("the alert history starts with this run: no patient PDF (any page on request: results/patients/<patient>.pdf)")
        return []
    changed = sorted(set(changes["patient"]))
    if len(changed) > limit:
        log.warning("%d patients have a change; PDFs of the first %d only (others on request: results/patients/<patient>.pdf)",
                    len(changed), limit)  # fmt: skip
        changed = changed[:limit]
    printed = []
    for patient in changed:
        if patient not in pages:
            continue
        pdf = out_dir / f"{patient}.pdf"
        temporary = out_dir / f".{patient}.pdf.writing"
        try:
            print_pdf(pages[patient], temporary)
            temporary.replace(pdf)
            printed.append(str(pdf))
        except (OSError, subprocess.SubprocessError) as error:
            log.warning("no PDF for patient %s: %s", patient, error)
        finally:
            temporary.unlink(missing_ok=True)
    log.info("%d patient PDF(s) printed in %s", len(printed), out_dir)
    return printed


PAGES_MANIFEST = "pages.tsv"  # results/patients/pages.tsv: the pages of this run (the workflow's output)


def write_patient_pages(pages, manifest) -> list[str]:
    """Write each patient's page beside `manifest` (results/patients/<patient>.html) where its text changed,
    remove withdrawn patients' pages, then write the manifest (patient, page, updated in this run): the
    workflow names that one file, not one output per patient, so its graph stays small at 100,000 patients
    (a rule with one output per patient made Snakemake match every input path against each of them).
    Returns the patients whose page was written. `pages`: patient -> HTML, or (patient, HTML) pairs (written
    one by one as they come, so a generator of pages keeps one in memory at a time)."""
    manifest = Path(manifest)
    folder = manifest.parent
    folder.mkdir(parents=True, exist_ok=True)
    written, updated = [], []
    for patient, page in pages.items() if isinstance(pages, dict) else pages:
        written.append(patient)
        if write_text_if_changed(folder / f"{patient}.html", page):
            updated.append(patient)
    pages = written
    remove_stale_pages(folder, pages)
    rows = pd.DataFrame({"patient": list(pages), "page": [f"{patient}.html" for patient in pages]})
    rows["updated"] = rows["patient"].isin(set(updated)).map({True: "yes", False: "no"})
    write_text(manifest, rows.to_csv(sep="\t", index=False))
    log.info("patient pages: %d, %d of them written in this run", len(pages), len(updated))
    return updated


def read_pages_manifest(manifest) -> dict[str, str]:
    """patient -> the path of its page, from results/patients/pages.tsv."""
    manifest = Path(manifest)
    rows = pd.read_csv(manifest, sep="\t", dtype=str, keep_default_na=False)
    return {patient: str(manifest.parent / page) for patient, page in zip(rows["patient"], rows["page"])}


def forget_incomplete_pages(manifest) -> bool:
    """Delete the pages list when a page it names is missing (deleted by hand), so the workflow renders the
    pages again instead of keeping a list, and report links, to a file that is gone. True when deleted."""
    manifest = Path(manifest)
    try:
        pages = read_pages_manifest(manifest)
    except (OSError, ValueError, KeyError):
        return False  # no list yet (or not one of ours): nothing to check
    if all(Path(page).is_file() for page in pages.values()):
        return False
    manifest.unlink(missing_ok=True)
    return True


def page_of(manifest, patient: str) -> str:
    """The page of one patient (for its PDF on request); a patient not in the sheet is a one-line error."""
    pages = read_pages_manifest(manifest)
    if patient not in pages:
        raise InputError(manifest, f"no page for patient '{patient}' (not in the sample sheet)",
                         hint="request results/patients/<patient>.pdf for a patient of the sheet")  # fmt: skip
    return pages[patient]


def remove_stale_pages(folder, patients) -> list[str]:
    """Delete the pages (and on-request PDFs) of patients no longer in the sample sheet, so a withdrawn
    patient's record does not stay in results/patients/; returns the removed file names."""
    keep = set(patients)
    removed = []
    for path in sorted(Path(folder).glob("*")):
        if path.is_file() and path.suffix in (".html", ".pdf") and path.stem not in keep:
            path.unlink()
            removed.append(path.name)
    if removed:
        log.info("removed the pages of %d patient(s) no longer in the sample sheet: %s", len(removed), ", ".join(removed))
    return removed
