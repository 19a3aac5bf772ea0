"""A run killed mid-way (SIGKILL of Snakemake and its jobs) and rerun gives the outputs of an uninterrupted run."""

import os
import shutil
import signal
import subprocess
import sys
import threading

import pytest
from run_outputs import output_differences
from test_workflow import copy_project

from ctdna_monitor.simulate import simulate_cohort

PATIENTS = 24
BATCH = 4  # about 4 patients per ingestion job: several jobs, so the kill lands between them


@pytest.fixture(scope="module")
def cohort(root, tmp_path_factory):
    out = tmp_path_factory.mktemp("restart_cohort")
    kb = root / "resources" / "resistance_mutations.tsv"
    return simulate_cohort(out, PATIENTS, 11, kb, root / "resources" / "demo" / "truncal_variants.tsv")


def project(root, dest):
    dest.mkdir()
    copy_project(root, dest)
    shutil.copytree(root / "profiles", dest / "profiles")  # the default profile: rerun-incomplete
    return dest


def command(cohort, *extra):
    config = ["--config", f"samples={cohort / 'samples.tsv'}", f"events={cohort / 'events.tsv'}", f"ingest_batch_patients={BATCH}"]
    return [sys.executable, "-m", "snakemake", "--cores", "2", *config, *extra]


def run(workdir, cohort, *extra):
    result = subprocess.run(command(cohort, *extra), cwd=workdir, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return result


def test_killed_run_resumes_to_identical_outputs(root, tmp_path, cohort):
    reference = project(root, tmp_path / "reference")
    run(reference, cohort)

    killed = project(root, tmp_path / "killed")
    ingest = killed / "results" / "ingest"
    process = subprocess.Popen(
        command(cohort), cwd=killed, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )  # fmt: skip
    watchdog = threading.Timer(300, lambda: os.killpg(process.pid, signal.SIGKILL))
    watchdog.start()
    # Kill Snakemake and every job it started (its process group) once it has recorded two of the six
    # ingestion batches as finished: other jobs are running, the cohort-level steps have not started.
    finished = 0
    for line in process.stdout:
        finished += "(Rule: ingest_batch)" in line
        if finished == 2:
            os.killpg(process.pid, signal.SIGKILL)
            break
    watchdog.cancel()
    process.wait()
    process.stdout.close()
    assert finished == 2, "the run ended (or hung) before it could be interrupted"
    assert not (killed / "results" / "timeline.tsv").exists()
    done_before = {path.name: path.stat().st_mtime_ns for path in ingest.glob("*.tsv")}

    # SIGKILL leaves Snakemake's lock behind: --unlock, then the same command again.
    run(killed, cohort, "--unlock")
    rerun = run(killed, cohort)
    assert output_differences(reference, killed) == []
    # The rerun resumed: batches finished before the kill were not read again.
    kept = [name for name, mtime in done_before.items() if (ingest / name).stat().st_mtime_ns == mtime]
    log = rerun.stdout + rerun.stderr
    batches = len(list((reference / "results" / "ingest").glob("batch-*.tsv")))  # hashed membership: up to 8
    assert len(kept) >= 2 and log.count("rule ingest_batch:") == batches - len(kept), log[-3000:]
