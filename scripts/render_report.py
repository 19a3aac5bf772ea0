"""Snakemake adapter: timeline + alerts + molecular response + events -> results/report.html, or the folder
report results/report/ above config report_single_file_max_patients (params.folder)."""

from ctdna_monitor.report.from_files import write_report_from_files
from ctdna_monitor.runner import run_step


def main(smk):
    write_report_from_files(
        smk.output[0],
        bool(smk.params.folder),
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
        # checksums of unchanged input files are taken from the previous report's
        checksum_cache=".snakemake/ctdna-monitor/report-checksums.json",
    )


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
