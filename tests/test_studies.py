"""The studies subpackage: its names and lazy loading, and the book's one comparison rule.

The rule is ganutils.studies.estimate and compare (from ganutils.studies.stats).
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys

import numpy as np
import pytest

from ganutils import studies
from ganutils.studies import common, runner, stats


def test_the_subpackage_re_exports_the_shared_names_of_its_common_module():
    for name in common.__all__:
        assert getattr(studies, name) is getattr(common, name), name
    assert studies.compare is stats.compare and studies.VERDICT_RULE is stats.VERDICT_RULE
    with pytest.raises(AttributeError, match="no_such_name"):
        studies.no_such_name  # noqa: B018
    with pytest.raises(AttributeError, match="_private"):
        studies._private  # noqa: B018


def test_the_comparison_rule_and_the_subpackage_start_no_tensorflow():
    code = (
        "import sys, ganutils.studies, ganutils.studies.stats;"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]


def test_the_runner_skips_finished_runs_and_appends_and_logs_the_others(tmp_path):
    path = runner.results_file(tmp_path / "out")
    assert path == tmp_path / "out" / runner.RESULTS_FILE and path.parent.is_dir()
    common.append_row(path, {"name": "a", "seed": 0, "profile": "smoke"})
    trained, lines = [], []

    def run(name, seed):
        def train():
            trained.append((name, seed))
            return {"name": name, "seed": seed, "profile": "smoke"}

        return runner.Run((name, seed, "smoke"), train)

    def key(row):
        return (row["name"], row["seed"], row["profile"])

    rows = runner.run_resumable(
        path,
        (run(name, seed) for seed in (0, 1) for name in ("a", "b")),
        key=key,
        log=lines.append,
        describe=lambda row, seconds: f"{row['name']} seed {row['seed']}: {seconds:.0f} s",
    )
    assert trained == [("b", 0), ("a", 1), ("b", 1)]  # ("a", 0) was in the file
    summary = f"3 runs trained, 1 run already in {path} (skipped)"
    assert lines == ["b seed 0: 0 s", "a seed 1: 0 s", "b seed 1: 0 s", summary]
    assert [(r["name"], r["seed"]) for r in rows] == [("a", 0), *trained]
    assert common.read_rows(path) == rows
    lines.clear()  # again: the file holds every run now
    again = runner.run_resumable(
        path,
        (run(n, s) for s in (0, 1) for n in ("a", "b")),
        key=key,
        log=lines.append,
        describe=lambda row, seconds: "never called",
    )
    assert again == rows and lines == [f"0 runs trained, 4 runs already in {path} (skipped)"]
    with pytest.raises(ValueError, match="seeds"):
        runner.check_seeds([])
    assert runner.get_profile("smoke").name == "smoke"


def test_the_study_command_lines_share_their_flags():
    parser = argparse.ArgumentParser(parents=[runner.parent_parser()])
    args = parser.parse_args(["--out", "x", "--seeds", "3", "4", "--profile", "smoke"])
    assert (args.out, args.seeds, args.profile) == ("x", [3, 4], "smoke")
    assert parser.parse_args(["--out", "x"]).seeds == [0, 1, 2]
    with pytest.raises(SystemExit):
        parser.parse_args([])  # --out is required
    optional = argparse.ArgumentParser(parents=[runner.parent_parser(out_required=False)])
    assert optional.parse_args([]).out is None


@pytest.mark.parametrize("module", ["ablate", "footings", "modern", "conditional"])
def test_every_study_runs_as_a_module(module):
    result = subprocess.run(
        [sys.executable, "-m", f"ganutils.studies.{module}", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"python -m ganutils.studies.{module}" in result.stdout
    for flag in ("--out", "--profile", "--seeds"):
        assert flag in result.stdout


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


#: Times to good (s) over three seeds: the reference's mean is 20 s, so the floor is 1 s.
REFERENCE_SECONDS = [19.0, 20.0, 21.0]
#: 3.85 s slower on average, with the spread that puts the interval's near edge at +0.58 s.
SLOWER_AND_SPREAD = [22.25, 23.85, 25.45]
#: As slow on average, with the spread that puts the near edge at +1.77 s, beyond the floor.
SLOWER_AND_TIGHT = [23.35, 23.85, 24.35]


def test_a_clear_verdict_whose_interval_edge_is_within_the_floor_is_borderline():
    result = studies.compare(REFERENCE_SECONDS, SLOWER_AND_SPREAD)  # lower is better
    assert result.difference == pytest.approx(3.85)
    assert result.absolute_floor == pytest.approx(1.0)  # 5% of the reference's 20 s
    assert 0 < result.low < result.absolute_floor < result.difference < result.high
    assert result.verdict == "hurts" and result.borderline
    assert result.reading == "hurts (borderline)"
    # The other way round, the same interval mirrored: a borderline helps.
    back = studies.compare(SLOWER_AND_SPREAD, REFERENCE_SECONDS)
    assert back.high < 0 and abs(back.high) <= back.absolute_floor
    assert back.verdict == "helps" and back.reading == "helps (borderline)"


def test_a_clear_verdict_whose_interval_clears_the_floor_is_not_borderline():
    result = studies.compare(REFERENCE_SECONDS, SLOWER_AND_TIGHT)
    assert result.difference == pytest.approx(3.85)
    assert result.low > result.absolute_floor == pytest.approx(1.0)
    assert result.verdict == "hurts" and not result.borderline and result.reading == "hurts"
    # Identical seed-independent values: the interval is the difference, far beyond the floor.
    fixed = studies.compare([20.0] * 3, [420.6] * 3)
    assert fixed.verdict == "hurts" and fixed.reading == "hurts"


@pytest.mark.parametrize("variant", [SLOWER_AND_SPREAD, SLOWER_AND_TIGHT])
def test_borderline_does_not_depend_on_which_side_is_better(variant):
    lower = studies.compare(REFERENCE_SECONDS, variant, lower_is_better=True)
    higher = studies.compare(REFERENCE_SECONDS, variant, lower_is_better=False)
    assert (lower.verdict, higher.verdict) == ("hurts", "helps")
    assert (lower.low, lower.high) == (higher.low, higher.high)
    assert lower.borderline == higher.borderline == (variant is SLOWER_AND_SPREAD)
    suffix = " (borderline)" if lower.borderline else ""
    assert (lower.reading, higher.reading) == (f"hurts{suffix}", f"helps{suffix}")


def test_no_measurable_effect_and_too_few_runs_are_never_borderline():
    # Clear of zero and within the floor: below the floor, so not an effect at all.
    reference = [100.0, 100.1, 99.9, 100.0, 100.0]
    small = studies.compare(reference, [v + 2.0 for v in reference])
    assert 0 < small.low <= small.absolute_floor and small.verdict == "no measurable effect"
    noisy = studies.compare([15.0, 25.0, 20.0], [18.0, 28.0, 23.0])  # the interval spans zero
    few = studies.compare([1.0], [2.0, 3.0])
    for result in (small, noisy, few):
        assert not result.borderline and result.reading == result.verdict


def test_a_comparison_built_by_position_still_works_and_is_borderline_only_with_a_floor():
    est = studies.estimate([1.0, 2.0, 3.0])
    bare = studies.Comparison(est, est, 1.0, 0.5, 1.5, "hurts")
    assert math.isnan(bare.absolute_floor) and not bare.borderline and bare.reading == "hurts"
    floored = studies.Comparison(est, est, 1.0, 0.5, 1.5, "hurts", 0.6)
    assert floored.borderline and floored.reading == "hurts (borderline)"
    assert not studies.Comparison(est, est, 1.0, 0.5, 1.5, "hurts", 0.4).borderline


def test_borderline_is_a_clear_verdict_whose_near_edge_is_within_the_floor():
    rng = np.random.default_rng(4)
    for _ in range(500):
        reference, variant = rng.normal(20.0, 2.0, 3), rng.normal(rng.uniform(18, 26), 2.0, 3)
        result = studies.compare(reference, variant, lower_is_better=bool(rng.integers(2)))
        near = min(abs(result.low), abs(result.high))
        clear = result.verdict in ("helps", "hurts")
        assert result.borderline == (clear and near <= 0.05 * abs(np.mean(reference)))
        assert result.reading.removesuffix(" (borderline)") == result.verdict


def test_equal_variants_give_a_clear_interval_about_one_time_in_twenty():
    """What the rule's note on many comparisons says: chance alone clears zero about 1 in 20."""
    rng = np.random.default_rng(5)
    trials, clear = 4000, 0
    for _ in range(trials):
        result = studies.compare(rng.normal(20.0, 2.0, 5), rng.normal(20.0, 2.0, 5))
        clear += result.low > 0 or result.high < 0
    assert 0.025 < clear / trials < 0.06  # Welch is a little conservative: about 0.04


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


def test_the_rule_in_words_states_its_treatment_of_many_comparisons():
    rule = studies.VERDICT_RULE
    assert rule.startswith("A variant **helps** when the 95% confidence interval")
    assert rule.index("**no measurable effect**") < rule.index("**borderline**")
    assert "one comparison in twenty" in rule and "does not correct the intervals" in rule
    assert "a lead to re-test, not a finding" in rule


def test_a_table_marks_the_borderline_verdict_and_only_that_one():
    results = {
        name: [{"time_to_good": value} for value in values]
        for name, values in (
            ("baseline", REFERENCE_SECONDS),
            ("spread", SLOWER_AND_SPREAD),
            ("tight", SLOWER_AND_TIGHT),
        )
    }
    rows = studies.summarise(results, metrics=["time_to_good"], baseline="baseline", cost=None)
    table = studies.markdown_table(
        rows, metrics={"time_to_good": ("time to good (s)", ".2f")}, results=results
    )
    lines = {line.split(" | ")[0].strip("| "): line for line in table.splitlines()}
    assert lines["spread"].endswith("| 23.85 ± 1.60 (+3.85) **hurts (borderline)** |")
    assert lines["tight"].endswith("| 23.85 ± 0.50 (+3.85) **hurts** |")
    assert "**" not in lines["baseline"]
