"""Cell values from tables: one definition of 'missing' for the whole package.

These run once per cell of a 10,000-draw timeline (millions of calls), so each first tests the two types
a table read by pandas holds (str and float) with an exact type check, and only then the general rules;
the results are the same either way.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype
from pandas.core.dtypes.cast import maybe_box_native


def is_missing(value) -> bool:
    """None, NaN, pandas NA/NaT and blank strings are missing."""
    kind = type(value)
    if kind is str:
        return not value.strip()
    if kind is float:
        return value != value  # NaN
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def to_number(value) -> float | None:
    """A float, or None when missing or not a number (never 0 for missing)."""
    if type(value) is float:
        return None if value != value else value
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
    kind = type(value)
    if kind is str:
        return value.strip()
    if kind is float and value == value:
        return str(int(value)) if value.is_integer() else str(value)
    if is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def native_values(column: pd.Series) -> list:
    """The column's cells as Python values, as DataFrame.to_dict("records") gives them (numpy scalars
    inside an object column become Python numbers)."""
    if isinstance(column.dtype, pd.StringDtype) or (column.dtype != object and isinstance(column.dtype, np.dtype)):
        return column.tolist()
    if column.dtype == object:
        values = column.tolist()
        if infer_dtype(column, skipna=True) in ("string", "empty"):
            return values
        return [maybe_box_native(value) for value in values]
    return [row[column.name] for row in column.to_frame().to_dict("records")]  # other pandas types (rare)


def table_records(frame: pd.DataFrame, columns=None) -> list[dict]:
    """`frame.to_dict("records")` (of `columns` only, when given), built column by column: pandas boxes
    every cell on its own, which costs seconds on a 780,000-row timeline."""
    columns = list(frame.columns) if columns is None else list(columns)
    lists = [native_values(frame[column]) for column in columns]
    return [dict(zip(columns, row)) for row in zip(*lists)]
