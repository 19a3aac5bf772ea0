"""The text of a results table, as pandas' `to_csv(sep="\\t", index=False, na_rep="", float_format="%.6g")`
writes it, in a fraction of its time.

pandas formats every float through a Python lambda and then hands each row to its CSV writer: about
11 s for the 780,000-row timeline of a 10,000-draw cohort. Here each column becomes a list of cell
texts (floats with the same "%.6g" formatting, integers with str) and the rows are joined with
str.join. Only tables whose text cannot differ from pandas' take this way: plain numeric, boolean and
text columns, no cell that the CSV writer would quote (a tab, a quote character, a line break), at least
two columns. For anything else `tsv_text` returns None and the caller lets pandas write the table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FLOAT_FORMAT = "%.6g"
_QUOTED = ("\t", '"', "\n", "\r")  # characters that make the CSV writer quote a cell


def integer_column(column: pd.Series) -> pd.Series:
    """A count column as whole numbers (pandas' nullable Int64), missing values kept."""
    return pd.to_numeric(column, errors="coerce").round().astype("Int64")


def tsv_text(frame: pd.DataFrame, integer_columns=()) -> str | None:
    """The table's TSV text (header line, one line per row, each ending in a newline), or None; the
    columns named in `integer_columns` are written as integer_column() gives them."""
    if len(frame.columns) < 2 or not all(isinstance(name, str) for name in frame.columns):
        return None  # a single column quotes its empty cells; pandas writes other names its own way
    columns = []
    for name in frame.columns:
        cells = _integer_cells(frame[name]) if name in integer_columns else _cells(frame[name])
        if cells is None:
            return None
        columns.append(cells)
    if any(mark in name for name in frame.columns for mark in _QUOTED):
        return None
    header = "\t".join(frame.columns)
    if not len(frame):
        return header + "\n"
    return header + "\n" + "\n".join(map("\t".join, zip(*columns))) + "\n"


def _cells(column: pd.Series) -> list[str] | None:
    """The texts of a column's cells ("" for a missing value), or None when pandas might write them otherwise."""
    dtype = column.dtype
    if dtype == np.float64:
        return _float_cells(column.to_numpy())
    if dtype == np.int64 or dtype == np.bool_:
        return [str(value) for value in column.to_numpy().tolist()]
    if isinstance(dtype, pd.Int64Dtype):
        missing = column.isna().to_numpy()
        cells = [str(value) for value in column.to_numpy(dtype=np.int64, na_value=0).tolist()]
        for i in np.flatnonzero(missing).tolist():
            cells[i] = ""
        return cells
    if dtype == np.object_ or isinstance(dtype, pd.StringDtype):
        cells = column.tolist()
        if set(map(type, cells)) != {str}:
            missing = column.isna().to_numpy()
            for i in np.flatnonzero(missing).tolist():
                cells[i] = ""
            if set(map(type, cells)) - {str}:
                return None
        joined = "".join(cells)
        if any(mark in joined for mark in _QUOTED):
            return None
        return cells
    return None


def _float_cells(values: np.ndarray) -> list[str]:
    """FLOAT_FORMAT of each value, "" for NaN; each distinct value formatted once when values repeat
    (not with a negative zero among them: factorize takes it for 0, which prints without the sign)."""
    negative_zero = bool(np.any((values == 0) & np.signbit(values)))
    codes, distinct = pd.factorize(values)  # NaN: code -1
    if negative_zero or len(distinct) > len(values) // 2:
        cells = [FLOAT_FORMAT % value for value in values.tolist()]
        for i in np.flatnonzero(np.isnan(values)).tolist():
            cells[i] = ""
        return cells
    texts = np.array([FLOAT_FORMAT % value for value in distinct.tolist()] + [""], dtype=object)
    return texts[codes].tolist()


def _integer_cells(column: pd.Series) -> list[str] | None:
    """The cells of integer_column(column), without building it for plain float or integer columns."""
    if column.dtype == np.float64:
        values = column.to_numpy()
        missing = np.isnan(values)
        whole = np.round(values[~missing])  # Series.round: numpy's round half to even
        if len(whole) and not np.abs(whole).max() < 2**53:
            return None  # beyond exact integers (or infinite): leave the table to pandas
        numbers = np.zeros(len(values), dtype=np.int64)
        numbers[~missing] = whole.astype(np.int64)
        cells = [str(number) for number in numbers.tolist()]
        for i in np.flatnonzero(missing).tolist():
            cells[i] = ""
        return cells
    if column.dtype == np.int64:
        return [str(number) for number in column.to_numpy().tolist()]
    return _cells(integer_column(column))
