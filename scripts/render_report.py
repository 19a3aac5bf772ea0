"""Snakemake adapter: timeline + alerts + molecular response + events -> results/report.html."""

import datetime as dt
import os

import pandas as pd

from ctdna_monitor import __version__
from ctdna_monitor.knowledgebase import DrugTable, KnowledgeBase
from ctdna_monitor.report import input_checksums, render_report
from ctdna_monitor.runner import run_step
from ctdna_monitor.steps import read_events, read_timeline


def main(smk):
    events_path = smk.input.events[0] if smk.input.events else ""
    events = read_events(events_path, smk.input.samples, DrugTable(smk.input.drugs))
    alerts = pd.read_csv(smk.input.alerts, sep="\t", dtype=str, keep_default_na=False)
    response = pd.read_csv(smk.input.response, sep="\t", dtype=str, keep_default_na=False)
    kb = KnowledgeBase(smk.input.knowledgebase)
    meta = {
        "workflow_version": __version__,
        "run_date": dt.date.today().isoformat(),
        "genome_build": smk.params.config.get("genome_build", "GRCh38"),
        "knowledgebase_version": kb.version,
        "config": dict(smk.params.config),
        "checksums": input_checksums(smk.input.samples, events_path, smk.input.knowledgebase, smk.input.drugs),
    }
    kb_context = {kid: {"resistance_to": ", ".join(e.resistance_to), "evidence": e.evidence} for kid, e in kb.entries.items()}
    html = render_report(read_timeline(smk.input.timeline), alerts, events, meta, response, kb_context)
    partial = smk.output[0] + ".partial"
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(html)
    os.replace(partial, smk.output[0])  # never leave a half-written report


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
