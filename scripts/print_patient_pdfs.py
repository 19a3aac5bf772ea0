"""Snakemake adapter: PDFs (headless Chromium) of the pages of the patients with an alert change in this run."""

from pathlib import Path

from ctdna_monitor.report.patient_page import print_changed
from ctdna_monitor.runner import run_step


def main(smk):
    pages = {Path(path).name[: -len(".html")]: path for path in smk.input.pages}
    print_changed(smk.input.changes, pages, smk.output[0])


run_step(snakemake.log[0], lambda: main(snakemake))  # noqa: F821
