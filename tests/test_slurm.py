"""The demo through a real SLURM cluster (scripts/slurm_cluster.sh) with profiles/slurm: same outputs as a local run.

Selected with `-m slurm`, deselected with `-m "not slurm"`. Without root or the Debian packages the
test is skipped with the reason, unless CTDNA_REQUIRE_SLURM=1 (set by .ci/run), where it fails instead.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import time

import pytest
from run_outputs import output_differences
from test_workflow import copy_project

pytestmark = pytest.mark.slurm

REQUIRED = os.environ.get("CTDNA_REQUIRE_SLURM") == "1"
STATE = os.environ.get("CTDNA_SLURM_STATE", "/tmp/ctdna-slurm")
SLURM_CONF = f"{STATE}/etc/slurm.conf"


def unavailable(reason):
    if REQUIRED:
        pytest.fail(f"SLURM test required (CTDNA_REQUIRE_SLURM=1) but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def slurm_cluster(root):
    """A running single-node cluster; brought down again at the end if this session started it."""
    if os.geteuid() != 0:
        unavailable("not root: the test cluster runs its daemons and jobs as root")
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        unavailable("snakemake-executor-plugin-slurm is not installed (pip install -e '.[test]')")
    script = root / "scripts" / "slurm_cluster.sh"
    env = {**os.environ, "CTDNA_SLURM_STATE": STATE}
    was_running = subprocess.run([script, "status"], env=env, capture_output=True).returncode == 0
    up = subprocess.run([script, "up"], env=env, capture_output=True, text=True, timeout=600)
    if up.returncode != 0:
        unavailable(f"the cluster did not come up: {up.stderr.strip()[-500:]}")
    yield {**env, "SLURM_CONF": SLURM_CONF}
    if not was_running:
        subprocess.run([script, "down"], env=env, capture_output=True, timeout=120)


def copy_with_profiles(root, dest):
    dest.mkdir()
    copy_project(root, dest)
    shutil.copytree(root / "profiles", dest / "profiles")
    return dest


def run(workdir, env, *args, timeout=900):
    # SIGINT on timeout (SIGTERM would make Snakemake wait for running jobs; SIGINT cancels them).
    command = ["timeout", "-s", "INT", "-k", "30", str(timeout), sys.executable, "-m", "snakemake", *args]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, env={**env, "PYTHONUNBUFFERED": "1"})


def sacct_jobs(env, workdir, since):
    """(job id, state) of the allocations sacct recorded with this working directory."""
    command = ["sacct", "-X", "-n", "-P", "-S", since, "-o", "jobid,state,workdir"]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    rows = [line.split("|") for line in out.splitlines() if line.strip()]
    return [(job, state) for job, state, folder in rows if os.path.realpath(folder) == os.path.realpath(workdir)]


def test_demo_on_slurm_equals_local_run(root, tmp_path, slurm_cluster):
    local = copy_with_profiles(root, tmp_path / "local")
    on_slurm = copy_with_profiles(root, tmp_path / "slurm")
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 5))

    # Local and cluster runs at the same time: the cluster waits on its scheduler most of the time.
    env = {**os.environ}
    local_run = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "1"], cwd=local, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )  # fmt: skip
    result = run(
        on_slurm, slurm_cluster, "--workflow-profile", "profiles/slurm", "--slurm-init-seconds-before-status-checks", "2"
    )  # fmt: skip
    local_log = local_run.communicate(timeout=600)[0]
    assert local_run.returncode == 0, local_log[-3000:]
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]

    assert output_differences(local, on_slurm) == []

    # Every job went through the scheduler and its accounting: two ingestion batches (three patients
    # each), DEMO-P02's re-genotyping (group "genotype"), then timeline, alerts and report in one
    # submission (group "cohort"): four allocations, all completed.
    jobs = sacct_jobs(slurm_cluster, on_slurm, since)
    assert len(jobs) == 4, jobs
    assert {state for _, state in jobs} == {"COMPLETED"}, jobs
