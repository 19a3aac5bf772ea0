"""Cell values as safe text: missing values, dates, percentages, evidence links, anchors, JSON for <script>."""

from __future__ import annotations

import hashlib
import html
import json
import math
import re

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from ..values import cell_text as text  # noqa: F401 (the report's name for it)
from ..values import native_values, to_number


def _one_kind(column: pd.Series) -> bool:
    """Does the column hold one kind of value (text, or numbers), whose equal values convert alike?"""
    if isinstance(column.dtype, pd.StringDtype) or column.dtype.kind in "biuf":
        return True
    return column.dtype == object and infer_dtype(column, skipna=True) in ("string", "empty")


def _distinct(column: pd.Series) -> tuple[np.ndarray, list]:
    """(code per cell, distinct values as Python values). Floats are told apart by their bits, so that
    0.0 and -0.0 stay two values (to_number keeps the sign)."""
    if column.dtype.kind == "f":
        values = np.ascontiguousarray(column.to_numpy())
        codes, bits = pd.factorize(values.view(f"i{values.itemsize}"))
        return codes, bits.view(values.dtype).tolist()
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    return codes, uniques.tolist()


def mapped(column: pd.Series, convert) -> pd.Series:
    """`column.map(convert)`, converting each distinct value once: a 10,000-draw timeline repeats most cells."""
    if not _one_kind(column):
        return column.map(convert)
    codes, uniques = _distinct(column)
    converted = pd.Series(uniques, dtype=object).map(convert)
    return pd.Series(converted.to_numpy()[codes], index=column.index, name=column.name, dtype=converted.dtype)


def mapped_values(column: pd.Series, convert) -> list:
    """`[convert(v) for v in column]` (cells as DataFrame.to_dict gives them), as a list, each distinct value
    converted once; unlike `mapped`, results keep their Python type (None stays None, ints stay ints)."""
    if not _one_kind(column):
        return [convert(value) for value in native_values(column)]
    codes, uniques = _distinct(column)
    converted = np.empty(len(uniques), dtype=object)
    converted[:] = [convert(value) for value in uniques]
    return converted[codes].tolist()


def texts(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame.map(text)`, column by column (see mapped)."""
    return pd.DataFrame({column: mapped(frame[column], text) for column in frame.columns}, index=frame.index)


def esc(value) -> str:
    return html.escape(text(value), quote=True)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_date(value) -> str:
    """ISO date (YYYY-MM-DD) or "" when missing or unparseable; digits and dashes only, HTML-safe."""
    value = text(value)
    if not value or _ISO_DATE.fullmatch(value):  # fast path: the contract's format
        return value
    stamp = pd.to_datetime(value, errors="coerce")
    return "" if pd.isna(stamp) else stamp.strftime("%Y-%m-%d")


def pct(vaf) -> str:
    """VAF as a percentage: 2 decimals, but 2 significant digits below 0.1 %."""
    number = to_number(vaf)
    if number is None:
        return ""
    value = number * 100
    if value == 0:
        return "0%"
    decimals = max(2, 1 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}%"


def pvalue(value) -> str:
    number = to_number(value)
    return "" if number is None else f"{number:.2g}"


def int_text(value) -> str:
    number = to_number(value)
    return "" if number is None else str(int(round(number)))


def rounded(value, digits: int = 4) -> float | None:
    """A number with `digits` significant digits (keeps the embedded data small), None if missing."""
    number = value if type(value) is float else to_number(value)  # a float is its own number (once per cell)
    if number is None or not math.isfinite(number):  # NaN and infinities are not finite
        return None
    if number == 0:
        return 0.0
    return float(format(number, _SIGNIFICANT.get(digits) or f".{digits}g"))


_SIGNIFICANT = {digits: f".{digits}g" for digits in range(1, 18)}  # format specs, built once


def patient_anchor(patient: str) -> str:
    """HTML id for a patient: readable sanitised prefix + hash, so distinct ids never collide."""
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", patient).strip("-")[:40]
    digest = hashlib.sha1(patient.encode("utf-8")).hexdigest()[:10]
    return f"patient-{readable}-{digest}" if readable else f"patient-{digest}"


def script_json(data) -> str:
    """JSON safe inside <script>: '<', '>' and '&' become \\u escapes, so no value can close the tag,
    open a comment, or even appear as markup in the file."""
    dumped = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return dumped.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


# ---------------------------------------------------------------- evidence links

_PMID = re.compile(r"^PMID:\s*(\d+)$", re.IGNORECASE)
_CIVIC = re.compile(r"^CIViC:\s*EID(\d+)$", re.IGNORECASE)


def evidence_links(evidence) -> list[tuple[str, str]]:
    """(label, url) per evidence token ("PMID:1;CIViC:EID2"); url "" when not a known source.
    URLs are built from digits only, so an input can never choose where a link points."""
    links = []
    for token in re.split(r"[;,|]", text(evidence)):
        token = token.strip()
        if not token:
            continue
        if match := _PMID.match(token):
            links.append((token, f"https://pubmed.ncbi.nlm.nih.gov/{match.group(1)}/"))
        elif match := _CIVIC.match(token):
            links.append((token, f"https://civicdb.org/links/evidence_items/{match.group(1)}"))
        else:
            links.append((token, ""))
    return links


def evidence_html(evidence) -> str:
    """Evidence string as HTML links (plain anchors; nothing is fetched until a reader clicks)."""
    parts = []
    for label, url in evidence_links(evidence):
        if url:
            parts.append(f'<a href="{url}" rel="noopener noreferrer" target="_blank">{html.escape(label)}</a>')
        else:
            parts.append(html.escape(label))
    return ", ".join(parts)
