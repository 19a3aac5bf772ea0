"""The report from the workflow's result files (used by the Snakemake adapter and the benchmark)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from .. import __version__
from ..knowledgebase import DrugTable, KnowledgeBase
from ..steps import read_events, read_timeline
from .document import render_report
from .provenance import input_checksums


def report_from_files(timeline: str, alerts: str, response: str, samples: str, events: str,
                      knowledgebase: str, drugs: str, config: dict) -> str:
    """HTML of the report: results tables + inputs (checksummed for provenance) + the run's config."""
    kb = KnowledgeBase(knowledgebase)
    meta = {
        "workflow_version": __version__,
        "run_date": dt.date.today().isoformat(),
        "genome_build": config.get("genome_build", "GRCh38"),
        "knowledgebase_version": kb.version,
        "config": config,
        "checksums": input_checksums(samples, events, knowledgebase, drugs),
    }
    kb_context = {kid: {"resistance_to": ", ".join(e.resistance_to), "evidence": e.evidence} for kid, e in kb.entries.items()}
    return render_report(
        read_timeline(timeline),
        pd.read_csv(alerts, sep="\t", dtype=str, keep_default_na=False),
        read_events(events, samples, DrugTable(drugs)),
        meta,
        pd.read_csv(response, sep="\t", dtype=str, keep_default_na=False),
        kb_context,
    )
