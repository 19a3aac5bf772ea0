"""Issue 11, failure mode 1: the cohort background must never learn real variants as noise.

Several patients carrying the same variant (a truncal hotspot, a germline polymorphism, CHIP), above
all when only the carriers' VCFs report the site, used to give that site an error rate of a few
percent (or 25 % at a germline site), so the carriers were no longer detected.
"""

import numpy as np
import pandas as pd
import pytest

from ctdna_monitor.background import BackgroundParams
from ctdna_monitor.stats import DETECTED, DetectionParams
from ctdna_monitor.timeline import build_timeline
from ctdna_monitor.vcf_reader import CALL_COLUMNS

KRAS_G12V = ("chr12", 25245350, "C", "A")
GERMLINE = ("chr1", 11794419, "G", "A")  # a common SNP-like site (not in the knowledge base)
CHIP = ("chr2", 25234373, "C", "T")  # DNMT3A R882H, GRCh38
# Force-called panel sites with noise only: every VCF reports them, mostly with 0 alt reads.
PANEL = [("chr3", 1000 + 10 * i, "C", "A" if i % 2 else "T") for i in range(12)]
CEILING = 0.01  # an SNV 'error' of 1 % or more is a variant, not noise (config/README.md)


class EmptyKB:
    entries: dict = {}

    def match(self, *args, **kwargs):
        return ""


def cohort(rng, n_patients, carriers, draws=6, depth=3000, report_everywhere=()):
    """Force-called VCFs (panel sites with noise at 5e-4); `carriers` {site: {patient: (vaf_low, vaf_high)}}.

    A carrier site is written only into its carriers' VCFs, unless listed in `report_everywhere`
    (then every patient's VCF reports it, non-carriers with noise counts)."""
    samples, calls = [], {}
    for p in range(n_patients):
        for d in range(draws):
            sample = f"P{p:02d}-{d}"
            samples.append({"patient": f"P{p:02d}", "sample": sample, "date": f"2025-{d + 1:02d}-01"})
            rows = []
            sites = {site: None for site in PANEL}
            for site, who in carriers.items():
                if p in who:
                    sites[site] = who[p]
                elif site in report_everywhere:
                    sites[site] = None
            for site, vaf in sites.items():
                f = 0.0 if vaf is None else rng.uniform(*vaf)
                alt = int(rng.binomial(depth, f + (1 - f) * 5e-4))
                rows.append({"chrom": site[0], "pos": site[1], "ref": site[2], "alt": site[3], "gene": "",
                             "protein_change": "", "alt_reads": alt, "depth": depth, "vaf": alt / depth,
                             "filter": "PASS", "dialect": "test", "flag": ""})  # fmt: skip
            calls[sample] = pd.DataFrame(rows, columns=CALL_COLUMNS)
    return pd.DataFrame(samples), calls


def fitted(samples, calls):
    from ctdna_monitor.background import BackgroundModel
    from ctdna_monitor.timeline import observations

    model = BackgroundModel(BackgroundParams(), observations(samples, calls))
    timeline = build_timeline(samples, calls, EmptyKB(), "GRCh38", DetectionParams(), model)
    return model, timeline


def carrier_rows(timeline, site, patients):
    rows = timeline[(timeline.chrom == site[0]) & (timeline.pos == site[1]) & (timeline.alt == site[3])]
    return rows[rows.patient.isin(patients)]


@pytest.mark.parametrize("n_patients", [6, 20])
def test_a_shared_hotspot_reported_only_by_carriers_is_not_noise(n_patients):
    rng = np.random.default_rng(11)
    carriers = {f"P{p:02d}" for p in range(6)}
    samples, calls = cohort(rng, n_patients, {KRAS_G12V: dict.fromkeys(range(6), (0.01, 0.04))})
    model, timeline = fitted(samples, calls)
    rates = [model.null(KRAS_G12V, p).error_rate for p in sorted(carriers)]
    assert max(rates) <= CEILING, rates
    rows = carrier_rows(timeline, KRAS_G12V, carriers)
    assert len(rows) == 36 and (rows.status == DETECTED).all(), rows.status.value_counts().to_dict()
    frame = model.to_frame([KRAS_G12V]).iloc[0]
    assert (frame.carrier_patients, frame.recurrent_variant) == (6, "yes")


def test_germline_and_chip_sites_in_many_patients_are_not_noise():
    rng = np.random.default_rng(5)
    germline = dict.fromkeys(range(12), (0.47, 0.53))
    chip = dict.fromkeys(range(4, 16), (0.01, 0.02))
    samples, calls = cohort(rng, 20, {GERMLINE: germline, CHIP: chip}, report_everywhere=(GERMLINE, CHIP))
    model, timeline = fitted(samples, calls)
    for site, who in ((GERMLINE, germline), (CHIP, chip)):
        patients = {f"P{p:02d}" for p in who}
        rates = [model.null(site, p).error_rate for p in sorted(patients)]
        assert max(rates) <= CEILING, (site, rates)
        rows = carrier_rows(timeline, site, patients)
        assert (rows.status == DETECTED).all(), (site, rows.status.value_counts().to_dict())
        assert model.to_frame([site]).iloc[0].carrier_patients == 12
        # the recurrent variant is visible next to every row of the site in the timeline
        assert set(carrier_rows(timeline, site, patients).background_flag) == {"recurrent_variant"}
    # the panel's noise sites keep a noise-sized rate and are not called recurrent
    panel = model.to_frame(PANEL)
    assert (panel.error_rate < 2e-3).all() and (panel.recurrent_variant == "no").all()


def test_draws_before_an_acquired_variant_are_noise_data_where_every_patient_carries_it():
    """T790M under erlotinib: four patients acquire it at the fifth draw, a fifth carries it from the first
    draw at 1.0-1.3 %, and no patient reads the site without carrying it. The acquirers' first four draws
    (force-called, a few noise reads) are the site's only noise data. Left out with the rest of their
    draws, the site was judged as 'any C>T position', whose errors spread widely (six noisy C>T positions at
    0.4-1.2 % in every patient): the pre-existing 1 % was not_assessable at the first draw (p = 0.2)."""
    rng = np.random.default_rng(5)
    noisy = [("chr3", 5000 + 10 * i, "C", "T") for i in range(6)]
    hotspot = ("chr7", 55181378, "C", "T")
    acquired = [0.0] * 4 + [0.02, 0.03, 0.04, 0.05]
    samples, calls = [], {}
    for p in range(6):
        for d in range(8):
            sample = f"P{p:02d}-{d}"
            samples.append({"patient": f"P{p:02d}", "sample": sample, "date": f"2025-{d + 1:02d}-01"})
            levels = {site: 0.0 for site in PANEL}
            levels.update({site: rng.uniform(0.004, 0.012) for site in noisy})
            if p < 4:
                levels[hotspot] = acquired[d]
            elif p == 4:
                levels[hotspot] = rng.uniform(0.01, 0.013)
            rows = []
            for site, f in levels.items():
                alt = int(rng.binomial(3000, f + (1 - f) * 5e-4))
                rows.append({"chrom": site[0], "pos": site[1], "ref": site[2], "alt": site[3], "gene": "",
                             "protein_change": "", "alt_reads": alt, "depth": 3000, "vaf": alt / 3000,
                             "filter": "PASS", "dialect": "test", "flag": ""})  # fmt: skip
            calls[sample] = pd.DataFrame(rows, columns=CALL_COLUMNS)
    model, timeline = fitted(pd.DataFrame(samples), calls)
    frame = model.to_frame([hotspot]).iloc[0]
    assert frame.carrier_patients == 5 and frame.source == "cohort", frame.to_dict()
    assert model.null(hotspot, "P04").error_rate < 2e-3
    first = carrier_rows(timeline, hotspot, {"P04"}).iloc[0]
    assert first.status == DETECTED, first[["alt_reads", "p_value", "error_rate", "dispersion"]].to_dict()



def test_a_quiet_start_ends_at_the_first_draw_that_stands_out_by_date_and_needs_one():
    """_quiet_before on a fitted model: a carrier whose draws never stand out on their own (a stable low-level
    variant found by its pooled counts) has no quiet start; for one that stands out, exactly the draws dated
    before its first loud draw count."""
    from ctdna_monitor.background import BackgroundModel
    from ctdna_monitor.timeline import observations

    rng = np.random.default_rng(2)
    samples, calls = cohort(rng, 4, {}, draws=6)
    model = BackgroundModel(BackgroundParams(), observations(samples, calls))
    obs, rows = model.obs, model.rows
    site = obs[["chrom", "pos", "ref", "alt"]].apply(tuple, axis=1) == PANEL[0]
    mine = (site & (obs.patient == "P00")).to_numpy()
    factor, skip = np.ones(len(obs)), np.zeros(len(obs), dtype=bool)
    quiet_counts = obs.copy()
    quiet_counts.loc[mine, "alt_reads"] = 0  # nothing stands out
    assert not model._quiet_before(quiet_counts, mine, factor, skip).any()
    loud = quiet_counts.copy()
    ranks = rows.date_rank[mine]
    third = np.flatnonzero(mine)[ranks == np.sort(ranks)[3]][0]
    loud.loc[third, "alt_reads"] = 300  # the fourth draw by date stands out
    quiet = model._quiet_before(loud, mine, factor, skip)
    assert sorted(rows.date_rank[quiet]) == sorted(np.sort(ranks)[:3]), (rows.date_rank[quiet], ranks)
