"""A cohort step's patients in parts of bounded size, worked on side by side by forked processes.

The parts depend on the inputs only (consecutive patients, about `rows` records each), never on the number of
workers, so the files are the same bytes with one core or four. The fitted background of a large cohort holds
gigabytes of arrays (about 2 GB pickled at 100,000 draws): a forked worker shares it with its parent instead of
receiving a copy, which is why this uses fork and not a pool that pickles its arguments. Each part's rows are
written as a TSV part and the parts are joined in patient order. Where fork is unavailable, or with one worker,
the parts are done one after another in this process.
"""

from __future__ import annotations

import math
import multiprocessing
import shutil
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np

from .atomic import atomic_path

# The state a forked worker reads (set by the parent before the pool starts; workers inherit it).
shared: dict = {}


def patient_parts(patients, rows, part_rows: int) -> list[list]:
    """`patients` (in the order their rows are written) in consecutive groups of about `part_rows` records,
    `rows[i]` being patients[i]'s (a patient is never split; no empty group)."""
    patients = list(patients)
    if not patients:
        return []
    cumulative = np.cumsum(np.maximum(np.asarray(rows, dtype=float), 1.0))
    n_parts = max(1, min(math.ceil(cumulative[-1] / max(part_rows, 1)), len(patients)))
    bounds = np.searchsorted(cumulative, cumulative[-1] * np.arange(1, n_parts) / n_parts, side="left") + 1
    edges = [0, *sorted(set(np.clip(bounds, 1, len(patients) - 1).tolist())), len(patients)]
    return [patients[start:end] for start, end in zip(edges[:-1], edges[1:]) if end > start]


def map_parts(function, tasks: list, workers: int) -> list:
    """[function(task) for task in tasks], in `workers` forked processes when more than one (results in task
    order). An exception in a worker is raised here; a worker that dies (killed, out of memory) stops the step
    instead of leaving it waiting."""
    if workers <= 1 or len(tasks) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [function(task) for task in tasks]
    context = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(min(workers, len(tasks)), mp_context=context) as pool:
            return list(pool.map(function, tasks))
    except BrokenProcessPool as error:
        raise RuntimeError("a worker process of this step died (killed, or out of memory?): give the job more "
                           "memory (resources mem_mb) or run it with fewer cores") from error  # fmt: skip


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
