"""Snakemake adapter: per-patient counts -> results/timeline.tsv, background.tsv and negatives.tsv."""

from ctdna_monitor.runner import run_step
from ctdna_monitor.steps import timeline_files


def main(smk):
    timeline_files(
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
        outputs=(smk.output.timeline, smk.output.background, smk.output.negatives),
        workers=smk.threads,
    )


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
