"""Comparing two runs of the workflow: the result tables byte for byte, the report up to what differs by run."""

import re
from pathlib import Path

TABLES = ("timeline.tsv", "alerts.tsv", "background.tsv", "molecular_response.tsv", "negatives.tsv")
# What a report legitimately changes between two runs of the same inputs: the run date.
REPORT_VOLATILE = ((re.compile(r"Run date</dt><dd>\d{4}-\d{2}-\d{2}"), "Run date</dt><dd><date>"),)


def normalised_report(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    for pattern, replacement in REPORT_VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def output_differences(first: Path, second: Path) -> list[str]:
    """Names of the outputs under first/results and second/results that differ (empty: same)."""
    differ = []
    for name in TABLES:
        a, b = first / "results" / name, second / "results" / name
        if not a.exists() or not b.exists() or a.read_bytes() != b.read_bytes():
            differ.append(name)
    for folder in ("ingest", "genotype"):
        a, b = sorted((first / "results" / folder).glob("*.tsv")), sorted((second / "results" / folder).glob("*.tsv"))
        if [p.name for p in a] != [p.name for p in b] or any(x.read_bytes() != y.read_bytes() for x, y in zip(a, b)):
            differ.append(folder)
    a, b = first / "results" / "report.html", second / "results" / "report.html"
    if not a.exists() or not b.exists() or normalised_report(a) != normalised_report(b):
        differ.append("report.html")
    return differ
