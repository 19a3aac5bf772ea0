"""Snakemake adapter: one draw's VCF -> per-allele counts TSV."""

from ctdna_monitor.runner import run_step, write_tsv
from ctdna_monitor.steps import ingest_draw


def main(smk):
    table = ingest_draw(smk.input.vcf, smk.params.vcf_sample, smk.wildcards.sample)
    write_tsv(table, smk.output[0])


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
