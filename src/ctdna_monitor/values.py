"""Cell values from tables: one definition of 'missing' for the whole package."""

from __future__ import annotations

import math

import pandas as pd


def is_missing(value) -> bool:
    """None, NaN, pandas NA/NaT and blank strings are missing."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def to_number(value) -> float | None:
    """A float, or None when missing or not a number (never 0 for missing)."""
    if is_missing(value):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def to_text(value) -> str:
    return "" if is_missing(value) else str(value)


def cell_text(value) -> str:
    """Plain text of a cell: "" for missing; integral floats without ".0" (pos 123.0)."""
    if is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
