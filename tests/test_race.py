"""The time-to-quality study: reading its runs back (the runs themselves are the benchmark's)."""

import pytest

import ganutils.studies as studies
import ganutils.studies.race as race


def _check(epoch, fd_book, fd_second, classes=10):
    return {
        "epoch": epoch,
        "seconds": 4.0 * epoch,
        "fd_book": fd_book,
        "classes_book": classes,
        "bar_book": 70.0,
        "fd_second": fd_second,
        "classes_second": classes,
        "bar_second": 85.0,
    }


def _row(setup, seed, curve, kind="book", budget=None):
    return {
        "setup": setup,
        "kind": kind,
        "seed": seed,
        "budget_seconds": budget,
        "checks": [_check(e, b, s, c) for e, (b, s, c) in enumerate(curve, start=1)],
    }


def test_seconds_to_good_needs_the_bar_every_class_and_the_hold():
    checks = [_check(1, 90, 99), _check(2, 60, 80, 9), _check(3, 60, 80), _check(4, 50, 90)]
    checks += [_check(5, 40, 70), _check(6, 30, 60)]
    assert race.seconds_to_good(checks, "book") == 12.0  # epoch 2 lacks a class
    assert race.seconds_to_good(checks, "second") is None  # epoch 4 breaks the hold ...
    longer = [*checks, _check(7, 30, 60)]
    assert race.seconds_to_good(longer, "second") == 20.0  # ... until epoch 5 holds two more


def test_summary_reports_each_setup_under_both_scorers():
    fast = [(80, 95, 10), (60, 80, 10), (50, 70, 10), (40, 60, 10)]
    never = [(90, 99, 10), (85, 95, 10), (80, 90, 10)]
    rows = [_row("recipe", 0, fast), _row("recipe", 1, fast)]
    rows += [_row("tutorial", 0, never, kind="tutorial", budget=12.0)]
    out = race.summary(rows)
    assert list(out) == ["recipe", "tutorial"]
    recipe, tutorial = out["recipe"], out["tutorial"]
    assert recipe["seconds_book"] == [8.0, 8.0] and recipe["mean_book"] == 8.0
    assert recipe["seconds_second"] == [8.0, 8.0] and recipe["good_at_end_second"] == 2
    assert recipe["final_fd_book"] == pytest.approx(40.0) and recipe["epochs"] == 4
    assert recipe["drift_book"] == 1.0  # the last check is the best
    assert tutorial["drift_book"] == 1.0
    worse = race.summary([_row("late", 0, [(80, 95, 10), (40, 60, 10), (50, 70, 10)])])
    assert worse["late"]["drift_book"] == pytest.approx(50 / 40)
    assert tutorial["reached_book"] == 0 and tutorial["mean_book"] is None
    assert tutorial["good_at_end_book"] == 0 and tutorial["budget_seconds"] == 12.0


def test_the_committed_runs_hold_what_the_chapters_read():
    rows = studies.committed_results("time_to_quality")
    out = race.summary(rows)
    assert {"recipe", "tutorial", "tutorial-tuned"} <= set(out)
    for row in rows:
        assert row["commit"] and row["machine"] and row["reference"]
        assert set(row["calibration"]) == set(race.SCORERS)
        assert all(
            {"fd_book", "fd_second", "rt_train", "rt_heldout"} <= set(c) for c in row["checks"]
        )
