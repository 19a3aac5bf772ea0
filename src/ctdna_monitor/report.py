"""Self-contained, offline HTML report for ctDNA monitoring (research use only).

``render_report`` turns the VAF timeline, the resistance alerts and the clinical
events of a cohort into ONE HTML string:

* plotly.js is embedded exactly once and every figure is drawn by a small inline
  script, so the file opens without network access; a Content-Security-Policy
  forbids the page from fetching anything;
* every value that comes from the inputs is HTML-escaped where it is written into
  HTML, and the figure JSON has ``</`` / ``<!--`` neutralised so no value can
  close the ``<script>`` it lives in. Text handed to plotly (legend names, hover
  text, annotations) is HTML-escaped as well, because plotly renders a subset of
  HTML tags in those strings (and decodes the entities back for display).
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
from collections import Counter
from itertools import cycle
from statistics import median
from typing import NamedTuple

import pandas as pd
import plotly.graph_objects as go

from .values import is_missing, to_number
import plotly.io as pio
import plotly.offline

__all__ = ["NOTICE", "evidence_html", "patient_anchor", "render_report"]

TIMELINE_COLUMNS = [
    "patient", "sample", "date", "chrom", "pos", "ref", "alt", "gene",
    "protein_change", "alt_reads", "depth", "vaf", "status", "p_value", "lod", "kb_id", "source",
]
ALERT_COLUMNS = [
    "patient", "type", "gene", "protein_change", "chrom", "pos", "ref", "alt",
    "sample", "date", "vaf", "alt_reads", "depth", "p_value", "resistance_to",
    "therapy", "progression_date", "lead_time_days", "kb_id", "evidence",
]
EVENT_COLUMNS = ["patient", "date", "event", "value"]
VARIANT_KEY = ["chrom", "pos", "ref", "alt"]
ALERT_TYPES = ["pre_existing", "emergence", "rising", "molecular_progression"]

NOTICE = "Research use only — not for clinical decision-making"
VAF_FLOOR = 1e-4  # where undetected points without a LoD are drawn on the log axis
KB_COLOURS = ["#d81b60", "#f57c00", "#8e24aa", "#c0392b"]
OTHER_COLOURS = ["#1f77b4", "#2ca02c", "#17becf", "#7f7f7f", "#9467bd", "#8c564b", "#bcbd22"]
RECIST_COLOURS = {"PD": "#d62728", "CR": "#2e7d32", "PR": "#2e7d32", "SD": "#555555"}
PLOT_CONFIG = {"responsive": True, "displaylogo": False, "showLink": False, "showSendToCloud": False}

# Network isolation: nothing may be fetched. Inline script/style are needed for the
# embedded bundle; 'unsafe-eval' only because bundled libraries may probe for eval.
CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:"
)

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#222;
  margin:0 auto;max-width:1200px;padding:0 1rem 2rem}
h1{margin-bottom:.3rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
.ruo{background:#fff3cd;border:2px solid #c0392b;color:#7a1c12;padding:.6rem 1rem;font-weight:700}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #ddd;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto}.muted{color:#777}.kb{font-weight:700}.fig{width:100%;height:440px}
dl.summary{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}
dl.summary dt{font-weight:600}dl.summary dd{margin:0}
footer{margin-top:3rem;border-top:1px solid #ddd;font-size:.85rem;color:#555}
pre{background:#f7f7f7;padding:.5rem;overflow-x:auto}
"""

Record = dict  # one table row; per-patient code works on plain dicts, not DataFrame slices


class Variant(NamedTuple):
    """One tracked variant of a patient and its timeline rows (one per sample, by date)."""

    label: str
    is_kb: bool
    rows: list[Record]


# ---------------------------------------------------------------- value helpers

def _text(value) -> str:
    """Plain text of a cell: "" for missing; integral floats without ".0" (pos 123.0)."""
    if is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _esc(value) -> str:
    return html.escape(_text(value), quote=True)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(value) -> str:
    """ISO date (YYYY-MM-DD) or "" when missing or unparseable; digits and dashes only, HTML-safe."""
    text = _text(value)
    if not text or _ISO_DATE.fullmatch(text):  # fast path: the contract's format
        return text
    stamp = pd.to_datetime(text, errors="coerce")
    return "" if pd.isna(stamp) else stamp.strftime("%Y-%m-%d")


def _pct(vaf) -> str:
    """VAF as a percentage: 2 decimals, but 2 significant digits below 0.1 %."""
    number = to_number(vaf)
    if number is None:
        return ""
    pct = number * 100
    if pct == 0:
        return "0%"
    decimals = max(2, 1 - math.floor(math.log10(abs(pct))))
    return f"{pct:.{decimals}f}%"


def _pvalue(value) -> str:
    number = to_number(value)
    return "" if number is None else f"{number:.2g}"


def _int_text(value) -> str:
    number = to_number(value)
    return "" if number is None else str(int(round(number)))


def _prepare(df: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    """Copy with every contract column present (missing ones empty), as object dtype."""
    df = pd.DataFrame() if df is None else df
    out = pd.DataFrame(index=df.index)
    for col in columns:
        out[col] = df[col].astype(object) if col in df.columns else None
    if "patient" in out:
        out["patient"] = out["patient"].map(_text)
    if "date" in out:
        out["date"] = out["date"].map(_date)
    return out


def patient_anchor(patient: str) -> str:
    """HTML id for a patient: readable sanitised prefix + hash, so distinct ids never collide."""
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", patient).strip("-")[:40]
    digest = hashlib.sha1(patient.encode("utf-8")).hexdigest()[:10]
    return f"patient-{readable}-{digest}" if readable else f"patient-{digest}"


def _script_safe(json_text: str) -> str:
    """JSON safe to inline in a <script>: no value can close the tag or open a comment."""
    return json_text.replace("</", "<\\/").replace("<!--", "\\u003c!--")


def _variant_label(row) -> str:
    gene, protein = _text(row["gene"]), _text(row["protein_change"])
    if gene:
        return f"{gene} {protein}".strip()
    return f"{_text(row['chrom'])}:{_text(row['pos'])} {_text(row['ref'])}>{_text(row['alt'])}"


# ---------------------------------------------------------------- evidence links

_PMID = re.compile(r"^PMID:\s*(\d+)$", re.IGNORECASE)
_CIVIC = re.compile(r"^CIViC:\s*EID(\d+)$", re.IGNORECASE)


def evidence_html(evidence) -> str:
    """Evidence string ("PMID:1;CIViC:EID2") as links; URLs are built from digits only."""
    parts = []
    for token in re.split(r"[;,|]", _text(evidence)):
        token = token.strip()
        if not token:
            continue
        if match := _PMID.match(token):
            url = f"https://pubmed.ncbi.nlm.nih.gov/{match.group(1)}/"
        elif match := _CIVIC.match(token):
            url = f"https://civicdb.org/links/evidence_items/{match.group(1)}"
        else:
            parts.append(html.escape(token))
            continue
        parts.append(f'<a href="{url}" rel="noopener noreferrer" target="_blank">{html.escape(token)}</a>')
    return ", ".join(parts)


# ---------------------------------------------------------------- cohort summary

def _patients(timeline: pd.DataFrame, alerts: pd.DataFrame) -> list[str]:
    ids = set(timeline["patient"]) | set(alerts["patient"])
    return sorted(pid for pid in ids if pid)


def _summary_html(timeline: pd.DataFrame, alerts: pd.DataFrame, patients: list[str]) -> str:
    draws = timeline[["patient", "sample"]].map(_text).drop_duplicates()
    variants = timeline[["patient", *VARIANT_KEY]].map(_text).drop_duplicates()
    kb_rows = timeline[timeline["kb_id"].map(_text) != ""]
    kb_hits = kb_rows[["patient", *VARIANT_KEY]].map(_text).drop_duplicates()

    counts = Counter(alerts["type"].map(_text))
    order = ALERT_TYPES + sorted(t for t in counts if t not in ALERT_TYPES)
    by_type = ", ".join(f"{html.escape(t or 'unknown')}: {counts[t]}" for t in order)

    leads = [n for n in map(to_number, alerts["lead_time_days"]) if n is not None]
    if leads:
        lead = f"median {median(leads):g} days (range {min(leads):g}–{max(leads):g}; n={len(leads)})"
    else:
        lead = "n/a (no alert has a lead time)"

    rows = [
        ("Patients", str(len(patients))),
        ("Draws", str(len(draws[draws["sample"] != ""]))),
        ("Variants tracked", str(len(variants))),
        ("Alerts", f"{len(alerts)} ({by_type})"),
        ("Knowledge-base hits", f"{len(kb_hits)} variant(s) matched a knowledge-base entry"),
        ("Lead time (ctDNA alert → progression)", lead),
    ]
    items = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    return f'<section id="summary"><h2>Cohort summary</h2><dl class="summary">{items}</dl></section>'


# ---------------------------------------------------------------- alert table

ALERT_HEADERS = [
    "Patient", "Type", "Gene", "Protein change", "Draw date", "VAF", "Alt/depth", "p-value",
    "Therapy", "Resistance to", "Progression date", "Lead time (days)", "Evidence",
]


def _alert_row(alert) -> str:
    patient = _text(alert["patient"])
    alt, depth = _int_text(alert["alt_reads"]), _int_text(alert["depth"])
    cells = [
        f'<td><a href="#{patient_anchor(patient)}">{html.escape(patient)}</a></td>',
        f"<td>{_esc(alert['type'])}</td>",
        f"<td>{_esc(alert['gene'])}</td>",
        f"<td>{_esc(alert['protein_change'])}</td>",
        f"<td>{alert['date']}</td>",
        f'<td class="num">{_pct(alert["vaf"])}</td>',
        f'<td class="num">{alt}/{depth}</td>' if alt or depth else "<td></td>",
        f'<td class="num">{_pvalue(alert["p_value"])}</td>',
        f"<td>{_esc(alert['therapy'])}</td>",
        f"<td>{_esc(alert['resistance_to'])}</td>",
        f"<td>{_date(alert['progression_date'])}</td>",
        f'<td class="num">{_int_text(alert["lead_time_days"])}</td>',
        f"<td>{evidence_html(alert['evidence'])}</td>",
    ]
    return "<tr>" + "".join(cells) + "</tr>"


def _alerts_html(alerts: pd.DataFrame) -> str:
    if alerts.empty:
        return '<section id="alerts"><h2>Alerts</h2><p>No alerts</p></section>'
    ordered = alerts.sort_values(["patient", "date"], kind="stable")
    head = "".join(f"<th>{h}</th>" for h in ALERT_HEADERS)
    body = "".join(_alert_row(row) for row in ordered.to_dict("records"))
    return (f'<section id="alerts"><h2>Alerts</h2><div class="scroll"><table>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div></section>")


# ---------------------------------------------------------------- per-patient figure

def _matching_start(open_starts: dict, drug: str) -> str | None:
    """Key of the open therapy an end event closes: same drug, else the only open one."""
    if drug.lower() in open_starts:
        return drug.lower()
    return next(iter(open_starts)) if len(open_starts) == 1 else None


def _therapy_periods(events: list[Record], first_date: str, last_date: str) -> list[tuple[str, str, str]]:
    """(drug, start, end) periods; an open therapy runs to the last draw/scan date."""
    periods, open_starts = [], {}
    therapy = [ev for ev in events if ev["event"] in ("therapy_start", "therapy_end") and ev["date"]]
    for ev in sorted(therapy, key=lambda ev: ev["date"]):
        drug, date = _text(ev["value"]), ev["date"]
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


def _plot_y(row, floor: float) -> tuple[float | None, bool]:
    """(y, detected): undetected points sit at their LoD (else the floor); y None if unknown."""
    if row["status"] == "not_detected":
        lod = to_number(row["lod"])
        return (lod if lod and lod > 0 else floor), False
    vaf = to_number(row["vaf"])
    if vaf is None:
        alt, depth = to_number(row["alt_reads"]), to_number(row["depth"])
        vaf = alt / depth if alt is not None and depth else None
    if vaf is None:
        return None, True
    return (vaf if vaf > 0 else floor), True


def _hover(label: str, row, detected: bool) -> str:
    base = f"{html.escape(label)}<br>{html.escape(_text(row['sample']))} · {row['date']}"
    if _text(row.get("source")) == "bam":
        base += "<br>re-genotyped from the BAM (the VCF had no record)"
    if not detected:
        lod = _pct(row["lod"])
        return f"{base}<br>not detected (LoD {lod or 'n/a'})"
    reads = f"{_int_text(row['alt_reads'])}/{_int_text(row['depth'])}"
    return f"{base}<br>VAF {_pct(row['vaf']) or 'n/a'} ({reads} reads)"


def _variant_trace(variant: Variant, colour: str, floor: float) -> list[go.Scatter]:
    """A line through the detected draws of one variant (knowledge-base hits thicker and starred), and
    open markers at the LoD for draws where it was not detected; they are not joined to the line, which
    would read as a measured VAF."""
    points = {True: ([], [], []), False: ([], [], [])}
    for row in variant.rows:
        if row["status"] == "not_assessable" or not row["date"]:
            continue  # drawn by _not_assessable_trace
        y, detected = _plot_y(row, floor)
        if y is None:
            continue
        xs, ys, hovers = points[detected]
        xs.append(row["date"])
        ys.append(y)
        hovers.append(_hover(variant.label, row, detected))
    name = html.escape(("★ " if variant.is_kb else "") + variant.label)
    size = 9 if variant.is_kb else 7
    group = f"variant-{id(variant)}"
    detected_xs, detected_ys, detected_hovers = points[True]
    nd_xs, nd_ys, nd_hovers = points[False]
    return [
        go.Scatter(
            x=detected_xs, y=detected_ys, mode="lines+markers", name=name, legendgroup=group,
            hovertext=detected_hovers, hoverinfo="text",
            line={"color": colour, "width": 4 if variant.is_kb else 1.5},
            marker={"symbol": "circle", "size": size, "color": colour},
        ),
        go.Scatter(
            x=nd_xs, y=nd_ys, mode="markers", name=f"{name} (not detected, at LoD)", legendgroup=group,
            showlegend=False, hovertext=nd_hovers, hoverinfo="text",
            marker={"symbol": "circle-open", "size": size, "color": colour, "line": {"width": 2, "color": colour}},
        ),
    ]  # fmt: skip


def _variant_traces(variants: list[Variant], floor: float) -> list[go.Scatter]:
    kb_colours, other_colours = cycle(KB_COLOURS), cycle(OTHER_COLOURS)
    return [trace for v in variants for trace in _variant_trace(v, next(kb_colours if v.is_kb else other_colours), floor)]


def _not_assessable_trace(variants: list[Variant], floor: float) -> go.Scatter | None:
    xs, hovers = [], []
    for label, _kb, rows in variants:
        for row in rows:
            if row["status"] == "not_assessable" and row["date"]:
                xs.append(row["date"])
                hovers.append(f"{html.escape(label)}<br>{html.escape(_text(row['sample']))} · {row['date']}"
                              "<br>not assessable (insufficient coverage)")
    if not xs:
        return None
    return go.Scatter(x=xs, y=[floor] * len(xs), mode="markers", name="not assessable",
                      marker={"symbol": "x", "size": 6, "color": "#9e9e9e"}, hovertext=hovers, hoverinfo="text")


def _alert_trace(alerts: list[Record], floor: float) -> tuple[go.Scatter | None, list[dict]]:
    xs, ys, hovers, annotations = [], [], [], []
    for alert in alerts:
        if not alert["date"]:
            continue
        vaf = to_number(alert["vaf"])
        y = vaf if vaf and vaf > 0 else floor
        kind = html.escape(_text(alert["type"]) or "alert")
        what = html.escape(f"{_text(alert['gene'])} {_text(alert['protein_change'])}".strip())
        xs.append(alert["date"])
        ys.append(y)
        hovers.append(f"<b>{kind}</b> {what}<br>{alert['date']} · VAF {_pct(vaf) or 'n/a'}"
                      f"<br>therapy: {html.escape(_text(alert['therapy'])) or '—'}")
        annotations.append({"x": alert["date"], "y": math.log10(y), "xref": "x", "yref": "y", "text": kind,
                            "showarrow": True, "arrowhead": 2, "ax": 0, "ay": -30,
                            "font": {"size": 10, "color": "#b71c1c"}})
    if not xs:
        return None, []
    trace = go.Scatter(x=xs, y=ys, mode="markers", name="alert", hovertext=hovers, hoverinfo="text",
                       marker={"symbol": "star-diamond", "size": 18, "color": "rgba(0,0,0,0)",
                               "line": {"width": 2, "color": "#b71c1c"}})
    return trace, annotations


def _event_shapes(events: list[Record], first_date: str, last_date: str) -> tuple[list[dict], list[dict]]:
    """Shaded therapy periods labelled with the drug; scans as dotted lines with RECIST (PD in red)."""
    shapes, annotations = [], []
    combined: dict[tuple[str, str], list[str]] = {}
    for drug, start, end in _therapy_periods(events, first_date, last_date):
        combined.setdefault((start, end), []).append(drug)  # a combination shares one band and label
    for (start, end), drugs in combined.items():
        drug = " + ".join(sorted(d for d in drugs if d))
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": start, "x1": end, "y0": 0, "y1": 1,
                       "fillcolor": "#90caf9", "opacity": 0.18, "line": {"width": 0}, "layer": "below"})
        annotations.append({"x": start, "y": 1.0, "xref": "x", "yref": "paper", "xanchor": "left",
                            "yanchor": "bottom", "text": html.escape(drug or "therapy"), "showarrow": False,
                            "font": {"size": 11, "color": "#0d47a1"}})
    for scan in events:
        if scan["event"] != "scan" or not scan["date"]:
            continue
        recist = _text(scan["value"]).upper()
        colour = RECIST_COLOURS.get(recist, "#555555")
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": scan["date"], "x1": scan["date"],
                       "y0": 0, "y1": 1,
                       "line": {"color": colour, "width": 2 if recist == "PD" else 1, "dash": "dot"}})
        annotations.append({"x": scan["date"], "y": 0.0, "xref": "x", "yref": "paper", "yanchor": "bottom",
                            "text": f"<b>{html.escape(recist or 'scan')}</b>", "showarrow": False,
                            "font": {"size": 11, "color": colour}, "bgcolor": "rgba(255,255,255,0.8)"})
    return shapes, annotations


def _floor(variants: list[Variant]) -> float:
    """Bottom of the log axis: VAF_FLOOR unless real values go lower."""
    values = [to_number(row[col]) for v in variants for row in v.rows for col in ("vaf", "lod")]
    return min([VAF_FLOOR] + [x / 2 for x in values if x and x > 0])


def build_patient_figure(variants: list[Variant], alerts: list[Record], events: list[Record],
                         dates: list[str]) -> go.Figure:
    """VAF-over-time figure of one patient; `dates` (draws and scans, sorted) bound open therapies."""
    floor = _floor(variants)
    traces = _variant_traces(variants, floor)
    if (na := _not_assessable_trace(variants, floor)) is not None:
        traces.append(na)
    alert_trace, alert_notes = _alert_trace(alerts, floor)
    if alert_trace is not None:
        traces.append(alert_trace)
    shapes, event_notes = _event_shapes(events, dates[0] if dates else "", dates[-1] if dates else "")
    fig = go.Figure(data=traces)
    # template "none" keeps each figure's JSON small (the default template is ~6 kB per figure)
    fig.update_layout(
        template="none", shapes=shapes, annotations=event_notes + alert_notes,
        margin={"l": 60, "r": 20, "t": 40, "b": 40}, hovermode="closest",
        legend={"orientation": "h", "y": -0.15}, plot_bgcolor="white",
        xaxis={"type": "date", "title": {"text": "draw date"}, "gridcolor": "#eee"},
        yaxis={"type": "log", "title": {"text": "VAF (log scale)"}, "tickformat": ".2~%", "gridcolor": "#eee"},
    )
    return fig


# ---------------------------------------------------------------- per-patient table

def _cell(row) -> str:
    status = _text(row["status"])
    mark = "ᴮ" if _text(row.get("source")) == "bam" else ""  # counted in the BAM, not read from the VCF
    if status == "not_detected":
        return "ND" + mark
    if status == "not_assessable":
        return "NA"
    return (_pct(row["vaf"]) + mark) if _pct(row["vaf"]) else "NA"


def _variant_table(variants: list[Variant], draws: list[tuple[str, str]]) -> str:
    if not variants or not draws:
        return '<p class="muted">No variant calls.</p>'
    head = "<th>Variant</th>" + "".join(f"<th>{date}<br>{html.escape(sample)}</th>" for sample, date in draws)
    rows = []
    for label, is_kb, vrows in variants:
        by_sample = {_text(r["sample"]): _cell(r) for r in vrows}
        name = f'<td class="kb">★ {html.escape(label)}</td>' if is_kb else f"<td>{html.escape(label)}</td>"
        cells = "".join(f'<td class="num">{by_sample.get(sample, "—")}</td>' for sample, _ in draws)
        rows.append(f"<tr>{name}{cells}</tr>")
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


# ---------------------------------------------------------------- per-patient section

def _group_variants(calls: list[Record]) -> list[Variant]:
    """Variants of one patient (one row per sample, by date), KB hits first."""
    grouped: dict[tuple[str, ...], dict[str, Record]] = {}
    for row in sorted(calls, key=lambda r: r["date"]):
        key = tuple(_text(row[col]) for col in VARIANT_KEY)
        grouped.setdefault(key, {}).setdefault(_text(row["sample"]), row)  # first call per draw wins
    variants = []
    for by_sample in grouped.values():
        rows = list(by_sample.values())
        is_kb = any(_text(r["kb_id"]) for r in rows)
        variants.append(Variant(_variant_label(rows[0]), is_kb, rows))
    return sorted(variants, key=lambda v: (not v.is_kb, v.label))


def _patient_section(patient: str, calls: list[Record], alerts: list[Record], events: list[Record]) -> str:
    anchor = patient_anchor(patient)
    variants = _group_variants(calls)
    draws = sorted({_text(r["sample"]): r["date"] for r in reversed(calls)}.items(), key=lambda d: (d[1], d[0]))
    scan_dates = [ev["date"] for ev in events if ev["event"] == "scan"]
    dates = sorted({d for d in [*(r["date"] for r in calls), *scan_dates] if d})

    fig = build_patient_figure(variants, alerts, events, dates)
    fig_json = _script_safe(pio.to_json(fig, validate=False))
    script = (f'<script>(function(){{var f={fig_json};'
              f'Plotly.newPlot("{anchor}-plot",f.data,f.layout,{json.dumps(PLOT_CONFIG)});}})();</script>')
    n_alerts = f"{len(alerts)} alert(s)" if len(alerts) else "no alerts"
    n_events = "" if len(events) else "; no clinical events recorded"
    return (f'<section class="patient" id="{anchor}"><h2>Patient {html.escape(patient)}</h2>'
            f'<p class="muted">{len(draws)} draw(s), {len(variants)} variant(s), {n_alerts}{n_events}.</p>'
            f'<div class="fig" id="{anchor}-plot"></div>{script}'
            f"<h3>VAF by draw</h3>{_variant_table(variants, draws)}"
            "<p class=\"note\">ND: not detected; NA: not assessable; ᴮ: counted in the draw's BAM "
            "where its VCF had no record.</p></section>")


# ---------------------------------------------------------------- document

def _footer_html(meta: dict) -> str:
    fields = [("Workflow version", "workflow_version"), ("Genome build", "genome_build"),
              ("Knowledge base", "knowledgebase_version"), ("Run date", "run_date")]
    prov = " · ".join(f"{name}: {_esc(meta.get(key)) or 'n/a'}" for name, key in fields)
    config = json.dumps(meta.get("config") or {}, indent=2, sort_keys=True, default=str, ensure_ascii=False)
    return (f"<footer><p>{prov}</p><p>{NOTICE}.</p>"
            f"<details><summary>Run configuration</summary><pre>{html.escape(config)}</pre></details></footer>")


def _by_patient(df: pd.DataFrame) -> dict[str, list[Record]]:
    # one pass per table: slicing DataFrames per patient and variant dominates the run time
    groups: dict[str, list[Record]] = {}
    for row in df.to_dict("records"):
        groups.setdefault(row["patient"], []).append(row)
    return groups


def render_report(timeline: pd.DataFrame, alerts: pd.DataFrame, events: pd.DataFrame, meta: dict) -> str:
    """Render the cohort report as one self-contained, offline HTML document."""
    meta = meta or {}
    timeline = _prepare(timeline, TIMELINE_COLUMNS)
    timeline["status"] = timeline["status"].map(_text)
    alerts = _prepare(alerts, ALERT_COLUMNS)
    events = _prepare(events, EVENT_COLUMNS)
    events["event"] = events["event"].map(_text)
    patients = _patients(timeline, alerts)

    tl, al, ev = _by_patient(timeline), _by_patient(alerts), _by_patient(events)
    sections = "".join(
        _patient_section(pid, tl.get(pid, []), al.get(pid, []), ev.get(pid, []))
        for pid in patients
    )
    nav = " · ".join(f'<a href="#{patient_anchor(p)}">{html.escape(p)}</a>' for p in patients)
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>ctdna-monitor report</title><style>{CSS}</style>",
        f"<script>{plotly.offline.get_plotlyjs()}</script></head><body>",
        f'<header><h1>ctdna-monitor report</h1><p class="ruo" role="note">{NOTICE}</p></header>',
        _summary_html(timeline, alerts, patients),
        _alerts_html(alerts),
        f'<nav><h2>Patients</h2><p>{nav or "No patients"}</p></nav>',
        sections,
        _footer_html(meta),
        "</body></html>\n",
    ])
