"""Report section: VCF records that were not used as written (the timeline's `flag` column).

A VAF replaced by alt/depth, values left missing, and draws marked because an allele is listed twice with
different values are listed near the top, one line per draw, so a number the report shows is never
silently different from what the file says."""

from __future__ import annotations

import html
import re

import pandas as pd

from ..vcf_checks import DRAW_MARK, PERCENT_FILE
from .text import mapped, patient_anchor

LIMIT = 50  # draws listed; the rest are counted (results/timeline.tsv has every row)
_NOT_A_RECORD = {"", "absent_from_vcf", "vaf_from_counts", DRAW_MARK}
_READINGS = (
    (re.compile(r"vaf_(.+)_contradicts_(\d+)_of_(\d+)_reads(_percent_scale)?$"),
     lambda m: f"allele fraction {m[1]} contradicts {m[2]} of {m[3]} reads" + (" (a percent?)" if m[4] else "")),
    (re.compile(r"vaf_(.+)_percent_scale$"), lambda m: f"allele fraction {m[1]} is a percent"),
    (re.compile(r"vaf_(.+)_outside_0_1$"), lambda m: f"allele fraction {m[1]} is outside 0-1"),
    (re.compile(r"(\w+?)_has_\d+_values_for_\d+_decimal_comma$"), lambda m: f"{m[1]} has a decimal comma"),
    (re.compile(r"(\w+?)_decimal_comma$"), lambda m: f"{m[1]} has a decimal comma"),
    (re.compile(r"conflicting_duplicate_records_([\d_]+)$"),
     lambda m: "listed twice with different values (records " + ", ".join(m[1].split("_")) + ")"),
    (re.compile(f"{PERCENT_FILE}$"), lambda m: "the file writes fractions in percent"),
)  # fmt: skip


def reading(flag: str) -> str:
    """A flag token in words (the token itself when it has no reading)."""
    for pattern, words in _READINGS:
        match = pattern.match(flag)
        if match:
            return words(match)
    return flag.replace("_", " ")


def _position(value) -> str:
    try:
        return str(int(float(value)))
    except (TypeError, ValueError):
        return str(value)


def flagged_rows(timeline: pd.DataFrame) -> pd.DataFrame:
    """The timeline rows flagged_records_html lists (of some patients' rows: each patient's are its own)."""
    if timeline.empty or "flag" not in timeline:
        return timeline.iloc[:0]
    flags = timeline["flag"].fillna("").astype(str)
    return timeline[mapped(flags, lambda f: any(t not in _NOT_A_RECORD for t in f.split(";")) or DRAW_MARK in f)]


def flagged_records_html(timeline: pd.DataFrame, href=None) -> str:
    """The section, or '' when every record was used as written."""
    rows = flagged_rows(timeline)
    if rows.empty:
        return ""
    rows = rows.astype(object).where(rows.notna(), "")
    draws = []
    for (patient, sample), group in rows.groupby(["patient", "sample"], sort=True):
        parts = []
        for row in group.itertuples(index=False):
            tokens = [t for t in str(row.flag).split(";") if t not in _NOT_A_RECORD]
            if not tokens:
                continue
            named = " ".join(str(v) for v in (row.gene, row.protein_change) if str(v))
            variant = named or f"{row.chrom}:{_position(row.pos)} {row.ref}>{row.alt}"
            outcome = "VAF taken from the read counts" if "vaf_from_counts" in str(row.flag) else "not used"
            parts.append(f"{html.escape(variant)}: {html.escape('; '.join(reading(t) for t in tokens))} ({outcome})")
        marked = group["flag"].astype(str).str.contains(DRAW_MARK).any()
        if marked:
            parts.append("<strong>draw marked</strong>: an allele is listed twice with different values; check how the VCF was made")
        target = href(str(patient)) if href else f"#{patient_anchor(str(patient))}"
        link = f'<a href="{html.escape(target, quote=True)}">{html.escape(str(patient))}</a>'
        draws.append(f"<li>{link}, draw {html.escape(str(sample))}: " + "; ".join(parts) + "</li>")
    more = len(draws) - LIMIT
    tail = f"<p>… and {more} more draws: see the <code>flag</code> column of results/timeline.tsv.</p>" if more > 0 else ""
    return (
        '<section id="flagged-records" class="warn" role="note"><h2>Records not used as written '
        f"({len(draws)} draws)</h2><p>These VCF records hold values that cannot be right. They are not used as "
        "written: a contradicted allele fraction is replaced by alt reads / depth, other values are left "
        "missing (the draw is then not assessable for that variant). The ingestion logs name the files.</p>"
        f"<ul>{''.join(draws[:LIMIT])}</ul>{tail}</section>"
    )
