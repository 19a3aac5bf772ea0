"""Alert rules: emergence, pre_existing, rising, molecular progression, therapy awareness, noise."""

import pandas as pd
import pytest

from ctdna_monitor.alerts import AlertParams, call_alerts
from ctdna_monitor.background import BackgroundModel, BackgroundParams
from ctdna_monitor.knowledgebase import DrugTable, KnowledgeBase
from ctdna_monitor.stats import DetectionParams, null_sf
from ctdna_monitor.timeline import build_timeline
from ctdna_monitor.vcf_reader import CALL_COLUMNS

T790M = ("chr7", 55181378, "C", "T", "EGFR", "T790M")
L858R = ("chr7", 55191822, "T", "G", "EGFR", "L858R")
V600E = ("chr7", 140753336, "A", "T", "BRAF", "V600E")


@pytest.fixture(scope="module")
def kb(root):
    return KnowledgeBase(root / "resources" / "resistance_mutations.tsv")


@pytest.fixture(scope="module")
def drugs(root):
    return DrugTable(root / "resources" / "drugs.tsv")


def cohort(series, dates, depth=3000, patient="P1"):
    """series: {variant tuple: [alt reads per draw or None when absent from the VCF]}."""
    samples = pd.DataFrame({"patient": patient, "sample": [f"{patient}-{i}" for i in range(len(dates))], "date": dates})
    calls = {}
    for i, sample in enumerate(samples["sample"]):
        rows = []
        for (chrom, pos, ref, alt, gene, protein), counts in series.items():
            if counts[i] is None:
                continue
            reads, filters = counts[i] if isinstance(counts[i], tuple) else (counts[i], "PASS")  # (alt reads, FILTER)
            rows.append({"chrom": chrom, "pos": pos, "ref": ref, "alt": alt, "gene": gene, "protein_change": protein,
                         "alt_reads": reads, "depth": depth, "vaf": reads / depth, "filter": filters,
                         "dialect": "test", "flag": ""})  # fmt: skip
        calls[sample] = pd.DataFrame(rows, columns=CALL_COLUMNS)
    return samples, calls


def run(kb, drugs, series, dates, events, rate=None, **kw):
    """Alerts and timeline of one patient; `rate` fixes every site's error (a panel-of-normals table)."""
    samples, calls = cohort(series, dates, **kw)
    background = None
    if rate is not None:
        table = pd.DataFrame([{"chrom": v[0], "pos": v[1], "ref": v[2], "alt": v[3], "error_rate": rate} for v in series])
        background = BackgroundModel(BackgroundParams(), table=table)
    timeline = build_timeline(samples, calls, kb, "GRCh38", DetectionParams(), background)
    ev = pd.DataFrame(events, columns=["patient", "date", "event", "value"])
    return call_alerts(timeline, ev, kb, drugs, AlertParams()), timeline


DATES = ["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01"]
ERLOTINIB = [("P1", "2025-01-03", "therapy_start", "erlotinib"), ("P1", "2025-06-01", "scan", "PD")]


def test_emergence_under_the_drug_it_resists_with_lead_time(kb, drugs):
    alerts, timeline = run(kb, drugs, {T790M: [0, 0, 0, 12, 30]}, DATES, ERLOTINIB)
    first = alerts[alerts.type == "emergence"].iloc[0]
    assert (first.date, first.therapy, first.kb_id) == ("2025-04-01", "erlotinib", "EGFR_T790M")
    assert first.progression_date == "2025-06-01" and first.lead_time_days == 61
    assert "PMID:" in first.evidence
    assert set(timeline.status) == {"not_detected", "detected"}


def test_rising_uses_counts_of_two_draws(kb, drugs):
    alerts, _ = run(kb, drugs, {T790M: [0, 0, 10, 40, 45]}, DATES, ERLOTINIB)
    assert list(alerts.type) == ["emergence", "rising"]
    assert alerts.iloc[1].date == "2025-04-01"  # 45 vs 40 reads is not a significant rise


def test_no_alert_for_the_target_of_the_drug_taken(kb, drugs):
    events = [("P1", "2025-01-03", "therapy_start", "osimertinib")]
    alerts, _ = run(kb, drugs, {T790M: [0, 0, 10, 40, 45]}, DATES, events)
    assert alerts.empty


def test_no_alert_while_off_the_drug(kb, drugs):
    events = [("P1", "2025-01-03", "therapy_start", "erlotinib"), ("P1", "2025-02-15", "therapy_end", "erlotinib")]
    alerts, _ = run(kb, drugs, {T790M: [0, 0, 10, 40, 45]}, DATES, events)
    assert alerts.empty


def test_sensitising_target_of_a_combination_partner_blocks_the_alert(kb, drugs):
    # BRAF V600E confers resistance to cetuximab in CRC, but it is encorafenib's own target.
    events = [("P1", "2025-01-03", "therapy_start", "cetuximab"), ("P1", "2025-01-03", "therapy_start", "encorafenib")]
    alerts, _ = run(kb, drugs, {V600E: [0, 0, 10, 40, 45]}, DATES, events)
    assert alerts.empty
    alerts, _ = run(kb, drugs, {V600E: [0, 0, 10, 40, 45]}, DATES, events[:1])
    assert "emergence" in set(alerts.type)


def test_pre_existing_at_the_baseline_draw(kb, drugs):
    alerts, _ = run(kb, drugs, {T790M: [15, 20, 25, 30, 35]}, DATES, ERLOTINIB)
    assert list(alerts.type) == ["pre_existing"]
    assert alerts.iloc[0].date == "2025-01-01"  # two days before the start: the baseline window


def test_patient_without_events_alerts_with_unknown_therapy(kb, drugs):
    alerts, _ = run(kb, drugs, {T790M: [0, 0, 10, 12, 12]}, DATES, [])
    assert list(alerts.type) == ["emergence"] and alerts.iloc[0].therapy == "unknown"


def test_noise_reads_never_alert(kb, drugs):
    alerts, timeline = run(kb, drugs, {T790M: [0, 1, 2, 0, 1]}, DATES, ERLOTINIB, depth=5000)
    assert alerts.empty
    assert "detected" not in set(timeline.status)


def test_absent_from_sparse_vcf_is_not_assessable_and_does_not_block_emergence(kb, drugs):
    alerts, timeline = run(kb, drugs, {T790M: [None, None, None, 12, 30], L858R: [90, 30, 9, 9, 12]}, DATES, ERLOTINIB)
    t790m = timeline[timeline.protein_change == "T790M"]
    assert list(t790m.status[:3]) == ["not_assessable"] * 3
    assert "emergence" in set(alerts.type)


def test_molecular_progression_from_truncal_nadir(kb, drugs):
    alerts, _ = run(kb, drugs, {L858R: [300, 30, 6, 20, 60]}, DATES, ERLOTINIB)
    progression = alerts[alerts.type == "molecular_progression"]
    assert list(progression.date) == ["2025-04-01"]
    assert progression.iloc[0].lead_time_days == 61


def test_germline_like_variants_are_not_ctdna(kb, drugs):
    germline = ("chr1", 1000, "A", "G", "GENE1", "")
    alerts, _ = run(kb, drugs, {germline: [1500, 1480, 1520, 1600, 1490]}, DATES, ERLOTINIB)
    assert alerts.empty


def test_weak_emergence_is_unconfirmed_until_the_next_draw_supports_it(kb, drugs):
    # 7 reads at 3,000x against a 3e-4 error: enough to alert (p = 4e-5) but weak (p > 1e-6).
    alerts, _ = run(kb, drugs, {T790M: [0, 0, 0, 0, 7]}, DATES, ERLOTINIB, rate=3e-4)
    assert list(alerts.type) == ["emergence"] and not alerts.iloc[0].confirmed
    alerts, _ = run(kb, drugs, {T790M: [0, 0, 0, 7, 9]}, DATES, ERLOTINIB, rate=3e-4)
    assert bool(alerts[alerts.type == "emergence"].iloc[0].confirmed)
    alerts, _ = run(kb, drugs, {T790M: [0, 0, 0, 7, 0]}, DATES, ERLOTINIB, rate=3e-4)
    assert not alerts.iloc[0].confirmed  # the next draw does not support it
    alerts, _ = run(kb, drugs, {T790M: [0, 0, 0, 30, 0]}, DATES, ERLOTINIB, rate=3e-4)
    assert bool(alerts.iloc[0].confirmed)  # strong on its own


def test_chip_and_germline_guards_are_flagged_and_not_ctdna(kb, drugs):
    chip = ("chr2", 25234373, "C", "T", "DNMT3A", "")
    germline = ("chr1", 1000, "A", "G", "GENE1", "")
    alerts, timeline = run(kb, drugs, {chip: [30, 6, 2, 20, 60], germline: [1500, 1480, 1520, 1600, 1490]}, DATES, ERLOTINIB)
    assert alerts.empty  # the rising CHIP clone is not molecular progression
    guards = dict(zip(timeline.gene, timeline.guard))
    assert guards == {"DNMT3A": "chip_gene", "GENE1": "germline_like"}


def test_molecular_response_summary(kb, drugs):
    from ctdna_monitor.response import molecular_response

    alerts, timeline = run(kb, drugs, {L858R: [300, 30, 6, 20, 60]}, DATES, ERLOTINIB)
    response = molecular_response(timeline, alerts, 0.01).iloc[0]
    assert response.response == "progression" and response.nadir_date == "2025-03-01"
    assert response.change_from_baseline_pct == pytest.approx(-80, abs=1)
    assert 15 < response.doubling_time_days < 40  # 6 -> 60 reads over two months
    alerts, timeline = run(kb, drugs, {L858R: [300, 30, 6, 0, 0]}, DATES, ERLOTINIB)
    assert molecular_response(timeline, alerts, 0.01).iloc[0].response == "cleared"


def test_alerts_account_for_the_number_of_sites_watched(kb, drugs):
    # 7 reads at 3,000x against 3e-4 (p = 4.3e-5): enough when two sites are watched (erlotinib),
    # not when dozens are (cetuximab: RAS/BRAF hotspots), where such a p-value is expected by chance.
    events = [("P1", "2025-01-03", "therapy_start", "cetuximab")]
    alerts, timeline = run(kb, drugs, {V600E: [0, 0, 0, 0, 7]}, DATES, events, rate=3e-4)
    assert alerts.empty and timeline.status.iloc[-1] == "detected"
    alerts, _ = run(kb, drugs, {T790M: [0, 0, 0, 0, 7]}, DATES, ERLOTINIB, rate=3e-4)
    assert list(alerts.type) == ["emergence"]


def test_two_consecutive_detections_alert_together_when_neither_does_alone(kb, drugs):
    # 6 reads at 3,000x against 3e-4 (p = 3.4e-4) are detected but short of the alert bar; twice in a row,
    # their pooled 12 reads at 6,000x are judged against the pooled share of the bar, and pass it.
    pooled = run(kb, drugs, {T790M: [0, 0, 0, 6, 6]}, DATES, ERLOTINIB, rate=3e-4)[0]
    alone = run(kb, drugs, {T790M: [0, 0, 0, 0, 6]}, DATES, ERLOTINIB, rate=3e-4)[0]
    assert alone.empty  # p = 3.4e-4 alone: short of two thirds of 0.001 over the sites erlotinib watches
    first = pooled[pooled.type == "emergence"].iloc[0]
    assert first["sample"] == "P1-4" and bool(first.confirmed)
    assert first.p_value == pytest.approx(null_sf(12, 6000, 3e-4, 0.0))  # the pooled reads' p-value
    assert first.pooled_with == "P1-3" and first.alt_reads == 6  # the earlier draw named; the later draw's reads
    from ctdna_monitor.report.tables import alerts_html

    assert "pooled with P1-3" in alerts_html(pooled)  # the report says so beside the p-value
    assert pd.isna(run(kb, drugs, {T790M: [0, 0, 0, 0, 30]}, DATES, ERLOTINIB, rate=3e-4)[0].iloc[0].pooled_with)
    # not after a draw that did not detect the variant (4 reads: p = 0.013), though 10 reads at 6,000x would pass
    assert null_sf(10, 6000, 3e-4, 0.0) < 1 / 3 * 0.001 / 2
    assert run(kb, drugs, {T790M: [0, 0, 0, 4, 6]}, DATES, ERLOTINIB, rate=3e-4)[0].empty
    # nor after a draw whose reads are not tumour DNA (germline) or doubtful (strand bias)
    for flagged in ((6, "germline"), (6, "strand_bias")):
        assert run(kb, drugs, {T790M: [0, 0, 0, flagged, 6]}, DATES, ERLOTINIB, rate=3e-4)[0].empty, flagged


def test_two_pooled_draws_have_a_third_of_the_alert_bar(kb, drugs):
    # cetuximab: 31 sites watched, the bar 0.001 / 31 = 3.2e-5; pooled, a third of it (1.1e-5). 5 + 5 reads
    # at 3,000x each (p = 2.3e-3 alone) pool to p = 1.9e-5: within the whole bar, not within its third.
    events = [("P1", "2025-01-03", "therapy_start", "cetuximab")]
    assert run(kb, drugs, {V600E: [0, 0, 0, 5, 5]}, DATES, events, rate=3e-4)[0].empty
    alerts, _ = run(kb, drugs, {V600E: [0, 0, 0, 5, 6]}, DATES, events, rate=3e-4)  # pooled p = 3.1e-6
    assert list(alerts.type) == ["emergence"] and alerts.iloc[0]["sample"] == "P1-4"


def test_a_draw_that_alerted_alone_lends_its_reads_to_no_later_draw(kb, drugs):
    # T790M strong under erlotinib (30 reads), then 6 reads (p = 3.4e-4, short of the bar alone) at the
    # baseline draw of gefitinib: pooled with the strong draw they would 'pass' on the strong draw's reads.
    events = [("P1", "2025-01-03", "therapy_start", "erlotinib"), ("P1", "2025-03-15", "therapy_end", "erlotinib"),
              ("P1", "2025-04-10", "therapy_start", "gefitinib")]  # fmt: skip
    alerts, _ = run(kb, drugs, {T790M: [0, 0, 30, 6, 0]}, DATES, events, rate=3e-4)
    assert list(alerts.type) == ["emergence"] and alerts.iloc[0].therapy == "erlotinib", alerts[["type", "therapy", "date"]]


def test_an_alert_needs_the_alt_fraction_well_above_the_draws_error(kb, drugs):
    # 75 reads at 20,000x (0.38 %) against an error of 0.2 %: p = 5e-7, but within 3 times the error (a
    # position erring at 0.2 % in a typical draw reaches that in a bad run). 130 reads (0.65 %) alert.
    alerts, timeline = run(kb, drugs, {T790M: [40, 40, 40, 40, 75]}, DATES, ERLOTINIB, rate=2e-3, depth=20000)
    assert alerts.empty and timeline.status.iloc[-1] == "detected" and timeline.p_value.iloc[-1] < 1e-6
    alerts, _ = run(kb, drugs, {T790M: [40, 40, 40, 40, 130]}, DATES, ERLOTINIB, rate=2e-3, depth=20000)
    assert list(alerts.type) == ["emergence"]
    # nor do two pooled draws within 3 times the noise
    alerts, _ = run(kb, drugs, {T790M: [40, 40, 40, 75, 75]}, DATES, ERLOTINIB, rate=2e-3, depth=20000)
    assert alerts.empty
