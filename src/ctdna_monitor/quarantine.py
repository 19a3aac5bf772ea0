"""Quarantine: a monitoring run goes on without the draws whose files failed the pre-flight check.

With `quarantine_bad_draws: true` the workflow leaves those draws out instead of stopping: it writes the
sample sheet of the remaining draws (and the events of the remaining patients) under results/preflight/,
lists the quarantined draws at the top of the report and in the run's last lines, and ends with exit
status QUARANTINE_EXIT_STATUS, so a scheduler sees that the run is complete only for the other draws.
"""

from __future__ import annotations

from pathlib import Path

from .tables import read_table

QUARANTINE_EXIT_STATUS = 3
PATH_COLUMNS = ("vcf", "bam")


def write_checked_tables(samples_path, events_path, drop, samples_out, events_out=None) -> None:
    """The sample sheet without the draws in `drop` (file paths made absolute, so the copy can live
    elsewhere) and, when given, the events of the patients that still have a draw."""
    drop = set(drop)
    sheet = read_table(samples_path, "sample sheet")
    base = Path(samples_path).resolve().parent
    kept = []
    for row in sheet.rows:
        if row["sample"] in drop:
            continue
        for column in PATH_COLUMNS:
            if row.get(column) and not Path(row[column]).is_absolute():
                row[column] = str(base / row[column])
        kept.append(row)
    _write(samples_out, sheet.header, kept)
    if events_out:  # without an events table: a header-only one
        patients = {row["patient"] for row in kept}
        if events_path:
            events = read_table(events_path, "events table")
            _write(events_out, events.header, [row for row in events.rows if row["patient"] in patients])
        else:
            _write(events_out, ["patient", "date", "event", "value"], [])


def _write(path, header, rows) -> None:
    lines = ["\t".join(header), *("\t".join(row[name] for name in header) for row in rows)]
    temporary = Path(f"{path}.partial")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    temporary.replace(path)
