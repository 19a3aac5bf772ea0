"""Snakemake adapter, last job of a run: queue the alert changes, commit the alert history, deliver."""

from pathlib import Path

from ctdna_monitor.notify.run import notify_step
from ctdna_monitor.runner import run_step, write_tsv


def main(smk):
    results = notify_step(
        Path(smk.input.pending).parent,  # the state folder
        smk.input.pending,
        {"notify": dict(smk.params.notify)},
        smk.params.report,
        list(smk.params.quarantine),
    )
    write_tsv(results, smk.output[0])


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
