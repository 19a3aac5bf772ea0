"""Ingestion: the VCFs of a list of draws -> one per-allele call table (light imports: no scipy)."""

from __future__ import annotations

import logging

import pandas as pd

from .vcf_checks import DRAW_MARK, PERCENT_FILE
from .vcf_reader import CALL_COLUMNS, calls_to_rows, read_calls

log = logging.getLogger("ctdna_monitor")


def ingest_draw(vcf: str, vcf_sample: str, draw: str | None) -> pd.DataFrame:
    calls, info = read_calls(vcf, vcf_sample or None, draw)
    log.info(
        "%s: sample column %s, %d records, %d alleles kept, %d symbolic skipped, %d flagged",
        vcf, info["sample"] or "(site level)", info["records"], len(calls), info["skipped_symbolic"], info["flagged"],
    )
    _warn_records(vcf, draw, calls, info)
    return pd.DataFrame(calls_to_rows(calls), columns=CALL_COLUMNS)


def _warn_records(vcf, draw, calls, info) -> None:
    """One warning per kind of record that cannot be right (the rows carry the details in `flag`)."""
    if info["alt_equals_ref"]:
        log.warning("%s: %d record(s) with ALT equal to REF: not variants, kept without values (flag alt_equals_ref); "
                    "check the tool that wrote the file", vcf, info["alt_equals_ref"])  # fmt: skip
    if info["conflicting_duplicates"]:
        log.warning("%s: draw %s lists %d allele(s) twice with different values: those values are left missing and "
                    "every row of the draw is marked (%s); check how the VCF was merged", vcf, draw or "",
                    info["conflicting_duplicates"], DRAW_MARK)  # fmt: skip
    if info["percent_scale"]:
        log.warning("%s: allele fractions are written in percent (values above 1): %d fraction(s) without read counts "
                    "left missing (flag %s); convert them to fractions (0 to 1)", vcf, info["percent_scale"], PERCENT_FILE)  # fmt: skip
    replaced = sum(1 for call in calls if "vaf_from_counts" in call.flag)
    if replaced:
        log.warning("%s: %d allele fraction(s) contradict the record's read counts (percent scale, decimal comma or "
                    "outside the binomial band): the VAF is taken from the counts (flag vaf_from_counts)", vcf, replaced)  # fmt: skip


def ingest_draws(draws) -> pd.DataFrame:
    """Calls of a list of draws (one patient's, or a batch of patients'); `draws` lists (sample, vcf, vcf_sample)."""
    tables = []
    for sample, vcf, vcf_sample in draws:
        table = ingest_draw(vcf, vcf_sample, sample)
        table.insert(0, "sample", sample)
        tables.append(table)
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=["sample", *CALL_COLUMNS])

