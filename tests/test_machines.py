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
    assert studies.one_machine(*modern.combined(rows, stabilisers, "mnist").values()) == AMD
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
    # timed rows of two sessions of one CPU model, not yet on one clock
    healthy = [r for r in committed("stabilisers") if r.get("footing") == "healthy-mnist"]
    with pytest.raises(ValueError, match="more than one session"):
        studies.one_machine(healthy)  # chapter 7's recipe, and the BN-free critics' session
    timed = [r for r in committed("ablation") if r.get("budget_seconds") == 60]
    with pytest.raises(ValueError, match="more than one session"):
        ablate.verdicts(timed)  # chapter 8's seeds 0-2 and 3-4
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


def test_chapter_nines_mnist_part_is_one_machine_on_one_clock():
    mnist = modern.combined(committed("modern"), committed("stabilisers"), "mnist")
    # every setup with the book's D and with its paper's critic, at each rate, beside the
    # recipe of chapter 7's first session, on that session's clock
    names = [s.scaled(m).name for s in modern.IMAGE_SETUPS for m in modern.MNIST_MULTIPLES]
    assert list(mnist) == [modern.RECIPE, *names]
    assert studies.one_machine(*mnist.values()) == AMD
    recipe = mnist[modern.RECIPE]
    assert len(recipe) == 3 and all(r["footing"] == "healthy-mnist" for r in recipe)
    clocks = {r["clock"] for runs in mnist.values() for r in runs}
    assert clocks == {recipe[0]["session_label"]}
    sessions = {r["session_label"] for runs in mnist.values() for r in runs}
    assert len(sessions) == 3  # chapter 7's, the BN-free critics', and the book's D again


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
    mnist = modern.combined(rows, committed("stabilisers"), "mnist")
    for results in [mnist, modern.combined(rows, [], "stacked")]:
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
