"""The report as a folder, for cohorts above `report_single_file_max_patients` (config): results/report/.

- `index.html`: the overview (changes since the previous run, draws left out, unknown therapies, flagged
  records, cohort summary, the alert table, a patient index searchable by patient ID, background QC,
  provenance), server-rendered with the same escaping as the single-file report; no swimmer plot and no
  per-patient sections: each patient links to its own page, results/patients/<patient>.html
  (report.patient_page, made by the workflow's render_patient_pages), which is the "open a patient" view;
- `assets/`: the stylesheet and the page script (`folder.js`);
- `data/`: the alert table's rows, the patient index and the input checksums as local script files, loaded
  when needed (browsers
  refuse `fetch` on file:// URLs, but load a <script src> from the same folder).

Offline: the Content-Security-Policy allows scripts and styles from local files only (`'self'`, which
Chromium matches to file: URLs on a file:// page, and `file:` for browsers that give each local file its own
origin) and no network origin at all; no inline script. The data files are
JSON object literals assigned to one global; the page puts every value into the document as text
(textContent) or as a relative link it builds itself, so a hostile patient ID stays inert.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from ..bulk import collector_paused
from ..values import to_number
from .changes import changes_html
from .document import NOTICE, _asset, cohort_parts
from .provenance import provenance_html
from .quarantine import quarantine_html
from .tables import ALERT_HEADERS, _alert_row, _drugs, _options, summary_html, unknown_therapies_html
from .text import iso_date, text

FOLDER_CSP = (
    "default-src 'none'; script-src 'self' file:; style-src 'self' file:; img-src data:; font-src data:; "
    "connect-src 'none'; base-uri 'none'; form-action 'none'"
)
PAGES = "../patients/"  # results/report/index.html -> results/patients/<patient>.html
INDEX_COLUMNS = ["id", "cancer_type", "draws", "variants", "kb_variants", "alerts", "alert_types", "lead_days",
                 "response", "change_pct", "page"]  # fmt: skip
EXTRA_STYLE = """
#patient-table td a{font-weight:600}.pager{display:flex;gap:.5rem;align-items:center}
"""


def page_href(patient: str, pages: str = PAGES) -> str:
    """Relative link to a patient's page (the workflow's file name is the patient ID; any other character
    is percent-encoded, so the link can only name a file in the pages folder)."""
    return f"{pages}{quote(patient, safe='')}.html"


def _index_row(p: dict, pages: str) -> list:
    """A patient's row of the index (from its patients.patient_data)."""
    response = p["response"] or {}
    return [
        p["id"], p.get("cancer_type") or "", len(p["draws"]), len(p["variants"]),
        sum(1 for v in p["variants"] if v["kb_id"]), len(p["alerts"]),
        ", ".join(sorted({a["type"] for a in p["alerts"]})), p["lead"][2] if p["lead"] else None,
        response.get("response") or "", response.get("change"), page_href(p["id"], pages),
    ]  # fmt: skip


def _alert_keys(alert) -> list:
    """Sort key of each alert-table column (ALERT_HEADERS): the number, or the text shown, lower-cased."""
    shown = [text(alert["patient"]), text(alert["type"]), text(alert["gene"]), text(alert["protein_change"]),
             text(alert["date"]), to_number(alert["vaf"]), to_number(alert["alt_reads"]), to_number(alert["p_value"]),
             text(alert["therapy"]), text(alert["resistance_to"]), iso_date(alert["progression_date"]),
             to_number(alert["lead_time_days"]), text(alert.get("confirmed")), text(alert["evidence"])]  # fmt: skip
    return [k.lower() if isinstance(k, str) else k for k in shown]


def _alert_data(alerts: pd.DataFrame, href) -> dict:
    """The alert table's rows for data/alerts.js: per alert its row as HTML (tables._alert_row: the same
    markup and escaping as the single-file report), its filter values and its sort keys."""
    ordered = alerts.sort_values(["patient", "date"], kind="stable").to_dict("records") if len(alerts) else []
    return {"rows": [[_alert_row(a, href), text(a["type"]), text(a["gene"]), "|".join(_drugs(a)), *_alert_keys(a)]
                     for a in ordered]}  # fmt: skip


def _alert_section(alerts: pd.DataFrame) -> str:
    """The alert table, its rows drawn a page at a time by the page script from data/alerts.js (a 10,000-row
    table parsed with the page would hold the overview back for seconds)."""
    if alerts.empty:
        return '<section id="alerts"><h2>Alerts</h2><p>No alerts</p></section>'
    ordered = alerts.to_dict("records")
    types = {text(a["type"]) for a in ordered}
    genes = {text(a["gene"]) for a in ordered}
    drugs = {d for a in ordered for d in _drugs(a)}
    head = "".join(f'<th data-sort="{kind}" tabindex="0">{name}</th>' for name, kind in ALERT_HEADERS)
    return (
        f'<section id="alerts"><h2>Alerts ({len(ordered)})</h2><div class="filters" id="alert-filters">'
        f'<label>Type <select data-filter="1"><option value="">all</option>{_options(types)}</select></label>'
        f'<label>Gene <select data-filter="2"><option value="">all</option>{_options(genes)}</select></label>'
        f'<label>Drug <select data-filter="3"><option value="">all</option>{_options(drugs)}</select></label>'
        '<span class="muted" id="alert-count">Loading the alerts…</span><span class="pager">'
        '<button type="button" id="alert-prev">Previous</button><button type="button" id="alert-next">Next</button>'
        '</span></div><div class="scroll tablebox"><table class="sortable" id="alert-table">'
        f"<thead><tr>{head}</tr></thead><tbody></tbody></table></div>"
        '<p class="note">Click a column header to sort; click a patient to open its page.</p></section>'
    )


def _data_script(name: str, value) -> str:
    """A data file: `window.ctdnaData[name] = <JSON>;` (JSON is a JavaScript expression; non-ASCII escaped)."""
    return f"window.ctdnaData=window.ctdnaData||{{}};window.ctdnaData[{json.dumps(name)}]={json.dumps(value, default=str)};\n"


def _patient_index_section(n: int) -> str:
    head = "".join(
        f'<th data-col="{i}" tabindex="0">{html.escape(name)}</th>'
        for i, name in enumerate(["Patient", "Cancer type", "Draws", "Variants", "Knowledge-base variants", "Alerts",
                                  "Alert types", "Lead time of first resistance alert (days)", "Molecular response",
                                  "ctDNA change from baseline"])
    )  # fmt: skip
    return (
        f'<section id="patients"><h2>Patients ({n})</h2>'
        '<div class="filters"><label>Find patient <input type="search" id="patient-filter" autocomplete="off" '
        'placeholder="patient ID"></label><span class="muted" id="patient-count">Loading the patient index…</span>'
        '<span class="pager"><button type="button" id="patient-prev">Previous</button>'
        '<button type="button" id="patient-next">Next</button></span></div>'
        f'<div class="scroll tablebox"><table class="sortable" id="patient-table"><thead><tr>{head}</tr></thead>'
        "<tbody></tbody></table></div>"
        '<p class="note">Click a patient to open its page (one printable page per patient). Click a column '
        "header to sort.</p></section>"
    )


@collector_paused()
def render_report_folder(timeline, alerts: pd.DataFrame, events: pd.DataFrame, meta: dict,
                         response: pd.DataFrame | None = None, unknown_therapies: dict | None = None,
                         cancer_types: dict | None = None, background: pd.DataFrame | None = None,
                         quarantine: list | None = None, changes: pd.DataFrame | None = None,
                         history: dict | None = None, pages: str = PAGES) -> dict[str, str]:
    """The folder report as {relative path: text}; arguments as document.render_report (the knowledge-base
    context is shown on the patient pages, not here), `timeline` also as DataFrames of whole patients one
    after another (see document.cohort_parts); `pages`: relative link to the patient pages' folder."""
    meta = meta or {}
    link = lambda patient: page_href(patient, pages)  # noqa: E731
    # (the index shows a few numbers per patient: only its row is kept, so a timeline given in chunks of
    # whole patients is never whole in memory)
    parts = cohort_parts(timeline, alerts, events, meta, response, cancer_types, background, link,
                         keep=lambda patient: _index_row(patient, pages))  # fmt: skip
    index_rows, qc = parts["patients"], parts["qc"]
    nav = (('<a href="#changes">Changes</a>' if history is not None else "") + '<a href="#summary">Summary</a>'
           '<a href="#alerts">Alerts</a><a href="#patients">Patients</a>'
           + ('<a href="#background-qc">Background QC</a>' if qc else "") + '<a href="#provenance">Provenance</a>')  # fmt: skip
    index = "".join([
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{FOLDER_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<title>ctdna-monitor report</title><link rel="stylesheet" href="assets/style.css">',
        '<script src="assets/folder.js" defer></script></head><body>',
        f'<header id="overview"><h1>ctdna-monitor report</h1><p class="ruo" role="note">{NOTICE}</p></header>',
        f'<nav class="top">{nav}</nav>',
        changes_html(changes, history, href=link),
        quarantine_html(quarantine or [], link=False),  # a patient left out entirely has no page
        unknown_therapies_html(unknown_therapies or {}, href=link),
        parts["records"],
        summary_html(parts["counts"], parts["alerts"], parts["ids"], parts["response"]),
        _alert_section(parts["alerts"]),
        _patient_index_section(len(index_rows)),
        qc,
        provenance_html(meta),
        f"<footer><p>{NOTICE}.</p></footer></body></html>\n",
    ])  # fmt: skip
    return {
        "index.html": index,
        "assets/style.css": _asset("style.css") + EXTRA_STYLE,
        "assets/folder.js": _asset("folder.js"),
        "data/patients.js": _data_script("patients", {"columns": INDEX_COLUMNS, "rows": index_rows}),
        "data/alerts.js": _data_script("alerts", _alert_data(parts["alerts"], link)),
        "data/checksums.js": _data_script("checksums", meta.get("checksums") or []),
    }


def write_report_folder(folder, files: dict[str, str]) -> None:
    """Write the files into a new folder beside `folder`, then put it in place of `folder` (a reader never
    sees a half-written report; an interrupted run leaves only the hidden temporary folder)."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name, content in files.items():
            path = temporary / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        os.chmod(temporary, 0o755)
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=folder.parent))
            os.replace(folder, old / folder.name)
            os.replace(temporary, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temporary, folder)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
