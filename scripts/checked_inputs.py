"""Snakemake adapter: the sample sheet without the quarantined draws (and the remaining patients' events)."""

from ctdna_monitor.quarantine import write_checked_tables
from ctdna_monitor.runner import run_step


def main(smk):
    events = smk.input.events[0] if smk.input.events else ""
    write_checked_tables(smk.input.samples, events, smk.params.drop, smk.output.samples, smk.output.events)


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
