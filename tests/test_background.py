"""The background error model recovers known rates from simulated counts."""

import numpy as np
import pandas as pd
import pytest

from ctdna_monitor.background import BackgroundModel, BackgroundParams, genotyping_samples, substitution

PARAMS = BackgroundParams(default_error=5e-4, prior_depth=2000)


def simulate(rng, sites, n_patients=40, draws=6, depth=3000, carriers=None, kappa=None):
    """Counts at `sites` {site: error rate}; carriers {site: [patient index]} add a 1% VAF."""
    rows = []
    for p in range(n_patients):
        for d in range(draws):
            for site, rate in sites.items():
                e = rng.beta(rate * kappa, (1 - rate) * kappa) if kappa else rate
                vaf = 0.01 if carriers and p in carriers.get(site, ()) else 0.0
                alt = rng.binomial(depth, vaf) + rng.binomial(depth, e)
                rows.append({"patient": f"P{p}", "sample": f"P{p}-{d}", "chrom": site[0], "pos": site[1],
                             "ref": site[2], "alt": site[3], "alt_reads": alt, "depth": depth})  # fmt: skip
    return pd.DataFrame(rows)


CLEAN = ("chr1", 100, "C", "T")
NOISY = ("chr1", 200, "G", "T")
OTHER = ("chr2", 300, "A", "G")


def test_recovers_site_rates_despite_carriers():
    rng = np.random.default_rng(7)
    truth = {CLEAN: 2e-4, NOISY: 3e-3, OTHER: 1e-4}
    obs = simulate(rng, truth, carriers={CLEAN: range(6), OTHER: range(3)})
    model = BackgroundModel(PARAMS, obs)
    for site, rate in truth.items():
        assert model.null(site, "P20").error_rate == pytest.approx(rate, rel=0.25), site
        assert model.null(site, "P20").source == "cohort"
    frame = model.to_frame(truth)
    assert frame.set_index(["chrom", "pos", "ref", "alt"]).loc[CLEAN, "n_draws_excluded"] >= 6 * 6 * 0.9


def test_a_patient_never_estimates_its_own_background():
    rng = np.random.default_rng(3)
    obs = simulate(rng, {CLEAN: 2e-4}, n_patients=3)
    model = BackgroundModel(PARAMS, obs)
    alone = BackgroundModel(PARAMS, obs[obs.patient == "P0"])
    assert alone.null(CLEAN, "P0").source != "cohort"  # only its own draws: falls back
    totals = obs[obs.patient != "P0"][["alt_reads", "depth"]].sum()
    expected = (totals.alt_reads + PARAMS.prior_depth * model._class(CLEAN)[0]) / (totals.depth + PARAMS.prior_depth)
    assert model.null(CLEAN, "P0").error_rate == pytest.approx(expected)


def test_recovers_overdispersion():
    rng = np.random.default_rng(11)
    sites = {("chr3", 1000 + i, "C", "T"): 5e-4 for i in range(10)}
    obs = simulate(rng, sites, n_patients=30, draws=8, kappa=1000)  # rho = 1/(kappa+1) ~ 1e-3
    model = BackgroundModel(BackgroundParams(prior_depth=2000, max_dispersion=0.1), obs)
    null = model.null(("chr3", 1000, "C", "T"), "P1")
    assert 5e-4 < null.dispersion < 2e-3
    # judging carriers draw by draw must not trim the noise's own upper tail away
    rates = [model.null(site, "P1").error_rate for site in sites]
    assert np.mean(rates) == pytest.approx(5e-4, rel=0.1)
    flat = BackgroundModel(BackgroundParams(prior_depth=2000), simulate(rng, sites, n_patients=30, draws=8))
    assert flat.null(("chr3", 1000, "C", "T"), "P1").dispersion < 3e-4


def test_panel_of_normals_table_takes_precedence():
    rng = np.random.default_rng(5)
    obs = simulate(rng, {CLEAN: 2e-4})
    table = pd.DataFrame([{"chrom": "chr1", "pos": 100, "ref": "C", "alt": "T", "error_rate": 1e-3, "dispersion": 1e-4}])
    null = BackgroundModel(PARAMS, obs, table=table).null(CLEAN, "P1")
    assert (null.error_rate, null.dispersion, null.source) == (1e-3, 1e-4, "panel_of_normals")


def test_unseen_sites_use_the_class_then_the_default():
    rng = np.random.default_rng(9)
    model = BackgroundModel(PARAMS, simulate(rng, {CLEAN: 2e-4}))
    assert model.null(("chr9", 5, "G", "A"), "P1").source == "substitution_class"  # G>A is C>T
    assert model.null(("chr9", 5, "A", "C"), "P1").error_rate == 5e-4
    assert substitution("G", "A") == "C>T" and substitution("AT", "A") == "indel"


def test_sparse_vcfs_do_not_feed_the_background():
    calls = pd.DataFrame(
        {"patient": ["A", "A", "B"], "sample": ["A1", "A2", "B1"], "alt_reads": [0, 5, 3], "depth": [1000, 900, 800]}
    )
    assert genotyping_samples(calls) == {"A1", "A2"}


def test_normal_plasma_vcfs_form_a_panel_of_normals(tmp_path):
    from vcf_fixtures import fmt, make_vcf

    from ctdna_monitor.steps import load_background_table, normal_observations

    paths = []
    for i, alt in enumerate((3, 5, 4)):
        paths.append(
            make_vcf(
                tmp_path / f"normal{i}.vcf",
                [fmt("GT", 1, "String"), fmt("AD", "R", "Integer"), fmt("DP", 1, "Integer")],
                ["N"],
                [{"chrom": "chr1", "pos": 100, "ref": "C", "alts": ("T",), "fmt": {"N": {"GT": (0, 0), "AD": (10000 - alt, alt), "DP": 10000}}}],
            )
        )
    model = BackgroundModel(BackgroundParams(prior_depth=0), normals=normal_observations(paths))
    null = model.null(CLEAN, "P1")
    assert null.source == "panel_of_normals" and null.error_rate == pytest.approx(12 / 30000)
    table = tmp_path / "pon.tsv"
    table.write_text("chrom\tpos\tref\talt\terror_rate\n1\t100\tC\tT\tlots\n")
    with pytest.raises(Exception, match=r"pon.tsv, row 1, column 'error_rate'"):
        load_background_table(table)
