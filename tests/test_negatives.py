"""Negative results are kept: a tracked site that force-called VCFs report with depth but no alt read
in any draw stays in the timeline (issue 11, point 3), and FILTER values enter the decision as
config/README.md says (point 4). The workflow runs for real on VCFs written with pysam."""

import json
import re

import chromium
import pandas as pd
import pytest
from test_workflow import copy_project, snakemake
from vcf_fixtures import fmt, make_vcf

from ctdna_monitor.report import patient_anchor

MUTECT2_HEADER = [
    fmt("GT", 1, "String"), fmt("AD", "R", "Integer"), fmt("AF", "A", "Float"), fmt("DP", 1, "Integer"),
    *(f'##FILTER=<ID={name},Description="x">' for name in (
        "weak_evidence", "germline", "panel_of_normals", "strand_bias", "strict_strand", "clustered_events",
        "low_allele_frac", "normal_artifact", "orientation")),
]  # fmt: skip
T790M = ("chr7", 55181378, "C", "T")  # knowledge-base site (EGFR T790M, resistance to erlotinib)
TUMOUR_INFORMED = ("chr1", 11190646, "G", "A")  # a patient-specific panel site, not in the knowledge base
TRUNCAL = ("chr12", 25245000, "C", "T")  # not in the knowledge base; the patient's detected truncal variant
DATES = ["2025-01-02", "2025-03-01", "2025-05-01"]


def record(site, alt_reads, depth, filters=("PASS",)):
    chrom, pos, ref, alt = site
    ad = (depth - alt_reads, alt_reads)
    return {"chrom": chrom, "pos": pos, "ref": ref, "alts": (alt,), "filter": list(filters),
            "fmt": {"TUMOR": {"GT": (0, 1), "AD": ad, "DP": depth, "AF": (alt_reads / depth,)}}}  # fmt: skip


def write_cohort(workdir, draws: dict[str, list[list[dict]]], events: list[tuple]):
    """draws: patient -> one list of records per draw (Mutect2 layout). Returns the sample sheet path."""
    folder = workdir / "cohort"
    folder.mkdir()
    rows = ["patient\tsample\tdate\tvcf"]
    for patient, per_draw in draws.items():
        for index, records in enumerate(per_draw):
            sample = f"{patient}-D{index + 1}"
            header = [*MUTECT2_HEADER, f"##draw={sample}"]  # draws with equal records are still different files
            make_vcf(folder / f"{sample}.vcf.gz", header, ["TUMOR"], records, contigs=("chr1", "chr7", "chr12"))
            rows.append(f"{patient}\t{sample}\t{DATES[index]}\t{sample}.vcf.gz")
    (folder / "samples.tsv").write_text("\n".join(rows) + "\n")
    lines = ["patient\tdate\tevent\tvalue", *("\t".join(e) for e in events)]
    (folder / "events.tsv").write_text("\n".join(lines) + "\n")
    return folder


def run_cohort(workdir, *config):
    result = snakemake(workdir, "--config", "samples=cohort/samples.tsv", "events=cohort/events.tsv", *config)
    assert result.returncode == 0, result.stderr[-3000:]
    timeline = pd.read_csv(workdir / "results" / "timeline.tsv", sep="\t", keep_default_na=False)
    alerts = pd.read_csv(workdir / "results" / "alerts.tsv", sep="\t", keep_default_na=False)
    return timeline, alerts


def report_data(workdir) -> dict:
    page = (workdir / "results" / "report.html").read_text()
    found = re.search(r'<script type="application/json" id="ctdna-data">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


def rows_at(timeline, patient, site):
    chrom, pos, ref, alt = site
    mine = timeline[(timeline.patient == patient) & (timeline.chrom == chrom) & (timeline.pos == pos)]
    return mine[(mine.ref == ref) & (mine.alt == alt)].sort_values("date")


@pytest.fixture(scope="module")
def negatives_run(root, tmp_path_factory):
    """P1 on erlotinib, force-called panel: T790M and a tumour-informed site with 0 alt reads in every draw."""
    workdir = copy_project(root, tmp_path_factory.mktemp("negatives"))
    draws = [[record(T790M, 0, 4506), record(TUMOUR_INFORMED, 0, 3900), record(TRUNCAL, alt, 4000)]
             for alt in (120, 60, 40)]  # fmt: skip
    events = [("P1", "2025-01-05", "therapy_start", "erlotinib"), ("P1", "2025-06-01", "scan", "PD")]
    write_cohort(workdir, {"P1": draws}, events)
    return workdir, *run_cohort(workdir)


def test_zero_alt_tracked_sites_stay_in_the_timeline(negatives_run):
    """Failed before issue 11: both sites were dropped because no draw showed an alt read."""
    _, timeline, alerts = negatives_run
    for site, depth in ((T790M, 4506), (TUMOUR_INFORMED, 3900)):
        rows = rows_at(timeline, "P1", site)
        assert list(rows["sample"]) == ["P1-D1", "P1-D2", "P1-D3"], site
        assert (rows["depth"] == depth).all() and (rows["alt_reads"] == 0).all()
        assert set(rows["status"]) == {"not_detected"}
        lods = pd.to_numeric(rows["lod"])
        assert lods.notna().all() and (lods < 0.01).all()
    t790m = rows_at(timeline, "P1", T790M)
    assert set(t790m["kb_id"]) == {"EGFR_T790M"} and set(t790m["gene"]) == {"EGFR"}
    assert alerts.empty  # a negative never alerts


def test_report_shows_the_negative_results(negatives_run):
    workdir, timeline, _ = negatives_run
    patient = next(p for p in report_data(workdir)["patients"] if p["id"] == "P1")
    variants = {v["label"]: v for v in patient["variants"]}
    t790m = variants["EGFR T790M"]
    assert t790m["kb_id"] == "EGFR_T790M"
    lod = float(rows_at(timeline, "P1", T790M)["lod"].iloc[0])
    for cell in t790m["cells"]:
        assert cell[0] == 1 and cell[2] == 0 and cell[3] == 4506 and cell[4] == pytest.approx(lod, rel=1e-2)
    assert "chr1:11190646 G>A" in variants


# ----------------------------------------------------------------- large panels (without Snakemake)

PANEL = [("chr1", 1000 + 100 * i, "C", "T") for i in range(6)]  # a shared force-called panel, not in the knowledge base


def panel_calls(patients: dict[str, list[dict]]):
    """patients: patient -> per draw {site: alt reads}; every draw reports every PANEL site and T790M at 5,000x."""
    from ctdna_monitor.vcf_reader import CALL_COLUMNS

    samples, calls = [], {}
    for patient, per_draw in patients.items():
        for index, alts in enumerate(per_draw):
            sample = f"{patient}-D{index + 1}"
            samples.append({"patient": patient, "sample": sample, "date": DATES[index]})
            rows = [{"chrom": c, "pos": p, "ref": r, "alt": a, "gene": "", "protein_change": "", "alt_reads": alts.get((c, p, r, a), 0),
                     "depth": 5000, "vaf": alts.get((c, p, r, a), 0) / 5000, "filter": "PASS", "dialect": "test", "flag": ""}
                    for c, p, r, a in [*PANEL, T790M]]  # fmt: skip
            calls[sample] = pd.DataFrame(rows, columns=CALL_COLUMNS).assign(source="vcf")
    return pd.DataFrame(samples), calls


@pytest.fixture(scope="module")
def kb(root):
    from ctdna_monitor.knowledgebase import KnowledgeBase

    return KnowledgeBase(root / "resources" / "resistance_mutations.tsv")


def panel_run(kb, negatives):
    from ctdna_monitor.background import BackgroundModel, BackgroundParams
    from ctdna_monitor.stats import DetectionParams
    from ctdna_monitor.timeline import build_timeline, negatives_summary, observations

    # P1 carries PANEL[0] (truncal, falling); PANEL[1] has one noise read in P1; P2 shows nothing anywhere
    p1 = [{PANEL[0]: 200, PANEL[1]: 1}, {PANEL[0]: 80}, {PANEL[0]: 20}]
    samples, calls = panel_calls({"P1": p1, "P2": [{}, {}, {}]})
    background = BackgroundModel(BackgroundParams(), observations(samples, calls))
    params = DetectionParams()
    timeline = build_timeline(samples, calls, kb, "GRCh38", params, background, negatives=negatives)
    return timeline, negatives_summary(samples, calls, timeline, background, params)


def sites_of(timeline, patient):
    mine = timeline[timeline.patient == patient]
    return set(zip(mine.chrom, mine.pos, mine.ref, mine.alt))


def test_large_panels_list_what_informs_and_summarise_the_rest(kb):
    timeline, summary = panel_run(kb, "informative")
    # P1: its own alleles (truncal, a stray read) and T790M; P2: T790M and the variant P1 carries, not
    # the site where P1 had one stray read
    assert sites_of(timeline, "P1") == {PANEL[0], PANEL[1], T790M}
    assert sites_of(timeline, "P2") == {PANEL[0], T790M}
    t790m = timeline[(timeline.pos == T790M[1])]
    assert len(t790m) == 6 and set(t790m.status) == {"not_detected"} and t790m["lod"].notna().all()
    # the panel sites nobody carries: counted per draw with their depth and LoD95
    assert list(summary.columns) == ["patient", "sample", "date", "summarised_sites", "not_detected", "not_assessable",
                                     "median_depth", "median_lod"]  # fmt: skip
    assert list(summary["sample"]) == ["P1-D1", "P1-D2", "P1-D3", "P2-D1", "P2-D2", "P2-D3"]
    assert list(summary["summarised_sites"]) == [4, 4, 4, 5, 5, 5]
    assert (summary["not_detected"] == summary["summarised_sites"]).all()
    assert (summary["median_depth"] == 5000).all() and summary["median_lod"].between(0, 0.01).all()


def test_listing_every_negative_changes_no_other_result(kb, root):
    """'all' lists the summarised sites too; the rows, alerts and molecular response of the rest are the same."""
    from ctdna_monitor.alerts import AlertParams, call_alerts
    from ctdna_monitor.knowledgebase import DrugTable
    from ctdna_monitor.response import molecular_response

    informative, _ = panel_run(kb, "informative")
    every, summary = panel_run(kb, "all")
    assert sites_of(every, "P2") == {*PANEL, T790M} and (summary["summarised_sites"] == 0).all()
    key = ["patient", "sample", "chrom", "pos", "ref", "alt"]
    same = every.merge(informative[key], on=key).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(same, informative.sort_values(key).reset_index(drop=True))
    drugs = DrugTable(root / "resources" / "drugs.tsv")
    events = pd.DataFrame([("P1", "2025-01-05", "therapy_start", "erlotinib"), ("P2", "2025-01-05", "therapy_start", "erlotinib")],
                          columns=["patient", "date", "event", "value"])  # fmt: skip
    results = []
    for table in (informative, every):
        alerts = call_alerts(table, events, kb, drugs, AlertParams())
        results.append((alerts, molecular_response(table, alerts, 0.01)))
    pd.testing.assert_frame_equal(results[0][0], results[1][0])
    pd.testing.assert_frame_equal(results[0][1], results[1][1])
    response = results[0][1].set_index("patient")["response"]
    assert response["P1"] == "response" and response["P2"] == "not_assessable"
    assert results[0][0].empty


# ----------------------------------------------------------------- FILTER (Mutect2 layout, workflow run)

CHIP_LIKE = ("chr1", 20000000, "G", "T")  # not in the knowledge base: in the panel of normals at every draw


@pytest.fixture(scope="module")
def filter_run(root, tmp_path_factory):
    """Three patients on erlotinib, T790M in each, with Mutect2 FILTER values (force-called panels)."""
    workdir = copy_project(root, tmp_path_factory.mktemp("filters"))
    weak = [  # P2: a low-VAF emergence that Mutect2 calls weak_evidence / low_allele_frac: kept and alerted
        [record(T790M, 0, 5000), record(TRUNCAL, 150, 5000)],
        [record(T790M, 25, 5000, ("weak_evidence",)), record(TRUNCAL, 90, 5000)],
        [record(T790M, 40, 5000, ("low_allele_frac", "clustered_events")), record(TRUNCAL, 80, 5000)],
    ]
    pon = [  # P3: T790M and a CHIP-like site in the panel of normals at every draw: guarded, no alert
        [record(T790M, 50, 5000, ("panel_of_normals",)), record(CHIP_LIKE, 80, 5000, ("panel_of_normals",)),
         record(TRUNCAL, 150, 5000)]
        for _ in range(3)
    ]  # fmt: skip
    strand = [  # P4: a strong emergence whose alt reads Mutect2 finds on one strand only: alerted, unconfirmed
        [record(T790M, 0, 5000), record(TRUNCAL, 150, 5000)],
        [record(T790M, 80, 5000, ("strand_bias",)), record(TRUNCAL, 150, 5000)],
        [record(T790M, 90, 5000, ("strict_strand",)), record(TRUNCAL, 150, 5000)],
    ]
    events = [(p, "2025-01-05", "therapy_start", "erlotinib") for p in ("P2", "P3", "P4")]
    write_cohort(workdir, {"P2": weak, "P3": pon, "P4": strand}, events)
    return workdir, *run_cohort(workdir)


def test_weak_evidence_is_no_reason_to_drop_a_low_vaf_call(filter_run):
    _, timeline, alerts = filter_run
    rows = rows_at(timeline, "P2", T790M)
    assert list(rows["status"]) == ["not_detected", "detected", "detected"]
    assert list(rows["filter"]) == ["PASS", "weak_evidence", "low_allele_frac;clustered_events"]
    assert set(rows["guard"]) == {""}
    mine = alerts[alerts.patient == "P2"]
    assert list(mine["type"]) == ["emergence"] and list(mine["sample"]) == ["P2-D2"] and bool(mine["confirmed"].iloc[0])


def test_panel_of_normals_guards_and_blocks_alerts(filter_run, tmp_path_factory):
    workdir, timeline, alerts = filter_run
    for site in (T790M, CHIP_LIKE):
        rows = rows_at(timeline, "P3", site)
        assert set(rows["status"]) == {"detected"} and set(rows["guard"]) == {"filter_panel_of_normals"}
    assert "P3" not in set(alerts["patient"])
    response = pd.read_csv(workdir / "results" / "molecular_response.tsv", sep="\t").set_index("patient")
    assert response.loc["P3", "n_truncal_variants"] == 1  # the CHIP-like site is not part of the ctDNA level
    assert response.loc["P3", "baseline_level"] == pytest.approx(150 / 5000)


def test_strand_bias_holds_an_alert_back(filter_run):
    _, timeline, alerts = filter_run
    assert list(rows_at(timeline, "P4", T790M)["status"]) == ["not_detected", "detected", "detected"]
    mine = alerts[alerts.patient == "P4"]
    assert list(mine["type"]) == ["emergence"] and list(mine["confirmed"]) == [False]


def test_report_shows_guards_and_filters(filter_run):
    workdir, _, _ = filter_run
    patients = {p["id"]: p for p in report_data(workdir)["patients"]}
    t790m = next(v for v in patients["P3"]["variants"] if v["label"] == "EGFR T790M")
    assert t790m["guard"] == "filter_panel_of_normals" and t790m["cells"][0][7] == "panel_of_normals"
    strand = next(v for v in patients["P4"]["variants"] if v["label"] == "EGFR T790M")
    assert [c[7] if len(c) > 7 else None for c in strand["cells"]] == [None, "strand_bias", "strict_strand"]


@pytest.mark.skipif(not chromium.available(), reason="chromium, chromedriver or selenium missing (.ci/run installs them)")
def test_report_table_reads_not_detected_with_depth_and_lod(negatives_run):
    """In the browser: 'ND (<0.07%, 4,506×)' for EGFR T790M at every draw, the tumour-informed site too."""
    workdir, _, _ = negatives_run
    with chromium.chromium() as driver:
        driver.get((workdir / "results" / "report.html").as_uri())
        section = f"document.getElementById('{patient_anchor('P1')}')"
        chromium.wait_for(driver, f"{section}.dataset.rendered === '1'")
        rows = driver.execute_script(
            f"return Array.from({section}.querySelectorAll('table.vaf-table tbody tr')).map(r => Array.from(r.cells).map(c => c.innerText))")
        errors = chromium.console_errors(driver)
    by_label = {row[0].lstrip("★ ").split("\n")[0]: row[2:] for row in rows}
    assert all(re.fullmatch(r"ND \(<0\.\d+%, 4,506×\)", cell) for cell in by_label["EGFR T790M"]), by_label
    assert all(re.fullmatch(r"ND \(<0\.\d+%, 3,900×\)", cell) for cell in by_label["chr1:11190646 G>A"]), by_label
    assert not errors, errors


# ----------------------------------------------------------------- FILTER policy, unit level


def test_filter_policy_reads_callers_values():
    from ctdna_monitor.filters import FilterPolicy, filter_names

    assert filter_names("PASS") == [] and filter_names(".") == [] and filter_names(None) == []
    assert filter_names("strand_bias;weak_evidence") == ["strand_bias", "weak_evidence"]
    policy = FilterPolicy()
    assert policy.not_tumour_name("weak_evidence;panel_of_normals") == "panel_of_normals"
    assert policy.not_tumour_name("weak_evidence;low_allele_frac;clustered_events;haplotype") == ""
    assert policy.is_artifact("strict_strand") and policy.is_artifact("SB") and not policy.is_artifact("ab")
    custom = FilterPolicy.from_config({"artifact": ["q22.5"]})
    assert custom.is_artifact("q22.5") and not custom.is_artifact("strand_bias") and custom.not_tumour_name("germline")


def test_an_artifact_alert_is_confirmed_by_a_clean_detection(kb, root):
    from ctdna_monitor.alerts import AlertParams, call_alerts
    from ctdna_monitor.background import BackgroundModel, BackgroundParams
    from ctdna_monitor.knowledgebase import DrugTable
    from ctdna_monitor.stats import DetectionParams
    from ctdna_monitor.timeline import build_timeline

    samples, calls = panel_calls({"P1": [{}, {T790M: 80}, {T790M: 90}]})
    calls["P1-D2"].loc[calls["P1-D2"].pos == T790M[1], "filter"] = "strand_bias"
    table = pd.DataFrame([{"chrom": c, "pos": p, "ref": r, "alt": a, "error_rate": 1e-4} for c, p, r, a in [*PANEL, T790M]])
    background = BackgroundModel(BackgroundParams(), table=table)
    timeline = build_timeline(samples, calls, kb, "GRCh38", DetectionParams(), background)
    events = pd.DataFrame([("P1", "2025-01-05", "therapy_start", "erlotinib")], columns=["patient", "date", "event", "value"])
    alerts = call_alerts(timeline, events, kb, DrugTable(root / "resources" / "drugs.tsv"), AlertParams())
    # strong (80 reads at an error of 1e-4) but strand-biased: confirmed by the clean detection that follows
    assert list(alerts["type"]) == ["emergence"] and list(alerts["sample"]) == ["P1-D2"] and list(alerts["confirmed"]) == [True]
