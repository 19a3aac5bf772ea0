"""The report's first section: the alert changes since the previous run (results/alert_changes.tsv)."""

from __future__ import annotations

import html

import pandas as pd

from .text import esc, iso_date, patient_anchor, text

LABELS = {"new": "New", "updated": "Updated", "withdrawn": "Withdrawn"}


def _when(stamp: str) -> str:
    """'2026-11-27 23:10 UTC' from the history's time stamp (digits only pass through)."""
    stamp = text(stamp)
    if len(stamp) >= 16 and stamp[:10] == iso_date(stamp[:10]) and stamp[11:16].replace(":", "").isdigit():
        return f"{stamp[:10]} {stamp[11:16]} UTC"
    return html.escape(stamp)


def _row(change: dict, href=None) -> str:
    patient = text(change["patient"])
    alteration = "ctDNA level" if change["type"] == "molecular_progression" else " ".join(
        part for part in (text(change["gene"]), text(change["protein_change"])) if part) or text(change["kb_id"])
    kind = text(change["change"])
    return (f'<tr class="change-{html.escape(kind, quote=True)}"><td>{html.escape(LABELS.get(kind, kind))}</td>'
            f'<td><a href="{html.escape(href(patient) if href else "#" + patient_anchor(patient), quote=True)}">{html.escape(patient)}</a></td><td>{esc(change["type"])}</td>'
            f"<td>{html.escape(alteration)}</td><td>{iso_date(change['draw_date'])}</td><td>{esc(change['detail'])}</td>"
            f'<td class="id">{esc(change["alert_id"])}</td></tr>')  # fmt: skip


def changes_html(changes: pd.DataFrame | None, history: dict | None, href=None) -> str:
    """'Changes since the previous run (date)': counts and one row per change; with no earlier history,
    says that the history starts (again) with this run. '' when the run has no history at all."""
    if changes is None or history is None:
        return ""
    rows = changes.to_dict("records")
    counts = {kind: sum(text(r["change"]) == kind for r in rows) for kind in LABELS}
    if history.get("restarted"):
        title = "Changes since the previous run (none: the alert history starts with this run)"
        note = ("<p class=\"note\">No alert history was found (first run, or its folder was deleted), so the history "
                "starts again with this run and every alert counts as new.</p>")  # fmt: skip
    else:
        title = f"Changes since the previous run ({_when(history.get('previous_run', ''))})"
        note = ""
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "no change"
    table = ""
    if rows:
        table = ('<div class="scroll tablebox"><table id="changes-table"><thead><tr><th>Change</th><th>Patient</th>'
                 "<th>Type</th><th>Alteration</th><th>Draw date</th><th>Detail</th><th>Alert id</th></tr></thead>"
                 f"<tbody>{''.join(_row(r, href) for r in rows)}</tbody></table></div>")  # fmt: skip
    return (f'<section id="changes"><h2>{title}</h2>{note}<p class="changes-summary">{summary}</p>{table}'
            "<p class=\"note\">Also in results/alert_changes.tsv; every change and alert has a stable id.</p></section>")
