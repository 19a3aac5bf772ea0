"""Snakemake adapter: timeline + alerts + events -> results/patients/<patient>.html (one printable page each)
and the list of them, results/patients/pages.tsv (the rule's output)."""

from ctdna_monitor.bulk import collector_paused
from ctdna_monitor.report.from_files import iter_patient_pages
from ctdna_monitor.report.patient_page import write_patient_pages
from ctdna_monitor.runner import run_step


def main(smk):
    pages = iter_patient_pages(
        smk.input.timeline,
        smk.input.alerts,
        smk.input.samples,
        smk.input.events[0] if smk.input.events else "",
        smk.input.knowledgebase,
        smk.input.drugs,
        dict(smk.params.config),
        smk.input.oncotree,
    )
    # pages are made and written one by one; a page whose text did not change (most, when a draw is
    # added) is not written again
    with collector_paused():
        write_patient_pages(pages, smk.output.manifest)


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
