"""Seconds of several sessions on one clock: `studies.clock` and the guard that asks for it.

The same CPU model ran the recipe at 45 ms per step on one day and 32 ms on
another, so timed runs compare only within one session, or after
:func:`ganutils.studies.clock.on_one_clock` rescales them by the recipe's
step time in each session and cuts them at one budget.
"""

from __future__ import annotations

import pytest

from ganutils import studies, train
from ganutils.studies import clock

AMD = {"cpu": "AMD EPYC", "cores": 2, "gpus": []}
RECIPE = train.TrainConfig.for_profile("cpu").to_dict()


def run(date, *, step_ms=40.0, seconds=(10, 20, 30, 40, 50, 60), fd=None, **fields) -> dict:
    """A timed row of the recipe on AMD at ``date``, checked at ``seconds``."""
    fd = list(fd or [90.0, 60.0, 40.0, 30.0, 25.0, 20.0])
    return {
        "variant": "baseline",
        "machine": AMD,
        "date": date,
        "profile": "cpu",
        "config": RECIPE,
        "budget_seconds": 60.0,
        "step_ms": step_ms,
        "seconds_curve": list(seconds),
        "fd_curve": fd,
        "classes_curve": [10] * len(fd),
        "epoch_curve": list(range(1, len(fd) + 1)),
        "epochs_trained": len(fd),
        "bar_fd": 45.0,
        "final_fd": fd[-1],
        "final_classes": 10,
        "time_to_good": float(seconds[2]),
        **fields,
    }


SLOW = [run("2026-11-02T07:00:00+00:00"), run("2026-11-02T07:30:00+00:00")]
FAST = [run("2026-11-05T04:00:00+00:00", step_ms=20.0, session="boot-b")]


def test_sessions_split_at_a_gap_or_a_boot_id_and_time_the_recipe():
    sessions = clock.find_sessions([*SLOW, run("2026-11-02T09:00:00+00:00"), *FAST])
    assert [s.label for s in sessions] == [
        "AMD EPYC, 2026-11-02 07:00",
        "AMD EPYC, 2026-11-02 09:00",  # 90 minutes after the last row: a new session
        "AMD EPYC, 2026-11-05 04:00",
    ]
    assert sessions[0].recipe_ms == 40.0 and sessions[2].key == "boot-b"
    assert clock.session_of(SLOW[1], sessions) is sessions[0]
    assert clock.session_of(FAST[0], sessions) is sessions[2]
    with pytest.raises(ValueError, match="none of the sessions"):
        clock.session_of(run("2026-11-03T07:00:00+00:00"), sessions)


def test_a_recorded_recipe_step_time_is_the_sessions_clock():
    rows = [run("2026-11-05T04:00:00+00:00", session="b", step_ms=99.0, recipe_step_ms=25.0)]
    rows[0]["config"] = {**RECIPE, "loss": "hinge"}  # not the recipe: its own step is not used
    (session,) = clock.find_sessions(rows)
    assert session.recipe_ms == 25.0
    assert not clock.is_recipe(rows[0]) and clock.is_recipe(SLOW[0])
    older = {k: v for k, v in RECIPE.items() if k != "d_batch_norm"}  # a field added later
    assert clock.is_recipe({**SLOW[0], "config": {**older, "seed": 3, "epochs": 1000}})


def test_a_faster_session_is_slowed_to_the_reference_clock_and_cut_at_its_budget():
    sessions = clock.find_sessions([*SLOW, *FAST])
    fast = {"recipe": FAST}
    on = clock.on_one_clock({"slow": SLOW, **fast}, sessions)
    (moved,) = on["recipe"]
    # 20 ms against 40 ms per recipe step: each second of the fast session counts two
    assert moved["seconds_curve"] == [20, 40, 60]  # cut at the first check reaching 60 s
    assert moved["final_fd"] == 40.0 and moved["epochs_trained"] == 3
    assert moved["time_to_good"] is None  # good at check 3, but nothing after it holds it
    assert moved["step_ms"] == 40.0 and moved["budget_seconds"] == 60.0
    assert moved["clock"] == "AMD EPYC, 2026-11-02 07:00"
    assert moved["session_label"] == "AMD EPYC, 2026-11-05 04:00"
    assert on["slow"][0]["seconds_curve"] == SLOW[0]["seconds_curve"]  # the reference: as it was
    # on the fast session's clock instead, the slow runs halve and cut the fast one at 30 s
    other = clock.on_one_clock({"slow": SLOW, **fast}, sessions, reference=sessions[1])
    assert other["slow"][0]["seconds_curve"] == [5, 10, 15, 20, 25, 30]
    assert other["recipe"][0]["final_fd"] == 40.0 and other["recipe"][0]["budget_seconds"] == 30


def test_on_one_clock_refuses_untimed_runs_and_a_session_without_a_recipe_time():
    sessions = clock.find_sessions([*SLOW, *FAST])
    with pytest.raises(ValueError, match="timed runs only"):
        clock.on_one_clock({"a": [dict(SLOW[0], budget_seconds=None)]}, sessions)
    once = clock.on_one_clock({"a": SLOW, "b": FAST}, sessions)
    with pytest.raises(ValueError, match="already on a clock"):
        clock.on_one_clock(once, sessions)  # scaling twice would count a second twice
    blind = [dict(FAST[0], session="boot-c", config={**RECIPE, "loss": "hinge"})]
    with pytest.raises(ValueError, match="not timed in AMD EPYC, 2026-11-05 04:00"):
        clock.on_one_clock({"a": SLOW, "b": blind}, clock.find_sessions([*SLOW, *blind]))


def test_the_guard_refuses_timed_rows_of_two_sessions_until_they_share_a_clock():
    with pytest.raises(ValueError, match=r"more than one session.*on_one_clock"):
        studies.one_machine(SLOW, FAST)
    assert studies.one_machine(SLOW) == "AMD EPYC"
    on = studies.on_one_clock({"slow": SLOW, "fast": FAST})
    assert studies.one_machine(*on.values()) == "AMD EPYC"
    untimed = [dict(r, budget_seconds=None) for r in (*SLOW, *FAST)]
    assert studies.one_machine(untimed) == "AMD EPYC"  # steps, not seconds: any session


def test_every_committed_timed_row_has_one_session_and_its_curves_give_its_measures():
    sessions = studies.known_sessions()
    rows = [
        row
        for study in studies.COMMITTED_STUDIES
        for row in studies.committed_results(study)
        if clock.timed(row)
    ]
    assert len(rows) > 200
    by_session: dict = {}  # one session's runs of one budget: nothing to scale or cut
    for row in rows:
        key = (clock.session_of(row, sessions), row["budget_seconds"])
        by_session.setdefault(key, []).append(row)
    for (session, _), runs in by_session.items():
        (same,) = clock.on_one_clock({"runs": runs}, sessions).values()
        for before, after in zip(runs, same, strict=True):
            assert after["time_to_good"] == before["time_to_good"], session.label
            assert after["final_fd"] == before["final_fd"]
            assert after["clock"] == after["session_label"] == session.label


def test_the_recipe_was_timed_in_every_session_whose_rows_a_chapter_pools():
    sessions = {s.label: s for s in studies.known_sessions()}
    ablation = [r for r in studies.committed_results("ablation") if r.get("step_ms")]
    pooled = {clock.session_of(r, tuple(sessions.values())).label for r in ablation}
    assert len(pooled) == 2  # chapter 8's seeds 0-2 and 3-4 ran in two sessions
    for label in pooled:
        assert 30 < sessions[label].recipe_ms < 80


def test_clock_note_names_each_session_and_its_recipe_step_once_runs_share_a_clock():
    same = studies.on_one_clock({"slow": SLOW})
    assert studies.clock_note(same) == ""
    note = studies.clock_note(studies.on_one_clock({"slow": SLOW, "fast": FAST}))
    assert note == (
        "These runs come from two sessions of AMD EPYC; a step of the book's recipe took "
        "40 ms in the session from 2026-11-02 07:00 and 20 ms in the session from "
        "2026-11-05 04:00. Each run's seconds are put on the clock of the session from "
        "2026-11-02 07:00: multiplied by the recipe's step time there over its step time in "
        "the run's own session, so a second of a faster session counts for more. Every run "
        "is then cut at the shortest budget that gives, 60 s on that clock."
    )


def test_the_session_check_of_the_committed_recipe_finds_the_clock_accounts_for_the_speed():
    rows = studies.committed_results("stabilisers")
    first = [r for r in rows if r["footing"] == "healthy-mnist" and r["variant"] == "baseline"]
    again = [r for r in rows if r["footing"] == "healthy-mnist-again"]
    clause, same = studies.session_check(first, again)
    # measurably sooner in the later session's own seconds, the same on the first's clock
    assert clause.startswith("the recipe took 32 ms per step against 44 ms")
    assert "on the first session's clock" in clause
    assert same, clause


def test_the_session_check_reads_a_later_faster_session_in_its_seconds_and_on_the_clock():
    fd = [90.0, 60.0, 40.0, 30.0, 25.0, 20.0, 19.0, 18.0, 17.0, 16.0, 15.0, 14.0]

    def runs(day, step_ms, checks):
        """Three seeds of one session, checked at ``checks`` seconds of its own."""
        return [
            run(
                f"2026-11-{day}T0{k}:00:00+00:00",
                session=day,
                step_ms=step_ms,
                seconds=checks,
                fd=[f + k for f in fd[: len(checks)]],
                time_to_good=checks[2],
            )
            for k in range(3)
        ]

    # the later session trains twice as fast: twice the checks in its 60 s
    first = runs("07", 40.0, [10, 20, 30, 40, 50, 60])
    faster = runs("08", 20.0, [5 * k for k in range(1, 13)])
    clause, same = studies.session_check(first, faster)
    assert clause.startswith("the recipe took 20 ms per step against 40 ms and reached good ")
    assert "digits in 15 s against 30 s; on the first session's clock" in clause
    assert "it reached them in 30 s (no measurable difference)" in clause
    assert same
