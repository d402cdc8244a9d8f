"""Tests for the book's one comparison rule: ganutils.studies.estimate and compare."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ganutils import studies


def test_estimate_uses_the_sample_standard_deviation_and_a_t_interval():
    values = [10.0, 12.0, 14.0]
    est = studies.estimate(values)
    assert est.n == 3 and est.mean == pytest.approx(12.0)
    assert est.sd == pytest.approx(2.0)  # ddof=1; the population std would be 1.633
    half = 4.302652729911275 * 2.0 / math.sqrt(3)  # t(0.975, 2 dof) from a table
    assert (est.low, est.high) == pytest.approx((12.0 - half, 12.0 + half))
    single = studies.estimate([5.0])
    assert single.n == 1 and single.mean == 5.0 and math.isnan(single.low)


def test_the_interval_covers_a_known_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    trials, hits = 4000, 0
    for _ in range(trials):
        est = studies.estimate(rng.normal(3.0, 2.0, size=5))
        hits += est.low <= 3.0 <= est.high
    assert abs(hits / trials - 0.95) < 0.015  # binomial s.e. is about 0.0034


def test_the_difference_interval_covers_a_known_difference():
    rng = np.random.default_rng(1)
    trials, hits = 3000, 0
    for _ in range(trials):
        result = studies.compare(rng.normal(20.0, 1.0, size=5), rng.normal(23.0, 3.0, size=4))
        hits += result.low <= 3.0 <= result.high
    assert abs(hits / trials - 0.95) < 0.02  # Welch is approximate for unequal variances


def test_a_clear_effect_is_called_in_the_right_direction():
    baseline = [20.0, 21.0, 19.5, 20.5, 20.2]
    worse = [30.0, 31.0, 29.0, 30.5, 30.2]
    assert studies.compare(baseline, worse).verdict == "hurts"  # lower is better: FD
    assert studies.compare(worse, baseline).verdict == "helps"
    assert studies.compare(baseline, worse, lower_is_better=False).verdict == "helps"


def test_no_effect_and_a_tie_within_noise_are_not_called():
    rng = np.random.default_rng(2)
    same = studies.compare(rng.normal(20, 2, 5), rng.normal(20, 2, 5))
    assert same.verdict == "no measurable effect"
    assert same.low < 0 < same.high
    # A 3-unit gap is real in the means but within what these seeds resolve.
    noisy = studies.compare([15.0, 25.0, 20.0], [18.0, 28.0, 23.0])
    assert noisy.difference == pytest.approx(3.0) and noisy.verdict == "no measurable effect"


def test_the_five_percent_floor_stops_tiny_but_consistent_differences():
    reference = [100.0, 100.1, 99.9, 100.0, 100.0]
    shifted = [v + 2.0 for v in reference]  # the interval excludes 0, but 2% < 5%
    result = studies.compare(reference, shifted)
    assert result.low > 0 and result.verdict == "no measurable effect"
    assert studies.compare(reference, [v + 6.0 for v in reference]).verdict == "hurts"
    # Identical seed-independent failures (no spread at all) are one value, not an effect.
    assert studies.compare([420.6] * 3, [420.6] * 3).verdict == "no measurable effect"
    assert studies.compare([20.0] * 3, [420.6] * 3).verdict == "hurts"


def test_too_few_runs_and_bad_values_are_refused_clearly():
    assert studies.compare([1.0], [2.0, 3.0]).verdict == "too few runs"
    with pytest.raises(ValueError, match="variant must be a non-empty"):
        studies.compare([1.0, 2.0], [])
    with pytest.raises(ValueError, match="reference must hold finite numbers"):
        studies.compare([1.0, math.inf], [2.0, 3.0])


def test_summarise_reports_the_sample_standard_deviation():
    rows = studies.summarise({"a": [{"x": 1.0}, {"x": 3.0}]}, metrics=("x",), cost=None)
    assert rows[0]["x_std"] == pytest.approx(math.sqrt(2.0))


def test_the_rule_in_words_names_the_interval_and_the_floor():
    assert "95%" in studies.VERDICT_RULE and "5%" in studies.VERDICT_RULE
    assert studies.CONFIDENCE == 0.95 and studies.RELATIVE_FLOOR == 0.05
