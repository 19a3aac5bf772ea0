"""Alert rules on top of the timeline, aware of the drugs a patient takes at each draw.

- pre_existing: a resistance variant relevant to a therapy, detected at the first
  draw of that therapy (a draw up to `baseline_window_days` before the start
  counts as its baseline);
- emergence: detected where no earlier assessable draw of the patient detected it;
- rising: a significant rise of the alt fraction over the previous draw that had counts
  (one-sided Fisher exact test on the two draws' counts, and at least `rise_min_fold`);
- molecular_progression: the pooled alt fraction of the patient's other (truncal)
  variants rises significantly above its nadir.

A patient is watched at many knowledge-base sites at every draw, so a per-site test at
`alpha` would raise wrong alerts in most patients over a course of therapy. A resistance alert
therefore needs p <= `family_alpha` / (number of knowledge-base sites monitored at that draw:
those relevant to the drugs taken, or, when the therapy is unknown, all of them whose evidence
covers the patient's cancer type), a Bonferroni
correction per draw. Two thirds of that chance go to the draw judged alone; one third to the draw
pooled with the patient's previous assessable draw when both detect the variant (an emergence seen
twice at a level neither draw shows strongly enough alone). Either way the alt fraction must be at
least `min_fold_over_error` times the draw's error rate: a background a few times off (a bad run, a
drifting position) turns noise into tiny p-values, and no lab acts on 0.6 % where the position errs
at 0.3 %. A draw below that bar stays `detected` in the timeline but raises nothing;
`rising` follows only a variant that has already raised a resistance alert.

An emergence or pre_existing alert from a weak detection (p above `strong_detection_p`) is
`confirmed=false` until the patient's next assessable draw detects the variant again.

Resistance alerts are raised only while a drug the variant resists (by name, or by
class when the knowledge base lists no drug names) is taken, never for a drug's own
sensitising target; a regimen (FOLFOX) counts as its component drugs. A therapy the drug
table does not know (kept as written) is a known therapy that no knowledge-base entry
resists: it raises no resistance alert. A patient without therapy events gets every match,
therapy `unknown`, except matches whose evidence is for another cancer type than the
patient's recorded one (they stay in the timeline).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .bulk import collector_paused
from .cancer_types import CancerTypes
from .filters import FilterPolicy
from .knowledgebase import DrugTable, KnowledgeBase
from .stats import DETECTED, NOT_ASSESSABLE, binomial_p_value, null_sf, rise_p_value
from .values import table_records, to_number

ALERT_COLUMNS = [
    "patient", "type", "gene", "protein_change", "chrom", "pos", "ref", "alt", "sample", "date",
    "vaf", "alt_reads", "depth", "p_value", "resistance_to", "therapy", "progression_date",
    "lead_time_days", "kb_id", "evidence", "confirmed", "pooled_with",
]  # fmt: skip


EVENT_FIELDS = ["patient", "date", "event", "value"]
VARIANT_KEY = ["patient", "chrom", "pos", "ref", "alt"]
# Share of `family_alpha` spent on a draw judged alone; the rest goes to the draw pooled with the previous
# one (two tests per site and draw, Bonferroni with unequal weights: together they keep `family_alpha`).
ALONE_SHARE = 2.0 / 3.0


@dataclass(frozen=True)
class AlertParams:
    alpha: float = 0.01
    baseline_window_days: int = 14
    rise_min_fold: float = 2.0
    progression_min_fold: float = 2.0
    alert_without_counts: bool = True
    strong_detection_p: float = 1e-6
    family_alpha: float = 0.001
    min_fold_over_error: float = 3.0
    filters: FilterPolicy = FilterPolicy()  # FILTER values that block (not tumour) or hold back (artifact) an alert


@dataclass(frozen=True)
class Period:
    drug: str
    start: dt.date
    end: dt.date | None


def therapy_periods(events: pd.DataFrame, patient: str) -> list[Period]:
    return periods_of(_event_records(events, patient))


def pd_scans(events: pd.DataFrame, patient: str) -> list[dt.date]:
    return pd_scans_of(_event_records(events, patient))


def _event_records(events: pd.DataFrame, patient: str) -> list[dict]:
    return table_records(events[events.patient == patient], EVENT_FIELDS)


def events_by_patient(events: pd.DataFrame) -> dict[str, list[dict]]:
    """patient -> its events (dicts, in table order): one pass, instead of filtering the table per patient."""
    grouped: dict[str, list[dict]] = {}
    for event in table_records(events, EVENT_FIELDS):
        grouped.setdefault(event["patient"], []).append(event)
    return grouped


def periods_of(events: list[dict]) -> list[Period]:
    """Therapy periods from one patient's events (see events_by_patient)."""
    therapy = sorted((e for e in events if e["event"] != "scan"), key=lambda e: e["date"])  # stable, as the table's
    periods, open_starts = [], {}
    for event in therapy:
        day = dt.date.fromisoformat(event["date"])
        if event["event"] == "therapy_start":
            open_starts.setdefault(event["value"], day)
        elif event["value"] in open_starts:
            periods.append(Period(event["value"], open_starts.pop(event["value"]), day))
    periods.extend(Period(drug, start, None) for drug, start in open_starts.items())
    return sorted(periods, key=lambda p: (p.start, p.drug))


def pd_scans_of(events: list[dict]) -> list[dt.date]:
    """Dates of one patient's PD scans, in order."""
    return sorted(dt.date.fromisoformat(e["date"]) for e in events if e["event"] == "scan" and e["value"] == "PD")


class PatientContext:
    """Which drugs a patient takes at a draw, which draw is each therapy's first, and the patient's
    cancer type (OncoTree code, '' when not recorded)."""

    def __init__(self, periods: list[Period], draw_dates: list[dt.date], window_days: int, cancer_type: str = ""):
        self.periods = periods
        self.cancer_type = cancer_type
        self.window = dt.timedelta(days=window_days)
        self._at: dict[dt.date, tuple[list[Period], tuple[str, ...]]] = {}  # day -> periods, their drugs
        self.first_draw = {}
        for period in periods:
            on = [d for d in draw_dates if self._covers(period, d)]
            if on:
                self.first_draw[period] = min(on)

    def _covers(self, period: Period, day: dt.date) -> bool:
        return period.start - self.window <= day and (period.end is None or day <= period.end)

    @property
    def known(self) -> bool:
        return bool(self.periods)

    def periods_at(self, day: dt.date) -> list[Period]:
        return self._periods_and_drugs(day)[0]

    def drugs_at(self, day: dt.date) -> tuple[str, ...]:
        """The drugs of periods_at(day), in the same order."""
        return self._periods_and_drugs(day)[1]

    def _periods_and_drugs(self, day: dt.date) -> tuple[list[Period], tuple[str, ...]]:
        # asked once per draw and knowledge-base variant: computed once per draw
        if day not in self._at:
            periods = [p for p in self.periods if self._covers(p, day)]
            self._at[day] = (periods, tuple(p.drug for p in periods))
        return self._at[day]

    def therapy_label(self, day: dt.date) -> str:
        if not self.known:
            return "unknown"
        drugs = sorted({p.drug for p in self.periods_at(day)})
        return "+".join(drugs) if drugs else "none"


def _cancer_matches(ctx, entry, cancer_types: CancerTypes | None) -> bool:
    """Evidence for the patient's cancer type (or no cancer type known on either side)."""
    return cancer_types is None or cancer_types.matches(ctx.cancer_type, entry.cancer_types)


def _relevant_periods(ctx, day, kb, kb_id, drugs: DrugTable) -> list[Period]:
    entry = kb.entries[kb_id]
    periods = ctx.periods_at(day)
    own = f"{entry.gene}:{entry.protein_change}".upper()
    if any(own in drugs.targets(p.drug) for p in periods):
        return []  # a drug's own target is never resistance to it
    return [p for p in periods if kb.is_relevant(kb_id, [p.drug], drugs)]


class Relevance:
    """monitored_sites and _relevant_periods, each computed once per distinct situation: a cohort's
    patients share a few drug combinations, and asking the knowledge base again for every draw and
    every variant costs more than the statistics."""

    def __init__(self, kb, drugs: DrugTable, cancer_types: CancerTypes | None = None):
        self.kb, self.drugs, self.cancer_types = kb, drugs, cancer_types
        self._sites: dict[tuple, int] = {}
        self._resisted: dict[tuple, tuple[bool, ...]] = {}

    def sites(self, ctx, day) -> int:
        """monitored_sites: it depends only on the drugs taken, or without therapy records on the cancer type."""
        if ctx.known:
            key = ("taken", tuple(sorted({p.drug for p in ctx.periods_at(day)})))
        else:
            key = ("unknown", ctx.cancer_type)
        if key not in self._sites:
            self._sites[key] = monitored_sites(ctx, day, self.kb, self.drugs, self.cancer_types)
        return self._sites[key]

    def periods(self, ctx, day, kb_id) -> list[Period]:
        """_relevant_periods: which of the periods at `day` the variant resists depends only on their drugs."""
        periods = ctx.periods_at(day)
        key = (kb_id, ctx.drugs_at(day))
        if key not in self._resisted:
            relevant = _relevant_periods(ctx, day, self.kb, kb_id, self.drugs)
            self._resisted[key] = tuple(p in relevant for p in periods)
        return [p for p, resisted in zip(periods, self._resisted[key]) if resisted]


def _alert(row, kind, ctx, day, entry=None, **override) -> dict:
    alert = {column: row.get(column, "") for column in ALERT_COLUMNS if column in row}
    alert.update(
        patient=row["patient"], type=kind, therapy=ctx.therapy_label(day),
        resistance_to=",".join(entry.resistance_to or entry.drug_classes) if entry else "",
        kb_id=entry.id if entry else "", evidence=entry.evidence if entry else "",
    )  # fmt: skip
    alert.update(override)
    return alert


def _counts(row):
    alt, depth = row.get("alt_reads"), row.get("depth")
    if type(alt) is float and type(depth) is float:  # the table's own type: NaN is the only missing value
        return None if alt != alt or depth != depth or not depth else (int(alt), int(depth))
    if pd.isna(alt) or pd.isna(depth) or not depth:
        return None
    return int(alt), int(depth)


def monitored_sites(ctx, day, kb, drugs: DrugTable, cancer_types: CancerTypes | None = None) -> int:
    """How many knowledge-base sites are watched for this patient at this draw: without therapy records,
    those whose evidence covers the patient's cancer type."""
    if not ctx.known:
        return sum(1 for entry in kb.entries.values() if _cancer_matches(ctx, entry, cancer_types))
    taken = sorted({p.drug for p in ctx.periods_at(day)})
    return sum(1 for kb_id in kb.entries if kb.is_relevant(kb_id, taken, drugs))


def _alert_level(row, counts, n_sites: int, params: AlertParams) -> bool:
    """A detection strong enough to alert, given how many sites are watched. A record whose FILTER says
    the allele is not tumour DNA (germline, panel of normals) raises nothing: another draw may."""
    if row["status"] != DETECTED or params.filters.not_tumour_name(row.get("filter")):
        return False
    if counts is None:
        return params.alert_without_counts
    p_value = to_number(row.get("p_value"))
    if not _above_error(counts[0], counts[1], to_number(row.get("error_rate")), params):
        return False
    return p_value is not None and p_value <= ALONE_SHARE * params.family_alpha / max(n_sites, 1)


def _above_error(alt: int, depth: int, rate: float | None, params: AlertParams) -> bool:
    """Is the alt fraction at least `min_fold_over_error` times the draw's error rate? A rate that is a few
    times off (a bad run, a drifting or bursting position the background could not see) makes a tiny
    p-value out of an alt fraction that noise reaches; a lab does not act on 0.6 % at a position erring
    at 0.3 %, however deep the draw."""
    return rate is None or alt >= params.min_fold_over_error * rate * depth


def resistance_alerts(records: list[dict], ctx, kb, drugs, params: AlertParams, n_sites, cancer_types=None,
                      relevance: Relevance | None = None) -> list[dict]:
    """pre_existing / emergence / rising alerts of one knowledge-base variant of one patient.

    `records`: the variant's timeline rows in draw order; `n_sites(day)` is the number of
    knowledge-base sites monitored at that draw; `cancer_types` (a CancerTypes) rules out, for a
    patient without therapy records, evidence for another cancer type; `relevance` (a Relevance of the
    same knowledge base and drug table) remembers which periods each variant resists.
    """
    relevance = relevance or Relevance(kb, drugs, cancer_types)
    kb_id = records[0]["kb_id"]
    entry = kb.entries[kb_id]
    unknown = ["unknown"] if _cancer_matches(ctx, entry, cancer_types) else []
    alerts, alerted_before, announced_periods = [], False, set()
    previous_counts = previous_row = None
    previous_alone = False  # did the previous assessable draw with counts reach the bar alone?
    first_draw_of_patient = dt.date.fromisoformat(records[0]["date"])
    for index, row in enumerate(records):
        day = dt.date.fromisoformat(row["date"])
        counts = _counts(row)
        strong = alone = _alert_level(row, counts, n_sites(day), params)
        pooled_p = None
        # two draws pooled only where neither reaches the bar alone (a strong earlier draw would lend its
        # p-value to a weak later one)
        if not strong and not previous_alone and previous_counts is not None and counts is not None:
            pooled_p = _pooled_p_value(previous_row, previous_counts, row, counts, n_sites(day), params)
            strong = pooled_p is not None
        relevant = relevance.periods(ctx, day, kb_id) if ctx.known else unknown
        alerted_earlier = alerted_before
        if strong and relevant:
            baseline = [
                p for p in relevant if p != "unknown" and ctx.first_draw.get(p) == day and p not in announced_periods
            ]
            # (an alert from two draws is confirmed by construction, carries their pooled p-value and names
            # the earlier draw; its reads, depth and VAF are the later draw's)
            pooled = {} if pooled_p is None else {"p_value": pooled_p, "pooled_with": previous_row["sample"]}
            confirmed = pooled_p is not None or _confirmed(row, records[index + 1 :], params)
            if baseline or (not ctx.known and day == first_draw_of_patient):
                announced_periods.update(baseline)
                alerts.append(_alert(row, "pre_existing", ctx, day, entry, confirmed=confirmed, **pooled))
                alerted_before = True
            elif not alerted_before:
                alerts.append(_alert(row, "emergence", ctx, day, entry, confirmed=confirmed, **pooled))
                alerted_before = True
        rises = row["status"] == DETECTED and not params.filters.not_tumour_name(row.get("filter"))
        if alerted_earlier and relevant and previous_counts is not None and counts is not None and rises:
            alerts.extend(_rising(row, previous_counts, counts, ctx, day, entry, params))
        if row["status"] != NOT_ASSESSABLE and counts is not None:
            previous_counts = counts if row["status"] == DETECTED else None
            previous_row, previous_alone = row, alone
    return alerts


def _pooled_p_value(before, before_counts, row, counts, n_sites, params: AlertParams) -> float | None:
    """The p-value of two consecutive detections' pooled reads when it passes its share of the alert bar
    (else None): an emergence seen twice at a level neither draw shows strongly enough alone. The null is
    the draws' depth-weighted error with the larger overdispersion of the two; neither draw may carry a
    FILTER value that makes its reads doubtful."""
    filters = params.filters
    if row["status"] != DETECTED or any(filters.not_tumour_name(r.get("filter")) or filters.is_artifact(r.get("filter"))
                                        for r in (before, row)):  # fmt: skip
        return None
    rates = [to_number(r.get("error_rate")) for r in (before, row)]
    rhos = [to_number(r.get("dispersion")) for r in (before, row)]
    if None in rates or None in rhos:
        return None
    alt, depth = before_counts[0] + counts[0], before_counts[1] + counts[1]
    rate = (before_counts[1] * rates[0] + counts[1] * rates[1]) / depth
    if not _above_error(alt, depth, rate, params):
        return None
    p_value = null_sf(alt, depth, rate, max(rhos))
    return p_value if p_value <= (1.0 - ALONE_SHARE) * params.family_alpha / max(n_sites, 1) else None


def _confirmed(row, later_rows, params: AlertParams) -> bool:
    """A strong detection stands alone; a weak one needs the next assessable draw to detect it too.
    Alt reads the caller flags as a likely artifact (strand bias, orientation, ...) never stand alone,
    and confirm nothing: the confirming draw must detect the variant without such a FILTER value."""
    artifact = params.filters.is_artifact
    p_value = to_number(row.get("p_value"))
    if p_value is not None and p_value <= params.strong_detection_p and not artifact(row.get("filter")):
        return True
    for later in later_rows:
        if later["status"] != NOT_ASSESSABLE:
            return later["status"] == DETECTED and not artifact(later.get("filter"))
    return False


def _rising(row, before, after, ctx, day, entry, params) -> list[dict]:
    vaf_before, vaf_after = before[0] / before[1], after[0] / after[1]
    if vaf_after < params.rise_min_fold * vaf_before:
        return []
    p_value = rise_p_value(before[0], before[1], after[0], after[1])
    if p_value > params.alpha:
        return []
    return [_alert(row, "rising", ctx, day, entry, p_value=p_value, confirmed=True)]


def ctdna_levels_by_patient(timeline: pd.DataFrame) -> dict[str, list[dict]]:
    """Each patient's overall ctDNA level per draw, in date order: the pooled counts of its truncal
    variants (detected at some draw; not in the knowledge base, not CHIP, not germline-like, judged on
    each variant's first row). One vectorised pass over the cohort."""
    if timeline.empty:
        return {}
    rows = timeline  # counted rows are summed in table order within a draw, as before (the same float sums)
    alt, depth = pd.to_numeric(rows["alt_reads"], errors="coerce"), pd.to_numeric(rows["depth"], errors="coerce")
    counted = _truncal(rows) & alt.notna() & depth.notna() & (depth > 0)
    error = pd.to_numeric(rows["error_rate"], errors="coerce") if "error_rate" in rows else pd.Series(float("nan"), rows.index)
    pooled = pd.DataFrame({
        "patient": rows["patient"], "sample": rows["sample"], "date": rows["date"], "alt": alt, "depth": depth,
        "weighted_error": (depth * error).fillna(0.0), "n_variants": 1,
    })[counted].groupby(["patient", "date", "sample"], sort=True).sum()  # fmt: skip
    levels: dict[str, list[dict]] = {}
    for (patient, date, sample), point in zip(pooled.index, pooled.itertuples(index=False)):
        alt_sum, depth_sum = int(point.alt), int(point.depth)
        levels.setdefault(patient, []).append({
            "patient": patient, "sample": sample, "date": date, "alt": alt_sum, "depth": depth_sum,
            "level": alt_sum / depth_sum, "error_rate": point.weighted_error / depth_sum, "n_variants": int(point.n_variants),
        })  # fmt: skip
    return levels


def _truncal(timeline: pd.DataFrame) -> np.ndarray:
    """Rows of truncal variants: the variant (patient, chrom, pos, ref, alt) is detected at some draw and its
    first row in draw order (date, sample) names no knowledge-base id and no guard. Group codes and numpy
    instead of sorting the whole timeline and three groupby transforms (two calls per run at 780,000 rows)."""
    # -1: a key value is missing (groupby leaves the row out): never counted
    ids = timeline.groupby(VARIANT_KEY, sort=False).ngroup().fillna(-1).to_numpy(dtype=np.int64)
    n_variants = int(ids.max()) + 1
    draw_order = np.lexsort((_sort_codes(timeline["sample"]), _sort_codes(timeline["date"]), ids))  # stable
    marked = _first_has_text(timeline["kb_id"], ids, draw_order, n_variants)
    if "guard" in timeline:
        marked |= _first_has_text(timeline["guard"], ids, draw_order, n_variants)
    detected = np.zeros(n_variants, dtype=bool)
    detected[ids[(timeline["status"] == DETECTED).to_numpy(dtype=bool) & (ids >= 0)]] = True
    return (ids >= 0) & detected[ids] & ~marked[ids]


def _sort_codes(column: pd.Series) -> np.ndarray:
    """Integer codes in the column's sort order, missing values last (as sort_values puts them)."""
    codes, uniques = pd.factorize(column, sort=True)
    return np.where(codes < 0, len(uniques), codes)


def _first_has_text(column: pd.Series, ids: np.ndarray, draw_order: np.ndarray, n_variants: int) -> np.ndarray:
    """Per variant: is its first non-missing value (in draw order) non-empty as text? A variant with only
    missing values counts as marked (groupby's first is then NaN, whose text 'nan' is not empty)."""
    present = column.notna().to_numpy(dtype=bool) & (ids >= 0)
    ordered = draw_order[present[draw_order]]
    has_text = np.ones(n_variants, dtype=bool)
    if len(ordered):
        variant = ids[ordered]
        firsts = ordered[np.r_[True, variant[1:] != variant[:-1]]]
        values = column.to_numpy(dtype=object)[firsts]
        has_text[ids[firsts]] = [len(str(value)) > 0 for value in values]
    return has_text


def progression_alerts(levels: list[dict], ctx, params: AlertParams) -> list[dict]:
    """molecular_progression: the pooled truncal alt fraction (`levels`, see ctdna_levels_by_patient)
    rises significantly from its nadir."""
    alerts, nadir, rising = [], None, False
    for point in levels:
        alt, depth, level = point["alt"], point["depth"], point["level"]
        if nadir is None or level < nadir[0] / nadir[1]:
            nadir, rising = (alt, depth), False
            continue
        floor = max(nadir[0] / nadir[1], point["error_rate"])
        if rising or level < params.progression_min_fold * floor:
            continue
        p_value = rise_p_value(nadir[0], nadir[1], alt, depth)
        if p_value <= params.alpha and binomial_p_value(alt, depth, max(point["error_rate"], 1e-9)) <= params.alpha:
            rising = True
            day = dt.date.fromisoformat(point["date"])
            row = {"patient": point["patient"], "sample": point["sample"], "date": point["date"]}
            alerts.append(
                _alert(row, "molecular_progression", ctx, day, None, vaf=level, alt_reads=alt, depth=depth,
                       p_value=p_value, confirmed=True)
            )  # fmt: skip
    return alerts


@collector_paused()  # one dict per knowledge-base row, no cycles (see bulk.py)
def call_alerts(timeline: pd.DataFrame, events: pd.DataFrame, kb: KnowledgeBase, drugs: DrugTable, params: AlertParams,
                cancer_types: CancerTypes | None = None, patient_cancer: dict | None = None) -> pd.DataFrame:
    """Alerts of the cohort; `patient_cancer` maps patients to OncoTree codes (see `cancer_types`)."""
    alerts = []
    patient_cancer = patient_cancer or {}
    levels = ctdna_levels_by_patient(timeline)
    relevance = Relevance(kb, drugs, cancer_types)
    # one pass over the cohort: per-patient filtering and per-variant DataFrames cost more than the statistics
    events_of = events_by_patient(events)
    draw_days = _draw_days_by_patient(timeline)
    kb_records = _kb_records_by_variant(timeline)
    for patient in sorted(draw_days):
        mine = events_of.get(patient, [])
        draw_dates = draw_days[patient]
        ctx = PatientContext(periods_of(mine), draw_dates, params.baseline_window_days, patient_cancer.get(patient, ""))
        sites_at = {day: relevance.sites(ctx, day) for day in draw_dates}
        variants = kb_records.get(patient, {})
        found = []
        for variant in sorted(variants):
            found.extend(resistance_alerts(variants[variant], ctx, kb, drugs, params, sites_at.__getitem__, cancer_types,
                                           relevance))  # fmt: skip
        found.extend(progression_alerts(levels.get(patient, []), ctx, params))
        scans = pd_scans_of(mine)
        for alert in found:
            _add_lead_time(alert, scans)
        alerts.extend(found)
    frame = pd.DataFrame(alerts, columns=ALERT_COLUMNS)
    return frame.sort_values(["patient", "date", "type", "gene"], kind="stable").reset_index(drop=True)


def _draw_days_by_patient(timeline: pd.DataFrame) -> dict[str, list[dt.date]]:
    """patient -> its draw dates, sorted (patients without a name, NaN, are left out as groupby does)."""
    pairs = timeline[["patient", "date"]].drop_duplicates()
    days: dict[str, set] = {}
    for patient, date in zip(pairs["patient"].tolist(), pairs["date"].tolist()):
        if not pd.isna(patient):
            days.setdefault(patient, set()).add(dt.date.fromisoformat(date))
    return {patient: sorted(found) for patient, found in days.items()}


def _kb_records_by_variant(timeline: pd.DataFrame) -> dict[str, dict[tuple, list[dict]]]:
    """patient -> (chrom, pos, ref, alt) -> the knowledge-base variant's timeline rows in draw order, as
    dicts of the columns the alert rules read."""
    kb_rows = timeline[timeline.kb_id.astype(str).str.len() > 0]  # then sorted: a stable sort keeps the same order
    kb_rows = kb_rows.sort_values(["patient", "date", "sample"], kind="stable")
    extra = [c for c in ("status", "filter", "error_rate", "dispersion") if c in kb_rows]
    columns = [c for c in ALERT_COLUMNS if c in kb_rows] + extra
    grouped: dict[str, dict[tuple, list[dict]]] = {}
    for record in table_records(kb_rows, columns):
        variant = (record["chrom"], record["pos"], record["ref"], record["alt"])
        grouped.setdefault(record["patient"], {}).setdefault(variant, []).append(record)
    return grouped


def _add_lead_time(alert: dict, scans: list[dt.date]):
    day = dt.date.fromisoformat(alert["date"])
    later = [s for s in scans if s >= day]
    if later:
        alert["progression_date"] = later[0].isoformat()
        alert["lead_time_days"] = (later[0] - day).days
    else:
        alert["progression_date"] = ""
        alert["lead_time_days"] = None
