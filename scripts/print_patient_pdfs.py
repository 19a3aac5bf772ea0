"""Snakemake adapter: PDFs (headless Chromium) of the pages of the patients with an alert change in this run."""

from ctdna_monitor.report.patient_page import print_changed, read_pages_manifest
from ctdna_monitor.runner import run_step


def main(smk):
    print_changed(smk.input.changes, read_pages_manifest(smk.input.pages), smk.output[0])


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
