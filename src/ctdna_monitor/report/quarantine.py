"""The report's first section when draws were quarantined (config quarantine_bad_draws): which draws the
run left out, and why, so that no one reads the timelines as complete."""

from __future__ import annotations

import html

from .text import patient_anchor

HEADERS = ("Row", "Draw", "Patient", "Column", "File", "Problem")


def quarantine_html(rows: list, link: bool = True) -> str:
    """`rows`: [row, sample, patient, column, path, problem] per quarantined file ('' when none)."""
    if not rows:
        return ""
    draws = sorted({str(row[1]) for row in rows})
    head = "".join(f"<th>{name}</th>" for name in HEADERS)
    body = "".join(
        f"<tr><td>{html.escape(str(row))}</td><td>{html.escape(str(sample))}</td>"
        + (f'<td><a href="#{patient_anchor(str(patient))}">{html.escape(str(patient))}</a></td>'
           if link else f"<td>{html.escape(str(patient))}</td>")
        + f"<td>{html.escape(str(column))}</td><td>{html.escape(str(path))}</td><td>{html.escape(str(problem))}</td></tr>"
        for row, sample, patient, column, path, problem in rows
    )
    return (
        '<section id="quarantine" class="warn" role="alert">'
        f"<h2>Draws left out of this run: {len(draws)} quarantined</h2>"
        "<p>The files of these draws failed the pre-flight check. <strong>The run went on without them</strong>: "
        "their patients' timelines, alerts and molecular response do not include these draws. Fix the files "
        "(or the sample sheet) and run again to include them.</p>"
        f'<div class="scroll tablebox"><table id="quarantine-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div></section>"
    )
