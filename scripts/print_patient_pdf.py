"""Snakemake adapter: one patient's page as PDF (headless Chromium), on request."""

from ctdna_monitor.atomic import atomic_path
from ctdna_monitor.report.patient_page import page_of, print_pdf
from ctdna_monitor.runner import run_step


def main(smk):
    page = page_of(smk.input.pages, smk.wildcards.patient)
    with atomic_path(smk.output[0]) as temporary:
        print_pdf(page, temporary)


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
