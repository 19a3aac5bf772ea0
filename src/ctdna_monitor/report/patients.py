"""Per-patient data embedded in the report: the browser builds each patient's figure and tables from it
only when the patient is opened, so a 1,000-patient cohort stays small and opens fast.

Strings are stored raw: the page writes them with textContent, and HTML-escapes them before handing them
to plotly (which renders a subset of HTML in labels).
"""

from __future__ import annotations

import math
from functools import partial
from operator import attrgetter
from typing import NamedTuple

import pandas as pd

from ..filters import FilterPolicy, filter_names
from ..values import native_values, to_number
from .text import evidence_links, iso_date, mapped_values, patient_anchor, rounded, text

VARIANT_KEY = ["chrom", "pos", "ref", "alt"]
STATUS_CODES = {"detected": 0, "not_detected": 1, "not_assessable": 2}  # anything else: 3 (unknown)
RESISTANCE_TYPES = ("pre_existing", "emergence", "rising")  # knowledge-base alerts, not the pooled level
VAF_FLOOR = 1e-4  # bottom of the log axis unless real values go lower

Record = dict  # one table row; per-patient code works on plain dicts, not DataFrame slices


class Call(NamedTuple):
    """One timeline row as the report and the patient pages use it: its texts and numbers, and (report)
    its figure cell. `timeline_calls` makes them for a whole cohort column by column; `calls_from_records`
    row by row, with the same result."""

    date: str  # as the table holds it
    sample: str
    key: tuple[str, str, str, str]  # chrom, pos, ref, alt as text
    kb_id: str
    guard: str
    gene: str
    protein_change: str
    vaf: float | None
    lod: float | None
    cell: list | None = None  # see _cell (with a FilterPolicy only)
    row: Record | None = None  # the row itself (when asked for)


class Variant(NamedTuple):
    """One tracked variant of a patient and its timeline rows (one per sample, by date)."""

    label: str
    kb_id: str
    rows: list[Call]
    guard: str = ""  # why the variant does not measure the tumour (timeline `guard`), '' when it does


def calls_from_records(records: list[Record], policy: FilterPolicy | None = None) -> list[Call]:
    """Calls of timeline rows given as dicts (each row kept in `row`); with `policy`, their figure cells."""
    return [
        Call(row["date"], text(row["sample"]), tuple(text(row[col]) for col in VARIANT_KEY), text(row["kb_id"]),
             text(row.get("guard")), text(row["gene"]), text(row["protein_change"]), to_number(row.get("vaf")),
             to_number(row.get("lod")), _cell(row, policy) if policy is not None else None, row)
        for row in records
    ]  # fmt: skip


def timeline_calls(timeline: pd.DataFrame, policy: FilterPolicy | None = None, rows: list | None = None) -> list[Call]:
    """calls_from_records(table_records(timeline)), computed column by column (each distinct value once):
    several times faster on a 780,000-row timeline. `rows`: what each Call keeps as `row` (one per timeline
    row; None: nothing)."""
    if timeline.empty:
        return []
    shown = {col: mapped_values(timeline[col], text) for col in ["sample", *VARIANT_KEY, "kb_id", "gene", "protein_change"]}
    guard = mapped_values(timeline["guard"], text) if "guard" in timeline else [""] * len(timeline)
    vaf = mapped_values(timeline["vaf"], to_number) if "vaf" in timeline else [None] * len(timeline)
    lod = mapped_values(timeline["lod"], to_number) if "lod" in timeline else [None] * len(timeline)
    keys = list(zip(*(shown[col] for col in VARIANT_KEY)))
    cells = _cells(timeline, vaf, policy) if policy is not None else [None] * len(timeline)
    rows = [None] * len(timeline) if rows is None else rows
    columns = (native_values(timeline["date"]), shown["sample"], keys, shown["kb_id"], guard, shown["gene"],
               shown["protein_change"], vaf, lod, cells, rows)  # fmt: skip
    return list(map(partial(tuple.__new__, Call), zip(*columns)))  # Call._make without its length check


def variant_label(call: Call) -> str:
    if call.gene:
        return f"{call.gene} {call.protein_change}".strip()
    chrom, pos, ref, alt = call.key
    return f"{chrom}:{pos} {ref}>{alt}"


def group_variants(calls: list[Call]) -> list[Variant]:
    """Variants of one patient (one row per sample, by date), knowledge-base hits first."""
    grouped: dict[tuple[str, ...], dict[str, Call]] = {}
    for call in sorted(calls, key=attrgetter("date")):
        grouped.setdefault(call.key, {}).setdefault(call.sample, call)  # first call per draw wins
    variants = []
    for by_sample in grouped.values():
        rows = list(by_sample.values())
        kb_id = next((r.kb_id for r in rows if r.kb_id), "")
        guard = next((r.guard for r in rows if r.guard), "")
        variants.append(Variant(variant_label(rows[0]), kb_id, rows, guard))
    return sorted(variants, key=lambda v: (not v.kb_id, v.label))


def _matching_start(open_starts: dict, drug: str) -> str | None:
    """Key of the open therapy an end event closes: same drug, else the only open one."""
    if drug.lower() in open_starts:
        return drug.lower()
    return next(iter(open_starts)) if len(open_starts) == 1 else None


def therapy_periods(events: list[Record], first_date: str, last_date: str) -> list[tuple[str, str, str]]:
    """(drug, start, end) periods; an open therapy runs to the last draw/scan date."""
    periods, open_starts = [], {}
    therapy = [ev for ev in events if ev["event"] in ("therapy_start", "therapy_end") and ev["date"]]
    for ev in sorted(therapy, key=lambda ev: ev["date"]):
        drug, date = text(ev["value"]), ev["date"]
        if ev["event"] == "therapy_start":
            open_starts.setdefault(drug.lower(), (drug, date))
            continue
        key = _matching_start(open_starts, drug)
        if key is not None:
            name, start = open_starts.pop(key)
            periods.append((name, start, date))
        elif first_date:  # end without a recorded start: therapy was already running
            periods.append((drug, min(first_date, date), date))
    periods += [(name, start, max(start, last_date)) for name, start in open_starts.values()]
    return periods


def combined_periods(periods) -> list[list[str]]:
    """Drugs given over the same period share one band: [["a + b", start, end], ...]."""
    combined: dict[tuple[str, str], list[str]] = {}
    for drug, start, end in periods:
        combined.setdefault((start, end), []).append(drug)
    return [[" + ".join(sorted(d for d in drugs if d)) or "therapy", s, e] for (s, e), drugs in combined.items()]


def axis_floor(variants: list[Variant]) -> float:
    """Bottom of the log axis: VAF_FLOOR unless real values go lower."""
    values = [x for v in variants for call in v.rows for x in (call.vaf, call.lod)]
    return min([VAF_FLOOR] + [x / 2 for x in values if x and x > 0])


def _cell(row: Record | None, policy: FilterPolicy) -> list | None:
    """[status, vaf, alt reads, depth, LoD95, p-value, from BAM(, FILTER values that count)] of one variant
    at one draw. Only values the policy acts on (not tumour, artifact) are carried: informational ones
    such as Mutect2's weak_evidence sit on most low-VAF records and would add ~8 % to a large report."""
    if row is None:
        return None
    vaf = to_number(row["vaf"])
    if vaf is None and row["status"] == "detected":
        alt, depth = to_number(row["alt_reads"]), to_number(row["depth"])
        vaf = alt / depth if alt is not None and depth else None
    cell = [
        STATUS_CODES.get(row["status"], 3), rounded(vaf), _count(row["alt_reads"]), _count(row["depth"]),
        rounded(row["lod"], 3), rounded(row["p_value"], 2), 1 if text(row.get("source")) == "bam" else 0,
    ]  # fmt: skip
    filters = _counted_filters(row.get("filter"), policy)
    return [*cell, filters] if filters else cell


def _counted_filters(value, policy: FilterPolicy) -> str:
    return ";".join(n for n in filter_names(text(value)) if n in policy.not_tumour or n in policy.artifact)


def _cells(timeline: pd.DataFrame, vaf: list, policy: FilterPolicy) -> list[list]:
    """_cell of every row, column by column (`vaf`: to_number of the vaf column)."""
    status, vaf = native_values(timeline["status"]), list(vaf)
    alt_reads, depth = native_values(timeline["alt_reads"]), native_values(timeline["depth"])
    for index in [i for i, (v, s) in enumerate(zip(vaf, status)) if v is None and s == "detected"]:
        alt, reads = to_number(alt_reads[index]), to_number(depth[index])
        vaf[index] = alt / reads if alt is not None and reads else None
    columns = [
        mapped_values(timeline["status"], lambda s: STATUS_CODES.get(s, 3)),
        mapped_values(pd.Series(vaf, dtype="float64"), rounded),  # None as NaN: rounded gives None for both
        mapped_values(timeline["alt_reads"], _count), mapped_values(timeline["depth"], _count),
        mapped_values(timeline["lod"], partial(rounded, digits=3)), mapped_values(timeline["p_value"], partial(rounded, digits=2)),
        mapped_values(timeline["source"], lambda v: 1 if text(v) == "bam" else 0) if "source" in timeline else [0] * len(timeline),
    ]  # fmt: skip
    cells = [list(values) for values in zip(*columns)]
    if "filter" in timeline:
        for cell, filters in zip(cells, mapped_values(timeline["filter"], lambda v: _counted_filters(v, policy))):
            if filters:
                cell.append(filters)
    return cells


def _count(value) -> int | None:
    number = to_number(value)
    return None if number is None or not math.isfinite(number) else int(round(number))


def kb_data(kb_context: dict, used: set[str]) -> dict:
    """Drug context and evidence links of the knowledge-base entries the cohort hit (stored once, not per patient)."""
    return {kb_id: {"resistance_to": kb_context[kb_id].get("resistance_to", ""),
                    "evidence": evidence_links(kb_context[kb_id].get("evidence", ""))}
            for kb_id in sorted(used) if kb_id in kb_context}


def _alert(alert: Record) -> dict:
    label = f"{text(alert['gene'])} {text(alert['protein_change'])}".strip()
    return {
        "type": text(alert["type"]) or "alert", "variant": label, "sample": text(alert["sample"]),
        "date": alert["date"], "vaf": rounded(alert["vaf"]), "therapy": text(alert["therapy"]),
        "resistance_to": text(alert["resistance_to"]), "progression": iso_date(alert["progression_date"]),
        "lead": to_number(alert["lead_time_days"]), "confirmed": text(alert.get("confirmed")),
        "kb_id": text(alert["kb_id"]), "evidence": evidence_links(alert["evidence"]),
    }  # fmt: skip


def first_resistance_lead(alerts: list[dict]) -> list | None:
    """[alert date, PD scan date, days] of the first knowledge-base alert with a later PD scan."""
    candidates = [a for a in alerts if a["type"] in RESISTANCE_TYPES and a["kb_id"] and a["progression"] and a["date"]]
    if not candidates:
        return None
    first = min(candidates, key=lambda a: a["date"])
    return [first["date"], first["progression"], first["lead"]]


def patient_data(patient: str, calls: list[Call], alerts: list[Record], events: list[Record],
                 response: Record | None) -> dict:
    """Everything the page needs to draw one patient (swimmer lane, VAF figure, tables, evidence); `calls`:
    its timeline rows with their figure cells (timeline_calls with the run's FilterPolicy)."""
    variants = group_variants(calls)
    draws = sorted({c.sample: c.date for c in reversed(calls)}.items(), key=lambda d: (d[1], d[0]))
    scans = sorted([ev["date"], text(ev["value"]).upper()] for ev in events if ev["event"] == "scan" and ev["date"])
    dates = sorted({d for d in [*(c.date for c in calls), *(s[0] for s in scans)] if d})
    periods = therapy_periods(events, dates[0] if dates else "", dates[-1] if dates else "")
    alert_rows = sorted((_alert(a) for a in alerts), key=lambda a: a["date"])
    variant_rows = []
    for variant in variants:
        by_sample = {call.sample: call.cell for call in variant.rows}
        cells = [by_sample.get(sample) for sample, _ in draws]
        row = {"label": variant.label, "kb_id": variant.kb_id, "cells": cells}
        variant_rows.append({**row, "guard": variant.guard} if variant.guard else row)
    starts = sorted(start for _, start, _ in periods)
    return {
        "id": patient, "anchor": patient_anchor(patient),
        "origin": starts[0] if starts else (draws[0][1] if draws else ""),  # day 0 of the swimmer lane
        "draws": [list(d) for d in draws], "variants": variant_rows, "alerts": alert_rows,
        "therapies": combined_periods(periods), "scans": scans, "floor": axis_floor(variants),
        "lead": first_resistance_lead(alert_rows), "response": _response(response),
    }  # fmt: skip


def _response(row: Record | None) -> dict | None:
    if not row:
        return None
    return {"response": text(row.get("response")), "change": rounded(row.get("change_from_baseline_pct"), 3),
            "doubling": rounded(row.get("doubling_time_days"), 3)}
