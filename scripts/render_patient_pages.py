"""Snakemake adapter: timeline + alerts + events -> results/patients/<patient>.html (one printable page each)."""

from pathlib import Path

from ctdna_monitor.atomic import write_text_if_changed
from ctdna_monitor.report.from_files import patient_pages_from_files
from ctdna_monitor.report.patient_page import remove_stale_pages
from ctdna_monitor.runner import run_step


def main(smk):
    pages = patient_pages_from_files(
        smk.input.timeline,
        smk.input.alerts,
        smk.input.samples,
        smk.input.events[0] if smk.input.events else "",
        smk.input.knowledgebase,
        smk.input.drugs,
        dict(smk.params.config),
        smk.input.oncotree,
    )
    # a page whose text did not change (most, when a draw is added) is only touched, not written again
    for path in smk.output:
        write_text_if_changed(path, pages[Path(path).name[: -len(".html")]])
    if smk.output:
        remove_stale_pages(Path(smk.output[0]).parent, pages)


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
