"""The report page: overview first (counts, swimmer plot, alert table, patient index), then one section
per patient that the page fills in when it is opened, then provenance.

Safety: plotly.js (as inert text, evaluated on first need) and the page script are embedded, a
Content-Security-Policy forbids fetching anything, input values are HTML-escaped in the markup, and
neither the embedded JSON nor the embedded plotly.js source can close its <script> tag.
"""

from __future__ import annotations

import html
import re
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
import plotly.offline

from ..bulk import collector_paused
from ..filters import FilterPolicy
from ..values import table_records
from .changes import changes_html
from .patients import kb_data, patient_data, timeline_calls
from .provenance import provenance_html
from .quarantine import quarantine_html
from .records import flagged_records_html, flagged_rows
from .tables import (
    alerts_html,
    background_qc_html,
    patient_index_html,
    site_names,
    summary_html,
    tracked_counts,
    unknown_therapies_html,
)
from .text import iso_date, mapped, script_json, text

TIMELINE_COLUMNS = [
    "patient", "sample", "date", "chrom", "pos", "ref", "alt", "gene",
    "protein_change", "alt_reads", "depth", "vaf", "status", "p_value", "lod", "kb_id", "source", "filter", "guard",
]  # fmt: skip
# The timeline columns the report reads: those drawn, and the flag column of the records not used as written.
REPORT_INPUT_COLUMNS = (*TIMELINE_COLUMNS, "flag")
ALERT_COLUMNS = [
    "patient", "type", "gene", "protein_change", "chrom", "pos", "ref", "alt",
    "sample", "date", "vaf", "alt_reads", "depth", "p_value", "resistance_to",
    "therapy", "progression_date", "lead_time_days", "kb_id", "evidence", "confirmed", "pooled_with",
]  # fmt: skip
EVENT_COLUMNS = ["patient", "date", "event", "value"]
RESPONSE_COLUMNS = ["patient", "response", "change_from_baseline_pct", "doubling_time_days"]

NOTICE = "Research use only — not for clinical decision-making"
EAGER_LIMIT = 25  # cohorts up to this size draw every patient at once; larger ones as they are opened

# Network isolation: nothing may be fetched. Inline script/style are needed for the
# embedded bundle; 'unsafe-eval' only because bundled libraries may probe for eval.
CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; connect-src 'none'"
)


@cache
def plotly_block() -> str:
    """plotly.js, embedded once as inert text: the page evaluates it only when a patient figure is first
    needed (or when idle after the overview is ready). Its source is checked for anything that could end
    the element early (`</script`, `<!--`); if present, it is embedded as a JSON string instead."""
    source = plotly.offline.get_plotlyjs()
    if re.search(r"</script|<!--|<script", source, re.IGNORECASE):
        return f'<script type="application/json" id="plotly-src">{script_json(source)}</script>'
    return f'<script type="text/plain" id="plotly-src">{source}</script>'


@cache
def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _prepare(df: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    """Copy with every contract column present (missing ones empty), as object dtype; numeric columns keep
    their dtype (the same Python values, and they can be handled column-wise)."""
    df = pd.DataFrame() if df is None else df
    out = pd.DataFrame(index=df.index)
    for col in columns:
        if col not in df.columns:
            out[col] = None
        else:
            numeric = isinstance(df[col].dtype, np.dtype) and df[col].dtype.kind in "biuf"
            out[col] = df[col] if numeric else df[col].astype(object)
    if "patient" in out:
        out["patient"] = mapped(out["patient"], text)
    if "date" in out:
        out["date"] = mapped(out["date"], iso_date)
    return out


def _by_patient(df: pd.DataFrame) -> dict[str, list[dict]]:
    # one pass per table: slicing DataFrames per patient dominates the run time for large cohorts
    groups: dict[str, list[dict]] = {}
    for row in table_records(df):
        groups.setdefault(row["patient"], []).append(row)
    return groups


def _patient_sections(patients: list[dict]) -> str:
    """Empty, linkable sections; the page script draws each one when it is opened or scrolled to."""
    return "".join(
        f'<section class="patient" id="{p["anchor"]}"><h2>Patient {html.escape(p["id"])}</h2>'
        f'<p class="cancer-type">Cancer type: {html.escape(p.get("cancer_type") or "not recorded")}</p>'
        '<div class="patient-body"><p class="muted">Drawing… (needs JavaScript)</p></div></section>'
        for p in patients
    )


def cohort_parts(timeline, alerts: pd.DataFrame, events: pd.DataFrame, meta: dict,
                 response: pd.DataFrame | None = None, cancer_types: dict | None = None,
                 background: pd.DataFrame | None = None, href=None, keep=None) -> dict:
    """What both forms of the report are built from (render_report, folder.render_report_folder): the tables
    prepared, the flagged records' and background QC sections, the cohort counts, per patient its data
    (patients.patient_data); `href`: patient -> the link of its name in the flagged records (default: its
    section of the page).

    `timeline`: a DataFrame, or DataFrames of whole patients one after another (the folder report reads a
    100,000-draw timeline a chunk at a time). `keep`: what to keep of each patient's data (default: all of it);
    with it, memory follows a chunk instead of the cohort."""
    meta = meta or {}
    alerts = _prepare(alerts, ALERT_COLUMNS)
    events = _prepare(events, EVENT_COLUMNS)
    events["event"] = mapped(events["event"], text)
    response = _prepare(response, RESPONSE_COLUMNS)
    al, ev = _by_patient(alerts), _by_patient(events)
    resp = {row["patient"]: row for row in table_records(response)}
    policy = FilterPolicy.from_config((meta.get("config") or {}).get("filters"))

    def kept(pid, calls):
        data = patient_data(pid, calls, al.get(pid, []), ev.get(pid, []), resp.get(pid))
        data["cancer_type"] = (cancer_types or {}).get(pid, "")
        return data if keep is None else keep(data)

    flagged, names, counts, per_patient = [], {}, (0, 0, 0), {}
    for chunk in [timeline] if isinstance(timeline, pd.DataFrame) else timeline:
        flagged.append(flagged_rows(chunk))  # before _prepare, which keeps only the columns drawn
        table = _prepare(chunk, TIMELINE_COLUMNS)
        table["status"] = mapped(table["status"], text)
        calls = timeline_calls(table, policy)  # the rows' texts, numbers and figure cells, column by column
        site_names(calls, names)
        tl: dict[str, list] = {}
        for patient, call in zip(table["patient"].tolist(), calls):
            tl.setdefault(patient, []).append(call)
        counts = tuple(a + b for a, b in zip(counts, tracked_counts(tl)))
        per_patient.update((pid, kept(pid, mine)) for pid, mine in tl.items() if pid)
    ids = sorted(pid for pid in set(per_patient) | set(alerts["patient"]) if pid)
    patients = [per_patient[pid] if pid in per_patient else kept(pid, []) for pid in ids]
    flagged = [rows for rows in flagged if len(rows)]
    records = flagged_records_html(pd.concat(flagged) if flagged else pd.DataFrame(), href)
    return {"records": records, "alerts": alerts, "response": response, "ids": ids,
            "qc": background_qc_html(background, names), "counts": counts, "patients": patients}  # fmt: skip


@collector_paused()  # millions of small objects, no cycles (see bulk.py)
def render_report(timeline: pd.DataFrame, alerts: pd.DataFrame, events: pd.DataFrame, meta: dict,
                  response: pd.DataFrame | None = None, kb_context: dict | None = None,
                  unknown_therapies: dict | None = None, cancer_types: dict | None = None,
                  background: pd.DataFrame | None = None, quarantine: list | None = None,
                  changes: pd.DataFrame | None = None, history: dict | None = None) -> str:
    """Render the cohort report as one self-contained, offline HTML document.

    `meta`: workflow_version, run_date, genome_build, knowledgebase_version, config, checksums
    ([role, path, bytes, sha256] rows); `response`: molecular_response.tsv; `kb_context`: per
    knowledge-base id its `resistance_to` and `evidence`, shown with the patient's variants;
    `unknown_therapies`: therapy names the drug table does not know -> patients (shown first);
    `cancer_types`: patient -> cancer type as shown ('LUAD (Lung Adenocarcinoma)'); `background`:
    results/background.tsv, shown as the background QC section; `quarantine`: [row, sample, patient,
    column, path, problem] of each file the run left out (config quarantine_bad_draws), listed first;
    `changes` (results/alert_changes.tsv) and `history` (the pending alert history: previous_run, restarted):
    the changes since the previous run, shown above everything else.
    """
    meta = meta or {}
    parts = cohort_parts(timeline, alerts, events, meta, response, cancer_types, background)
    records, alerts, response, ids, qc, counts, patients = (
        parts[k] for k in ("records", "alerts", "response", "ids", "qc", "counts", "patients"))
    used = {v["kb_id"] for p in patients for v in p["variants"] if v["kb_id"]}
    data = {"patients": patients, "kb": kb_data(kb_context or {}, used), "checksums": meta.get("checksums") or [],
            "eager_limit": EAGER_LIMIT}
    swimmer = (
        '<section id="swimmer"><h2>Swimmer plot</h2><p class="note">One lane per patient (patients with an alert '
        "first): therapy periods as bars, draws as ticks, scans as triangles coloured by RECIST response, "
        "resistance alerts as stars, molecular progression as diamonds, and in orange the lead time from the "
        'first resistance alert to the PD scan. Point at a lane for details; click it (or focus the plot and use '
        "the arrow keys and Enter) to open the patient.</p>"
        '<div id="swimmer-legend" class="swim-legend"></div>'
        '<div class="swimbox"><div id="swimmer-plot"></div></div></section>'
        if patients else ""
    )
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>ctdna-monitor report</title><style>{_asset('style.css')}</style>",
        f"{plotly_block()}</head><body>",
        f'<header id="overview"><h1>ctdna-monitor report</h1><p class="ruo" role="note">{NOTICE}</p></header>',
        '<nav class="top">' + ('<a href="#changes">Changes</a>' if history is not None else "") + '<a href="#summary">Summary</a><a href="#swimmer">Swimmer plot</a>'
        '<a href="#alerts">Alerts</a><a href="#patients">Patients</a>'
        + ('<a href="#background-qc">Background QC</a>' if qc else "") + '<a href="#provenance">Provenance</a></nav>',
        changes_html(changes, history),
        quarantine_html(quarantine or []),
        unknown_therapies_html(unknown_therapies or {}),
        records,
        summary_html(counts, alerts, ids, response),
        swimmer,
        alerts_html(alerts),
        patient_index_html(patients),
        f'<div id="patient-sections">{_patient_sections(patients)}</div>',
        qc,
        provenance_html(meta),
        f"<footer><p>{NOTICE}.</p></footer>",
        f'<script type="application/json" id="ctdna-data">{script_json(data)}</script>',
        f"<script>{_asset('client.js')}</script>",
        "</body></html>\n",
    ])  # fmt: skip
