"""What a notification says. Only pseudonymous patient IDs, the alteration, the draw date, the alert type,
the kind of change (with its reason) and the report's path: never names, sample IDs, file paths of the
draws or any other field of the inputs. Every message and every change carries a stable identifier, so a
receiver can drop a repeat (delivery is at least once)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

CHANGE_FIELDS = ("change_id", "change", "alert_id", "patient", "type", "gene", "protein_change", "kb_id", "draw_date", "detail")
KINDS = ("alert_changes", "run_failed", "quarantine")


def _id(*parts: str) -> str:
    return "M" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def alteration(change: dict) -> str:
    if change.get("type") == "molecular_progression":
        return "ctDNA level"
    return " ".join(part for part in (change.get("gene", ""), change.get("protein_change", "")) if part) or change.get("kb_id", "")


# What a change's reason may say in a message: a fixed phrase per kind of reason, never the values the
# lab's results/alert_changes.tsv gives (therapy names, scan dates, VAF, p-values).
REASONS = (
    ("confirmed by a later draw", "confirmed"), ("no longer confirmed", "no longer confirmed"),
    ("lead time now known", "lead time now known"), (r"lead time now \d", "lead time changed"),
    ("lead time unknown", "lead time unknown"), ("therapy at the draw", "therapy changed"),
    ("rising again", "rising again"), ("no draw in the sample sheet", "patient's draws removed or quarantined"),
    ("no longer in the sample sheet", "draw removed or quarantined"), ("raises a", "now another alert type"),
    ("now comes from the draw", "now raised at another draw"), ("no longer significant", "no longer significant"),
    ("no longer detected", "no longer detected"), ("alert level", "below the alert level"),
)  # fmt: skip


def reason(detail: str) -> str:
    """The message's phrase for a change's detail (see REASONS); '' when there is none."""
    found = [phrase for marker, phrase in REASONS if re.search(marker, detail)]
    return "; ".join(dict.fromkeys(found)) if found else ("see the report" if detail else "")


def changes_message(changes: list[dict], report: str, previous_run: str = "") -> dict:
    """One message for a run's alert changes; its identifier follows from the changes' identifiers."""
    kept = [{field: str(change.get(field, "")) for field in CHANGE_FIELDS} for change in changes]
    for change in kept:
        change["alteration"] = alteration(change)
        change["detail"] = reason(change["detail"])
    counts = {kind: sum(c["change"] == kind for c in kept) for kind in ("new", "updated", "withdrawn")}
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    return {
        "message_id": _id("alert_changes", *sorted(c["change_id"] for c in kept)),
        "kind": "alert_changes", "created": _now(), "report": report, "previous_run": previous_run,
        "subject": f"ctdna-monitor: alert changes ({summary})", "changes": kept, "lines": [],
    }  # fmt: skip


def failure_message(lines: list[str], log: str = "", day: str | None = None, summary: str = "") -> dict:
    """A run that failed: how many jobs failed and the log, never the jobs' messages (they name the
    draws' files and records). The same failure is announced once a day (its identifier holds the
    date and the messages)."""
    day = day or dt.date.today().isoformat()
    shown = [summary or (f"the run failed: {len(lines)} job(s) stopped; their messages are in the log" if lines else "the run failed; see the log")]
    return {
        "message_id": _id("run_failed", day, *lines), "kind": "run_failed", "created": _now(), "report": "",
        "subject": "ctdna-monitor: the run FAILED", "changes": [], "lines": shown + ([f"log: {log}"] if log else []),
    }  # fmt: skip


def quarantine_message(rows: list[list], report: str) -> dict:
    """Draws left out of a run (quarantine_bad_draws); announced once per distinct set of problems.
    `rows`: [row, sample, patient, column, path, problem]; the message names patient, sheet row and column
    only (a problem's text can name files and other rows' samples: it is in the report)."""
    lines = [f"patient {r[2]}, sample sheet row {r[0]}, column {r[3]}: refused by the file check (see the report)" for r in rows]
    return {
        "message_id": _id("quarantine", *sorted(f"{r[0]}\x1f{r[3]}\x1f{r[5]}" for r in rows)), "kind": "quarantine", "created": _now(), "report": report,
        "subject": f"ctdna-monitor: {len(rows)} draw(s) quarantined", "changes": [], "lines": lines,
    }  # fmt: skip


def text_body(message: dict) -> str:
    """The e-mail body (plain text)."""
    out = ["Research use only - not for clinical decision-making.", ""]
    if message["kind"] == "alert_changes":
        since = f" since the run of {message['previous_run']}" if message.get("previous_run") else " (the alert history starts with this run)"
        out.append(f"Alert changes{since}:")
        out.append("")
        for c in message["changes"]:
            line = f"- {c['change'].upper()}: patient {c['patient']}, {c['type']}, {c['alteration']}, draw of {c['draw_date']}"
            if c["detail"]:
                line += f" - {c['detail']}"
            out.append(line)
            out.append(f"  change id {c['change_id']}, alert id {c['alert_id']}")
    else:
        out.extend(message["lines"])
    if message.get("report"):
        out += ["", f"Report: {message['report']}"]
    out += ["", f"Message id: {message['message_id']} (a repeat of this message carries the same id)"]
    return "\n".join(out) + "\n"


def json_payload(message: dict) -> dict:
    """The webhook's JSON body."""
    return {key: message[key] for key in ("message_id", "kind", "created", "subject", "report", "previous_run", "changes", "lines") if key in message}
