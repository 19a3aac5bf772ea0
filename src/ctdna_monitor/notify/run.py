"""The workflow's notification steps: after a successful run (notify_changes) and after a failed one."""

from __future__ import annotations

import logging

import pandas as pd

from .. import history
from .messages import changes_message, failure_message, quarantine_message
from .outbox import RESULT_COLUMNS, deliver, enqueue, queue_and_deliver
from .settings import channels

log = logging.getLogger("ctdna_monitor")


def notify_step(state_dir, pending_path, config: dict, report: str, quarantine: list | None = None) -> pd.DataFrame:
    """The last job of a run: queue this run's changes (and quarantined draws), then commit the alert
    history, then deliver the outbox (earlier failures included). Queueing comes before the commit, so a
    kill in between loses nothing: the rerun queues the same message (same identifier: not twice)."""
    pending = history.read_state(pending_path)
    enabled = channels(config)
    if pending is None:
        log.info("no pending alert history in %s", pending_path)
    elif enabled and pending["changes"]:
        enqueue(state_dir, changes_message(pending["changes"], report, pending["previous_run"]), enabled)
    elif pending["changes"]:
        log.info("%d alert change(s); notification is not enabled (config notify:)", len(pending["changes"]))
    else:
        log.info("no alert changes since the previous run: nothing to notify")
    if enabled and quarantine:
        enqueue(state_dir, quarantine_message(quarantine, report), enabled)
    if pending is not None:
        history.commit(state_dir, pending_path)
        log.info("alert history committed: %d alert(s), run of %s", len(pending["alerts"]), pending["run_at"])
    return pd.DataFrame(deliver(state_dir, config), columns=RESULT_COLUMNS)


def notify_failure(state_dir, config: dict, lines: list[str], log_path: str = "", summary: str = "") -> None:
    """For the workflow's onerror handler (and the watcher): announce the failed run. Never raises, never
    prints a traceback."""
    try:
        if channels(config):
            queue_and_deliver(state_dir, config, failure_message(lines, log_path, summary=summary))
    except Exception as error:  # noqa: BLE001 (a failed run's notification must not hide the run's own error)
        log.warning("the failed run could not be notified: %s", error)
