"""Shared plumbing for the Snakemake script adapters: logging, one-line errors, atomic outputs.

A job that fails ends with one line naming the file (and record, row, column where known) and what to
do: on stderr, in its log, and in `<log>.error`, which the workflow's `onerror` handler (job_errors)
prints as the run's last lines. No traceback reaches the user: an unexpected exception is summarised in
one line and its traceback goes to the job's log only.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from pathlib import Path

from .atomic import atomic_path, describe_os_error
from .errors import CtdnaError, OutputError
from .tsv import FLOAT_FORMAT, integer_column, tsv_text

ERROR_SUFFIX = ".error"
INPUT_PREFIX = "ctdna-monitor input error: "
OTHER_PREFIX = "ctdna-monitor error: "


def error_file(log_path) -> Path:
    return Path(f"{log_path}{ERROR_SUFFIX}")


def run_step(log_path: str | None, step) -> None:
    """Run `step()` with logging to `log_path`; any failure ends the job with one clear line."""
    logging.raiseExceptions = False  # a full disk must not turn a log write into a traceback
    handlers = [logging.StreamHandler(sys.stderr)]
    log_file = None
    if log_path:
        with contextlib.suppress(OSError):
            error_file(log_path).unlink()
        log_file = logging.FileHandler(log_path, mode="w")
        handlers.append(log_file)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", handlers=handlers, force=True)
    try:
        step()
        return
    except CtdnaError as error:
        line = (OTHER_PREFIX if isinstance(error, OutputError) else INPUT_PREFIX) + str(error)
    except OSError as error:
        where = error.filename or "an input or output file"
        line = OTHER_PREFIX + f"{where}: {describe_os_error(where, error)}"
    except Exception as error:  # noqa: BLE001 (a bug: one line for the user, the traceback in the log)
        _trace_to_log(log_file)
        line = OTHER_PREFIX + (
            f"unexpected {type(error).__name__}: {error}; if the inputs look right, this is a bug in ctdna-monitor: "
            f"please report it with the traceback in {log_path or 'the job log'}"
        )
    line = " ".join(line.split())  # one line, whatever the message held
    logging.getLogger("ctdna_monitor").error("%s", line)
    if log_path:
        with contextlib.suppress(OSError):
            error_file(log_path).write_text(line + "\n", encoding="utf-8")
    sys.exit(1)


def _trace_to_log(log_file: logging.FileHandler | None) -> None:
    """The current exception's traceback, to the job's log file only."""
    if log_file is None:
        return
    with contextlib.suppress(OSError, ValueError):
        log_file.stream.write(traceback.format_exc())
        log_file.flush()


INTEGER_COLUMNS = ("pos", "alt_reads", "depth", "lead_time_days")


def write_tsv(frame, path) -> None:
    """Write a table (to a temporary name, then moved into place); counts stay integers and missing
    values stay empty cells."""
    text = tsv_text(frame, INTEGER_COLUMNS)  # pandas' text, written faster (tsv.py); None where only pandas may write it
    with atomic_path(path) as temporary:
        if text is None:
            frame = frame.copy()
            for column in INTEGER_COLUMNS:
                if column in frame:
                    frame[column] = integer_column(frame[column])
            frame.to_csv(temporary, sep="\t", index=False, na_rep="", float_format=FLOAT_FORMAT)
        else:
            with open(temporary, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
