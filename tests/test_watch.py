"""`ctdna-monitor-watch`: reruns on changed inputs, and never two runs at once on one folder (a real flock)."""

import os
import subprocess
import sys
import time

from test_workflow import copy_project

from ctdna_monitor.watch import BUSY_EXIT, fingerprint


def watch(workdir, *args, wait=True):
    command = [sys.executable, "-m", "ctdna_monitor.watch", "resources/demo/samples.tsv", *args]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    if wait:
        return subprocess.run(command, cwd=workdir, capture_output=True, text=True, env=env, timeout=600)
    return subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def test_fingerprint_sees_a_new_row_and_a_changed_file(root, tmp_path):
    copy_project(root, tmp_path)
    sheet = tmp_path / "resources" / "demo" / "samples.tsv"
    before = fingerprint(sheet)
    assert any(path.endswith("DEMO-P01-D2.vcf.gz") for path, _, _ in before)
    vcf = tmp_path / "resources" / "demo" / "vcf" / "DEMO-P01-D2.vcf.gz"
    os.utime(vcf, ns=(vcf.stat().st_atime_ns, vcf.stat().st_mtime_ns + 10**9))
    assert fingerprint(sheet) != before
    again = fingerprint(sheet)
    sheet.write_text(sheet.read_text() + "DEMO-P09\tDEMO-P09-D1\t2025-01-01\tvcf/new.vcf\t\t\tLUAD\n")
    assert fingerprint(sheet) != again and (str(sheet.parent / "vcf" / "new.vcf"), None, None) in fingerprint(sheet)


def test_two_runs_never_overlap(root, tmp_path):
    copy_project(root, tmp_path)
    first = watch(tmp_path, "--once", wait=False)
    lock = tmp_path / ".ctdna-monitor.lock"
    deadline = time.time() + 120
    while not (lock.exists() and lock.read_text().startswith("pid")) and time.time() < deadline:
        time.sleep(0.05)
    second = watch(tmp_path, "--once")  # the first one is working: this one stops at once, saying why
    assert second.returncode == BUSY_EXIT
    assert "another run is working on this folder (pid" in second.stderr and "nothing was started" in second.stderr
    waiting = watch(tmp_path, "--max-runs", "1", "--interval", "0.1", wait=False)  # this one waits for the first
    first_log = first.communicate(timeout=600)[0]
    assert first.returncode == 0, first_log[-3000:]
    waited = waiting.communicate(timeout=600)[0]
    assert waiting.returncode == 0, waited[-3000:]
    assert "another run holds .ctdna-monitor.lock (pid" in waited and "waiting for it to finish" in waited
    assert waited.index("waiting for it to finish") < waited.index("Building DAG of jobs")  # it ran after the first
    assert (tmp_path / "results" / "alert_changes.tsv").exists()


def test_a_lock_left_by_a_killed_run_does_not_stop_monitoring(root, tmp_path):
    """A run killed hard leaves Snakemake's lock behind; every later run would then stop before any job. The
    watcher holds its own lock, so no run of this folder is active: it releases the stale lock and runs."""
    copy_project(root, tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    dry = subprocess.run([sys.executable, "-m", "snakemake", "-n"], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert dry.returncode == 0, (dry.stdout + dry.stderr)[-2000:]  # (a dry run of a fresh folder works too)
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    (locks / "0.output.lock").write_text("results/report.html\n")  # as Snakemake writes it
    plain = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1"], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert plain.returncode != 0 and "cannot be locked" in (plain.stdout + plain.stderr)  # the stale lock stops Snakemake
    result = watch(tmp_path, "--once")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert (tmp_path / "results" / "report.html").exists()


def test_the_users_config_items_join_the_watchers_config():
    """Snakemake keeps only the last --config: the watcher's own must not drop the user's (README example)."""
    from types import SimpleNamespace

    from ctdna_monitor.watch import snakemake_command

    args = SimpleNamespace(samplesheet="s.tsv", events=None, cores=2,
                           snakemake=["--config", "quarantine_bad_draws=true", "alpha=0.01", "--keep-going"])  # fmt: skip
    command = snakemake_command(args)
    assert command.count("--config") == 1 and "--keep-going" in command
    config = command[command.index("--config") + 1 :]
    assert {"quarantine_bad_draws=true", "alpha=0.01", "samples=s.tsv"} <= set(config)


def test_the_watcher_reads_events_and_state_dir_where_the_workflow_does(tmp_path, monkeypatch):
    """Without --events/--state-dir the watcher watches the events table and outbox the workflow will use:
    config/config.yaml, overridden by the user's --configfile, overridden by their --config items."""
    from ctdna_monitor.watch import workflow_config

    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("events: base.tsv\nstate_dir: base-state\nalpha: 0.01\n")
    (tmp_path / "monitor.yaml").write_text("events: clinic.tsv\nstate_dir: /srv/state\n")
    assert workflow_config([]) == {"events": "base.tsv", "state_dir": "base-state", "alpha": 0.01}
    config = workflow_config(["--configfile", "monitor.yaml", "--keep-going"])
    assert config["events"] == "clinic.tsv" and config["state_dir"] == "/srv/state" and config["alpha"] == 0.01
    config = workflow_config(["--configfile", "monitor.yaml", "--config", "state_dir=other", "--keep-going"])
    assert config["state_dir"] == "other" and config["events"] == "clinic.tsv"
    assert workflow_config(["--configfile", "missing.yaml"])["events"] == "base.tsv"


def test_a_deleted_history_starts_again_at_the_next_tick(root, tmp_path):
    """Deleting the state folder restarts the alert history at the watcher's next run even when no input
    changed and Snakemake alone would find nothing to do: every alert new again, the report says so."""
    import shutil

    copy_project(root, tmp_path)
    first = watch(tmp_path, "--once")
    assert first.returncode == 0, (first.stdout + first.stderr)[-3000:]
    state = tmp_path / ".ctdna-monitor-state"  # the config's state_dir (not given on the command line)
    alerts = (tmp_path / "results" / "alerts.tsv").read_text().count("\n") - 1
    assert (state / "alerts.json").exists() and alerts > 0
    shutil.rmtree(state)  # right after the first run: the workflow's own trigger (params.history) sees no change
    report = tmp_path / "results" / "report.html"
    report.write_text(report.read_text().replace("the alert history starts with this run", "(overwritten)"))
    again = watch(tmp_path, "--once")
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
    assert "the history starts again with this run" in again.stderr
    assert (state / "alerts.json").exists()
    changes = (tmp_path / "results" / "alert_changes.tsv").read_text().splitlines()[1:]
    assert len(changes) == alerts and all(line.split("\t")[1] == "new" for line in changes)
    assert "the alert history starts with this run" in report.read_text()
