"""Column-by-column helpers of the report give exactly what their row-by-row definitions give."""

import numpy as np
import pandas as pd

from ctdna_monitor.filters import FilterPolicy
from ctdna_monitor.report.patient_page import page_row, page_rows
from ctdna_monitor.report.patients import calls_from_records, timeline_calls
from ctdna_monitor.report.text import iso_date, mapped, mapped_values, rounded, text
from ctdna_monitor.values import table_records, to_number


def _timeline(object_columns: bool) -> pd.DataFrame:
    frame = pd.DataFrame({
        "patient": ["P1", "P1", "P2", "P2", "P1"],
        "sample": ["S1", " S2", "S3", "S3", "S1"],
        "date": ["2024-01-02", "2024-02-01", "2024/03/01", "", "2024-01-02"],
        "chrom": ["chr1", "chr1", "chr2", "chr2", "chr1"],
        "pos": [10, 10, 20, 20, 11],
        "ref": ["A", "A", "C", "C", "G"], "alt": ["T", "T", "G", "G", "A"],
        "gene": ["EGFR", "", "", "KRAS ", "EGFR"], "protein_change": ["T790M", "", "", "G12D", ""],
        "alt_reads": [3.0, np.nan, 0.0, 5.0, 2.0], "depth": [1000.0, 0.0, np.nan, 500.0, 800.0],
        "vaf": [0.003, np.nan, -0.0, np.nan, 0.0025], "status": ["detected", "detected", "not_detected", "detected", "odd"],
        "p_value": [1e-7, np.nan, 1.0, 0.004, np.inf], "lod": [0.001, 0.123456, np.nan, 0.0, 2e-5],
        "kb_id": ["EGFR_T790M", "", "", "KRAS_G12D", ""], "source": ["vcf", "bam", "", "vcf", "bam"],
        "filter": ["PASS", "germline;weak_evidence", "strand_bias", ".", "panel_of_normals,orientation"],
        "guard": ["", "chip", "", "", ""],
    })  # fmt: skip
    return frame.astype(object) if object_columns else frame


def test_timeline_calls_match_the_row_by_row_calls():
    for object_columns in (False, True):
        frame = _timeline(object_columns)
        policy = FilterPolicy()
        rows = table_records(frame)
        assert repr(rows) == repr(frame.to_dict("records"))
        expected = [call._replace(row=None) for call in calls_from_records(rows, policy)]
        assert repr(timeline_calls(frame, policy)) == repr(expected)
        assert repr(page_rows(frame)) == repr([page_row(row) for row in rows])


def test_mapped_converts_like_map():
    columns = [pd.Series([1.0, np.nan, 0.0, -0.0, 2.5]), pd.Series(["a ", "", "a ", "2024/01/02"]), pd.Series([3, 3, 4]),
               pd.Series([1, "1", 1.0, True, None], dtype=object), pd.Series(["x", np.nan], dtype="str")]  # fmt: skip
    for column in columns:
        cells = [row["c"] for row in column.to_frame("c").to_dict("records")]
        for convert in (text, iso_date, to_number, rounded):
            try:
                expected = [convert(value) for value in cells]
            except (TypeError, ValueError):  # iso_date of a number
                continue
            assert repr(mapped_values(column, convert)) == repr(expected)
        for convert in (text, iso_date):
            assert mapped(column, convert).equals(column.map(convert))
