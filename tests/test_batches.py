"""Ingestion batches by a stable hash of the patient ID: adding a draw or a patient reads one batch again."""

import os
import re
import subprocess
import sys

from test_restart import project

from ctdna_monitor.batches import batch_count, ingest_batches
from ctdna_monitor.simulate import simulate_cohort


def test_membership_is_stable_when_patients_arrive():
    patients = [f"PT-{n:04d}" for n in range(1000)]
    before = ingest_batches(patients[:-1], 50)
    after = ingest_batches(patients, 50)
    assert batch_count(999, 50) == batch_count(1000, 50) == 32 and len(after) == 32
    changed = [name for name in after if after[name] != before.get(name)]
    assert len(changed) == 1 and patients[-1] in after[changed[0]]
    assert sorted(p for members in after.values() for p in members) == patients
    assert max(len(m) for m in after.values()) < 60  # about 31 each
    assert ingest_batches(["B", "A"], 50) == ingest_batches(["A", "B"], 50)  # order of the sheet does not matter
    assert batch_count(1, 50) == 1 and batch_count(2, 50) == 2 and batch_count(101, 50) == 4
    # a million draws (100,000 patients): at most 512 jobs (a power of two), each reading more patients
    assert batch_count(100_000, 50) == 512 and batch_count(25_600, 50) == 512 and batch_count(25_500, 50) == 512
    assert batch_count(100_000, 50, max_batches=1000) == 512 and batch_count(12_000, 50) == 256
    big = ingest_batches([f"PT-{n:06d}" for n in range(30_000)], 50)
    assert len(big) == 512 and max(len(m) for m in big.values()) < 90  # about 59 each


def test_plain_relative_paths_are_joined_as_pathlib_joins_them():
    from pathlib import Path

    from ctdna_monitor.inputs import _plain_relative, _resolve

    for sheet in (Path("/data/run 1/sheet.tsv"), Path("/sheet.tsv")):
        for value in ("vcf/P1-D1.vcf.gz", "P1.vcf", "./P1.vcf", "vcf//P1.vcf", "vcf/./P1.vcf", "vcf/", "..", "../P1.vcf",
                      "a/../P1.vcf", ".hidden.vcf", "é/ü.vcf", "/abs/P1.vcf"):  # fmt: skip
            assert _resolve(sheet, value, 1, "vcf", check=False) == str(sheet.parent / Path(value)), value
    assert _plain_relative("vcf/P1.vcf") and not _plain_relative("./P1.vcf") and not _plain_relative("/abs")


def test_new_draw_and_new_patient_rerun_only_their_batches(root, tmp_path):
    cohort = simulate_cohort(tmp_path / "cohort", 24, 11, root / "resources" / "resistance_mutations.tsv",
                             root / "resources" / "demo" / "truncal_variants.tsv")  # fmt: skip
    lines = (cohort / "samples.tsv").read_text().splitlines()
    header, rows = lines[0], [line.split("\t") for line in lines[1:]]
    patients = sorted({row[0] for row in rows})
    newcomer, grower = patients[5], patients[17]
    last_draw = max((row for row in rows if row[0] == grower), key=lambda row: row[2])
    kept = [row for row in rows if row[0] != newcomer and row is not last_draw]
    sheet = cohort / "sheet.tsv"
    sheet.write_text("\n".join([header] + ["\t".join(row) for row in kept]) + "\n")
    workdir = project(root, tmp_path / "project")
    config = ["--config", f"samples={sheet}", f"events={cohort / 'events.tsv'}", "ingest_batch_patients=4"]
    first = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *config], cwd=workdir, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr[-3000:]
    batches = ingest_batches(patients, 4)
    assert len(list((workdir / "results" / "ingest").glob("batch-*.tsv"))) == len(ingest_batches(patients[:5] + patients[6:], 4))

    sheet.write_text("\n".join([header] + ["\t".join(row) for row in rows]) + "\n")  # the draw and the patient arrive
    dry = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--dry-run", *config], cwd=workdir,
                         capture_output=True, text=True)  # fmt: skip
    assert dry.returncode == 0, dry.stderr[-3000:]
    rerun = set(re.findall(r"wildcards: batch=(\d+)", dry.stdout + dry.stderr))
    expected = {name for name, members in batches.items() if newcomer in members or grower in members}
    assert rerun == expected and len(rerun) <= 2 < len(batches)
    for rule in ("build_timeline", "call_alerts", "track_alerts", "render_report", "notify_changes"):
        assert f"rule {rule}:" in dry.stdout + dry.stderr  # the cohort-wide steps are refitted every time

    # Jobs name their batch's draw list, not every VCF: a VCF replaced in place (new size and time) reruns
    # its batch only, and the lists of batches that lost all their patients go away.
    second = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *config], cwd=workdir, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr[-3000:]
    lists = workdir / "results" / "ingest" / "draws"
    assert sorted(p.name for p in lists.iterdir()) == sorted(f"batch-{name}.tsv" for name in batches)
    replaced = next(row for row in rows if row[0] == patients[2])
    vcf = cohort / replaced[3]
    vcf.write_bytes(vcf.read_bytes() + b"")  # the same bytes, written again: a new modification time
    os.utime(vcf, ns=(vcf.stat().st_atime_ns, vcf.stat().st_mtime_ns + 10**9))
    dry = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--dry-run", *config], cwd=workdir,
                         capture_output=True, text=True)  # fmt: skip
    assert dry.returncode == 0, dry.stderr[-3000:]
    batch_of = {patient: name for name, members in batches.items() for patient in members}
    assert set(re.findall(r"wildcards: batch=(\d+)", dry.stdout + dry.stderr)) == {batch_of[patients[2]]}


def test_draw_lists_that_cannot_be_written_stop_the_run_with_one_line(root, tmp_path):
    workdir = project(root, tmp_path / "project")  # the demo sheet of config/config.yaml
    (workdir / "results" / "ingest").mkdir(parents=True)
    (workdir / "results" / "ingest" / "draws").write_text("not a folder\n")
    result = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "--dry-run"], cwd=workdir,
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode != 0
    last = (result.stdout + result.stderr).strip().splitlines()[-1]
    assert last.startswith("ctdna-monitor output error: the ingestion draw lists cannot be written in results/ingest/draws")
    assert "Traceback" not in result.stdout + result.stderr


def test_a_draw_list_written_by_another_process_at_the_same_moment_is_no_error(tmp_path, monkeypatch):
    import pytest

    from ctdna_monitor import atomic, batches

    text = batches.draw_list_text([("P1-D1", "/data/P1-D1.vcf", "", 10, 1, 2)])

    def raced(path, wanted):  # the other process's rename wins; ours fails
        path.write_text(wanted)
        raise OSError("No such file or directory: the temporary file was cleaned up")

    monkeypatch.setattr(atomic, "write_text_if_changed", raced)
    assert batches._write_list(tmp_path / "batch-1.tsv", text) is False
    monkeypatch.setattr(atomic, "write_text_if_changed", lambda path, wanted: (path.write_text("other"), raced(path, "other")))
    with pytest.raises(OSError):
        batches._write_list(tmp_path / "batch-2.tsv", text)
    assert batches.read_draw_list(tmp_path / "batch-1.tsv") == [("P1-D1", "/data/P1-D1.vcf", "")]
