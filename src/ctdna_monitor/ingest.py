"""Ingestion: the VCFs of a list of draws -> one per-allele call table (light imports: no scipy)."""

from __future__ import annotations

import logging

import pandas as pd

from .vcf_reader import CALL_COLUMNS, calls_to_rows, read_calls

log = logging.getLogger("ctdna_monitor")


def ingest_draw(vcf: str, vcf_sample: str, draw: str | None) -> pd.DataFrame:
    calls, info = read_calls(vcf, vcf_sample or None, draw)
    log.info(
        "%s: sample column %s, %d records, %d alleles kept, %d symbolic skipped, %d flagged",
        vcf, info["sample"] or "(site level)", info["records"], len(calls), info["skipped_symbolic"], info["flagged"],
    )
    return pd.DataFrame(calls_to_rows(calls), columns=CALL_COLUMNS)


def ingest_draws(draws) -> pd.DataFrame:
    """Calls of a list of draws (one patient's, or a batch of patients'); `draws` lists (sample, vcf, vcf_sample)."""
    tables = []
    for sample, vcf, vcf_sample in draws:
        table = ingest_draw(vcf, vcf_sample, sample)
        table.insert(0, "sample", sample)
        tables.append(table)
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=["sample", *CALL_COLUMNS])

