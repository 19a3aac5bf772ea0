"""Issue 11: each mechanism of the background model, alone, on small cases it was not tuned on.

Each test builds noise (and sometimes variant) counts with numpy, fits BackgroundModel and checks
the one behaviour its mechanism exists for, so that removing or breaking that mechanism fails here:
sparse files (single-read records) give noise data; an unknown site gets a null as wide as the
spread of site errors in the cohort; a patient's own earlier draws tighten (or widen) the null;
a draw where many sites spike at once is a burst; a position erring alike in two patients is noisy;
draw-to-draw variation scales with a site's error; a VAF without counts must clear the site's error.
"""

import numpy as np
import pandas as pd
import pytest

from ctdna_monitor.background import BackgroundModel, BackgroundParams, sparse_observations, tail_p
from ctdna_monitor.stats import DETECTED, NOT_ASSESSABLE, DetectionParams, classify, classify_many

PARAMS = BackgroundParams()
BASES = [("C", "T"), ("C", "A"), ("G", "A"), ("T", "C"), ("A", "G"), ("G", "C")]


def panel(n_sites, chrom="chr3"):
    return [(chrom, 1000 + 7 * i, *BASES[i % len(BASES)]) for i in range(n_sites)]


def draws_frame(rng, rates, patients, n_draws=6, depth=3000, start="2024-01-01", spacing=30, extra=None):
    """Counts of every site in `rates` {site: error} for each patient and draw; `extra(p, d, site)`
    returns an added true VAF (a variant) or 0."""
    rows = []
    day0 = pd.Timestamp(start)
    for p in patients:
        for d in range(n_draws):
            for site, rate in rates.items():
                vaf = extra(p, d, site) if extra else 0.0
                alt = rng.binomial(depth, min(vaf + rate, 1.0))
                date = (day0 + pd.Timedelta(days=spacing * d)).date().isoformat()
                rows.append({"patient": p, "sample": f"{p}-D{d}", "date": date, "chrom": site[0], "pos": site[1],
                             "ref": site[2], "alt": site[3], "alt_reads": alt, "depth": depth})  # fmt: skip
    return pd.DataFrame(rows)


def p_value(model, site, patient, sample, date, alt, depth=3000):
    null = model.null(site, patient)
    rate, rho, _ = model.per_draw([site], [sample], [null.error_rate], [null.dispersion], [null.source], [patient], [date])
    return float(tail_p([alt], [depth], rate, rho)[0])


def test_sparse_files_that_list_single_reads_give_noise_data():
    rng = np.random.default_rng(11)
    site = ("chr3", 5000, "C", "T")
    frame = draws_frame(rng, {site: 3e-3, ("chr3", 6000, "G", "A"): 5e-4}, [f"S{i}" for i in range(4)])
    draws = frame[["patient", "sample", "date"]].drop_duplicates()
    sparse = frame[frame.alt_reads > 0]
    assert (sparse.alt_reads == 1).any()
    filled = sparse_observations(sparse, draws)
    assert len(filled) == len(frame)  # every silent record becomes 0 alt reads at the draw's depth
    assert filled.alt_reads.sum() == frame.alt_reads.sum()
    model = BackgroundModel(PARAMS, filled)
    assert abs(model.null(site, "S0").error_rate - 3e-3) < 1e-3
    # a caller listing only alleles with >= 3 reads says nothing about the sites it is silent on
    thresholded = frame[frame.alt_reads >= 3]
    assert sparse_observations(thresholded, draws).empty


def test_an_unknown_site_gets_a_null_as_wide_as_the_cohort_spread_of_site_errors():
    rng = np.random.default_rng(5)
    sites = panel(60)
    # 1 site in 10 errs ten times more than the rest (noisy positions), as in real panels
    heavy = {s: (5e-3 if i % 10 == 0 else 3e-4) for i, s in enumerate(sites)}
    flat = {s: 3e-4 for s in sites}
    unknown = ("chr7", 777, "C", "T")  # no other patient reads it
    for rates, detected in ((heavy, False), (flat, True)):
        model = BackgroundModel(PARAMS, draws_frame(rng, rates, [f"P{i}" for i in range(8)]))
        # 0.6 % at 2,500x (15 reads): noise at one site in ten in the heavy-tailed cohort
        p = float(tail_p([15], [2500], [model.null(unknown, "X").error_rate], [model.null(unknown, "X").dispersion])[0])
        assert (p <= 0.01) == detected, (p, rates is heavy)


def test_a_patients_own_earlier_draws_tighten_the_null_at_an_unknown_site():
    rng = np.random.default_rng(8)
    rates = {s: (5e-3 if i % 10 == 0 else 3e-4) for i, s in enumerate(panel(60))}
    cohort = draws_frame(rng, rates, [f"P{i}" for i in range(8)])
    private = ("chr7", 777, "C", "T")  # read only in patient Q: clean for five draws
    own = draws_frame(rng, {private: 2e-4}, ["Q"], n_draws=5)
    model = BackgroundModel(PARAMS, pd.concat([cohort, own], ignore_index=True))
    first = p_value(model, private, "Q", "Q-D0", "2024-01-01", 15)
    later = p_value(model, private, "Q", "Q-D5", "2024-06-01", 15)
    assert first > 0.01  # at its first draw the site could be a noisy one
    assert later < 1e-4  # five quiet draws of its own say it is not


def test_own_earlier_draws_that_show_the_variant_are_not_noise():
    rng = np.random.default_rng(9)
    rates = {s: 3e-4 for s in panel(40)}
    cohort = draws_frame(rng, rates, [f"P{i}" for i in range(8)])
    private = ("chr7", 777, "C", "T")
    own = draws_frame(rng, {private: 3e-4}, ["Q"], n_draws=4, extra=lambda p, d, s: 0.02)  # a 2 % variant
    model = BackgroundModel(PARAMS, pd.concat([cohort, own], ignore_index=True))
    assert p_value(model, private, "Q", "Q-D4", "2024-05-01", 60) < 1e-6


def burst_cohort(rng, burst_samples, persistent=None):
    sites = panel(30)
    rates = dict.fromkeys(sites, 3e-4)
    frame = draws_frame(rng, rates, [f"P{i}" for i in range(10)], n_draws=6)
    spiked = {}
    for sample in burst_samples:
        hit = [s for s in sites if rng.random() < 0.3]
        spiked[sample] = hit
        for s in hit:
            row = (frame["sample"] == sample) & (frame.pos == s[1]) & (frame.alt == s[3])
            frame.loc[row, "alt_reads"] = rng.binomial(3000, 3e-4 * rng.uniform(10, 50))
    for sample, hit in (persistent or {}).items():
        for s in hit:
            row = (frame["sample"] == sample) & (frame.pos == s[1]) & (frame.alt == s[3])
            frame.loc[row, "alt_reads"] = rng.binomial(3000, 0.01)
    return frame, spiked


def test_a_draw_where_many_sites_spike_at_once_is_a_burst():
    rng = np.random.default_rng(21)
    frame, spiked = burst_cohort(rng, ["P1-D2", "P4-D3", "P7-D5"])
    model = BackgroundModel(PARAMS, frame)
    assert set(model.burst) == set(spiked)
    detected = 0
    for sample, hit in spiked.items():
        patient = sample.split("-")[0]
        date = frame.loc[frame["sample"] == sample, "date"].iloc[0]
        for s in hit:
            alt = int(frame.loc[(frame["sample"] == sample) & (frame.pos == s[1]) & (frame.alt == s[3]), "alt_reads"].iloc[0])
            detected += p_value(model, s, patient, sample, date, alt) <= 0.01
    assert detected <= 0.2 * sum(len(h) for h in spiked.values())
    # without the burst rule nearly every spiked site would be detected
    alone = BackgroundModel(PARAMS, frame[~frame["sample"].isin(spiked)])
    assert all(p_value(alone, s, "P1", "P1-D2", "2024-03-01", 100) < 1e-6 for s in spiked["P1-D2"][:3])


def test_variants_that_persist_into_the_next_draw_are_not_a_burst():
    rng = np.random.default_rng(22)
    sites = panel(30)
    # a patient with four variants appearing together at its third draw and staying
    persistent = {f"P3-D{d}": sites[:4] for d in range(2, 6)}
    frame, _ = burst_cohort(rng, [], persistent)
    model = BackgroundModel(PARAMS, frame)
    assert not any(sample.startswith("P3-") for sample in model.burst)
    assert p_value(model, sites[0], "P3", "P3-D2", "2024-03-01", 30) < 1e-6


def test_a_position_erring_alike_in_two_patients_is_a_noisy_site_not_two_carriers():
    rng = np.random.default_rng(31)
    rates = {s: 3e-4 for s in panel(40)}
    cohort = draws_frame(rng, rates, [f"P{i}" for i in range(8)])
    hot = ("chr9", 900, "A", "G")
    both = draws_frame(rng, {hot: 6e-3}, ["G1", "G2"])
    model = BackgroundModel(PARAMS, pd.concat([cohort, both], ignore_index=True))
    assert model.flag(hot) == ""
    assert model.null(hot, "G1").error_rate > 3e-3
    # one of them at 5 % is a carrier (one patient's noise alone cannot make a hotspot, so the
    # other is judged against at most hotspot_fold x the class rate)
    mixed = draws_frame(rng, {hot: 6e-3}, ["G1", "G2"], extra=lambda p, d, s: 0.05 if p == "G2" else 0.0)
    model = BackgroundModel(PARAMS, pd.concat([cohort, mixed], ignore_index=True))
    assert "G2" in model.sites[hot]["carriers"]
    assert model.null(hot, "X").error_rate < 1e-2


def test_draw_to_draw_overdispersion_scales_with_the_site_error():
    rng = np.random.default_rng(41)
    sites = panel(40)
    rates = {s: (6e-3 if i % 8 == 0 else 3e-4) for i, s in enumerate(sites)}
    rows = []
    for p in range(20):
        for d in range(8):
            for s, rate in rates.items():
                e = rate * np.exp(rng.normal(0, 0.35))  # log-normal draw-to-draw error (CV 36 %)
                rows.append({"patient": f"P{p}", "sample": f"P{p}-D{d}", "date": f"2024-0{1 + d % 8}-01",
                             "chrom": s[0], "pos": s[1], "ref": s[2], "alt": s[3],
                             "alt_reads": rng.binomial(4000, e), "depth": 4000})  # fmt: skip
    model = BackgroundModel(PARAMS, pd.DataFrame(rows))
    noisy, clean = sites[0], sites[1]
    assert model.null(noisy, "P0").dispersion > 5 * model.null(clean, "P0").dispersion
    # calibrated at the noisy sites: fresh log-normal draws there are rarely detected
    fresh = [rng.binomial(4000, rates[noisy] * np.exp(rng.normal(0, 0.35))) for _ in range(4000)]
    null = model.null(noisy, "P0")
    share = np.mean(tail_p(fresh, [4000] * len(fresh), [null.error_rate] * len(fresh), [null.dispersion] * len(fresh)) <= 0.01)
    assert share <= 0.02


def test_a_vaf_without_counts_must_clear_the_site_error():
    params = DetectionParams()
    assert classify(None, None, 0.006, params, rate=5e-3).status == NOT_ASSESSABLE
    assert classify(None, None, 0.006, params, rate=3e-4).status == DETECTED
    status, _, _ = classify_many([np.nan, np.nan], [np.nan, np.nan], [0.006, 0.006], params, [5e-3, 3e-4], [0.0, 0.0])
    assert list(status) == [NOT_ASSESSABLE, DETECTED]


def test_a_vaf_without_counts_must_also_be_significant_as_counts():
    """0.3 % at a site erring at 0.1 % clears three times the error, but it is 3 reads at the assumed
    1,000x (noise gives that one time in twelve) or 15 reads at a stated 5,000x (significant)."""
    params = DetectionParams()
    assert params.vaf_only_depth == 1000
    assert classify(None, None, 0.003, params, rate=1e-3).status == NOT_ASSESSABLE
    assert classify(None, 5000, 0.003, params, rate=1e-3).status == DETECTED
    assert classify(None, None, 0.02, params, rate=1e-3).status == DETECTED
    status, _, _ = classify_many([np.nan] * 3, [np.nan, 5000, np.nan], [0.003, 0.003, 0.02], params, [1e-3] * 3, [0.0] * 3)
    assert list(status) == [NOT_ASSESSABLE, DETECTED, DETECTED]


def test_a_draw_far_above_the_patients_own_other_draws_makes_it_a_carrier():
    """Three patients read a site and all carry something there: B at 1 % throughout, C emerging to
    1.7 %, A showing nothing, then 0.5 %, then 0.8 %. A's pooled rate would pass for the noise of a
    site whose median patient is at 1 %, but its draws are not alike: A carries a variant. (The
    within-patient rule alone decides the workflow case in test_negatives.py, weak_evidence.)"""
    rng = np.random.default_rng(51)
    rates = {s: 3e-4 for s in panel(40)}
    cohort = draws_frame(rng, rates, [f"P{i}" for i in range(8)])
    site = ("chr7", 55181378, "C", "T")
    levels = {"A": [0.0, 0.005, 0.008], "B": [0.01, 0.01, 0.01], "C": [0.0, 0.016, 0.018]}
    own = draws_frame(rng, {site: 2e-4}, list(levels), n_draws=3, depth=5000, extra=lambda p, d, s: levels[p][d])
    model = BackgroundModel(PARAMS, pd.concat([cohort, own], ignore_index=True))
    assert "A" in model.sites[site]["carriers"]
    assert model.null(site, "A").error_rate < 1e-3


def test_burst_draws_are_no_noise_data_for_site_rates():
    """Six burst draws (30 % of sites x 10-50) would raise the spiked sites' rates several times over
    if their counts were noise data; left out, the sites keep their quiet rate."""
    rng = np.random.default_rng(61)
    bursts = ["P1-D1", "P2-D3", "P3-D5", "P5-D2", "P6-D4", "P8-D0"]
    frame, spiked = burst_cohort(rng, bursts)
    model = BackgroundModel(PARAMS, frame)
    assert set(model.burst) == set(bursts)
    hit = sorted({s for sites in spiked.values() for s in sites})
    rates = [model.null(s, "P9").error_rate for s in hit]
    assert np.mean(rates) < 1.5 * 3e-4
    assert not any(model.flag(s) for s in hit)  # spikes make no carriers


def test_a_patient_with_several_bursts_has_each_of_them_found():
    """Two burst draws of one patient spiking at the same fragile sites, with quiet draws between
    them: each burst's spikes must not count as 'shown' by the other (a variant would persist)."""
    rng = np.random.default_rng(71)
    frame, _ = burst_cohort(rng, [])
    fragile = panel(30)[::3]
    for sample in ("P1-D0", "P1-D3"):
        for s in fragile:
            row = (frame["sample"] == sample) & (frame.pos == s[1]) & (frame.alt == s[3])
            frame.loc[row, "alt_reads"] = rng.binomial(3000, 3e-4 * rng.uniform(10, 50))
    model = BackgroundModel(PARAMS, frame)
    assert {"P1-D0", "P1-D3"} <= set(model.burst)


def test_a_noise_rate_is_never_above_100_times_its_base_change():
    """In a UMI cohort erring at 1e-5, two patients at 1.8 % at one position (clonal haematopoiesis,
    say) are carriers of a variant, not a noisy position: max_error (2 %) alone would let it pass."""
    rng = np.random.default_rng(81)
    rates = {s: 1e-5 for s in panel(40)}
    cohort = draws_frame(rng, rates, [f"P{i}" for i in range(10)], depth=20000)
    chip = ("chr2", 2500, "C", "T")
    both = draws_frame(rng, {chip: 1e-5}, ["C1", "C2"], depth=20000, extra=lambda p, d, s: 0.018)
    model = BackgroundModel(PARAMS, pd.concat([cohort, both], ignore_index=True))
    assert model.flag(chip) == "recurrent_variant"
    assert model.null(chip, "X").error_rate < 1e-3


def test_a_nearby_date_rate_is_at_most_ten_times_the_sites_rate():
    """Other patients' draws near a date may hold variants not yet known as such: the rate they give a
    quiet site is capped at hotspot_fold x the site's own rate, however high their counts."""
    rng = np.random.default_rng(91)
    rates = {s: 3e-4 for s in panel(20)}
    model = BackgroundModel(PARAMS, draws_frame(rng, rates, [f"P{i}" for i in range(8)]))
    site = panel(20)[0]
    days = np.array([(pd.Timestamp("2024-03-01") - pd.Timestamp("1970-01-01")).days], dtype=float)  # mid-cohort
    assert model.local_rates([site], ["X"], days, [3e-4])[0] == pytest.approx(3e-4, rel=0.5)
    # the same window judged against a site rate 100 times lower than its counts: at most 10 x that rate
    capped = model.local_rates([site], ["X"], days, [3e-6])[0]
    assert 3e-6 < capped <= PARAMS.hotspot_fold * 3e-6 + 1e-12


def test_the_within_patient_rule_uses_the_patients_own_lower_rate_spread():
    """At a noisy position (errors varying widely between draws), a patient whose four draws show nothing
    and whose fifth shows 1.3 % carries a variant: its own draws vary as little as its own low rate says,
    not as much as the position's noise does."""
    rng = np.random.default_rng(93)
    rows = []
    noisy = ("chr5", 5000, "G", "T")
    sites = {**{s: 3e-4 for s in panel(30)}, noisy: 4e-3}
    for p in range(10):
        for d in range(6):
            for s, rate in sites.items():
                e = min(rate * np.exp(rng.normal(0, 1.0)), 0.05)  # a wide spread of the error between draws
                rows.append({"patient": f"P{p}", "sample": f"P{p}-D{d}", "date": f"2024-0{1 + d}-01", "chrom": s[0],
                             "pos": s[1], "ref": s[2], "alt": s[3], "alt_reads": rng.binomial(3000, e), "depth": 3000})  # fmt: skip
    for d, alt in enumerate([0, 0, 0, 0, 40]):
        rows.append({"patient": "Q", "sample": f"Q-D{d}", "date": f"2024-0{1 + d}-01", "chrom": noisy[0], "pos": noisy[1],
                     "ref": noisy[2], "alt": noisy[3], "alt_reads": alt, "depth": 3000})  # fmt: skip
    model = BackgroundModel(PARAMS, pd.DataFrame(rows))
    assert "Q" in model.sites[noisy]["carriers"]
