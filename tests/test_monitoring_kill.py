"""A monitoring run killed (SIGKILL of Snakemake and its jobs) during ingestion, the report or notification, then
started again, gives the outputs and alert changes of an uninterrupted run; no change is lost, and a repeated
delivery carries the same identifier. Also for a later run of a folder that already has a committed history."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
import yaml
from notify_servers import free_port, http_server
from run_outputs import output_differences
from test_monitoring import Cohort
from test_workflow import copy_project

UNTIL = "2025-05-10"
LATER = "2025-06-20"  # a second run: new draws, new changes against the first run's committed history


PORT = free_port()  # one receiver address for every run, so the runs' configurations are the same


def project(root, dest):
    dest.mkdir()
    copy_project(root, dest)
    Cohort(dest).write(UNTIL)
    settings = {"samples": "samples.tsv", "events": "events.tsv", "state_dir": "state",
                "notify": {"webhook": {"enabled": True, "url": f"http://127.0.0.1:{PORT}/hook", "timeout_seconds": 60}}}  # fmt: skip
    (dest / "monitor.yaml").write_text(yaml.safe_dump(settings))
    return dest


def command(*extra):
    return [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "monitor.yaml", "--rerun-incomplete", *extra]


def run(workdir, *extra):
    result = subprocess.run(command(*extra), cwd=workdir, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return result


def run_and_kill(workdir, when) -> None:
    """Start the run; SIGKILL it (its whole process group) as soon as `when(line)` is true for an output line."""
    process = subprocess.Popen(command(), cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)  # fmt: skip
    watchdog = threading.Timer(300, lambda: os.killpg(process.pid, signal.SIGKILL))
    watchdog.start()
    killed = False
    for line in process.stdout:
        if when(line):
            os.killpg(process.pid, signal.SIGKILL)
            killed = True
            break
    watchdog.cancel()
    process.wait()
    process.stdout.close()
    assert killed, "the run ended before it could be interrupted"


@pytest.fixture(scope="module")
def reference(root, tmp_path_factory):
    """An uninterrupted run: its outputs and the message its webhook received."""
    base = tmp_path_factory.mktemp("reference")
    workdir = project(root, base / "project")
    with http_server(PORT) as posts:
        run(workdir)
    assert len(posts) == 1 and posts[0]["json"]["kind"] == "alert_changes"
    return workdir, posts[0]["json"]


@pytest.mark.parametrize("rule", ["ingest_batch", "render_report"])
def test_killed_during_ingestion_or_report_then_resumed(root, tmp_path, reference, rule):
    workdir_ref, message = reference
    workdir = project(root, tmp_path / "project")
    state = workdir / "state"
    run_and_kill(workdir, lambda line: f"rule {rule}:" in line)
    assert (state / "pending.json").exists() == (rule == "render_report")  # tracked after ingestion
    assert not (state / "alerts.json").exists()  # the history is committed only at the end
    with http_server(PORT) as posts:
        run(workdir, "--unlock")
        run(workdir)
    assert output_differences(workdir_ref, workdir) == []
    assert (workdir / "results" / "alert_changes.tsv").read_bytes() == (workdir_ref / "results" / "alert_changes.tsv").read_bytes()
    assert [p["json"]["message_id"] for p in posts] == [message["message_id"]]  # once, with the reference's id
    assert posts[0]["json"]["changes"] == message["changes"]


def test_killed_during_notification_then_resumed(root, tmp_path, reference):
    workdir_ref, message = reference
    workdir = project(root, tmp_path / "project")
    state = workdir / "state"
    hold = threading.Event()
    with http_server(PORT, hold=hold) as posts:
        def receiving(line):
            if "rule notify_changes:" not in line:
                return False
            deadline = time.time() + 60
            while not posts and time.time() < deadline:
                time.sleep(0.05)  # kill the sender once the receiver has the message (and hangs)
            return True

        run_and_kill(workdir, receiving)
        hold.set()
    assert len(posts) == 1
    with http_server(PORT) as again:
        run(workdir, "--unlock")
        run(workdir)
    assert output_differences(workdir_ref, workdir) == []
    assert (workdir / "results" / "alert_changes.tsv").read_bytes() == (workdir_ref / "results" / "alert_changes.tsv").read_bytes()
    # at least once: the interrupted delivery is repeated, with the same identifier, and then recorded as sent
    assert [p["json"]["message_id"] for p in posts + again] == [message["message_id"]] * 2
    assert not list((state / "outbox").glob("*.json"))
    assert (state / "sent" / f"{message['message_id']}.json").exists()


@pytest.fixture(scope="module")
def reference_later(root, tmp_path_factory):
    """A folder after its first run (UNTIL), kept aside, and the same folder after an uninterrupted second run
    (LATER): its outputs and the second run's message."""
    base = tmp_path_factory.mktemp("reference-later")
    workdir = project(root, base / "project")
    with http_server(PORT) as posts:
        run(workdir)
        shutil.copytree(workdir, base / "after-first-run", symlinks=True)  # mtimes kept (copy2)
        Cohort(workdir).write(LATER)
        run(workdir)
    assert [p["json"]["kind"] for p in posts] == ["alert_changes"] * 2
    return workdir, posts[1]["json"], base / "after-first-run"


def test_a_later_run_killed_during_the_report_then_resumed(tmp_path, reference_later):
    """The second run of a folder with a committed history, killed and resumed: the same changes (same
    ids: they name the previous run) and one delivery, as in the uninterrupted second run."""
    workdir_ref, message, after_first = reference_later
    workdir = tmp_path / "project"
    shutil.copytree(after_first, workdir, symlinks=True)
    state = workdir / "state"
    committed = (state / "alerts.json").read_bytes()
    Cohort(workdir).write(LATER)
    run_and_kill(workdir, lambda line: "rule render_report:" in line)
    assert (state / "alerts.json").read_bytes() == committed  # the first run's history is kept as it was
    with http_server(PORT) as posts:
        run(workdir, "--unlock")
        run(workdir)
    assert output_differences(workdir_ref, workdir) == []
    assert (workdir / "results" / "alert_changes.tsv").read_bytes() == (workdir_ref / "results" / "alert_changes.tsv").read_bytes()
    assert [p["json"]["message_id"] for p in posts] == [message["message_id"]]
    assert posts[0]["json"]["changes"] == message["changes"] and message["changes"]
