"""Tests for ganutils.studies.ablate: the variant list, resuming, the results file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from ganutils import config, studies, train
from ganutils.studies import ablate, common

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def practice_labels() -> set[str]:
    """The section labels of the practices in chapters 2 and 3 (not the chapters' own)."""
    labels = set()
    for name in ("02_dcgan_practices.ipynb", "03_ganhacks_tricks.ipynb"):
        notebook = json.loads((NOTEBOOKS / name).read_text())
        for cell in notebook["cells"]:
            if cell["cell_type"] == "markdown":
                labels.update(
                    re.findall(
                        r"^\((dcgan-[\w-]+|ganhacks-[\w-]+)\)=", "".join(cell["source"]), re.M
                    )
                )
    return labels - {"dcgan-practices", "ganhacks-tricks"}


def test_every_practice_the_book_defines_has_variants():
    labels = practice_labels()
    assert len(labels) == 11
    assert set(ablate.PRACTICES) == labels  # a new practice section needs a variant
    variants = ablate.variants()
    for label in labels:
        kinds = {v.kind for v in variants if v.practice == label}
        assert "leave_one_out" in kinds, label
        assert "add_one" in kinds or label in ablate._NOT_ADDED, label
    names = [v.name for v in variants]
    assert len(names) == len(set(names))
    assert names[0] == "baseline" and "plain" in names


def test_every_variant_builds():
    profile = config.get_profile("smoke")
    for variant in ablate.variants():
        cfg = train.TrainConfig.for_profile(profile, **variant.overrides)
        for field, value in variant.overrides.items():
            assert getattr(cfg, field) == value
    plain = train.TrainConfig.for_profile(profile, **ablate.plain_overrides())
    gan = train.build_gan(plain)
    # The plain GAN keeps Adam (SGD does not train it), with Keras' default beta_1.
    assert gan.options.image_range == "unit" and gan.d_optimizer.__class__.__name__ == "Adam"
    assert float(gan.d_optimizer.beta_1) == 0.9
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(ablate.PLAIN_LEARNING_RATE)
    latents = np.zeros((2, plain.latent_dim), np.float32)
    raw = np.asarray(gan.generator(latents))
    shown = np.asarray(gan.sampler(latents))
    assert raw.min() >= 0.0 and raw.max() <= 1.0  # sigmoid output
    np.testing.assert_allclose(shown, 2 * raw - 1, atol=1e-6)  # sampler maps to [-1, 1]


def test_add_one_adds_exactly_its_practice():
    plain = ablate.plain_overrides()
    recipe = train.TrainConfig()
    for variant in ablate.variants():
        if variant.kind != "add_one":
            continue
        changed = {k for k in plain if variant.overrides[k] != plain[k]}
        assert len(changed) == 1, (variant.name, changed)  # one practice, one field
        (field,) = changed
        assert variant.overrides[field] == getattr(recipe, field)
        assert set(variant.overrides) == set(plain)
    adam = next(v for v in ablate.variants() if v.name == "with:dcgan-adam")
    assert adam.overrides["beta_1"] == recipe.beta_1 == 0.5


def test_the_labels_say_the_settings_actually_measured():
    recipe = train.TrainConfig()
    by_name = {v.name: v for v in ablate.variants()}
    sgd = by_name["without:dcgan-adam"]
    assert sgd.overrides == {"optimizer": "sgd"}  # at the recipe's learning rate
    assert f"{recipe.learning_rate:g}" in sgd.description and "2e-4" not in sgd.description
    beta = by_name["adam-beta1-0.9"]
    assert beta.overrides == {"beta_1": 0.9} and f"{recipe.learning_rate:g}" in beta.description
    assert f"{ablate.PLAIN_LEARNING_RATE:g}" in by_name["plain"].description
    assert {v.overrides["learning_rate"] for v in ablate.sweep_variants()} == set(
        ablate.PLAIN_SWEEP
    )


def test_the_plain_learning_rate_is_the_best_of_its_committed_sweep():
    rows = [r for r in studies.committed_results("ablation") if r["kind"] == "plain_sweep"]
    by_rate = {r["config"]["learning_rate"]: r["final_fd"] for r in rows if r["seed"] == 0}
    assert set(by_rate) == set(ablate.PLAIN_SWEEP)
    assert min(by_rate, key=by_rate.get) == pytest.approx(ablate.PLAIN_LEARNING_RATE)


def test_the_budget_is_about_three_times_the_recipes_time_to_good():
    from ganutils.studies import race

    recipe = race.summary(studies.committed_results("time_to_quality"))["recipe"]
    assert recipe["mean_book"] is not None
    assert 2.5 <= ablate.BUDGET_SECONDS / recipe["mean_book"] <= 3.5


class StubFloor:
    fd = 21.0
    floor_fd = 3.0


def fake_row(variant, seed, **kwargs):
    return {
        "variant": variant.name,
        "kind": variant.kind,
        "practice": variant.practice,
        "seed": seed,
        "epochs": kwargs["epochs"] or 2,
        "budget_seconds": kwargs.get("budget_seconds"),
        "final_fd": 10.0 + seed,
        "final_classes": 10,
        "time_to_good": None,
        "diverged": variant.name == "without:dcgan-batch-norm",
        "collapsed": False,
    }


def test_resumed_ablation_neither_repeats_nor_loses_runs(tmp_path, monkeypatch):
    calls = []

    def run_variant(variant, seed, **kwargs):
        if len(calls) == 3:
            raise KeyboardInterrupt  # the ablation is interrupted during its fourth run
        calls.append((variant.name, seed))
        return fake_row(variant, seed, **kwargs)

    monkeypatch.setattr(common, "run_mnist", run_variant)  # where ablate calls it
    names = ["baseline", "without:dcgan-batch-norm"]
    kwargs = dict(
        profile="smoke",
        seeds=[0, 1],
        names=names,
        epochs=2,
        scorer=object(),
        bar=StubFloor(),
        log=lambda *_: None,
    )
    with pytest.raises(KeyboardInterrupt):
        ablate.run_ablation(tmp_path, **kwargs)
    assert len(studies.read_rows(tmp_path / ablate.RESULTS_FILE)) == 3
    monkeypatch.setattr(
        common, "run_mnist", lambda v, s, **kw: calls.append((v.name, s)) or fake_row(v, s, **kw)
    )
    rows = ablate.run_ablation(tmp_path, **kwargs)
    assert calls == [
        ("baseline", 0),
        ("without:dcgan-batch-norm", 0),
        ("baseline", 1),
        ("without:dcgan-batch-norm", 1),
    ]  # seed-major; the fourth run only, once
    assert sorted((r["variant"], r["seed"]) for r in rows) == sorted(calls)
    assert all(r["profile"] == "smoke" and r["commit"] and r["machine"]["cpu"] for r in rows)
    diverged = [r for r in rows if r["diverged"]]
    assert len(diverged) == 2  # recorded, and the ablation went on
    summary = {s["name"]: s for s in ablate.summary(rows)}
    assert summary["baseline"]["final_fd_mean"] == pytest.approx(10.5)
    assert summary["without:dcgan-batch-norm"]["diverged"] == 2


def test_results_file_round_trips_and_survives_a_torn_line(tmp_path):
    path = tmp_path / ablate.RESULTS_FILE
    rows = [{"variant": "baseline", "seed": 0, "fd_curve": [30.5, 20.25], "time_to_good": None}]
    path.write_text(json.dumps(rows[0]) + "\n" + '{"variant": "plain", "se')
    assert studies.read_rows(path) == rows
    assert studies.read_rows(tmp_path / "missing.jsonl") == []


def test_unknown_variant_raises(tmp_path):
    with pytest.raises(ValueError, match="unknown variants"):
        ablate.run_ablation(
            tmp_path, profile="smoke", names=["no-such-trick"], scorer=object(), bar=StubFloor()
        )


def test_a_diverging_run_is_recorded_not_raised(mnist_subset):
    import ganutils.data
    import ganutils.metrics

    profile = config.get_profile("smoke")
    images = ganutils.data.scale_images(mnist_subset.images[:256])
    scorer = ganutils.metrics.MnistScorer(sample_size=200)
    bar = scorer.good_bar(sample_size=200)
    blowup = studies.Variant(
        "blowup",
        "absurd rate",
        {"optimizer": "sgd", "learning_rate": 1e6, "ema_decay": None},
        kind="leave_one_out",
        practice="dcgan-adam",
    )
    row = studies.run_mnist(
        blowup, 0, profile=profile, images=images, scorer=scorer, bar=bar, epochs=2
    )
    assert row["diverged"] is True
    assert row["time_to_good"] is None


def test_cli_lists_the_variants(capsys):
    assert ablate.main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "without:dcgan-batch-norm" in out and "with:ganhacks-label-smoothing" in out


def _rows(variant, fds, kind="leave_one_out", times=None, budget=60.0):
    times = times or [None] * len(fds)
    return [
        {
            "variant": variant,
            "kind": kind,
            "practice": "",
            "seed": i,
            "final_fd": fd,
            "final_classes": 10,
            "time_to_good": t,
            "budget_seconds": budget,
            "diverged": fd is None,
            "collapsed": False,
        }
        for i, (fd, t) in enumerate(zip(fds, times, strict=True))
    ]


def test_verdicts_read_leave_one_out_and_add_one():
    data = (
        _rows("baseline", [20.0, 21.0, 22.0], "baseline", times=[15.0, 18.0, 21.0])
        + _rows("plain", [200.0, 210.0, 190.0], "plain")
        # Removing batch norm: never good (60 s, the budget) and a worse FD: it helps.
        + _rows("without:dcgan-batch-norm", [60.0, 65.0, 70.0])
        + _rows("without:ganhacks-label-smoothing", [21.0, 20.0, 22.5], times=[14.0, 20.0, 19.0])
        + _rows("without:dcgan-adam", [None, None, None])  # every run diverged
        + _rows("with:dcgan-batch-norm", [100.0, 110.0, 90.0], "add_one", times=[30, 40, 35])
        + _rows("with:ganhacks-gaussian-latent", [300.0, 290.0, 310.0], "add_one")
        + _rows("adam-beta1-0.9", [40.0, 45.0, 42.0], times=[50.0, None, 55.0])
    )
    table = {v["variant"]: v for v in ablate.verdicts(data)}
    norm = table["without:dcgan-batch-norm"]
    assert norm["without_verdict"] == "helps" and norm["without_fd_verdict"] == "helps"
    assert norm["without"]["time_to_good"].variant.mean == 60.0  # "never" counts as the budget
    assert norm["with_verdict"] == "helps" and norm["with_fd_verdict"] == "helps"
    smooth = table["without:ganhacks-label-smoothing"]
    assert smooth["without_verdict"] == smooth["without_fd_verdict"] == "no measurable effect"
    # A diverged run counts as the worst FD of the file, not as missing.
    assert table["without:dcgan-adam"]["without_fd_verdict"] == "helps"
    assert table["without:ganhacks-gaussian-latent"]["with_fd_verdict"] == "hurts"
    assert table["without:ganhacks-noisy-labels"]["with"] is None
    beta = table["adam-beta1-0.9"]  # the extra row is in the table, read the same way
    assert beta["practice"] == "dcgan-adam" and beta["without_fd_verdict"] == "helps"
    assert "with" not in beta
    # Intervals come with every verdict.
    comparison = norm["without"]["final_fd"]
    assert comparison.low <= comparison.difference <= comparison.high
    # Label noise is not in the recipe: its variant adds it, and worse means it hurts.
    noisy = _rows("baseline", [20.0, 21.0, 22.0], "baseline") + _rows(
        "without:ganhacks-noisy-labels", [40.0, 41.0, 42.0]
    )
    noise = {v["variant"]: v for v in ablate.verdicts(noisy)}["without:ganhacks-noisy-labels"]
    assert noise["without_fd_verdict"] == "hurts"
    figure = ablate.plot_summary(data, floor_fd=2.9)
    assert len(figure.axes[0].get_yticklabels()) == 8


def test_verdicts_show_a_borderline_practice_in_their_readings_only():
    """The ``_reading`` twins add "(borderline)"; the ``_verdict`` keys stay the rule's words."""
    reference = [19.0, 20.0, 21.0]  # the floor is 1: 5% of the baseline's mean FD
    data = (
        _rows("baseline", reference, "baseline", budget=None)
        # 3.85 worse without it; the interval's near edge (+0.58) is within the floor.
        + _rows("without:dcgan-batch-norm", [22.25, 23.85, 25.45], budget=None)
        # As much worse, with an interval whose near edge (+1.77) clears the floor.
        + _rows("without:dcgan-leaky-relu", [23.35, 23.85, 24.35], budget=None)
        # Label noise is added by its variant: worse, borderline, so the practice hurts.
        + _rows("without:ganhacks-noisy-labels", [22.25, 23.85, 25.45], budget=None)
    )
    table = {v["variant"]: v for v in ablate.verdicts(data)}
    norm, relu = table["without:dcgan-batch-norm"], table["without:dcgan-leaky-relu"]
    noise = table["without:ganhacks-noisy-labels"]
    assert norm["without"]["final_fd"].borderline and not relu["without"]["final_fd"].borderline
    assert norm["without_fd_verdict"] == relu["without_fd_verdict"] == "helps"
    assert norm["without_fd_reading"] == "helps (borderline)"
    assert relu["without_fd_reading"] == "helps"
    assert noise["without_fd_verdict"] == "hurts"
    assert noise["without_fd_reading"] == "hurts (borderline)"
    # Not measured (no time budget, no add-one runs): no verdict and no reading.
    assert norm["without_verdict"] is norm["without_reading"] is None
    assert norm["with_fd_verdict"] is norm["with_fd_reading"] is None


def test_time_to_good_is_only_compared_under_a_time_budget():
    (row,) = _rows("baseline", [20.0], "baseline", times=[None], budget=None)
    with pytest.raises(ValueError, match="budget_seconds"):
        ablate.seconds_to_good(row)
    (row,) = _rows("baseline", [20.0], "baseline", times=[None], budget=60.0)
    assert ablate.seconds_to_good(row) == 60.0


def test_committed_results_ship_with_the_package():
    import tomllib

    rows = studies.committed_results("ablation")
    assert rows and all(row["commit"] and row["machine"]["cores"] for row in rows)
    assert {row["variant"] for row in rows} >= {"baseline", "plain"}
    # The file is package data, so an installed ganutils (Colab) has it too.
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    for study in studies.COMMITTED_STUDIES:
        package = f"ganutils.results.{study}"
        assert package in pyproject["tool"]["setuptools"]["packages"]
        assert "*.jsonl" in pyproject["tool"]["setuptools"]["package-data"][package]
    with pytest.raises(ValueError, match="study"):
        studies.committed_results("no-such-study")


def test_the_run_log_line_is_rounded_and_says_never_in_words():
    row = {
        "variant": "baseline",
        "seed": 0,
        "final_fd": 389.56490711068795,
        "final_classes": 10,
        "time_to_good": None,
    }
    assert ablate._describe(row) == "baseline seed 0: FD 389.6, 10 classes, not good yet"
    row.update(final_fd=None, time_to_good=84.6)
    assert ablate._describe(row) == "baseline seed 0: diverged, 10 classes, good after 85 s"
