"""Molecular response per patient: the pooled truncal ctDNA level from baseline to the latest draw.

- baseline: the first draw with truncal counts; nadir: the lowest level after it;
- change_from_baseline: latest level relative to baseline, in percent (-100 = cleared);
- doubling_time_days: from a log-linear fit of the level over the draws from the nadir to the
  latest, when the level rose (empty otherwise);
- response: `cleared` (latest pooled counts not above background), `response` (>= 50% fall from
  baseline), `progression` (a molecular_progression alert), else `stable`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .alerts import ctdna_levels_by_patient
from .bulk import collector_paused
from .stats import binomial_p_value

RESPONSE_COLUMNS = [
    "patient", "n_truncal_variants", "baseline_date", "baseline_level", "nadir_date", "nadir_level",
    "latest_date", "latest_level", "change_from_baseline_pct", "rise_from_nadir_fold", "doubling_time_days",
    "response",
]  # fmt: skip


def doubling_time(points: list[dict]) -> float | None:
    """Days for the level to double, from a least-squares fit of log2(level) on time."""
    usable = [(dt.date.fromisoformat(p["date"]), p["level"]) for p in points if p["level"] > 0]
    if len(usable) < 2:
        return None
    start = usable[0][0]
    days = np.array([(d - start).days for d, _ in usable], dtype=float)
    logs = np.log2([level for _, level in usable])
    if np.ptp(days) == 0:
        return None
    slope = np.polyfit(days, logs, 1)[0]
    return float(1.0 / slope) if slope > 0 else None


def patient_response(patient: str, points: list[dict], progressed: bool, alpha: float) -> dict:
    """Molecular response of one patient from its ctDNA levels (ctdna_levels_by_patient)."""
    record = dict.fromkeys(RESPONSE_COLUMNS, None)
    record.update(patient=patient, n_truncal_variants=0, response="not_assessable")
    if not points:
        return record
    baseline, latest = points[0], points[-1]
    nadir_index = int(np.argmin([p["level"] for p in points]))
    nadir = points[nadir_index]
    record.update(
        n_truncal_variants=max(p["n_variants"] for p in points),
        baseline_date=baseline["date"], baseline_level=baseline["level"],
        nadir_date=nadir["date"], nadir_level=nadir["level"],
        latest_date=latest["date"], latest_level=latest["level"],
    )  # fmt: skip
    if baseline["level"] > 0:
        record["change_from_baseline_pct"] = 100.0 * (latest["level"] - baseline["level"]) / baseline["level"]
    if nadir["level"] > 0:
        record["rise_from_nadir_fold"] = latest["level"] / nadir["level"]
    if latest["level"] > nadir["level"]:
        record["doubling_time_days"] = doubling_time(points[nadir_index:])
    latest_detected = binomial_p_value(latest["alt"], latest["depth"], max(latest["error_rate"], 1e-9)) <= alpha
    if progressed:
        record["response"] = "progression"
    elif not latest_detected:
        record["response"] = "cleared"
    elif record["change_from_baseline_pct"] is not None and record["change_from_baseline_pct"] <= -50:
        record["response"] = "response"
    else:
        record["response"] = "stable"
    return record


@collector_paused()  # see bulk.py
def molecular_response(timeline: pd.DataFrame, alerts: pd.DataFrame, alpha: float) -> pd.DataFrame:
    progressed = set(alerts.loc[alerts["type"] == "molecular_progression", "patient"]) if len(alerts) else set()
    levels = ctdna_levels_by_patient(timeline)
    records = [
        patient_response(patient, levels.get(patient, []), patient in progressed, alpha)
        for patient in sorted(set(timeline["patient"]))
    ]
    return pd.DataFrame(records, columns=RESPONSE_COLUMNS)
