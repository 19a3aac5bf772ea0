"""A cohort step's patients in parts, worked on side by side by forked processes.

The fitted background of a large cohort holds gigabytes of arrays (about 2 GB pickled at 100,000 draws): a
forked worker shares it with its parent page by page instead of receiving a copy, which is why this uses fork and
not a process pool that pickles its arguments. Each worker writes its patients' rows as TSV parts; the parts are
joined in patient order, so the files are those one process would write. Where fork is unavailable, or with one
worker, the parts are done one after another in this process.
"""

from __future__ import annotations

import multiprocessing
import shutil
from pathlib import Path

import numpy as np

from .atomic import atomic_path

# The state a forked worker reads (set by the parent before the pool starts; workers inherit it).
shared: dict = {}


def patient_parts(patients, rows, n_parts: int) -> list[list]:
    """`patients` (in the order their rows are written) in at most `n_parts` consecutive groups of about
    equal work, `rows[i]` being the work of patients[i] (e.g. its records); no empty group."""
    patients = list(patients)
    if not patients:
        return []
    n_parts = max(1, min(n_parts, len(patients)))
    cumulative = np.cumsum(np.maximum(np.asarray(rows, dtype=float), 1.0))
    bounds = np.searchsorted(cumulative, cumulative[-1] * np.arange(1, n_parts) / n_parts, side="left") + 1
    edges = [0, *sorted(set(np.clip(bounds, 1, len(patients) - 1).tolist())), len(patients)]
    return [patients[start:end] for start, end in zip(edges[:-1], edges[1:]) if end > start]


def map_parts(function, tasks: list, workers: int) -> list:
    """[function(task) for task in tasks], in `workers` forked processes when more than one (results in task
    order; an exception in a worker is raised here)."""
    if workers <= 1 or len(tasks) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [function(task) for task in tasks]
    with multiprocessing.get_context("fork").Pool(min(workers, len(tasks))) as pool:
        return pool.map(function, tasks, chunksize=1)


def join_parts(parts, path) -> None:
    """Write the TSV files `parts` as one table at `path` (the first part's header, then every part's rows),
    atomically; the parts are removed."""
    with atomic_path(path) as temporary, open(temporary, "wb") as out:
        for number, part in enumerate(parts):
            with open(part, "rb") as handle:
                header = handle.readline()
                if number == 0:
                    out.write(header)
                shutil.copyfileobj(handle, out, 1 << 22)
    for part in parts:
        Path(part).unlink(missing_ok=True)
