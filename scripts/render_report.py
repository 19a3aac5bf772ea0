"""Snakemake adapter: timeline + alerts + molecular response + events -> results/report.html."""

from ctdna_monitor.atomic import write_text
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
        changes=smk.input.changes,
        history=smk.input.history,
    )
    write_text(smk.output[0], html)  # temporary name, then moved into place: never a half-written report


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
