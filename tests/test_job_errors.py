"""A job failing on its input ends the run with its one-line message; a full disk leaves no partial file
(issue 12, point 4). Snakemake runs for real on one demo patient."""

import os
import shutil
import subprocess
import sys

import pytest

from ctdna_monitor.atomic import atomic_path
from ctdna_monitor.errors import OutputError

PARTS = ("Snakefile", "config", "workflow", "scripts", "resources")


def one_patient_project(root, dest, patient="DEMO-P01"):
    for part in PARTS:
        source = root / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, dest / part)
    demo = dest / "resources" / "demo"
    for name in ("samples.tsv", "events.tsv"):
        lines = (demo / name).read_text().splitlines(keepends=True)
        (demo / name).write_text(lines[0] + "".join(line for line in lines[1:] if line.startswith(patient + "\t")))
    return dest


def command(root):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(root / "src")}
    return [sys.executable, "-m", "snakemake", "--cores", "2"], env


def last_line(text):
    return [line for line in text.splitlines() if line.strip()][-1]


def test_failed_job_message_is_the_last_line(root, tmp_path):
    workdir = one_patient_project(root, tmp_path)
    vcf = workdir / "resources" / "demo" / "vcf" / "DEMO-P01-D3.vcf"
    lines = vcf.read_text().splitlines(keepends=True)
    body = [i for i, line in enumerate(lines) if not line.startswith("#")]
    lines[body[1]] = "chr7\tnot-a-position\t.\tC\tT\n"  # a malformed record in the middle of the file
    vcf.write_text("".join(lines))
    args, env = command(root)
    result = subprocess.run(args, cwd=workdir, capture_output=True, text=True, env=env)
    assert result.returncode != 0
    last = last_line(result.stderr)
    assert last.startswith("ctdna-monitor input error: ") and "DEMO-P01-D3.vcf" in last and "record 2" in last, last
    assert "Traceback" not in result.stderr
    assert not (workdir / "results" / "report.html").exists()
    # The message stays the last line when the run is repeated (the job log keeps it too).
    again = subprocess.run(args, cwd=workdir, capture_output=True, text=True, env=env)
    assert last_line(again.stderr) == last


def test_a_folder_named_as_vcf_fails_with_one_line(root, tmp_path):
    workdir = one_patient_project(root, tmp_path)
    demo = workdir / "resources" / "demo"
    (demo / "vcf" / "DEMO-P01-D5.vcf").unlink()
    (demo / "vcf" / "DEMO-P01-D5.vcf").mkdir()
    args, env = command(root)
    result = subprocess.run(args, cwd=workdir, capture_output=True, text=True, env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "DEMO-P01-D5.vcf" in last_line(result.stderr) and "folder" in last_line(result.stderr)


def _can_mount_tmpfs(tmp_path):
    if not shutil.which("unshare"):
        return False
    probe = tmp_path / "probe"
    probe.mkdir()
    check = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                            f"mount -t tmpfs -o size=64k tmpfs '{probe}'"], capture_output=True)  # fmt: skip
    return check.returncode == 0


def test_full_disk_leaves_no_partial_output(root, tmp_path):
    """results/ and logs/ on one real 1 MB tmpfs (a private mount namespace): the tables fit, the report
    does not. Snakemake's own .snakemake/ stays on the ordinary disk."""
    if not _can_mount_tmpfs(tmp_path):
        pytest.skip("cannot mount a tmpfs in a user namespace here")
    (tmp_path / "work").mkdir()
    workdir = one_patient_project(root, tmp_path / "work")
    (workdir / "disk").mkdir()
    for name in ("results", "logs"):
        (workdir / name).symlink_to(workdir / "disk" / name)
    args, env = command(root)
    listing = tmp_path / "listing.txt"
    shell = (f"mount -t tmpfs -o size=1m tmpfs disk && mkdir disk/results disk/logs || exit 99; {' '.join(args)}; "
             f"rc=$?; ls -A -R disk > '{listing}'; exit $rc")  # fmt: skip
    run = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", shell],
                         cwd=workdir, capture_output=True, text=True, env=env)  # fmt: skip
    assert run.returncode not in (0, 99), run.stderr[-2000:]
    last = last_line(run.stderr)
    assert last.startswith("ctdna-monitor error: results/report.html: no space left"), run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    # What the full disk held when the run ended: the tables that fitted, no report, no temporary file.
    seen = listing.read_text()
    assert "timeline.tsv" in seen
    assert "report.html" not in seen and ".partial" not in seen and ".writing" not in seen, seen


def test_atomic_path_removes_its_temporary_file_on_failure(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old")
    with pytest.raises(OutputError, match="no space left"):
        with atomic_path(target) as temporary:
            temporary.write_text("half")
            raise OSError(28, "No space left on device")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_unexpected_error_is_one_line_with_the_traceback_in_the_log(tmp_path, capsys):
    from ctdna_monitor.runner import error_file, run_step

    log = tmp_path / "step.log"

    def step():
        raise KeyError("sample")

    with pytest.raises(SystemExit):
        run_step(str(log), step)
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and "unexpected KeyError" in err
    assert "Traceback" in log.read_text()
    assert error_file(log).read_text().startswith("ctdna-monitor error: unexpected KeyError")


def test_unreadable_vcf_is_one_line(tmp_path, monkeypatch):
    # Tests run as root, which reads any file: the permission error is raised where the file is first read.
    from ctdna_monitor import vcf_reader
    from ctdna_monitor.errors import VcfError

    path = tmp_path / "draw.vcf"
    path.write_text("##fileformat=VCFv4.2\n")

    def denied(_path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(vcf_reader, "_is_plain_gzip", denied)
    with pytest.raises(VcfError, match="draw.vcf: cannot be read \\(Permission denied\\); check the file's permissions"):
        vcf_reader.read_calls(path)


def test_config_error_is_one_line_not_a_schema_dump(root, tmp_path):
    workdir = one_patient_project(root, tmp_path)
    args, env = command(root)
    result = subprocess.run([*args, "-n", "--config", "genome_build=hg19"], cwd=workdir, capture_output=True, text=True, env=env)
    assert result.returncode != 0
    assert last_line(result.stderr) == (
        "ctdna-monitor input error: configuration key 'genome_build': 'hg19' is not one of ['GRCh38', 'GRCh37']; "
        "fix config/config.yaml or the --config value (every key: config/README.md)"
    )
    assert "Failed validating" not in result.stderr
