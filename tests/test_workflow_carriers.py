"""Issue 11, failure mode 1 end to end: a cohort whose patients share KRAS G12V, run by Snakemake.

Before the fix, a patient with KRAS G12V at a stable 2.6-3.8 % from the first draw on cetuximab got
`not_assessable` at every draw (the other carriers had taught the background a 'noise' of ~3 %), and
the intrinsic resistance was never reported.
"""

import numpy as np
import pandas as pd
import pytest
from test_workflow import copy_project, snakemake
from vcf_fixtures import fmt, make_vcf

KRAS_G12V = ("chr12", 25245350, "C", "A")
PANEL = [("chr3", 1000 + 10 * i, "C", "A" if i % 2 else "T") for i in range(8)]
DATES = ["2025-01-02", "2025-02-03", "2025-03-03", "2025-04-07"]
CARRIERS = ("C1", "C2", "C3", "C4")
HEADER = [fmt("GT", 1, "String"), fmt("AD", "R", "Integer"), fmt("DP", 1, "Integer")]


def _record(site, alt_reads, depth):
    return {"chrom": site[0], "pos": site[1], "ref": site[2], "alts": (site[3],),
            "fmt": {"PLASMA": {"GT": (0, 1), "AD": (depth - alt_reads, alt_reads), "DP": depth}}}  # fmt: skip


def write_cohort(folder, rng):
    """Five colorectal patients on cetuximab from their first draw; four carry KRAS G12V at 2.6-3.8 %.

    The VCFs force-call the panel (records with 0 alt reads), but KRAS G12V appears only where it
    has alt reads, i.e. only in the carriers' files."""
    (folder / "vcf").mkdir(parents=True)
    samples, events = ["patient\tsample\tdate\tvcf\tcancer_type"], ["patient\tdate\tevent\tvalue"]
    for patient in (*CARRIERS, "N1"):
        events.append(f"{patient}\t2025-01-03\ttherapy_start\tcetuximab")
        for d, date in enumerate(DATES):
            sample = f"{patient}-D{d + 1}"
            depth = 3000
            records = [_record(site, int(rng.binomial(depth, 5e-4)), depth) for site in PANEL]
            if patient in CARRIERS:
                records.append(_record(KRAS_G12V, int(rng.binomial(depth, rng.uniform(0.026, 0.038))), depth))
            records.sort(key=lambda r: (r["chrom"], r["pos"]))
            make_vcf(folder / "vcf" / f"{sample}.vcf", HEADER, ["PLASMA"], records, contigs=("chr3", "chr12"))
            samples.append(f"{patient}\t{sample}\t{date}\tvcf/{sample}.vcf\tCOADREAD")
    (folder / "samples.tsv").write_text("\n".join(samples) + "\n")
    (folder / "events.tsv").write_text("\n".join(events) + "\n")


@pytest.fixture(scope="module")
def carriers_run(root, tmp_path_factory):
    workdir = copy_project(root, tmp_path_factory.mktemp("carriers"))
    write_cohort(workdir / "cohort", np.random.default_rng(2026))
    result = snakemake(workdir, "--config", "samples=cohort/samples.tsv", "events=cohort/events.tsv")
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


def test_a_shared_hotspot_on_cetuximab_is_detected_and_pre_existing(carriers_run):
    timeline = pd.read_csv(carriers_run / "results" / "timeline.tsv", sep="\t", keep_default_na=False)
    kras = timeline[(timeline.pos == KRAS_G12V[1]) & (timeline.alt == "A")]
    assert set(kras.patient) == set(CARRIERS)
    assert (kras.status == "detected").all(), kras[["sample", "alt_reads", "status", "p_value", "error_rate"]]
    assert (pd.to_numeric(kras.error_rate) <= 0.01).all()
    alerts = pd.read_csv(carriers_run / "results" / "alerts.tsv", sep="\t", keep_default_na=False)
    first = alerts[(alerts.type == "pre_existing") & (alerts.protein_change == "G12V")]
    assert set(first.patient) == set(CARRIERS)
    assert set(first.date) == {DATES[0]} and set(first.therapy) == {"cetuximab"}
    background = pd.read_csv(carriers_run / "results" / "background.tsv", sep="\t", keep_default_na=False)
    row = background[(background.pos == KRAS_G12V[1]) & (background.alt == "A")].iloc[0]
    assert int(row.carrier_patients) == 4 and row.recurrent_variant == "yes"
    report = (carriers_run / "results" / "report.html").read_text()
    assert 'id="background-qc"' in report and "recurrent variant" in report
