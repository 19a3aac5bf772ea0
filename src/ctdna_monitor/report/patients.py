"""Per-patient data embedded in the report: the browser builds each patient's figure and tables from it
only when the patient is opened, so a 1,000-patient cohort stays small and opens fast.

Strings are stored raw: the page writes them with textContent, and HTML-escapes them before handing them
to plotly (which renders a subset of HTML in labels).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ..filters import FilterPolicy, filter_names
from ..values import to_number
from .text import evidence_links, iso_date, patient_anchor, rounded, text

VARIANT_KEY = ["chrom", "pos", "ref", "alt"]
STATUS_CODES = {"detected": 0, "not_detected": 1, "not_assessable": 2}  # anything else: 3 (unknown)
RESISTANCE_TYPES = ("pre_existing", "emergence", "rising")  # knowledge-base alerts, not the pooled level
VAF_FLOOR = 1e-4  # bottom of the log axis unless real values go lower

Record = dict  # one table row; per-patient code works on plain dicts, not DataFrame slices


class Variant(NamedTuple):
    """One tracked variant of a patient and its timeline rows (one per sample, by date)."""

    label: str
    kb_id: str
    rows: list[Record]
    guard: str = ""  # why the variant does not measure the tumour (timeline `guard`), '' when it does


def variant_label(row) -> str:
    gene, protein = text(row["gene"]), text(row["protein_change"])
    if gene:
        return f"{gene} {protein}".strip()
    return f"{text(row['chrom'])}:{text(row['pos'])} {text(row['ref'])}>{text(row['alt'])}"


def group_variants(calls: list[Record]) -> list[Variant]:
    """Variants of one patient (one row per sample, by date), knowledge-base hits first."""
    grouped: dict[tuple[str, ...], dict[str, Record]] = {}
    for row in sorted(calls, key=lambda r: r["date"]):
        key = tuple(text(row[col]) for col in VARIANT_KEY)
        grouped.setdefault(key, {}).setdefault(text(row["sample"]), row)  # first call per draw wins
    variants = []
    for by_sample in grouped.values():
        rows = list(by_sample.values())
        kb_id = next((text(r["kb_id"]) for r in rows if text(r["kb_id"])), "")
        guard = next((text(r.get("guard")) for r in rows if text(r.get("guard"))), "")
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
    values = [to_number(row[col]) for v in variants for row in v.rows for col in ("vaf", "lod")]
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
    names = filter_names(text(row.get("filter")))
    filters = ";".join(n for n in names if n in policy.not_tumour or n in policy.artifact)
    return [*cell, filters] if filters else cell


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


def patient_data(patient: str, calls: list[Record], alerts: list[Record], events: list[Record],
                 response: Record | None, policy: FilterPolicy | None = None) -> dict:
    """Everything the page needs to draw one patient (swimmer lane, VAF figure, tables, evidence);
    `policy`: which FILTER values the cells carry (FilterPolicy defaults when None)."""
    policy = policy or FilterPolicy()
    variants = group_variants(calls)
    draws = sorted({text(r["sample"]): r["date"] for r in reversed(calls)}.items(), key=lambda d: (d[1], d[0]))
    scans = sorted([ev["date"], text(ev["value"]).upper()] for ev in events if ev["event"] == "scan" and ev["date"])
    dates = sorted({d for d in [*(r["date"] for r in calls), *(s[0] for s in scans)] if d})
    periods = therapy_periods(events, dates[0] if dates else "", dates[-1] if dates else "")
    alert_rows = sorted((_alert(a) for a in alerts), key=lambda a: a["date"])
    variant_rows = []
    for variant in variants:
        by_sample = {text(r["sample"]): r for r in variant.rows}
        cells = [_cell(by_sample.get(sample), policy) for sample, _ in draws]
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
