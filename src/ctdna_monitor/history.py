"""Alert history: stable alert identifiers, what changed since the previous run, and the state that remembers it.

Every alert has a stable identifier built from what makes it the same alert from one run to the next: the
patient, the alert type, the variant (its knowledge-base id, or chrom:pos:ref>alt, or "ctDNA level" for
molecular progression) and the draw that raised it. A run compares its alerts with those of the previous
successful run and lists the differences (results/alert_changes.tsv):

- `new`: an alert the previous run did not have (the first run of a history: every alert);
- `withdrawn`: an alert of the previous run that this run no longer raises, with the reason when the
  timeline tells it (the draw left the sample sheet, the variant is no longer detected there, the alert now
  comes from another draw, the detection no longer reaches the alert level);
- `updated`: the same alert with news (now confirmed, the lead time to the PD scan now known or changed, the
  therapy at the draw changed), and a `rising` alert of a variant that had already alerted ("rising again").

The state lives in a folder outside results/ (config `state_dir`):

- `alerts.json`, the committed snapshot: the alerts of the last successful run;
- `pending.json`, written by the track_alerts job: this run's alerts and changes against `alerts.json`.
  Only the notify_changes job, the last of a run, copies it over `alerts.json` (atomically), so a run that
  fails or is killed before the end leaves the committed snapshot as it was, and running it again computes
  the same changes against the same snapshot (same identifiers, no change lost or reported twice).

Deleting the folder starts the history again: the next run finds no snapshot, counts every alert as new and
says so. Nothing here imports Snakemake.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pandas as pd

from .atomic import write_text
from .errors import InputError
from .values import cell_text as _text
from .values import to_number

STATE_FORMAT = 1
COMMITTED = "alerts.json"
PENDING = "pending.json"
CHANGE_COLUMNS = [
    "change_id", "change", "alert_id", "patient", "type", "gene", "protein_change", "kb_id", "variant",
    "draw_date", "detail", "previous_run",
]  # fmt: skip
KEPT_FIELDS = (
    "patient", "type", "gene", "protein_change", "kb_id", "variant", "sample", "date", "vaf", "therapy",
    "confirmed", "progression_date", "lead_time_days",
)  # fmt: skip
LEVEL = "ctDNA level"


def _digest(*parts: str, prefix: str) -> str:
    return prefix + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def variant_key(alert: dict) -> str:
    """The knowledge-base id of a resistance alert, else chrom:pos:ref>alt, or 'ctDNA level'."""
    if alert.get("type") == "molecular_progression":
        return LEVEL
    if _text(alert.get("kb_id")):
        return _text(alert["kb_id"])
    return f"{_text(alert.get('chrom'))}:{_text(alert.get('pos'))}:{_text(alert.get('ref'))}>{_text(alert.get('alt'))}"


def alert_id(alert: dict) -> str:
    """Stable identifier of an alert: patient, type, variant and the draw that raised it."""
    return _digest(_text(alert["patient"]), _text(alert["type"]), variant_key(alert), _text(alert["sample"]), prefix="A")


def snapshot(alerts: pd.DataFrame) -> dict[str, dict]:
    """alert id -> the fields of the alert that a later run compares (all as text)."""
    out = {}
    for row in alerts.to_dict("records"):
        record = {name: _text(row.get(name)) for name in KEPT_FIELDS if name != "variant"}
        record["variant"] = variant_key(row)
        out[alert_id(row)] = record
    return dict(sorted(out.items()))


# ---------------------------------------------------------------- comparing two runs


def _confirmed(value: str) -> bool:
    return value.lower() == "true"


def _updates(before: dict, now: dict) -> list[str]:
    notes = []
    if not _confirmed(before["confirmed"]) and _confirmed(now["confirmed"]):
        notes.append("confirmed by a later draw")
    elif _confirmed(before["confirmed"]) and not _confirmed(now["confirmed"]):
        notes.append("no longer confirmed")
    if before["lead_time_days"] != now["lead_time_days"]:
        if not now["lead_time_days"]:
            notes.append("no PD scan after the draw any more (lead time unknown)")
        elif not before["lead_time_days"]:
            notes.append(f"lead time now known: {now['lead_time_days']} days (PD scan {now['progression_date']})")
        else:
            notes.append(f"lead time now {now['lead_time_days']} days (was {before['lead_time_days']})")
    if before["therapy"] != now["therapy"]:
        notes.append(f"therapy at the draw now {now['therapy'] or 'none'} (was {before['therapy'] or 'none'})")
    return notes


# The timeline columns a withdrawal's reason reads.
TIMELINE_COLUMNS_READ = ("patient", "date", "chrom", "pos", "ref", "alt", "kb_id", "status", "p_value")


def _timeline_index(timeline: pd.DataFrame | None, of_patients=None) -> tuple[set, set, dict]:
    """Patients and (patient, draw date) pairs of the timeline, and its rows by (patient, date, variant); the
    rows only of `of_patients` when given (those of the withdrawn alerts: a timeline has millions of rows)."""
    if timeline is None or timeline.empty:
        return set(), set(), {}
    patient, date = timeline["patient"].astype(str), timeline["date"].astype(str)
    patients = set(patient)
    pairs = pd.DataFrame({"patient": patient, "date": date}).drop_duplicates()
    draws = set(zip(pairs["patient"], pairs["date"]))
    mine = timeline if of_patients is None else timeline[patient.isin(set(of_patients)).to_numpy()]
    rows = {}
    for row in mine.to_dict("records"):
        for key in {_text(row.get("kb_id")), variant_key({**row, "kb_id": ""})} - {""}:
            rows[(str(row["patient"]), str(row["date"]), key)] = row
    return patients, draws, rows


def withdrawal_reason(before: dict, current: dict[str, dict], timeline: pd.DataFrame | None, index=None,
                      previous: dict | None = None) -> str:
    """Why an alert of the previous run is gone, when this run's alerts and timeline tell it ('' otherwise)."""
    previous = previous or {}
    patients, draws, rows = index if index is not None else _timeline_index(timeline)
    patient, day = before["patient"], before["date"]
    if timeline is not None and patient not in patients:
        return "the patient has no draw in the sample sheet any more (removed or every draw quarantined)"
    if timeline is not None and (patient, day) not in draws:
        return f"the draw of {day} is no longer in the sample sheet (removed or quarantined)"
    same_draw = sorted(
        alert["type"] for alert in current.values()
        if (alert["patient"], alert["variant"], alert["date"]) == (patient, before["variant"], day)
    )  # fmt: skip
    if same_draw:
        return f"this draw now raises a {same_draw[0]} alert instead (earlier draws or therapy changed)"
    elsewhere = sorted(
        alert["date"] for aid, alert in current.items()
        if aid not in previous and (alert["patient"], alert["type"], alert["variant"]) == (patient, before["type"], before["variant"])
    )  # fmt: skip
    if elsewhere:
        return f"the same {before['type']} alert now comes from the draw of {elsewhere[0]}"
    if before["type"] == "molecular_progression":
        return "the rise of the ctDNA level over its nadir is no longer significant"
    row = rows.get((patient, day, before["variant"]))
    if row is None:
        return ""
    status = _text(row.get("status"))
    p_value = to_number(row.get("p_value"))
    p_text = "" if p_value is None else f", p = {p_value:.2g}"
    if status and status != "detected":
        return f"the variant is no longer detected at the draw of {day} (now {status.replace('_', ' ')}{p_text}; the background changed)"
    if before["type"] == "rising":
        return "the rise over the previous draw is no longer significant"
    return f"detected at the draw of {day}{p_text}, but no longer at the alert level (background, therapy or FILTER changed)"


def compare(previous: dict[str, dict] | None, current: dict[str, dict], timeline=None, base: str = "") -> list[dict]:
    """Changes from `previous` (None: no history, every alert new) to `current` (both from `snapshot`);
    `timeline` (a DataFrame, or a function returning it) tells why an alert was withdrawn.

    `base` names the previous run (its time stamp) and enters each change's identifier, so the same kind
    of change of the same alert in a later run has another identifier, and recomputing a run's changes
    gives the same ones."""
    previous = previous or {}
    changes = []
    alerted = {(a["patient"], a["variant"]) for a in previous.values()}
    gone = [aid for aid in previous if aid not in current]
    if gone and callable(timeline):  # a large timeline is read only when an alert was withdrawn
        timeline = timeline()
    index = _timeline_index(timeline if gone else None, {previous[aid]["patient"] for aid in gone})
    for aid, now in current.items():
        if aid not in previous:
            if now["type"] == "rising" and (now["patient"], now["variant"]) in alerted and previous:
                changes.append(_change("updated", aid, now, f"rising again: VAF {_pct(now['vaf'])} at the draw of {now['date']}", base))
            else:
                changes.append(_change("new", aid, now, "", base))
            continue
        notes = _updates(previous[aid], now)
        if notes:
            changes.append(_change("updated", aid, now, "; ".join(notes), base))
    for aid in gone:
        before = previous[aid]
        changes.append(_change("withdrawn", aid, before, withdrawal_reason(before, current, timeline, index, previous), base))
    order = {"new": 0, "updated": 1, "withdrawn": 2}
    return sorted(changes, key=lambda c: (c["patient"], c["draw_date"], order[c["change"]], c["type"], c["alert_id"]))


def _pct(vaf: str) -> str:
    number = to_number(vaf)
    return "?" if number is None else f"{number * 100:.2g} %"


def _change(kind: str, aid: str, alert: dict, detail: str, base: str) -> dict:
    return {
        "change_id": _digest(aid, kind, detail, base, prefix="C"),
        "change": kind, "alert_id": aid, "patient": alert["patient"], "type": alert["type"],
        "gene": alert["gene"], "protein_change": alert["protein_change"], "kb_id": alert["kb_id"],
        "variant": alert["variant"], "draw_date": alert["date"], "detail": detail, "previous_run": base,
    }  # fmt: skip


# ---------------------------------------------------------------- state folder


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_state(path) -> dict | None:
    """A state file, or None when it does not exist; a damaged file is a one-line error saying what to do."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(path, f"the alert history cannot be read ({error})",
                         hint=f"restore it from a backup, or delete the folder {path.parent} to start the history again") from None  # fmt: skip
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT or not isinstance(state.get("alerts"), dict):
        raise InputError(path, "not an alert history of this version of ctdna-monitor",
                         hint=f"delete the folder {path.parent} to start the history again")  # fmt: skip
    return state


def inputs_digest(*paths) -> str:
    """Checksum of a run's alerts, timeline, sample sheet and events: the same files mean the same run (a new
    draw that changes no alert, or one that is quarantined, changes the sheet: another run)."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\x1e")
    return digest.hexdigest()


def track(alerts: pd.DataFrame, timeline, state_dir, pending_path=None, digest: str = "") -> tuple[pd.DataFrame, dict]:
    """This run's changes against the committed snapshot of `state_dir`; writes the pending state.

    `digest` (inputs_digest of the run's alerts, timeline, sheet and events) identifies the run: when the committed snapshot
    came from the same results (the job is run again after the commit: a run killed after it, --forceall, the
    run after a history restart), its changes are given again instead of "no change", so the outputs are
    those of an uninterrupted run. Returns the changes table (CHANGE_COLUMNS) and the pending state (also
    written, atomically, to `pending_path`, by default `state_dir/pending.json`). The committed snapshot is
    left alone."""
    state_dir = Path(state_dir)
    committed = read_state(state_dir / COMMITTED)
    current = snapshot(alerts)
    if committed is not None and digest and committed.get("inputs_digest") == digest and "changes" in committed:
        pending = committed
    else:
        if committed is None:  # the identifier of a new history follows from its first alerts: a rerun gives the same
            history_id, started, base, previous = _digest(*current, prefix="H"), _now(), "", None
        else:
            history_id, started, base = committed["history_id"], committed["history_started"], committed["run_at"]
            previous = committed["alerts"]
        changes = compare(previous, current, timeline, base or f"start:{history_id}")
        for change in changes:
            change["previous_run"] = base
        pending = {
            "format": STATE_FORMAT, "history_id": history_id, "history_started": started,
            "restarted": committed is None, "previous_run": base, "run_at": _now(), "inputs_digest": digest,
            "alerts": current, "changes": changes,
        }  # fmt: skip
    state_dir.mkdir(parents=True, exist_ok=True)
    write_text(pending_path or state_dir / PENDING, json.dumps(pending, indent=1, sort_keys=True) + "\n", durable=True)
    return pd.DataFrame(pending["changes"], columns=CHANGE_COLUMNS), pending


def commit(state_dir, pending_path=None) -> dict | None:
    """Make the pending state the committed snapshot (atomically, changes included); returns it, or None."""
    state_dir = Path(state_dir)
    pending = read_state(pending_path or state_dir / PENDING)
    if pending is None:
        return None
    write_text(state_dir / COMMITTED, json.dumps(pending, indent=1, sort_keys=True) + "\n", durable=True)
    return pending


def read_changes(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
