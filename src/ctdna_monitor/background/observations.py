"""Which counts the background may learn from: unbiased files, and sparse files made usable."""

from __future__ import annotations

import pandas as pd

from .common import SITE


def genotyping_samples(calls: pd.DataFrame) -> set[str]:
    """Draws of patients whose VCFs genotype sites (some record has 0 alt reads and a depth).

    Judged per patient: a force-calling pipeline may by chance have no zero-count record in a draw
    where every tracked site has reads, and that draw is no less unbiased.
    """
    alt = pd.to_numeric(calls["alt_reads"], errors="coerce")
    depth = pd.to_numeric(calls["depth"], errors="coerce")
    patients = set(calls.loc[(alt == 0) & (depth > 0), "patient"])
    return set(calls.loc[calls["patient"].isin(patients), "sample"])


def sparse_observations(rows: pd.DataFrame, draws: pd.DataFrame) -> pd.DataFrame:
    """Counts of sparse VCFs (records only where there are alt reads) made usable for the background.

    A sparse file's silence at a site means "no alt read" only if its caller lists single-read
    alleles, so this applies to a patient whose records include one with exactly 1 alt read. Then the
    patient's panel is every site its files report in any draw, and a draw silent at one of them
    counts as 0 alt reads at that draw's median depth (its records' depths; the patient's median for a
    draw without records). Other sparse patients give nothing: a list of alleles above a caller's
    threshold would overstate the error. Columns: patient sample date chrom pos ref alt alt_reads depth."""
    frame = counted(rows)
    if frame.empty:
        return frame[[c for c in rows.columns]]
    single = frame.groupby("patient")["alt_reads"].min() == 1
    frame = frame[frame["patient"].map(single).fillna(False).astype(bool)]
    if frame.empty:
        return frame
    frame = frame.drop_duplicates(["sample", *SITE])
    mine = draws[draws["patient"].isin(set(frame["patient"]))][["patient", "sample", "date"]].drop_duplicates("sample")
    panel = frame[["patient", *SITE]].drop_duplicates()
    grid = panel.merge(mine, on="patient")
    depth_of = frame.groupby("sample")["depth"].median()
    patient_depth = frame.groupby("patient")["depth"].median()
    grid = grid.merge(frame[["sample", *SITE, "alt_reads", "depth"]], on=["sample", *SITE], how="left")
    silent = grid["alt_reads"].isna()
    fill = grid["sample"].map(depth_of).fillna(grid["patient"].map(patient_depth))
    grid.loc[silent, "alt_reads"] = 0
    grid.loc[silent, "depth"] = fill[silent].round()
    grid = grid.dropna(subset=["depth"])
    return grid.astype({"alt_reads": int, "depth": int})[["patient", "sample", "date", *SITE, "alt_reads", "depth"]]


def counted(observations: pd.DataFrame) -> pd.DataFrame:
    """Rows with usable counts, typed."""
    frame = observations.copy()
    frame["alt_reads"] = pd.to_numeric(frame["alt_reads"], errors="coerce")
    frame["depth"] = pd.to_numeric(frame["depth"], errors="coerce")
    frame = frame[(frame.depth > 0) & frame.alt_reads.notna()]
    return frame.assign(alt_reads=frame.alt_reads.astype(int), depth=frame.depth.astype(int))
