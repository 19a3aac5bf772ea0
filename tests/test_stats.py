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


# --------------------------------------------------------------------------- exactly the earlier numbers
# The fast evaluations (blocks that stay in the CPU cache, critical counts a few k at a time) must give the
# same bits as one pass over all terms: results files are compared byte for byte between versions.


def _pmf_sums_one_pass(n, a, b, first_j, counts, chunk):
    """The earlier _pmf_sums: every term of a chunk of elements in one running sum."""
    from scipy.special import betaln

    sums = np.empty(len(n))
    log_first = -np.log1p(n) - betaln(n - first_j + 1, first_j + 1) + betaln(first_j + a, n - first_j + b) - betaln(a, b)
    ends = np.cumsum(counts)
    first = 0
    while first < len(n):
        last = max(int(np.searchsorted(ends, ends[first] - counts[first] + chunk, side="right")), first + 1)
        part = counts[first:last]
        starts = np.concatenate(([0], np.cumsum(part)[:-1]))
        owner = np.repeat(np.arange(first, last), part)
        j = first_j[owner] + np.arange(int(part.sum())) - np.repeat(starts, part)
        nn, aa, bb = n[owner], a[owner], b[owner]
        with np.errstate(divide="ignore", invalid="ignore"):
            steps = np.log(nn - j + 1) - np.log(j) + np.log(j - 1 + aa) - np.log(nn - j + bb)
        steps[starts] = 0.0
        walked = np.cumsum(steps)
        log_pmf = log_first[owner] + walked - np.repeat(walked[starts], part)
        sums[first:last] = np.add.reduceat(np.exp(log_pmf), starts)
        first = last
    return sums


def test_pmf_sums_in_blocks_give_the_bits_of_one_pass(monkeypatch):
    from ctdna_monitor import stats

    rng = np.random.default_rng(7)
    size = 3000
    n = rng.integers(50, 20000, size)
    a, b = stats.beta_shape(rng.uniform(1e-5, 1e-2, size), rng.uniform(1e-6, 1e-2, size))
    first_j = np.where(rng.random(size) < 0.5, 0, rng.integers(1, 40, size))
    counts = np.minimum(n - first_j, rng.integers(1, 3000, size))
    # small chunks and blocks: many chunk and block boundaries, elements longer than a block
    monkeypatch.setattr(stats, "_TERMS_PER_CHUNK", 200_000)
    monkeypatch.setattr(stats, "_TERMS_PER_BLOCK", 1000)
    fast = stats._pmf_sums(n, a, b, first_j, counts)
    slow = _pmf_sums_one_pass(n, a, b, first_j, counts, 200_000)
    assert np.array_equal(fast.view(np.int64), slow.view(np.int64))


def test_critical_counts_a_few_k_at_a_time_give_the_full_search():
    from scipy.special import betaln

    from ctdna_monitor import stats

    rng = np.random.default_rng(11)
    size = 4000
    depth = rng.integers(1, 6000, size)
    rate, rho = rng.uniform(1e-5, 5e-3, size), rng.uniform(1e-7, 1e-3, size)
    alpha = 0.01
    # the search bound of critical_alt_reads_many, and some rows cut short
    spread = np.sqrt(np.maximum(depth * rate * (1 + depth * rho), 1.0))
    upper = np.minimum(depth, (depth * rate + 10 * spread + 20).astype(np.int64))
    upper[::5] = np.minimum(upper[::5], rng.integers(1, 5, len(upper[::5])))
    width = int(upper.max())
    fast = stats._first_significant_betabinom(depth, rate, rho, upper, alpha)
    # every cell of 1 .. width for every row at once, as before
    ks = np.arange(1, width + 1)[None, :]
    a, b = stats.beta_shape(rate[:, None], rho[:, None])
    nn, j = depth[:, None], ks - 1
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        log_first = -np.log(nn + 1) - betaln(nn + 1, 1) + betaln(a, nn + b) - betaln(a, b)
        steps = np.log(nn - j + 1) - np.log(j) + np.log(j - 1 + a) - np.log(nn - j + b)
    steps[:, 0] = log_first[:, 0]
    pmf = np.where(j < nn, np.exp(np.cumsum(steps, axis=1)), 0.0)
    sf = np.clip(1.0 - np.cumsum(pmf, axis=1), 0.0, 1.0)
    hit = (sf <= alpha) & (ks <= upper[:, None])
    full = np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, depth + 1)
    assert (fast == full).all()
    assert (fast <= depth).sum() > size // 2  # most rows have a critical count


@pytest.mark.parametrize("threshold", [1e-4, 1e-3, 0.05])
def test_tails_decided_by_bounds_compare_with_the_threshold_as_the_summed_tails(threshold):
    """null_sf_many(..., decide_at=t) skips the summing where a bound decides the side of t: the decisions
    (p < t and p >= t) must be those of the exact tails for every row, including rows near t, carriers far
    out, shapes with a >= 1 and b < 1 (heavy overdispersion), and invalid rates."""
    from ctdna_monitor import stats

    rng = np.random.default_rng(23)
    size = 6000
    depth = rng.integers(1, 8000, size)
    rate = 10 ** rng.uniform(-6, -0.5, size)
    rho = 10 ** rng.uniform(-7, -0.3, size)
    mean = depth * rate
    sd = np.sqrt(depth * rate * (1 + depth * rho)) + 1
    # around the bulk, a few sd out (near most thresholds), and far out (carriers)
    alt = np.concatenate([
        np.round(mean[:2000] + rng.normal(0, 1, 2000) * sd[:2000]),
        np.round(mean[2000:4000] + rng.uniform(2, 12, 2000) * sd[2000:4000]),
        np.round(rng.uniform(0.05, 1, 2000) * depth[4000:]),
    ]).clip(0, None).astype(np.int64)  # fmt: skip
    alt = np.minimum(alt, depth + 2)  # a few counts above the depth
    rate[::97] = np.nan
    rho[1::3] = 0.0  # binomial rows
    exact = stats.null_sf_many(alt, depth, rate, rho)
    decided = stats.null_sf_many(alt, depth, rate, rho, decide_at=threshold)
    assert np.array_equal(exact < threshold, decided < threshold)
    assert np.array_equal(exact >= threshold, decided >= threshold)
    binomial = (rho == 0) & (alt > 0)
    assert (decided[binomial] != exact[binomial]).mean() > 0.05  # binomial rows at or below the median
    # most rows are decided without summing, and the others are the summed tails (up to the last digits:
    # fewer elements share the running sums, whose rounding reaches about 1e-7 relative)
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = stats.beta_shape(rate, rho)
        shortcut = ~np.isnan(stats._decided_tails(alt, depth, a, b, threshold))
    assert shortcut[rho > 0].mean() > 0.5
    same = ~shortcut & (alt > 0) & (rho > 0)
    assert np.allclose(exact[same], decided[same], rtol=1e-6, atol=0, equal_nan=True)
    # an invalid rate is NaN on its own and leaves the other rows' tails as they are alone
    assert np.isnan(exact[::97][alt[::97] > 0]).all()
    alone = stats.null_sf_many(alt[1:97], depth[1:97], rate[1:97], rho[1:97])
    assert np.allclose(exact[1:97], alone, rtol=1e-6, atol=0)
