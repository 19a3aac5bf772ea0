"""Detection statistics: binomial test against background error, LoD, not-assessable depth."""

import pytest

from ctdna_monitor.stats import (
    DETECTED, NOT_ASSESSABLE, NOT_DETECTED, DetectionParams, binomial_p_value, classify,
    critical_alt_reads, limit_of_detection,
)  # fmt: skip

PARAMS = DetectionParams(background_error=5e-4, alpha=0.01, min_depth=100, min_alt_reads=2)


def test_one_or_two_reads_at_5000x_are_noise():
    for alt in (1, 2):
        assert classify(alt, 5000, alt / 5000, PARAMS).status == NOT_DETECTED


def test_a_real_low_vaf_signal_is_detected():
    result = classify(15, 5000, 0.003, PARAMS)
    assert result.status == DETECTED and result.p_value < 1e-4


def test_the_same_vaf_depends_on_depth_not_a_fixed_cutoff():
    # 0.2% VAF: 10 reads at 5,000x is significant, 1 read at 500x is not.
    assert classify(10, 5000, 0.002, PARAMS).status == DETECTED
    assert classify(1, 500, 0.002, PARAMS).status == NOT_DETECTED


def test_critical_count_is_the_smallest_significant_count():
    for depth in (150, 1000, 5000, 20000):
        k = critical_alt_reads(depth, 5e-4, 0.01, 1)
        assert binomial_p_value(k, depth, 5e-4) <= 0.01 < binomial_p_value(k - 1, depth, 5e-4)


def test_lod_falls_with_depth():
    lods = [limit_of_detection(d, PARAMS) for d in (200, 1000, 5000, 20000)]
    assert lods == sorted(lods, reverse=True)
    assert lods[-1] < 0.002


def test_shallow_or_missing_depth_is_not_assessable():
    assert classify(0, 40, 0.0, PARAMS).status == NOT_ASSESSABLE
    assert classify(None, None, None, PARAMS).status == NOT_ASSESSABLE
    assert classify(0, 2000, 0.0, PARAMS).status == NOT_DETECTED


def test_vaf_only_is_detected_without_statistics():
    result = classify(None, None, 0.01, PARAMS)
    assert result.status == DETECTED and result.p_value is None and result.lod is None


def test_p_value_tail():
    assert binomial_p_value(0, 100, 0.01) == 1.0
    assert binomial_p_value(1, 100, 0.01) == pytest.approx(1 - 0.99**100)
