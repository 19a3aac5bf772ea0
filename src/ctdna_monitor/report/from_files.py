"""The report from the workflow's result files (used by the Snakemake adapter and the benchmark)."""

from __future__ import annotations

import copy
import datetime as dt
import shutil
from pathlib import Path

import pandas as pd

from .. import __version__
from ..alerts import events_by_patient
from ..atomic import write_text
from ..bulk import collector_paused
from ..cancer_types import CancerTypes
from ..history import read_state
from ..inputs import (
    cancer_types_of,
    empty_events,
    load_events,
    load_samples,
    unknown_therapies,
)
from ..knowledgebase import DrugTable, KnowledgeBase
from ..steps import read_timeline
from ..values import table_records
from .document import REPORT_INPUT_COLUMNS, render_report
from .folder import render_report_folder, write_report_folder
from .patient_page import PAGE_INPUT_COLUMNS, page_rows, patient_page
from .patients import timeline_calls
from .provenance import input_checksums

PAGE_CHUNK_ROWS = 500_000  # timeline rows read at a time for the patient pages


def shown_config(config: dict) -> dict:
    """The run's configuration as the report shows it: a webhook URL can carry a token, so it is not shown."""
    shown = copy.deepcopy(dict(config))
    hook = (shown.get("notify") or {}).get("webhook")
    if isinstance(hook, dict) and hook.get("url"):
        hook["url"] = "(set; not shown)"
    return shown


def _report_arguments(timeline: str, alerts: str, response: str, samples: str, events: str, knowledgebase: str,
                      drugs: str, config: dict, oncotree: str = "", background: str = "",
                      quarantine: list | None = None, changes: str = "", history: str = "",
                      checksum_cache: str = "", whole_timeline: bool = True) -> dict:
    """The keyword arguments of document.render_report, read from the files (`checksum_cache`: see
    provenance.input_checksums); without `whole_timeline`, the timeline as DataFrames of whole patients read
    a chunk at a time (_patient_chunks), for the folder report."""
    kb = KnowledgeBase(knowledgebase)
    drug_table = DrugTable(drugs)
    cancer_types = CancerTypes(oncotree) if oncotree else None
    sheet = load_samples(samples, cancer_types)
    event_table = load_events(events, sheet["patient"], drug_table) if events else empty_events()
    shown = {}
    for patient, code in cancer_types_of(sheet).items():
        if code:
            shown[patient] = f"{code} ({cancer_types.name[code]})" if cancer_types else code
    meta = {
        "workflow_version": __version__,
        "run_date": dt.date.today().isoformat(),
        "genome_build": config.get("genome_build", "GRCh38"),
        "knowledgebase_version": kb.version,
        "config": shown_config(config),
        "checksums": input_checksums(samples, events, knowledgebase, drugs, cache=checksum_cache, sheet=sheet),
    }
    kb_context = {kid: {"resistance_to": ", ".join(e.resistance_to), "evidence": e.evidence} for kid, e in kb.entries.items()}
    return {
        "timeline": read_timeline(timeline, REPORT_INPUT_COLUMNS) if whole_timeline else _patient_chunks(
            timeline, REPORT_INPUT_COLUMNS, PAGE_CHUNK_ROWS),
        "alerts": pd.read_csv(alerts, sep="\t", dtype=str, keep_default_na=False),
        "events": event_table,
        "meta": meta,
        "response": pd.read_csv(response, sep="\t", dtype=str, keep_default_na=False),
        "kb_context": kb_context,
        "unknown_therapies": unknown_therapies(event_table, drug_table),
        "cancer_types": shown,
        "background": pd.read_csv(background, sep="\t", dtype=str, keep_default_na=False) if background else None,
        "quarantine": quarantine,
        "changes": pd.read_csv(changes, sep="\t", dtype=str, keep_default_na=False) if changes else None,
        "history": read_state(history) if history else None,
    }


@collector_paused()  # reading and rendering build millions of small objects (see bulk.py)
def report_from_files(timeline: str, alerts: str, response: str, samples: str, events: str,
                      knowledgebase: str, drugs: str, config: dict, oncotree: str = "", background: str = "",
                      quarantine: list | None = None, changes: str = "", history: str = "") -> str:
    """HTML of the report: results tables + inputs (checksummed for provenance) + the run's config;
    therapy names the drug table does not know, each patient's cancer type (named via `oncotree`) and
    the background QC (results/background.tsv, when given); the quarantined draws' files (listed first);
    the alert changes since the previous run (results/alert_changes.tsv and the pending alert history)."""
    return render_report(**_report_arguments(timeline, alerts, response, samples, events, knowledgebase, drugs,
                                             config, oncotree, background, quarantine, changes, history))


@collector_paused()
def write_report_from_files(output: str, folder: bool, *args, **kwargs) -> None:
    """Write the report (arguments of report_from_files after `output`): the single file `output`, or with
    `folder` the folder report into the directory `output` (report.folder). The other form's file or folder
    left beside it by an earlier run (when the cohort crossed report_single_file_max_patients) is removed, so
    no stale report stays next to the current one."""
    arguments = _report_arguments(*args, **kwargs, whole_timeline=not folder)
    output = Path(output)
    if folder:
        arguments.pop("kb_context")
        write_report_folder(output, render_report_folder(**arguments))
        stale = output.parent / f"{output.name}.html"
        if stale.is_file():
            stale.unlink()
    else:
        write_text(output, render_report(**arguments))  # temporary name, then moved into place
        stale = output.with_suffix("")
        if stale != output and stale.is_dir() and (stale / "index.html").is_file():
            shutil.rmtree(stale)


def iter_patient_pages(timeline: str, alerts: str, samples: str, events: str, knowledgebase: str, drugs: str,
                       config: dict, oncotree: str = "", chunk_rows: int = PAGE_CHUNK_ROWS):
    """(patient, HTML of its page) for every patient of the sample sheet, in patient order. The timeline is
    read `chunk_rows` rows at a time and each patient's page is made from its rows alone, so memory follows
    the chunk, not the cohort (a 100,000-draw timeline has 7.8 million rows)."""
    kb = KnowledgeBase(knowledgebase)
    drug_table = DrugTable(drugs)
    cancer_types = CancerTypes(oncotree) if oncotree else None
    sheet = load_samples(samples, cancer_types)
    event_table = load_events(events, sheet["patient"], drug_table) if events else empty_events()
    meta = {"workflow_version": __version__, "run_date": dt.date.today().isoformat(),
            "genome_build": config.get("genome_build", "GRCh38"), "knowledgebase_version": kb.version}  # fmt: skip
    alerted: dict[str, list] = {}
    for row in table_records(pd.read_csv(alerts, sep="\t", dtype=str, keep_default_na=False)):
        alerted.setdefault(row["patient"], []).append(row)
    events_of = events_by_patient(event_table) if len(event_table) else {}
    blocks = _calls_by_patient(timeline, chunk_rows)
    block = next(blocks, None)
    for patient, code in sorted(cancer_types_of(sheet).items()):
        while block is not None and block[0] < patient:  # (rows of a patient the sheet no longer names)
            block = next(blocks, None)
        calls = []
        if block is not None and block[0] == patient:
            calls, block = block[1], next(blocks, None)
        shown = f"{code} ({cancer_types.name[code]})" if code and cancer_types else code
        yield patient, patient_page(patient, calls, alerted.get(patient, []), events_of.get(patient, []), meta, shown)


def _calls_by_patient(timeline: str, chunk_rows: int):
    """(patient, its page's calls) per patient, in patient order. build_timeline writes the timeline in patient
    order, and it is then read a chunk at a time; a timeline in another order is read whole and grouped."""
    if not _in_patient_order(timeline, chunk_rows):
        yield from sorted(_grouped_calls(read_timeline(timeline, PAGE_INPUT_COLUMNS)))
        return
    for table in _patient_chunks(timeline, PAGE_INPUT_COLUMNS, chunk_rows, checked=True):
        yield from _grouped_calls(table)


def _patient_chunks(timeline: str, columns, chunk_rows: int, checked: bool = False):
    """The timeline's `columns` as DataFrames of about `chunk_rows` rows, each holding whole patients, in file
    order (a timeline not in patient order, checked unless `checked`, comes whole in one)."""
    if not checked and not _in_patient_order(timeline, chunk_rows):
        yield read_timeline(timeline, columns)
        return
    pending = None
    for chunk in read_timeline(timeline, columns, chunksize=chunk_rows):
        table = chunk if pending is None else pd.concat([pending, chunk], ignore_index=True)
        patients = table["patient"].to_numpy(dtype=object)
        # the chunk's last patient may go on in the next chunk: kept for it
        tail = len(patients) - 1
        while tail > 0 and patients[tail - 1] == patients[-1]:
            tail -= 1
        pending = table.iloc[tail:]
        yield table.iloc[:tail]
    if pending is not None:
        yield pending


def _in_patient_order(timeline: str, chunk_rows: int) -> bool:
    """Are the timeline's rows sorted by patient (each patient's rows together, patients ascending)? Only the
    patient column is read."""
    last = None
    for chunk in read_timeline(timeline, ["patient"], chunksize=chunk_rows):
        patients = chunk["patient"].to_numpy(dtype=object)
        if len(patients) and (last is not None and patients[0] < last or (patients[1:] < patients[:-1]).any()):
            return False
        if len(patients):
            last = patients[-1]
    return True


def _grouped_calls(table: pd.DataFrame):
    """(patient, its calls) of a table, patients in the order they first appear, rows in table order."""
    if table.empty:
        return
    rows: dict[str, list] = {}
    for patient, call in zip(table["patient"].tolist(), timeline_calls(table, rows=page_rows(table))):
        rows.setdefault(patient, []).append(call)
    yield from rows.items()
