"""`ctdna-monitor-watch SAMPLESHEET`: run the workflow again whenever the sample sheet, the events table or a file
the sheet names changes (and while notifications wait in the outbox), never two runs at once on one folder.

    ctdna-monitor-watch samples.tsv --events events.tsv [--interval 60] [--once] [-- <more snakemake arguments>]

The lock is an advisory lock (flock) on `.ctdna-monitor.lock` in the working directory, held for the whole run:
the kernel releases it when the holder ends, even by a kill, so no stale lock is left behind. A watch that finds
it held waits; `--once` stops instead with exit status 75 and a message naming the holder. (Snakemake's own lock
also refuses a second Snakemake on the same folder; after a hard kill it needs `snakemake --unlock` once: see
README, "Monitoring".)
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import fcntl
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from .history import COMMITTED
from .notify.outbox import pending_ids
from .quarantine import QUARANTINE_EXIT_STATUS

LOCK = ".ctdna-monitor.lock"
BUSY_EXIT = 75  # EX_TEMPFAIL: try again later
QUARANTINE_EXIT = QUARANTINE_EXIT_STATUS  # the run went ahead without some draws (announced by the workflow)
log = logging.getLogger("ctdna_monitor.watch")


def fingerprint(sheet, events="") -> tuple:
    """(path, size, mtime) of the sheet, the events table and every vcf/bam file the sheet names."""
    sheet = Path(sheet)
    paths = [sheet] + ([Path(events)] if events else [])
    with contextlib.suppress(OSError, csv.Error, UnicodeDecodeError):
        with open(sheet, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                for column in ("vcf", "bam"):
                    if row.get(column):
                        path = Path(row[column])
                        paths.append(path if path.is_absolute() else sheet.parent / path)
    facts = []
    for path in paths:
        try:
            stat = path.stat()
            facts.append((str(path), stat.st_size, stat.st_mtime_ns))
        except OSError:
            facts.append((str(path), None, None))
    return tuple(facts)


@contextlib.contextmanager
def run_lock(path=LOCK, wait=True):
    """Hold the run lock; with wait=False raise BlockingIOError when another process holds it."""
    handle = open(path, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise
            log.info("another run holds %s (%s); waiting for it to finish", path, holder(path))
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock


def holder(path) -> str:
    with contextlib.suppress(OSError):
        return Path(path).read_text(encoding="utf-8").strip() or "unknown process"
    return "unknown process"


def snakemake_command(args) -> list[str]:
    """The workflow's command line. The user's own `--config` items (after --) join the watcher's single
    --config: Snakemake keeps only the last --config given, so a second one would drop them."""
    config = [f"samples={args.samplesheet}"] + ([f"events={args.events}"] if args.events is not None else [])
    extra, user_config, taking = [], [], False
    for item in args.snakemake:
        if item == "--config":
            taking = True
        elif taking and not item.startswith("-"):
            user_config.append(item)
        else:
            taking = False
            extra.append(item)
    return [sys.executable, "-m", "snakemake", "--cores", str(args.cores), *extra, "--config", *user_config, *config]


def history_deleted(state_dir, results="results") -> bool:
    """The alert history's folder was deleted after a run: the next run must start the history again (and
    say so in its changes, report and notification) even when no input changed, where Snakemake alone
    would find nothing to do."""
    return not (Path(state_dir) / COMMITTED).exists() and (Path(results) / "alert_changes.tsv").exists()


def run_once(args) -> int:
    """One locked run of the workflow; its exit status (BUSY_EXIT when --once finds the lock held).

    Holding the lock, no other run of this folder is active, so a Snakemake lock left by a run that was
    killed is stale: it is released first (else every later run would stop before any job, unnoticed). A
    run that ends with an error is announced (notify:), also when it stopped before any job."""
    try:
        with run_lock(args.lock, wait=not args.once):
            subprocess.call([*snakemake_command(args), "--unlock"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            command = snakemake_command(args)
            if history_deleted(args.state_dir):
                log.info("no alert history in %s: the history starts again with this run", args.state_dir)
                command[command.index("--config"):command.index("--config")] = ["--forcerun", "track_alerts"]
            status = subprocess.call(command)
            if status not in (0, QUARANTINE_EXIT):
                announce_failure(status, workflow_config(args.snakemake))
            return status
    except BlockingIOError:
        print(f"ctdna-monitor watch: another run is working on this folder ({holder(args.lock)}, lock {args.lock}); "
              "nothing was started, try again when it has finished", file=sys.stderr)  # fmt: skip
        return BUSY_EXIT


def workflow_config(extra: list[str], base: str = "config/config.yaml") -> dict:
    """The settings the workflow will see: config/config.yaml, then each `--configfile` among the
    user's Snakemake arguments (later files win, as in Snakemake), then their `--config key=value` items
    (as text); unreadable files count as empty."""
    import yaml

    files, items, taking = [base], [], None
    for item in extra:
        if item in ("--configfile", "--configfiles", "--config"):
            taking = item
        elif taking and not item.startswith("-"):
            (items if taking == "--config" else files).append(item)
        else:
            taking = None
    config: dict = {}
    for name in files:
        with contextlib.suppress(OSError, yaml.YAMLError, AttributeError, TypeError, ValueError):
            config.update(yaml.safe_load(Path(name).read_text(encoding="utf-8")) or {})
    for item in items:  # --config key=value wins over every file
        key, _, value = item.partition("=")
        config[key] = value
    return config


def announce_failure(status: int, config: dict | None = None) -> None:
    """Queue and send 'the workflow exited with status N' with the config's notify: settings (never raises)."""
    try:
        from .notify.run import notify_failure

        config = workflow_config([]) if config is None else config
        notify_failure(config.get("state_dir", ".ctdna-monitor-state"), config, [f"exit status {status}"],
                       summary=f"the workflow exited with status {status}; see its output or log")  # fmt: skip
    except Exception as error:  # noqa: BLE001 (the watcher keeps watching)
        log.warning("the failed run could not be announced: %s", error)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="ctdna-monitor-watch", description=__doc__.split("\n\n")[0])
    parser.add_argument("samplesheet")
    parser.add_argument("--events", help="events table (default: the config's)")
    parser.add_argument("--interval", type=float, default=60, help="seconds between checks (default 60)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--state-dir", help="state folder whose outbox is watched (default: the config's state_dir)")
    parser.add_argument("--lock", default=LOCK)
    parser.add_argument("--once", action="store_true", help="run once now (stop with status 75 if another run is active)")
    parser.add_argument("--max-runs", type=int, default=0, help="stop after this many runs (default: never)")
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []  # after --: more snakemake arguments
    args = parser.parse_args(argv[: len(argv) - len(extra) - (1 if "--" in argv else 0)])
    args.snakemake = extra
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    # What the workflow will read is what is watched: the events table and state folder of its config
    # unless given here (the sheet always comes from the command line).
    config = workflow_config(args.snakemake)
    watched_events = args.events if args.events is not None else str(config.get("events") or "")
    args.state_dir = args.state_dir or str(config.get("state_dir") or ".ctdna-monitor-state")
    if args.once:
        return run_once(args)
    seen, runs = None, 0
    while not args.max_runs or runs < args.max_runs:
        now = fingerprint(args.samplesheet, watched_events)
        if now != seen or pending_ids(args.state_dir) or history_deleted(args.state_dir):
            log.info("inputs changed%s: running the workflow", "" if seen is None else " since the last run")
            status = run_once(args)
            log.info("the workflow ended with exit status %d", status)
            # (a failed run is tried again at the next check, not only when the inputs change)
            seen, runs = (now if status in (0, QUARANTINE_EXIT) else None), runs + 1
            if args.max_runs and runs >= args.max_runs:
                break
        time.sleep(args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
