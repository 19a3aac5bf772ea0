"""Snakemake adapter: a patient's BAM/CRAM files -> counts at its tracked sites."""

from ctdna_monitor.runner import run_step, write_tsv
from ctdna_monitor.steps import genotype_step


def main(smk):
    table = genotype_step(
        smk.params.draws,
        smk.input.calls,
        smk.input.knowledgebase,
        smk.input.drugs,
        smk.input.events[0] if smk.input.events else "",
        smk.input.samples,
        smk.params.genome_build,
        dict(smk.params.genotyping),
        smk.params.reference,
    )
    write_tsv(table, smk.output[0])


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
