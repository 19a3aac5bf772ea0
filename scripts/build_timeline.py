"""Snakemake adapter: per-patient counts -> results/timeline.tsv and results/background.tsv."""

from ctdna_monitor.runner import run_step, write_tsv
from ctdna_monitor.steps import timeline_step


def main(smk):
    timeline, background = timeline_step(
        smk.input.samples,
        smk.input.calls,
        smk.input.knowledgebase,
        smk.params.genome_build,
        dict(smk.params.detection),
        dict(smk.params.background),
        smk.params.chip_genes,
        smk.input.genotypes,
    )
    write_tsv(timeline, smk.output.timeline)
    write_tsv(background, smk.output.background)


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
