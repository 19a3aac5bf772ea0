"""Snakemake adapter: all draws of one patient -> per-allele counts TSV (one `sample` column per row)."""

from ctdna_monitor.runner import run_step, write_tsv
from ctdna_monitor.steps import ingest_patient


def main(smk):
    write_tsv(ingest_patient(smk.params.draws), smk.output[0])


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
