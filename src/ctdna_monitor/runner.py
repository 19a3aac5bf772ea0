"""Shared plumbing for the Snakemake script adapters: logging and one-line errors."""

from __future__ import annotations

import logging
import sys

import pandas as pd

from .errors import CtdnaError


def run_step(log_path: str | None, step) -> None:
    """Run `step()` with logging to `log_path`; a CtdnaError ends the job with one clear line."""
    handlers = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", handlers=handlers, force=True)
    try:
        step()
    except CtdnaError as error:
        logging.getLogger("ctdna_monitor").error("%s", error)
        sys.exit(1)


INTEGER_COLUMNS = ("pos", "alt_reads", "depth", "lead_time_days")


def write_tsv(frame, path) -> None:
    """Write a table; counts stay integers and missing values stay empty cells."""
    frame = frame.copy()
    for column in INTEGER_COLUMNS:
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").round().astype("Int64")
    frame.to_csv(path, sep="\t", index=False, na_rep="", float_format="%.6g")
