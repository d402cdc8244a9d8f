"""Seconds compare only on one machine: the studies' guard, and the committed rows it reads.

``ganutils.studies.machines``, ``one_machine`` and ``keeps_batch_norm`` (in
``ganutils/studies/common.py``); the study functions that call the guard
before they compare rows (``summarise``, ``ablate.verdicts`` and
``ablate.summary``, ``race.summary``, ``footings.results_by_variant``,
``modern.combined``); and the committed results, whose comparisons the
chapters make on one machine each.
"""

from __future__ import annotations

import pytest

from ganutils import studies
from ganutils.studies import ablate, conditional, footings, modern, race, runner

AMD, INTEL = "AMD EPYC", "Intel(R) Xeon(R) Processor"


def on(cpu: str, **fields) -> dict:
    """A row measured on ``cpu``."""
    return {"machine": {"cpu": cpu, "cores": 2, "gpus": []}, **fields}


def test_machines_reads_each_rows_cpu_and_skips_rows_without_provenance():
    rows = [on(AMD), on(INTEL), on(AMD), {"seed": 0}, {"machine": {}}]
    assert studies.machines(rows) == {AMD, INTEL}
    assert studies.machines([{"seed": 0}]) == set()


def test_one_machine_returns_the_cpu_or_names_each_machine_with_its_rows():
    assert studies.one_machine([on(AMD)], [on(AMD), {"seed": 1}]) == AMD
    assert studies.one_machine([{"seed": 0}], []) is None  # live runs record none
    with pytest.raises(
        ValueError, match=r"'AMD EPYC' \(2 rows\); 'Intel\(R\) Xeon\(R\) Processor' \(1 row\)"
    ):
        studies.one_machine([on(AMD), on(AMD)], [on(INTEL)])


def test_provenance_records_this_machine():
    machine = studies.this_machine()
    assert machine["cpu"] and machine["cores"] >= 1 and isinstance(machine["gpus"], list)
    assert studies.provenance(runner.get_profile("smoke"), "data")["machine"] == machine


def test_summarise_refuses_a_cost_or_a_budget_across_machines():
    results = {
        "baseline": [on(AMD, step_ms=40.0, modes_covered=8)] * 2,
        "R1": [on(INTEL, step_ms=60.0, modes_covered=8)] * 2,
    }
    with pytest.raises(ValueError, match="more than one machine"):
        studies.summarise(results, baseline="baseline")  # a step-time ratio
    rows = studies.summarise(results, baseline="baseline", cost=None)  # steps, not seconds
    assert rows[1]["modes_covered_delta"] == 0 and "cost_ratio" not in rows[1]
    timed = {name: [dict(r, budget_seconds=60.0) for r in runs] for name, runs in results.items()}
    with pytest.raises(ValueError, match="more than one machine"):
        studies.summarise(timed, baseline="baseline", cost=None)
    same = {"baseline": results["baseline"], "R1": [on(AMD, step_ms=60.0, modes_covered=8)] * 2}
    assert studies.summarise(same, baseline="baseline")[1]["cost_ratio"] == pytest.approx(1.5)


def test_the_study_functions_refuse_rows_of_two_machines():
    ablation = [
        on(AMD, variant="baseline", kind="baseline"),
        on(INTEL, variant="plain", kind="plain"),
    ]
    with pytest.raises(ValueError, match="more than one machine"):
        ablate.verdicts(ablation)
    with pytest.raises(ValueError, match="more than one machine"):
        ablate.summary(ablation)
    with pytest.raises(ValueError, match="more than one machine"):
        race.summary([on(AMD, setup="recipe"), on(INTEL, setup="tutorial")])
    footing = [
        on(AMD, footing="healthy-mnist", variant="baseline", seed=0),
        on(INTEL, footing="healthy-mnist", variant="WGAN-GP", seed=0),
    ]
    with pytest.raises(ValueError, match="more than one machine"):
        footings.results_by_variant(footing, "healthy-mnist")


def committed(study: str) -> list[dict]:
    return studies.committed_results(study)


def test_every_comparison_the_chapters_make_reads_rows_of_one_machine():
    ablation = committed("ablation")
    assert studies.one_machine(ablate.at_budget(ablation)) == AMD  # chapter 8's verdicts
    assert studies.one_machine(ablate.at_epochs(ablation, 8)) == INTEL  # its 8-epoch ones
    # Chapter 8's budget is three times the recipe's time to good on the same machine.
    assert studies.one_machine(ablate.at_budget(ablation), committed("time_to_quality")) == AMD
    stabilisers = committed("stabilisers")
    for footing in (*footings.FOOTINGS, *footings.MNIST_FOOTINGS):
        results = footings.results_by_variant(stabilisers, footing)
        assert studies.one_machine(*results.values()), footing
    rows = committed("modern")
    assert studies.one_machine(*modern.combined(rows, [], "ablation").values()) == INTEL
    # StackedMNIST holds steps equal, not seconds: its BN-free rows ran later on AMD, and
    # chapter 9 leaves out its step-time column.
    stacked = modern.combined(rows, [], "stacked")
    for name, runs in stacked.items():
        expected = AMD if footings.PAPER_CRITIC in name else INTEL
        assert studies.one_machine(runs) == expected, name
    assert studies.one_machine(committed("conditional")) == INTEL


def test_the_mixed_comparisons_of_the_committed_rows_now_fail_loudly():
    with pytest.raises(ValueError, match="more than one machine"):
        ablate.verdicts(committed("ablation"))  # the 60 s and the 8-epoch ablations
    with pytest.raises(ValueError, match="more than one machine"):
        modern.combined(committed("modern"), committed("stabilisers"), "mnist")
    toy = modern.combined(committed("modern"), committed("stabilisers"), "toy", "healthy-ring")
    with pytest.raises(ValueError, match="more than one machine"):
        studies.summarise(toy, baseline=modern.RECIPE)  # its step-time column
    assert studies.summarise(toy, baseline=modern.RECIPE, cost=None)  # modes: steps, not seconds


def recipe_rows() -> list[dict]:
    return [r for r in committed("conditional") if r["variant"] == conditional.BASELINE]


#: Config fields that may differ between two runs of the recipe: the seed, and the label
#: fields a run without num_classes ignores (chapter 11's study records their defaults).
INERT = {"seed", "conditioning", "class_loss_weight"}


def test_chapter_elevens_unconditional_arm_is_chapter_sevens_recipe_on_the_other_machine():
    reference = [
        r
        for r in committed("stabilisers")
        if r["footing"] == "healthy-mnist" and r["variant"] == "baseline"
    ]
    for row in recipe_rows():
        assert row["config"]["num_classes"] is None
        assert row["budget_seconds"] == reference[0]["budget_seconds"]
        assert row["data"] == reference[0]["data"] and row["profile"] == reference[0]["profile"]
        for field in set(row["config"]) | set(reference[0]["config"]):
            if field not in INERT and field in reference[0]["config"]:
                assert row["config"].get(field) == reference[0]["config"][field], field
    assert sorted(r["seed"] for r in recipe_rows()) == sorted(r["seed"] for r in reference)


def test_chapter_nines_mnist_part_compares_each_machine_with_its_own_recipe():
    by_machine = modern.mnist_by_machine(
        committed("modern"), committed("stabilisers"), recipe_rows()
    )
    assert list(by_machine) == [AMD, INTEL]
    # AMD: chapter 7's recipe and WGAN-GP rows, and every setup with its paper's critic
    # (run later there); Intel: the other setups with the book's D, and chapter 11's recipe.
    names = [s.scaled(m).name for s in modern.IMAGE_SETUPS for m in modern.MNIST_MULTIPLES]
    amd = [n for n in names if n.startswith("WGAN-GP") or footings.PAPER_CRITIC in n]
    assert list(by_machine[AMD]) == [modern.RECIPE, *amd]
    intel = [n for n in names if n not in amd]
    assert list(by_machine[INTEL]) == [modern.RECIPE, *intel] and len(intel) == 6
    for cpu, results in by_machine.items():
        assert studies.one_machine(*results.values()) == cpu
        assert len(results[modern.RECIPE]) == 3


def test_keeps_batch_norm_reads_d_batch_norm_before_batch_norm():
    assert studies.keeps_batch_norm([{"config": {"batch_norm": True}}] * 2) is True
    assert studies.keeps_batch_norm([{"config": {"batch_norm": False}}]) is False
    assert studies.keeps_batch_norm([{"config": {"batch_norm": True}}, {"config": {}}]) is None
    alone = {"batch_norm": True, "d_batch_norm": False}
    assert studies.keeps_batch_norm([{"config": alone}]) is False
    assert studies.keeps_batch_norm([{"config": {**alone, "d_batch_norm": None}}]) is True


def test_each_papers_critic_row_has_no_batch_norm_in_d_and_every_other_row_has_it():
    """A row named ' + BN-free D' trained D without batch norm; every other kept it."""

    def check(name, runs):
        paper = name.split(" (lr")[0].endswith(footings.PAPER_CRITIC)
        assert studies.keeps_batch_norm(runs) is (not paper), name

    for footing in ("healthy-mnist", "rescue-mnist", "rescue-mnist-critics"):
        for name, runs in footings.results_by_variant(committed("stabilisers"), footing).items():
            check(name, runs)
    rows = committed("modern")
    by_machine = modern.mnist_by_machine(rows, committed("stabilisers"), recipe_rows())
    for results in [*by_machine.values(), modern.combined(rows, [], "stacked")]:
        for name, runs in results.items():
            check(name, runs)
    critic = footings.paper_critic(footings.SETTINGS[1])
    assert critic.name == "WGAN-GP + BN-free D" and critic.image == {"d_batch_norm": False}


def test_batch_norm_note_names_the_runs_that_kept_it():
    kept = [{"config": {"batch_norm": True}}] * 2
    none = [{"config": {"batch_norm": True, "d_batch_norm": False}}]
    results = {"WGAN-GP": kept, "R1": kept, "SN": none}
    note = studies.batch_norm_note(results, ["WGAN-GP", "R1"], "MNIST")
    assert note.startswith("All 4 MNIST runs of WGAN-GP and R1 here kept batch normalisation")
    mixed = studies.batch_norm_note(results, ["WGAN-GP", "SN"])
    assert mixed.startswith("The 2 runs of WGAN-GP kept")
    assert mixed.endswith("the 1 run of SN has none in D, as the papers' critics have none.")
    assert studies.batch_norm_note(results, ["SN"]).startswith("None of these runs")
    results = {"WGAN-GP": kept, "WGAN-GP + BN-free D": none * 3}
    short = studies.batch_norm_note(results, list(results), "MNIST", marked=" + BN-free D")
    assert short == (
        "The 2 MNIST runs of the unmarked rows kept batch normalisation in D (this book's "
        'discriminator, not the papers\' critic); the 3 runs of the rows marked "+ BN-free D" '
        "have none in D, as the papers' critics have none."
    )


def test_session_check_reads_the_later_session_against_the_first():
    first = [{"time_to_good": t, "final_fd": 24.0 + t / 100, "step_ms": 45.0} for t in (19, 20, 21)]
    faster = [
        {"time_to_good": t, "final_fd": 24.0 + t / 100, "step_ms": 32.0} for t in (12, 13, 14)
    ]
    clause, same = studies.session_check(first, faster)
    assert not same and clause.startswith("the recipe took 32 ms per step against 45 ms")
    assert "13 s against 20 s (measurably sooner)" in clause
    assert clause.endswith("(no measurable difference)")
    assert studies.session_check(first, first)[1] is True
