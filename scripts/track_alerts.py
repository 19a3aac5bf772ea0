"""Snakemake adapter: alerts.tsv against the alert history -> results/alert_changes.tsv + pending state."""

from pathlib import Path

import pandas as pd

from ctdna_monitor.history import TIMELINE_COLUMNS_READ, inputs_digest, track
from ctdna_monitor.runner import run_step, write_tsv
from ctdna_monitor.steps import read_timeline


def main(smk):
    changes, _ = track(
        pd.read_csv(smk.input.alerts, sep="\t", dtype=str, keep_default_na=False),
        lambda: read_timeline(smk.input.timeline, TIMELINE_COLUMNS_READ),
        Path(smk.output.pending).parent,  # the state folder
        smk.output.pending,
        inputs_digest(smk.input.alerts, smk.input.timeline, smk.input.sheet, *smk.input.events),
    )
    write_tsv(changes, smk.output.changes)


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
