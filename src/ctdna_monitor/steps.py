"""One function per workflow stage: file paths in, tables out. The Snakemake scripts call these."""

from __future__ import annotations

import logging

import pandas as pd

from .alerts import AlertParams, call_alerts
from .inputs import empty_events, load_events, load_samples
from .knowledgebase import DrugTable, KnowledgeBase
from .stats import DetectionParams
from .timeline import build_timeline
from .vcf_reader import CALL_COLUMNS, calls_to_rows, read_calls

log = logging.getLogger("ctdna_monitor")
CALL_DTYPES = {"chrom": str, "ref": str, "alt": str, "gene": str, "protein_change": str, "filter": str, "dialect": str, "flag": str}


def ingest_draw(vcf: str, vcf_sample: str, draw: str) -> pd.DataFrame:
    calls, info = read_calls(vcf, vcf_sample or None, draw)
    log.info(
        "%s: sample column %s, %d records, %d alleles kept, %d symbolic skipped, %d flagged",
        vcf, info["sample"] or "(site level)", info["records"], len(calls), info["skipped_symbolic"], info["flagged"],
    )
    return pd.DataFrame(calls_to_rows(calls), columns=CALL_COLUMNS)


def ingest_patient(draws) -> pd.DataFrame:
    """Calls of all draws of one patient; `draws` lists (sample, vcf, vcf_sample)."""
    tables = []
    for sample, vcf, vcf_sample in draws:
        table = ingest_draw(vcf, vcf_sample, sample)
        table.insert(0, "sample", sample)
        tables.append(table)
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=["sample", *CALL_COLUMNS])


def read_call_table(path) -> pd.DataFrame:
    return pd.read_csv(
        path, sep="\t", dtype={"sample": str, **CALL_DTYPES}, keep_default_na=False,
        na_values={"alt_reads": [""], "depth": [""], "vaf": [""]},
    )  # fmt: skip


def timeline_step(samples_path, call_paths, kb_path, build, detection: dict) -> pd.DataFrame:
    samples = load_samples(samples_path)
    tables = pd.concat([read_call_table(path) for path in call_paths], ignore_index=True)
    grouped = dict(tuple(tables.groupby("sample", sort=False)))
    empty = pd.DataFrame(columns=CALL_COLUMNS)
    calls = {sample: grouped[sample].drop(columns="sample") if sample in grouped else empty for sample in samples["sample"]}
    kb = KnowledgeBase(kb_path)
    timeline = build_timeline(samples.reset_index(drop=True), calls, kb, build, DetectionParams(**detection))
    log.info("timeline: %d rows, %d patients, knowledge base %s", len(timeline), timeline["patient"].nunique(), kb.version)
    return timeline


def read_timeline(path) -> pd.DataFrame:
    text = {c: str for c in ("patient", "sample", "date", "chrom", "ref", "alt", "gene", "protein_change", "status", "kb_id", "filter", "dialect", "flag", "source")}
    return pd.read_csv(path, sep="\t", dtype=text, keep_default_na=False, na_values={c: [""] for c in ("alt_reads", "depth", "vaf", "p_value", "lod", "pos")})


def read_events(events_path, samples_path, drugs: DrugTable) -> pd.DataFrame:
    if not events_path:
        return empty_events()
    samples = load_samples(samples_path)
    return load_events(events_path, samples["patient"], drugs)


def alerts_step(timeline_path, samples_path, events_path, kb_path, drugs_path, detection: dict, alerts: dict) -> pd.DataFrame:
    drugs = DrugTable(drugs_path)
    detection_params = DetectionParams(**detection)
    params = AlertParams(alpha=detection_params.alpha, background_error=detection_params.background_error, **alerts)
    table = call_alerts(read_timeline(timeline_path), read_events(events_path, samples_path, drugs), KnowledgeBase(kb_path), drugs, params)
    log.info("alerts: %d (%s)", len(table), table["type"].value_counts().to_dict())
    return table
