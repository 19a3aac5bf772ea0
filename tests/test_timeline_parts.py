"""The timeline built in parts of patients side by side (partition.py) is the timeline built in one go.

Which negative sites a patient's timeline lists depends on the whole cohort: a site that several patients
report and none carries is summarised, one another patient carries is listed. A part of a few patients
must still decide as the cohort does, so the cohort here has eight patients, one of whom carries a panel
site that all report, and a second panel site that all report and nobody carries."""

import os

import numpy as np
import pandas as pd
import pytest

from ctdna_monitor import partition
from ctdna_monitor.errors import OutputError
from ctdna_monitor.steps import timeline_files

CARRIED = ("chr3", 41224610, "C", "T")  # not in the knowledge base; P1 carries it
UNCARRIED = ("chr3", 41224700, "G", "A")  # not in the knowledge base; nobody carries it
T790M = ("chr7", 55181378, "C", "T")  # knowledge-base site: always listed
PATIENTS = [f"P{i}" for i in range(1, 9)]  # P8 has draws but no calls at all
DATES = ["2025-01-02", "2025-03-01", "2025-05-01"]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    folder = tmp_path_factory.mktemp("parts")
    rng = np.random.default_rng(5)
    sheet, calls = [], []
    for patient in PATIENTS:
        for index, date in enumerate(DATES):
            sample = f"{patient}-D{index + 1}"
            (folder / f"{sample}.vcf").write_text("")  # the sheet names a file; its calls are in the table
            sheet.append(f"{patient}\t{sample}\t{date}\t{sample}.vcf")
            for site in (CARRIED, UNCARRIED, T790M) if patient != "P8" else ():
                depth = int(rng.integers(2000, 6000))
                alt = 150 // (index + 1) if (patient, site) == ("P1", CARRIED) else int(rng.binomial(depth, 1e-4))
                alt = 0 if site == UNCARRIED else alt  # a stray read would make it shown, hence listed
                calls.append((sample, *site, "", "", alt, depth, alt / depth, "PASS", "mutect2", ""))
    rng.shuffle(sheet)  # the sheet in no particular order
    (folder / "samples.tsv").write_text("\n".join(["patient\tsample\tdate\tvcf", *sheet]) + "\n")
    columns = ["sample", "chrom", "pos", "ref", "alt", "gene", "protein_change", "alt_reads", "depth", "vaf", "filter",
               "dialect", "flag"]  # fmt: skip
    pd.DataFrame(calls, columns=columns).to_csv(folder / "batch-1.tsv", sep="\t", index=False)
    return folder


def run(root, folder, workers, part_rows):
    out = folder / f"workers{workers}-rows{part_rows}"
    (out / ".timeline-parts-killed").mkdir(parents=True)  # as a run killed while writing parts leaves it
    (out / ".timeline-parts-killed" / "timeline.00000.tsv").write_text("patient\n")
    outputs = tuple(out / f"{name}.tsv" for name in ("timeline", "background", "negatives"))
    timeline_files(folder / "samples.tsv", [folder / "batch-1.tsv"], root / "resources" / "resistance_mutations.tsv",
                   "GRCh38", {}, {}, outputs=outputs, workers=workers, part_rows=part_rows)  # fmt: skip
    assert sorted(path.name for path in out.iterdir()) == ["background.tsv", "negatives.tsv", "timeline.tsv"]
    return [path.read_bytes() for path in outputs]


def test_parts_write_the_files_of_one_pass_whatever_the_workers(root, cohort):
    """One part for the cohort, or one patient per part (a part then knows nothing of the others), by one
    process or two: the same bytes, and the cohort decides what is listed."""
    whole = run(root, cohort, 1, 10**9)
    assert run(root, cohort, 1, 1) == whole
    assert run(root, cohort, 2, 1) == whole
    assert run(root, cohort, 2, 20) == whole
    timeline = pd.read_csv(cohort / "workers2-rows1" / "timeline.tsv", sep="\t", keep_default_na=False)
    listed = {(row.patient, row.pos) for row in timeline.itertuples()}
    # every patient with calls lists the site P1 carries (P1 is in one part only), none the uncarried one
    assert {(p, CARRIED[1]) for p in PATIENTS if p != "P8"} <= listed
    assert not any(pos == UNCARRIED[1] for _, pos in listed)
    assert list(timeline.patient.drop_duplicates()) == sorted(p for p in PATIENTS if p != "P8")
    negatives = pd.read_csv(cohort / "workers2-rows1" / "negatives.tsv", sep="\t")
    assert len(negatives) == len(PATIENTS) * len(DATES)  # P8's draws too, with nothing summarised
    assert list(negatives.summarised_sites) == [0 if p == "P8" else 1 for p in PATIENTS for _ in DATES]


def test_patients_are_split_into_parts_of_about_so_many_records_in_order():
    assert partition.patient_parts(["a", "b", "c", "d"], [10, 10, 10, 10], 20) == [["a", "b"], ["c", "d"]]
    assert partition.patient_parts(["a", "b", "c"], [100, 1, 1], 40) == [["a"], ["b", "c"]]  # never split
    assert partition.patient_parts(["a", "b"], [1, 1], 1) == [["a"], ["b"]]
    assert partition.patient_parts(["a", "b"], [0, 0], 10**6) == [["a", "b"]]
    assert partition.patient_parts([], [], 5) == []


def test_an_error_in_a_worker_reaches_the_step_whole():
    """A project error raised in a forked worker (a full disk while writing a part) is raised in the parent
    as itself, one line for the user, not a hang or an unpicklable-exception failure."""
    with pytest.raises(OutputError, match="part 1: disk full"):
        partition.map_parts(_fail_on_one, [0, 1, 2], workers=2)


def _fail_on_one(number):
    if number == 1:
        raise OutputError(f"part {number}", "disk full")
    return number


def test_a_worker_that_dies_stops_the_step():
    with pytest.raises(RuntimeError, match="worker process of this step died"):
        partition.map_parts(_die_on_one, [0, 1], workers=2)


def _die_on_one(number):
    if number == 1:
        os._exit(9)  # as the kernel's out-of-memory killer would end it
    return number
