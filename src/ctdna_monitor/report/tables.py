"""Server-rendered overview tables: cohort counts, the alert table and the patient index.

Every input value is HTML-escaped here. Sort keys live in data-v attributes so the page can sort by
number or date without re-parsing formatted text; filter values live in data-* attributes of each row.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from statistics import median

import pandas as pd

from ..values import to_number
from .patients import VARIANT_KEY
from .text import esc, evidence_html, int_text, iso_date, patient_anchor, pct, pvalue, text

ALERT_TYPES = ["pre_existing", "emergence", "rising", "molecular_progression"]


def tracked_counts(tracked: dict[str, list]) -> tuple[int, int, int]:
    """(draws, variants, knowledge-base hits) of patients' timeline rows (patient -> its rows as Calls)."""
    draws = sum(len({c.sample for c in calls if c.sample}) for calls in tracked.values())
    variants = sum(len({c.key for c in calls}) for calls in tracked.values())
    kb_hits = sum(len({c.key for c in calls if c.kb_id}) for calls in tracked.values())
    return draws, variants, kb_hits


def summary_html(counts: tuple[int, int, int], alerts: pd.DataFrame, patients: list[str], response: pd.DataFrame) -> str:
    """Cohort counts; `counts`: tracked_counts of the whole timeline (added up over parts of patients)."""
    draws, variants, kb_hits = counts

    counts = Counter(alerts["type"].map(text))
    order = ALERT_TYPES + sorted(t for t in counts if t not in ALERT_TYPES)
    by_type = ", ".join(f"{html.escape(t or 'unknown')}: {counts[t]}" for t in order)
    alerted = alerts["patient"].map(text).nunique() if len(alerts) else 0

    leads = [n for n in map(to_number, alerts["lead_time_days"]) if n is not None]
    if leads:
        lead = f"median {median(leads):g} days (range {min(leads):g}–{max(leads):g}; n={len(leads)})"
    else:
        lead = "n/a (no alert has a lead time)"
    responses = Counter(response["response"].map(text)) if "response" in response else Counter()
    molecular = ", ".join(f"{html.escape(k)}: {v}" for k, v in sorted(responses.items()) if k) or "n/a"

    rows = [
        ("Patients", str(len(patients))),
        ("Patients with an alert", str(alerted)),
        ("Draws", str(draws)),
        ("Variants tracked", str(variants)),
        ("Alerts", f"{len(alerts)} ({by_type})"),
        ("Knowledge-base hits", f"{kb_hits} variant(s) matched a knowledge-base entry"),
        ("Lead time (ctDNA alert → progression)", lead),
        ("Molecular response", molecular),
    ]
    items = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    return f'<section id="summary"><h2>Cohort summary</h2><dl class="summary">{items}</dl></section>'


def _anchor_href(patient: str) -> str:
    return f"#{patient_anchor(patient)}"


def unknown_therapies_html(unknown: dict, href=_anchor_href) -> str:
    """Therapy names the drug table does not know, with their patients: shown at the top of the report,
    because no resistance alert can be raised under them (a silently missing alert is the worst outcome)."""
    if not unknown:
        return ""
    items = "".join(
        f"<li><strong>{html.escape(name)}</strong>: "
        + ", ".join(f'<a href="{html.escape(href(p), quote=True)}">{html.escape(p)}</a>' for p in patients) + "</li>"
        for name, patients in unknown.items()
    )
    return (
        '<section id="unknown-therapies" class="warn" role="alert"><h2>Therapies not in the drug table '
        f"({len(unknown)})</h2><p>These names are kept as written, but no knowledge-base entry can be matched to "
        "them: <strong>no resistance alert is raised under these therapies</strong>. Add them to the drug table "
        f"(with provenance) if they should be monitored.</p><ul>{items}</ul></section>"
    )


# ---------------------------------------------------------------- alert table

ALERT_HEADERS = [
    ("Patient", "text"), ("Type", "text"), ("Gene", "text"), ("Protein change", "text"), ("Draw date", "text"),
    ("VAF", "num"), ("Alt/depth", "num"), ("p-value", "num"), ("Therapy", "text"), ("Resistance to", "text"),
    ("Progression date", "text"), ("Lead time (days)", "num"), ("Confirmed", "text"), ("Evidence", "text"),
]  # fmt: skip


def _drugs(alert) -> list[str]:
    names = re.split(r"[,;+]", f"{text(alert['therapy'])},{text(alert['resistance_to'])}")
    return sorted({n.strip().lower() for n in names if n.strip() and n.strip().lower() != "unknown"})


def _num_cell(shown: str, key) -> str:
    number = to_number(key)
    return f'<td class="num" data-v="{"" if number is None else repr(number)}">{shown}</td>'


def _pooled_note(alert) -> str:
    """After the p-value of an alert from two pooled draws: the earlier draw (the reads shown are the later's)."""
    earlier = text(alert.get("pooled_with"))
    return f'<br><small class="muted">pooled with {html.escape(earlier)}</small>' if earlier else ""


def _alert_row(alert, href=_anchor_href) -> str:
    patient = text(alert["patient"])
    alt, depth = int_text(alert["alt_reads"]), int_text(alert["depth"])
    drugs = "|".join(_drugs(alert))
    cells = [
        f'<td><a href="{html.escape(href(patient), quote=True)}">{html.escape(patient)}</a></td>',
        f"<td>{esc(alert['type'])}</td>",
        f"<td>{esc(alert['gene'])}</td>",
        f"<td>{esc(alert['protein_change'])}</td>",
        f"<td>{alert['date']}</td>",
        _num_cell(pct(alert["vaf"]), alert["vaf"]),
        _num_cell(f"{alt}/{depth}" if alt or depth else "", alert["alt_reads"]),
        _num_cell(pvalue(alert["p_value"]) + _pooled_note(alert), alert["p_value"]),
        f"<td>{esc(alert['therapy'])}</td>",
        f"<td>{esc(alert['resistance_to'])}</td>",
        f"<td>{iso_date(alert['progression_date'])}</td>",
        _num_cell(int_text(alert["lead_time_days"]), alert["lead_time_days"]),
        f"<td>{esc(alert.get('confirmed'))}</td>",
        f"<td>{evidence_html(alert['evidence'])}</td>",
    ]
    return (f'<tr data-type="{esc(alert["type"])}" data-gene="{esc(alert["gene"])}" '
            f'data-drugs="{html.escape(drugs, quote=True)}">' + "".join(cells) + "</tr>")


def _options(values) -> str:
    return "".join(f'<option value="{html.escape(v, quote=True)}">{html.escape(v)}</option>' for v in sorted(values) if v)


def alerts_html(alerts: pd.DataFrame, href=_anchor_href, note: str = "click a patient to open its timeline") -> str:
    """The alert table; `href`: patient -> the link of its name (default: its section of the page)."""
    if alerts.empty:
        return '<section id="alerts"><h2>Alerts</h2><p>No alerts</p></section>'
    ordered = alerts.sort_values(["patient", "date"], kind="stable").to_dict("records")
    head = "".join(f'<th data-sort="{kind}" tabindex="0">{name}</th>' for name, kind in ALERT_HEADERS)
    body = "".join(_alert_row(row, href) for row in ordered)
    types = {text(a["type"]) for a in ordered}
    genes = {text(a["gene"]) for a in ordered}
    drugs = {d for a in ordered for d in _drugs(a)}
    filters = (
        '<div class="filters" id="alert-filters">'
        f'<label>Type <select data-filter="type"><option value="">all</option>{_options(types)}</select></label>'
        f'<label>Gene <select data-filter="gene"><option value="">all</option>{_options(genes)}</select></label>'
        f'<label>Drug <select data-filter="drugs"><option value="">all</option>{_options(drugs)}</select></label>'
        '<span class="muted" id="alert-count"></span></div>'
    )
    return (f'<section id="alerts"><h2>Alerts</h2>{filters}<div class="scroll tablebox">'
            f'<table class="sortable" id="alert-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>"
            f'<p class="note">Click a column header to sort; {note}.</p></section>')


# ---------------------------------------------------------------- patient index

INDEX_HEADERS = [
    ("Patient", "text"), ("Cancer type", "text"), ("Draws", "num"), ("Variants", "num"), ("Knowledge-base variants", "num"),
    ("Alerts", "num"), ("Alert types", "text"), ("Lead time of first resistance alert (days)", "num"),
    ("Molecular response", "text"), ("ctDNA change from baseline", "num"),
]  # fmt: skip


def patient_index_html(patients: list[dict]) -> str:
    """One row per patient: counts, alerts, lead time and molecular response; each links to the patient."""
    if not patients:
        return '<section id="patients"><h2>Patients</h2><p>No patients</p></section>'
    head = "".join(f'<th data-sort="{kind}" tabindex="0">{name}</th>' for name, kind in INDEX_HEADERS)
    rows = []
    for p in patients:
        kb = sum(1 for v in p["variants"] if v["kb_id"])
        kinds = ", ".join(sorted({a["type"] for a in p["alerts"]}))
        lead = p["lead"][2] if p["lead"] else None
        response = p["response"] or {}
        change = response.get("change")
        cells = [
            f'<td><a href="#{p["anchor"]}">{html.escape(p["id"])}</a></td>',
            f"<td>{esc(p.get('cancer_type'))}</td>",
            _num_cell(str(len(p["draws"])), len(p["draws"])),
            _num_cell(str(len(p["variants"])), len(p["variants"])),
            _num_cell(str(kb), kb),
            _num_cell(str(len(p["alerts"])), len(p["alerts"])),
            f"<td>{html.escape(kinds)}</td>",
            _num_cell(int_text(lead), lead),
            f"<td>{esc(response.get('response'))}</td>",
            _num_cell("" if change is None else f"{change:+g}%", change),
        ]
        rows.append(f'<tr data-patient="{html.escape(p["id"], quote=True)}">{"".join(cells)}</tr>')
    return (
        '<section id="patients"><h2>Patients</h2>'
        '<div class="filters"><label>Find patient <input type="search" id="patient-filter" '
        'autocomplete="off"></label><span class="muted" id="patient-count"></span></div>'
        f'<div class="scroll tablebox"><table class="sortable" id="patient-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div></section>"
    )


# ---------------------------------------------------------------- background QC

BACKGROUND_HEADERS = [
    ("Site", "text"), ("Gene", "text"), ("Change", "text"), ("Substitution", "text"), ("Error rate", "num"),
    ("Overdispersion (rho)", "num"), ("Source", "text"), ("Patients used", "num"), ("Draws excluded", "num"),
    ("Carrier patients", "num"), ("Recurrent variant", "text"),
]  # fmt: skip


def _sci(value) -> str:
    number = to_number(value)
    return "" if number is None else f"{number:.2g}"


def site_names(calls: list, names: dict | None = None) -> dict:
    """(chrom, pos, ref, alt) -> (gene, protein change), the first the timeline names (`calls`: its rows as
    patients.Call, in table order); `names`: those of the rows before, updated."""
    names = {} if names is None else names
    for call in calls:
        if call.key not in names or not names[call.key][0]:
            names[call.key] = (call.gene, call.protein_change)
    return names


def _background_row(row, names) -> str:
    key = tuple(text(row[c]) for c in VARIANT_KEY)
    gene, change = names.get(key, ("", ""))
    recurrent = text(row.get("recurrent_variant")) == "yes"
    cells = [
        f"<td>{html.escape(f'{key[0]}:{key[1]} {key[2]}>{key[3]}')}</td>",
        f"<td>{html.escape(gene)}</td>",
        f"<td>{html.escape(change)}</td>",
        f"<td>{esc(row.get('substitution'))}</td>",
        _num_cell(_sci(row.get("error_rate")), row.get("error_rate")),
        _num_cell(_sci(row.get("dispersion")), row.get("dispersion")),
        f"<td>{esc(row.get('source'))}</td>",
        _num_cell(int_text(row.get("n_patients")), row.get("n_patients")),
        _num_cell(int_text(row.get("n_draws_excluded")), row.get("n_draws_excluded")),
        _num_cell(int_text(row.get("carrier_patients")), row.get("carrier_patients")),
        f"<td>{'recurrent variant' if recurrent else ''}</td>",
    ]
    marker = ' class="recurrent"' if recurrent else ""
    return f"<tr{marker}>{''.join(cells)}</tr>"


def background_qc_html(background: pd.DataFrame | None, names: dict) -> str:
    """Background QC: per tracked site the error model used (rate, overdispersion, where it came from,
    how many patients informed it, how many were left out as carriers) and the recurrent variants:
    sites whose 'noise' is a variant carried by several patients, never folded into an error rate; `names`:
    site_names of the timeline's rows."""
    if background is None or background.empty:
        return ""
    rows = background.to_dict("records")
    recurrent = [r for r in rows if text(r.get("recurrent_variant")) == "yes"]
    rows.sort(key=lambda r: (text(r.get("recurrent_variant")) != "yes", -(to_number(r.get("error_rate")) or 0.0)))
    sources = Counter(text(r.get("source")) for r in rows)
    listed = ", ".join(
        html.escape(" ".join(x for x in names.get(tuple(text(r[c]) for c in VARIANT_KEY), ("", "")) if x)
                    or f"{text(r['chrom'])}:{text(r['pos'])} {text(r['ref'])}>{text(r['alt'])}")
        + f" ({int_text(r.get('carrier_patients'))} patients)"
        for r in recurrent
    )  # fmt: skip
    head = "".join(f'<th data-sort="{kind}" tabindex="0">{name}</th>' for name, kind in BACKGROUND_HEADERS)
    summary = ", ".join(f"{html.escape(k)}: {v}" for k, v in sorted(sources.items()))
    return (
        '<section id="background-qc"><h2>Background QC</h2>'
        f"<p>{len(rows)} tracked site(s); error model from {summary}. "
        "Error rates are learnt only from noise: patients carrying the variant at a site are left out of "
        "that site's background, and no site's noise may exceed the physical ceiling (config/README.md).</p>"
        f"<p><strong>Sites flagged as recurrent variants ({len(recurrent)})</strong>: "
        f"{listed or 'none'}. Their carriers are excluded from the background; they are variants, not noise.</p>"
        f'<div class="scroll tablebox"><table class="sortable" id="background-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(_background_row(r, names) for r in rows)}</tbody></table></div></section>"
    )
