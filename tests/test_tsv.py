"""tsv.tsv_text writes exactly what pandas' to_csv wrote (results files are compared byte for byte)."""

import io

import numpy as np
import pandas as pd
import pytest

from ctdna_monitor.runner import INTEGER_COLUMNS, write_tsv
from ctdna_monitor.tsv import integer_column, tsv_text


def pandas_text(frame: pd.DataFrame) -> str:
    frame = frame.copy()
    for column in INTEGER_COLUMNS:
        if column in frame:
            frame[column] = integer_column(frame[column])
    buffer = io.StringIO()
    frame.to_csv(buffer, sep="\t", index=False, na_rep="", float_format="%.6g")
    return buffer.getvalue()


def mixed_table(rows: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    floats = rng.lognormal(-8, 4, rows) * rng.choice([-1, 1], rows)
    floats[::7] = np.nan
    floats[1::11] = 0.0
    floats[2::13] = 1e300
    floats[3::17] = 0.5  # repeated values: formatted once
    return pd.DataFrame({
        "patient": [f"P{i % 9}" for i in range(rows)],
        "pos": rng.integers(1, 2**40, rows),
        "alt_reads": np.where(rng.random(rows) < 0.2, np.nan, rng.integers(0, 500, rows).astype(float)),
        "depth": rng.integers(0, 90000, rows).astype(float) + np.where(rng.random(rows) < 0.5, 0.5, 0.0),
        "vaf": floats,
        "p_value": np.where(rng.random(rows) < 0.5, 1.0, rng.random(rows)),
        "gene": pd.array(np.where(rng.random(rows) < 0.3, None, "EGFR"), dtype="str"),
        "note": np.array(["", "é", "x y", None, "a,b"] * (rows // 5), dtype=object),
        "flag": rng.random(rows) < 0.5,
        "count": pd.array(np.where(rng.random(rows) < 0.3, None, 5), dtype="Int64"),
    })  # fmt: skip


@pytest.mark.parametrize("rows", [0, 1, 500])
def test_text_is_pandas_text(rows):
    frame = mixed_table(500).head(rows)
    assert tsv_text(frame, INTEGER_COLUMNS) == pandas_text(frame)


def test_negative_zero_keeps_its_sign():
    frame = pd.DataFrame({"a": [0.0, -0.0, 0.0, -0.0, np.nan, 1.5], "b": "x"})
    assert tsv_text(frame) == pandas_text(frame)
    assert "\n-0\tx\n" in tsv_text(frame)


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"a": ["tab\there", "x"], "b": [1, 2]}),  # the CSV writer quotes it
        pd.DataFrame({"a": ['quote"d', "x"], "b": [1, 2]}),
        pd.DataFrame({"a": ["line\nbreak", "x"], "b": [1, 2]}),
        pd.DataFrame({"a": ["x", 1.5], "b": [1, 2]}),  # a float among text
        pd.DataFrame({"a": ["", "x"]}),  # a single column quotes an empty cell
        pd.DataFrame({"pos": [2.0**60, 1.0], "b": [1, 2]}),  # beyond exact integers
        pd.DataFrame({"a": pd.to_datetime(["2024-01-01", "2024-01-02"]), "b": [1, 2]}),
    ],
)
def test_anything_unusual_is_left_to_pandas(frame, tmp_path):
    assert tsv_text(frame, INTEGER_COLUMNS) is None
    write_tsv(frame, tmp_path / "t.tsv")
    assert (tmp_path / "t.tsv").read_text(encoding="utf-8") == pandas_text(frame)


def test_write_tsv_writes_the_text(tmp_path):
    frame = mixed_table()
    write_tsv(frame, tmp_path / "t.tsv")
    assert (tmp_path / "t.tsv").read_bytes() == pandas_text(frame).encode("utf-8")
