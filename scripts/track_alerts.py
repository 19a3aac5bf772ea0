"""Snakemake adapter: alerts.tsv against the alert history -> results/alert_changes.tsv + pending state."""

import pandas as pd

from ctdna_monitor.history import track
from ctdna_monitor.runner import run_step, write_tsv
from ctdna_monitor.steps import read_timeline


def main(smk):
    changes, _ = track(
        pd.read_csv(smk.input.alerts, sep="\t", dtype=str, keep_default_na=False),
        lambda: read_timeline(smk.input.timeline),
        smk.params.state_dir,
        smk.output.pending,
    )
    write_tsv(changes, smk.output.changes)


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
