"""Snakemake adapter: timeline + alerts + molecular response + events -> results/report.html."""

import os

from ctdna_monitor.report.from_files import report_from_files
from ctdna_monitor.runner import run_step


def main(smk):
    html = report_from_files(
        smk.input.timeline,
        smk.input.alerts,
        smk.input.response,
        smk.input.samples,
        smk.input.events[0] if smk.input.events else "",
        smk.input.knowledgebase,
        smk.input.drugs,
        dict(smk.params.config),
        smk.input.oncotree,
        smk.input.background,
        quarantine=list(smk.params.quarantine),
    )
    partial = smk.output[0] + ".partial"
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(html)
    os.replace(partial, smk.output[0])  # never leave a half-written report


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
