"""The run's last lines: the one-line messages of the jobs that failed (see runner.run_step).

Called by the workflow's `onerror` handler, after Snakemake's own failure report, so the user's last
lines name the file, record and what to do instead of a Snakemake stack dump."""

from __future__ import annotations

import sys
from pathlib import Path

from .runner import ERROR_SUFFIX


def failed_job_lines(log_root, started: float) -> list[str]:
    """Messages of the jobs of this run (files written since `started`), oldest first."""
    found = []
    root = Path(log_root)
    if not root.is_dir():
        return []
    for path in root.rglob(f"*{ERROR_SUFFIX}"):
        try:
            stat = path.stat()
            if stat.st_mtime + 2 < started:  # an earlier run's message (2 s for coarse file-system clocks)
                continue
            text = path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue
        if text:
            found.append((stat.st_mtime, str(path), text.splitlines()[-1]))
    return [line for _, _, line in sorted(found)]


def end_with_job_errors(log_root, started: float, snakemake_log=None) -> None:
    """Print the failed jobs' messages last and exit 1; without any, leave Snakemake's report as it is.

    Exiting here skips Snakemake's closing lines (its log's path, which is printed first instead, and
    "WorkflowError: At least one job did not complete successfully"); its lock is released as usual."""
    lines = failed_job_lines(log_root, started)
    if not lines:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    logs = [str(path) for path in (snakemake_log if isinstance(snakemake_log, list | tuple) else [snakemake_log]) if path]
    if logs:
        print(f"Complete log: {', '.join(logs)}", file=sys.stderr)
    print("\n".join(lines), file=sys.stderr, flush=True)
    raise SystemExit(1)


def config_problem(error) -> str:
    """One line for a config that fails its schema (Snakemake's WorkflowError wrapping jsonschema's error),
    instead of the schema dump Snakemake prints."""
    candidates = (*getattr(error, "args", ()), error.__cause__, error.__context__)
    cause = next((a for a in candidates if hasattr(a, "absolute_path") and hasattr(a, "message")), None)
    if cause is None:
        first = (str(error).strip().splitlines() or ["not valid"])[0]
        return f"the configuration is not valid ({first}); see config/README.md"
    key = ".".join(str(part) for part in cause.absolute_path) or "(top level)"
    message = " ".join(str(cause.message).split())
    return f"configuration key '{key}': {message}; fix config/config.yaml or the --config value (every key: config/README.md)"
