"""Statistics of the validation benchmark: matching alerts to the simulated truth, Wilson intervals,
percentile bootstrap. Import-friendly (no Snakemake, no file layout assumptions beyond the tables).

Definitions (patient level):
- correct resistance alert: a `pre_existing` or `emergence` alert at the patient's true resistance
  site (chrom, pos, ref, alt);
- wrong resistance alert: any `pre_existing` / `emergence` / `rising` alert at another site, or in a
  patient without a resistance variant;
- `correct_alert_before_true_onset`: share of on-time detections whose first correct alert predates the
  simulated onset of the resistant clone (noise at the right site; their lead time is flattering);
- "on time": the first correct alert is on or before the PD scan (any date when there is no PD);
- lead time: pd_date - date of the first on-time correct alert, in days. A patient of the reference
  set without an on-time correct alert counts as 0 days (no warning before the scan); the median over
  detected patients only is reported as well;
- confirmed-only counting keeps alerts with `confirmed` true; the date of such an alert is when the
  confirmation was available (`confirmed_date` if the table has it, else the alert date for a strong
  detection, p <= strong_p, else the patient's next assessable draw at the site in the timeline).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

SITE = ["chrom", "pos", "ref", "alt"]
CORRECT_TYPES = frozenset({"pre_existing", "emergence"})
RESISTANCE_TYPES = frozenset({"pre_existing", "emergence", "rising"})
Z95 = 1.959963984540054
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261122
OUTCOME_COLUMNS = [
    "patient", "has_resistance", "pd_date", "first_correct", "on_time", "before_onset", "wrong", "n_wrong", "lead_days",
]  # fmt: skip


# --------------------------------------------------------------------------- intervals


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float, float]:
    """Proportion and its Wilson score interval; (nan, nan, nan) when n == 0."""
    if n <= 0:
        return (math.nan, math.nan, math.nan)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (p, low, high)


def bootstrap(data, statistic, n_resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED, level: float = 0.95):
    """Estimate and percentile-bootstrap interval of `statistic` over the rows of `data` (resampled with replacement).

    `data` is a 1-D array (one value per patient) or 2-D (one row per patient); non-finite
    resampled statistics (e.g. a ratio over a zero median) are dropped before taking percentiles.
    """
    data = np.asarray(data, dtype=float)
    n = len(data)
    if n == 0:
        return (math.nan, math.nan, math.nan)
    estimate = float(statistic(data))
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, n, size=(n_resamples, n))
    values = np.array([statistic(data[row]) for row in indices], dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (estimate, math.nan, math.nan)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return (estimate, float(low), float(high))


def median_of(data) -> float:
    return float(np.median(data)) if len(data) else math.nan


def median_ratio(data) -> float:
    """median(column 0) / median(column 1); nan when the denominator is 0."""
    denominator = np.median(data[:, 1])
    return float(np.median(data[:, 0]) / denominator) if denominator else math.nan


# --------------------------------------------------------------------------- tables


def _flag(value) -> bool | None:
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "t"):
        return True
    if text in ("false", "0", "no", "f"):
        return False
    return None


def normalise_alerts(alerts: pd.DataFrame) -> pd.DataFrame:
    """Typed alerts: pos int, chrom/ref/alt/date text, `confirmed` bool (column kept only if present)."""
    frame = alerts.copy()
    if frame.empty:
        return frame.assign(pos=pd.Series(dtype=int))
    frame["pos"] = pd.to_numeric(frame["pos"], errors="coerce").fillna(-1).astype(int)
    for column in ("patient", "type", "chrom", "ref", "alt", "date"):
        frame[column] = frame[column].astype(str)
    if "confirmed" in frame.columns:
        frame["confirmed"] = [_flag(v) is True for v in frame["confirmed"]]
    return frame


def read_alerts(path) -> pd.DataFrame:
    return normalise_alerts(pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False))


def read_truth(path) -> pd.DataFrame:
    truth = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    truth["pos"] = pd.to_numeric(truth["pos"], errors="coerce").fillna(-1).astype(int)
    return truth


def has_confirmed(alerts: pd.DataFrame) -> bool:
    return "confirmed" in alerts.columns


def confirmation_dates(alerts: pd.DataFrame, timeline: pd.DataFrame | None = None, strong_p: float = 1e-6) -> pd.Series:
    """When each alert's confirmation was available (see the module docstring)."""
    if "confirmed_date" in alerts.columns:
        return alerts["confirmed_date"].where(alerts["confirmed_date"].astype(str) != "", alerts["date"]).astype(str)
    dates = []
    for row in alerts.itertuples(index=False):
        p_value = pd.to_numeric(getattr(row, "p_value", ""), errors="coerce")
        if timeline is None or (not pd.isna(p_value) and p_value <= strong_p) or row.type == "rising":
            dates.append(row.date)
            continue
        later = timeline[
            (timeline.patient == row.patient) & (timeline.chrom == row.chrom) & (timeline.pos == row.pos)
            & (timeline.ref == row.ref) & (timeline.alt == row.alt) & (timeline.date > row.date)
            & (timeline.status != "not_assessable")
        ]  # fmt: skip
        dates.append(str(later.date.min()) if len(later) else row.date)
    return pd.Series(dates, index=alerts.index, dtype=str)


def confirmed_view(alerts: pd.DataFrame, timeline: pd.DataFrame | None = None, strong_p: float = 1e-6) -> pd.DataFrame:
    """Only confirmed alerts, dated when the confirmation was available."""
    if not has_confirmed(alerts):
        raise ValueError("the alerts table has no `confirmed` column")
    kept = alerts[alerts["confirmed"]].copy()
    if kept.empty:
        return kept
    kept["date"] = confirmation_dates(kept, timeline, strong_p)
    return kept


def read_timeline(path) -> pd.DataFrame:
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, usecols=["patient", "date", *SITE, "status"])
    frame["pos"] = pd.to_numeric(frame["pos"], errors="coerce").fillna(-1).astype(int)
    return frame


# --------------------------------------------------------------------------- matching


def patient_outcome(truth_row, alerts: pd.DataFrame) -> dict:
    """Classify one patient's alerts (already restricted to that patient) against its truth row."""
    resistance = alerts[alerts["type"].isin(RESISTANCE_TYPES)]
    has_resistance = bool(truth_row["kb_id"])
    if has_resistance:
        site = (truth_row["chrom"], int(truth_row["pos"]), truth_row["ref"], truth_row["alt"])
        at_site = [(c, int(p), r, a) == site for c, p, r, a in zip(resistance.chrom, resistance.pos, resistance.ref, resistance.alt)]
        at_site = pd.Series(at_site, index=resistance.index, dtype=bool)
    else:
        at_site = pd.Series(False, index=resistance.index, dtype=bool)
    correct = resistance[at_site & resistance["type"].isin(CORRECT_TYPES)]
    n_wrong = int((~at_site).sum())
    pd_date = truth_row["pd_date"] or None
    first = min(correct["date"]) if len(correct) else None
    on_time = first is not None and (pd_date is None or first <= pd_date)
    onset = truth_row.get("resistant_onset_date", "") or ""
    lead = None
    if pd_date is not None and on_time:
        lead = (dt.date.fromisoformat(pd_date) - dt.date.fromisoformat(first)).days
    return {
        "patient": truth_row["patient"], "has_resistance": has_resistance, "pd_date": pd_date or "",
        "first_correct": first or "", "on_time": on_time,
        "before_onset": bool(on_time and onset and first < onset), "wrong": n_wrong > 0, "n_wrong": n_wrong, "lead_days": lead,
    }  # fmt: skip


def outcomes(truth: pd.DataFrame, alerts: pd.DataFrame) -> pd.DataFrame:
    """One row per truth patient (OUTCOME_COLUMNS)."""
    by_patient = {patient: group for patient, group in alerts.groupby("patient")} if len(alerts) else {}
    empty = alerts.iloc[0:0] if len(alerts.columns) else pd.DataFrame(columns=["type", *SITE, "date"])
    rows = [patient_outcome(row, by_patient.get(row["patient"], empty)) for _, row in truth.iterrows()]
    return pd.DataFrame(rows, columns=OUTCOME_COLUMNS)


# --------------------------------------------------------------------------- metrics


def metric(name, value, low=math.nan, high=math.nan, n=0) -> dict:
    return {"metric": name, "value": value, "ci_low": low, "ci_high": high, "n": int(n)}


def proportion(name, successes: int, n: int) -> dict:
    p, low, high = wilson(int(successes), int(n))
    return metric(name, p, low, high, n)


def reference_set(truth: pd.DataFrame, oracle: pd.DataFrame | None) -> tuple[pd.Series, str]:
    """Patients whose emergence is visible: oracle on time, else (no oracle) every resistance carrier."""
    if oracle is not None:
        return oracle.set_index("patient")["on_time"].reindex(truth["patient"]).fillna(False).to_numpy(bool), "oracle_visible"
    return truth["kb_id"].astype(str).str.len().gt(0).to_numpy(bool), "truth_resistance"


def run_metrics(label: str, outcome: pd.DataFrame, visible, suffix: str = "") -> list[dict]:
    """Sensitivity over the visible set, sensitivity against truth, specificity, wrong alerts per patient."""
    rows = [
        proportion(f"{label}.sensitivity{suffix}", outcome.on_time[visible].sum(), visible.sum()),
        proportion(f"{label}.sensitivity_vs_truth{suffix}", outcome.on_time[outcome.has_resistance].sum(), outcome.has_resistance.sum()),
        proportion(f"{label}.specificity{suffix}", (~outcome.wrong).sum(), len(outcome)),
        metric(f"{label}.wrong_alerts_per_patient{suffix}", float(outcome.n_wrong.mean()) if len(outcome) else math.nan, n=len(outcome)),
        proportion(f"{label}.correct_alert_before_true_onset{suffix}", (outcome.on_time & outcome.before_onset).sum(), (outcome.on_time & outcome.has_resistance).sum()),
    ]  # fmt: skip
    return rows


def lead_metrics(model: pd.DataFrame, oracle: pd.DataFrame | None, visible, suffix: str = "") -> list[dict]:
    """Median lead times (misses = 0 days) over visible patients with a PD scan, and model/oracle ratio."""
    with_pd = visible & model.pd_date.astype(str).str.len().gt(0).to_numpy(bool)
    model_lead = model.lead_days[with_pd].fillna(0).to_numpy(float)
    detected = model.lead_days[with_pd].dropna().to_numpy(float)
    rows = [
        metric(f"model.median_lead_days{suffix}", *bootstrap(model_lead, median_of), n=len(model_lead)),
        metric(f"model.median_lead_days_detected_only{suffix}", *bootstrap(detected, median_of), n=len(detected)),
    ]
    if oracle is not None:
        oracle_lead = oracle.lead_days[with_pd].fillna(0).to_numpy(float)
        rows.append(metric("oracle.median_lead_days", *bootstrap(oracle_lead, median_of), n=len(oracle_lead)))
        pairs = np.column_stack([model_lead, oracle_lead]) if len(model_lead) else np.empty((0, 2))
        rows.append(metric(f"lead_time_ratio_model_over_oracle{suffix}", *bootstrap(pairs, median_ratio), n=len(pairs)))
    return rows


GROUP_COLUMNS = ("setting", "arm", "annotation")


def group_metrics(truth: pd.DataFrame, model: pd.DataFrame, oracle: pd.DataFrame | None, visible) -> list[dict]:
    """Per value of each GROUP_COLUMNS column the truth has: `<column>.<value>.<metric>` rows.

    Sensitivity over that group's visible set, sensitivity against truth (model and oracle), and
    specificity (share of the group's patients without a wrong resistance alert). A group without
    resistance carriers (the chemotherapy and immunotherapy arms) has only specificity.
    """
    rows = []
    for column in GROUP_COLUMNS:
        if column not in truth.columns:
            continue
        values = truth[column].astype(str).to_numpy()
        for value in dict.fromkeys(values):
            mask = values == value
            sub, seen = model[mask].reset_index(drop=True), visible[mask]
            name = f"{column}.{value}"
            rows.append(metric(f"{name}.patients", int(mask.sum()), n=int(mask.sum())))
            if sub.has_resistance.any():
                rows.append(proportion(f"{name}.model.sensitivity", sub.on_time[seen].sum(), seen.sum()))
                carriers = sub.has_resistance
                rows.append(proportion(f"{name}.model.sensitivity_vs_truth", sub.on_time[carriers].sum(), carriers.sum()))
                if oracle is not None:
                    osub = oracle[mask].reset_index(drop=True)
                    rows.append(proportion(f"{name}.oracle.sensitivity_vs_truth", osub.on_time[carriers].sum(), carriers.sum()))
            rows.append(proportion(f"{name}.model.specificity", (~sub.wrong).sum(), len(sub)))
            if oracle is not None:
                rows.append(proportion(f"{name}.oracle.specificity", (~oracle[mask].wrong).sum(), len(sub)))
    if "truncal_kb" in truth.columns:  # a knowledge-base row is a truncal driver (own target or arm hotspot)
        mask = truth["truncal_kb"].astype(str).str.len().gt(0).to_numpy(bool)
        if mask.any():
            rows.append(proportion("truncal_kb_driver.model.specificity", (~model[mask].wrong).sum(), int(mask.sum())))
    return rows


def group_table(rows: list[dict], column: str) -> str:
    """Markdown table, one line per group value of `column`, from `group_metrics` rows."""
    by_name = {row["metric"]: row for row in rows}
    values = [r["metric"][len(column) + 1 : -len(".patients")] for r in rows
              if r["metric"].startswith(f"{column}.") and r["metric"].endswith(".patients")]  # fmt: skip
    lines = [
        f"| {column} | patients | model sensitivity (oracle-visible) | model sensitivity vs truth | oracle sensitivity vs truth | model specificity |",
        "|---|---|---|---|---|---|",
    ]  # fmt: skip
    for value in values:
        cells = [f"{value}", str(by_name[f"{column}.{value}.patients"]["value"])]
        for metric_name in ("model.sensitivity", "model.sensitivity_vs_truth", "oracle.sensitivity_vs_truth", "model.specificity"):
            row = by_name.get(f"{column}.{value}.{metric_name}")
            cells.append(_cell(row))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(row) -> str:
    """'0.9 (0.7–0.97; 7/8)' for a proportion row, '–' when absent."""
    if row is None or _missing(row["value"]):
        return "–"
    successes = round(row["value"] * row["n"])
    return f"{_fmt(row['value'])} ({_fmt(row['ci_low'])}–{_fmt(row['ci_high'])}; {successes}/{row['n']})"


def summarise(truth: pd.DataFrame, model_alerts: pd.DataFrame, oracle_alerts: pd.DataFrame | None = None,
              model_confirmed: pd.DataFrame | None = None, oracle_confirmed: pd.DataFrame | None = None) -> list[dict]:  # fmt: skip
    """All metric rows of the benchmark, pooled over whatever cohorts `truth` holds."""
    model = outcomes(truth, model_alerts)
    oracle = outcomes(truth, oracle_alerts) if oracle_alerts is not None else None
    visible, reference = reference_set(truth, oracle)
    rows = [
        metric("patients", len(truth), n=len(truth)),
        metric("patients_with_resistance_variant", int(model.has_resistance.sum()), n=len(truth)),
        metric(f"reference_set.{reference}", int(visible.sum()), n=len(truth)),
        metric(f"reference_set.{reference}_with_pd", int((visible & model.pd_date.str.len().gt(0).to_numpy(bool)).sum()), n=len(truth)),
    ]  # fmt: skip
    rows += run_metrics("model", model, visible)
    if oracle is not None:
        rows += [r for r in run_metrics("oracle", oracle, visible) if not r["metric"].endswith(".sensitivity")]
    rows += lead_metrics(model, oracle, visible)
    if model_confirmed is not None:
        confirmed = outcomes(truth, model_confirmed)
        rows += run_metrics("model", confirmed, visible, "_confirmed")
        if oracle_confirmed is not None:
            rows += run_metrics("oracle", outcomes(truth, oracle_confirmed), visible, "_confirmed")
        rows += [r for r in lead_metrics(confirmed, oracle, visible, "_confirmed") if not r["metric"].startswith("oracle.")]
    rows += group_metrics(truth, model, oracle, visible)
    return rows


def markdown_table(rows: list[dict]) -> str:
    lines = ["| metric | value | 95% CI | n |", "|---|---|---|---|"]
    for row in rows:
        ci = "" if _missing(row["ci_low"]) else f"{_fmt(row['ci_low'])} – {_fmt(row['ci_high'])}"
        lines.append(f"| {row['metric']} | {_fmt(row['value'])} | {ci} | {row['n']} |")
    return "\n".join(lines)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _fmt(value) -> str:
    if _missing(value):
        return "NA"
    if isinstance(value, (int, np.integer)) or float(value).is_integer() and abs(value) >= 1:
        return str(int(value))
    return f"{float(value):.3g}"
