"""Snakemake adapter: per-draw counts -> results/timeline.tsv."""

from ctdna_monitor.runner import run_step, write_tsv
from ctdna_monitor.steps import timeline_step


def main(smk):
    table = timeline_step(
        smk.input.samples, smk.input.calls, smk.input.knowledgebase, smk.params.genome_build, dict(smk.params.detection)
    )
    write_tsv(table, smk.output[0])


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
