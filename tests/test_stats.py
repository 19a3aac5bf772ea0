"""Detection statistics: beta-binomial test against the site's error, LoD95, assessability."""

import numpy as np
import pytest
from scipy.stats import binom

from ctdna_monitor.stats import (
    DETECTED,
    NOT_ASSESSABLE,
    NOT_DETECTED,
    DetectionParams,
    classify,
    critical_alt_reads,
    lod95,
    null_sf,
)  # fmt: skip

PARAMS = DetectionParams(alpha=0.01, min_alt_reads=2, assessable_vaf=0.01)
CLEAN, NOISY = 2e-4, 3e-3


def test_one_or_two_reads_at_5000x_are_noise():
    for alt in (1, 2):
        assert classify(alt, 5000, alt / 5000, PARAMS, 5e-4).status == NOT_DETECTED


def test_the_same_vaf_depends_on_depth_not_a_fixed_cutoff():
    # 0.3% VAF: 15 reads at 5,000x is significant; 1 read at 333x is not, and 333x cannot see 1%.
    assert classify(15, 5000, 0.003, PARAMS, 5e-4).status == DETECTED
    assert classify(1, 333, 0.003, PARAMS, 5e-4).status != DETECTED


def test_the_same_counts_depend_on_the_site_error():
    # 12 reads at 3,000x (0.4%) is a detection at a clean site and noise at a noisy hotspot.
    assert classify(12, 3000, 0.004, PARAMS, CLEAN).status == DETECTED
    assert classify(12, 3000, 0.004, PARAMS, NOISY).status == NOT_DETECTED


def test_overdispersion_makes_the_test_more_conservative():
    assert null_sf(8, 3000, 1e-3, 0.002) > null_sf(8, 3000, 1e-3, 0.0)
    assert critical_alt_reads(3000, 1e-3, 0.002, 0.01) > critical_alt_reads(3000, 1e-3, 0.0, 0.01)


def test_critical_count_is_the_smallest_significant_count():
    for depth in (150, 1000, 5000, 20000):
        k = critical_alt_reads(depth, 5e-4, 0.0, 0.01)
        assert null_sf(k, depth, 5e-4) <= 0.01 < null_sf(k - 1, depth, 5e-4)


def test_lod95_gives_95_percent_power_by_simulation():
    depth, rate = 3000, 2e-4
    lod = lod95(depth, rate, 0.0, PARAMS)
    k = critical_alt_reads(depth, rate, 0.0, PARAMS.alpha, PARAMS.min_alt_reads)
    power_at_lod = binom.sf(k - 1, depth, lod + (1 - lod) * rate)
    assert power_at_lod == pytest.approx(0.95, abs=1e-6)
    rng = np.random.default_rng(1)
    hits = (rng.binomial(depth, lod + rate, 20000) >= k).mean()
    assert 0.94 < hits < 0.96


def test_lod_falls_with_depth_and_rises_with_error():
    lods = [lod95(d, 5e-4, 0.0, PARAMS) for d in (200, 1000, 5000, 20000)]
    assert lods == sorted(lods, reverse=True)
    assert lod95(3000, NOISY, 0.0, PARAMS) > lod95(3000, CLEAN, 0.0, PARAMS)


def test_not_assessable_when_too_shallow_for_a_relevant_vaf():
    assert classify(0, 150, 0.0, PARAMS, 5e-4).status == NOT_ASSESSABLE  # LoD95 above 1%
    assert classify(0, 3000, 0.0, PARAMS, 5e-4).status == NOT_DETECTED
    assert classify(None, None, None, PARAMS, 5e-4).status == NOT_ASSESSABLE
    strict = DetectionParams(alpha=0.01, min_alt_reads=2, assessable_vaf=0.001)
    assert classify(0, 3000, 0.0, strict, 5e-4).status == NOT_ASSESSABLE


def test_vaf_only_is_detected_without_statistics():
    result = classify(None, None, 0.01, PARAMS, 5e-4)
    assert result.status == DETECTED and result.p_value is None and result.lod is None


def test_vectorised_statistics_match_scipy_and_the_scalar_classify():
    """critical_alt_reads_many equals a plain scipy search (the former implementation: k up to the mean
    + 40 sd + 20); classify_many equals classify row by row."""
    from scipy.stats import betabinom

    from ctdna_monitor.stats import beta_shape, classify_many, critical_alt_reads_many

    rng = np.random.default_rng(7)
    depth = rng.integers(5, 8000, 60)
    rate = np.exp(rng.uniform(np.log(1e-5), np.log(2e-2), 60))
    rho = np.where(rng.random(60) < 0.3, 0.0, np.exp(rng.uniform(np.log(1e-5), np.log(5e-3), 60)))
    fast = critical_alt_reads_many(depth, rate, rho, 0.01, 2)
    for d, e, r, k in zip(depth, rate, rho, fast):
        upper = min(d, int(d * e + 40 * np.sqrt(max(d * e * (1 - e) * (1 + (d - 1) * r), 1.0)) + 20))
        ks = np.arange(1, upper + 1)
        sf = binom.sf(ks - 1, d, e) if r <= 0 else betabinom.sf(ks - 1, d, *beta_shape(e, r))
        expected = max(int(ks[np.argmax(sf <= 0.01)]) if (sf <= 0.01).any() else d + 1, 2)
        assert k == expected, (d, e, r)
    alt = np.where(rng.random(60) < 0.1, np.nan, rng.integers(0, 40, 60).astype(float))
    depths = np.where(rng.random(60) < 0.1, np.nan, depth.astype(float))
    vaf = np.where(rng.random(60) < 0.2, np.nan, rng.random(60) * 0.05)
    status, p_value, lod = classify_many(alt, depths, vaf, PARAMS, rate, rho)
    for i in range(60):
        one = classify(*(None if np.isnan(x) else x for x in (alt[i], depths[i], vaf[i])), PARAMS, rate[i], rho[i])
        assert one.status == status[i]
        # the same sums in another order: equal to rounding (the status above must match exactly)
        assert (one.p_value is None and np.isnan(p_value[i])) or np.isclose(one.p_value, p_value[i], rtol=1e-9, atol=0)
        assert (one.lod is None and np.isnan(lod[i])) or one.lod == lod[i]


def test_betabinom_sf_matches_scipy_near_the_bulk_and_the_exact_tail_sum_everywhere():
    from scipy.special import betaln
    from scipy.stats import betabinom

    from ctdna_monitor.stats import beta_shape, betabinom_sf

    rng = np.random.default_rng(3)
    n = rng.integers(1, 6000, 600)
    a, b = beta_shape(np.exp(rng.uniform(np.log(1e-5), np.log(2e-2), 600)), np.exp(rng.uniform(np.log(1e-5), np.log(5e-3), 600)))
    k = np.minimum(rng.integers(-1, 40, 600), n + 1)
    ours, scipy_sf = betabinom_sf(k, n, a, b), betabinom.sf(k, n, a, b)
    large = scipy_sf > 1e-3  # below, scipy's 1 - cdf carries rounding noise of ~1e-10
    assert large.sum() > 200 and np.allclose(ours[large], scipy_sf[large], rtol=1e-6)
    for i in range(600):  # the whole upper tail, term by term
        j = np.arange(max(k[i] + 1, 0), n[i] + 1)
        log_pmf = -np.log1p(n[i]) - betaln(n[i] - j + 1, j + 1) + betaln(j + a[i], n[i] - j + b[i]) - betaln(a[i], b[i])
        assert np.isclose(ours[i], min(np.exp(log_pmf).sum(), 1.0), rtol=1e-7, atol=1e-15), (k[i], n[i], a[i], b[i])
