"""Snakemake adapter: per-patient counts -> results/timeline.tsv, background.tsv and negatives.tsv."""

from ctdna_monitor.runner import run_step, write_tsv
from ctdna_monitor.steps import timeline_step


def main(smk):
    timeline, background, negatives = timeline_step(
        smk.input.samples,
        smk.input.calls,
        smk.input.knowledgebase,
        smk.params.genome_build,
        dict(smk.params.detection),
        dict(smk.params.background),
        smk.params.chip_genes,
        smk.input.genotypes,
        dict(smk.params.negatives),
        dict(smk.params.filters),
    )
    write_tsv(timeline, smk.output.timeline)
    write_tsv(background, smk.output.background)
    write_tsv(negatives, smk.output.negatives)


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
