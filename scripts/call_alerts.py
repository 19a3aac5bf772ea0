"""Snakemake adapter: timeline + events -> results/alerts.tsv and results/molecular_response.tsv."""

from ctdna_monitor.runner import run_step, write_tsv
from ctdna_monitor.steps import alerts_step


def main(smk):
    events = smk.input.events[0] if smk.input.events else ""
    alerts, response = alerts_step(
        smk.input.timeline,
        smk.input.samples,
        events,
        smk.input.knowledgebase,
        smk.input.drugs,
        dict(smk.params.detection),
        dict(smk.params.alerts),
        smk.input.oncotree,
        dict(smk.params.filters),
    )
    write_tsv(alerts, smk.output.alerts)
    write_tsv(response, smk.output.response)


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
