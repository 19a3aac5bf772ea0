"""The timeline built in parts of patients side by side (partition.py) is the timeline built in one go.

Which negative sites a patient's timeline lists depends on the whole cohort: a site that several patients
report and none carries is summarised, one another patient carries is listed. A part of a few patients
must still decide as the cohort does, so the cohort here has eight patients, one of whom carries a panel
site that all report, and a second panel site that all report and nobody carries."""

import numpy as np
import pandas as pd
import pytest

from ctdna_monitor import partition
from ctdna_monitor.steps import timeline_files

CARRIED = ("chr3", 41224610, "C", "T")  # not in the knowledge base; P1 carries it
UNCARRIED = ("chr3", 41224700, "G", "A")  # not in the knowledge base; nobody carries it
T790M = ("chr7", 55181378, "C", "T")  # knowledge-base site: always listed
PATIENTS = [f"P{i}" for i in range(1, 9)]
DATES = ["2025-01-02", "2025-03-01", "2025-05-01"]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    folder = tmp_path_factory.mktemp("parts")
    rng = np.random.default_rng(5)
    sheet, calls = ["patient\tsample\tdate\tvcf"], []
    for patient in PATIENTS:
        for index, date in enumerate(DATES):
            sample = f"{patient}-D{index + 1}"
            (folder / f"{sample}.vcf").write_text("")  # the sheet names a file; its calls are in the table
            sheet.append(f"{patient}\t{sample}\t{date}\t{sample}.vcf")
            for site in (CARRIED, UNCARRIED, T790M):
                depth = int(rng.integers(2000, 6000))
                alt = 150 // (index + 1) if (patient, site) == ("P1", CARRIED) else int(rng.binomial(depth, 1e-4))
                alt = 0 if site == UNCARRIED else alt  # a stray read would make it shown, hence listed
                calls.append((sample, *site, "", "", alt, depth, alt / depth, "PASS", "mutect2", ""))
    (folder / "samples.tsv").write_text("\n".join(sheet) + "\n")
    columns = ["sample", "chrom", "pos", "ref", "alt", "gene", "protein_change", "alt_reads", "depth", "vaf", "filter",
               "dialect", "flag"]  # fmt: skip
    pd.DataFrame(calls, columns=columns).to_csv(folder / "batch-1.tsv", sep="\t", index=False)
    return folder


def run(root, folder, workers):
    out = folder / f"workers{workers}"
    out.mkdir()
    outputs = tuple(out / f"{name}.tsv" for name in ("timeline", "background", "negatives"))
    timeline_files(folder / "samples.tsv", [folder / "batch-1.tsv"], root / "resources" / "resistance_mutations.tsv",
                   "GRCh38", {}, {}, outputs=outputs, workers=workers)  # fmt: skip
    return [path.read_bytes() for path in outputs]


def test_parts_side_by_side_write_the_files_one_process_writes(root, cohort):
    one, two = run(root, cohort, 1), run(root, cohort, 2)
    assert one == two
    timeline = pd.read_csv(cohort / "workers2" / "timeline.tsv", sep="\t", keep_default_na=False)
    listed = {(row.patient, row.pos) for row in timeline.itertuples()}
    # every patient lists the site P1 carries (P1 is in one part only) and none the uncarried one
    assert {(p, CARRIED[1]) for p in PATIENTS} <= listed
    assert not any(pos == UNCARRIED[1] for _, pos in listed)
    negatives = pd.read_csv(cohort / "workers2" / "negatives.tsv", sep="\t")
    assert (negatives.summarised_sites == 1).all() and len(negatives) == len(PATIENTS) * len(DATES)


def test_patients_are_split_by_their_work_in_order():
    parts = partition.patient_parts(["a", "b", "c", "d"], [10, 10, 10, 10], 2)
    assert parts == [["a", "b"], ["c", "d"]]
    assert partition.patient_parts(["a", "b", "c"], [100, 1, 1], 3) == [["a"], ["b", "c"]]  # a alone is half the work
    assert partition.patient_parts(["a", "b"], [1, 1], 8) == [["a"], ["b"]]
    assert partition.patient_parts([], [], 4) == []
