"""Snakemake adapter: all draws of a batch of patients -> per-allele counts TSV (one `sample` column per row)."""

from ctdna_monitor.batches import read_draw_list
from ctdna_monitor.ingest import ingest_draws
from ctdna_monitor.runner import run_step, write_tsv


def main(smk):
    write_tsv(ingest_draws(read_draw_list(smk.input.draws)), smk.output[0])


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
