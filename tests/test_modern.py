"""Tests for ganutils.studies.modern: setups reach the GAN, the study's parts, the results."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest

from ganutils import config, data, judge, models, stacked, studies, toy, train
from ganutils.studies import ablate, footings, modern

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "09_modern_baseline.ipynb"
BIB = ROOT / "book" / "references.bib"


def learning_rate(optimizer) -> float:
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def mnist_gan(name: str):
    variant = next(v for v in modern.mnist_variants() if v.name == name)
    config = train.TrainConfig.for_profile("smoke", **variant.overrides)
    return train.build_gan(config), config


def toy_gan(name: str):
    variant = next(v for v in modern.toy_variants() if v.name == name)
    config = dataclasses.replace(
        toy.ToyConfig(**footings.FOOTINGS["healthy-ring"]),
        **variant.overrides,
        **variant.gan_options,
    )
    extra = {}
    if variant.discriminator is not None:
        extra["discriminator"] = variant.discriminator(config)
    return toy.build_toy_gan(config, **extra)


def test_relativistic_r1_r2_runs_at_the_papers_adam_with_both_penalties():
    gan, _ = mnist_gan("relativistic + R1 + R2")
    for optimizer in (gan.d_optimizer, gan.g_optimizer):
        assert isinstance(optimizer, keras.optimizers.Adam)
        assert learning_rate(optimizer) == pytest.approx(2e-4)
        assert optimizer.beta_1 == 0.0
        assert optimizer.beta_2 == pytest.approx(0.99)
    assert gan.options.loss == "relativistic"
    assert gan.options.r1_gamma == 10.0 and gan.options.r2_gamma == 10.0


def test_r1_runs_at_mescheders_rmsprop_with_hard_labels_and_no_r2():
    gan, _ = mnist_gan("R1 (lr x16)")
    assert isinstance(gan.g_optimizer, keras.optimizers.RMSprop)
    assert learning_rate(gan.g_optimizer) == pytest.approx(16e-4)
    assert gan.options.loss == "gan"
    assert gan.options.r1_gamma == 10.0 and gan.options.r2_gamma is None
    assert gan.options.label_smoothing == "none"


def test_hinge_spectral_norm_wraps_ds_layers_on_mnist_and_on_the_toy():
    gan, config = mnist_gan("hinge + spectral norm")
    assert config.spectral_norm and gan.options.loss == "hinge"
    assert learning_rate(gan.d_optimizer) == pytest.approx(2e-4)
    assert gan.d_optimizer.beta_1 == pytest.approx(0.5)
    toy_model = toy_gan("hinge + spectral norm").discriminator
    kinds = {type(layer) for layer in toy_model.layers}
    assert keras.layers.SpectralNormalization in kinds and keras.layers.Dense not in kinds


def test_every_setting_says_its_numbers_and_cites_a_known_paper():
    bib = BIB.read_text()
    for setting in modern.SETUPS:
        assert f"{{{setting.source}," in bib, setting.source
        assert setting.name in modern.SETTINGS_FROM
        numbers = [float(n) for n in re.findall(r"\d+(?:\.\d+)?(?:e-?\d+)?", setting.settings)]
        assert setting.optimizer["learning_rate"] in numbers, setting.settings
    table = modern.setups_table()
    assert table.count("\n") == len(modern.SETUPS) + 2  # header, rule, recipe, setups
    for _, _, _, source in modern.PAPER_STACKED:
        assert f"{{{source}," in bib, source


def test_reused_rows_are_not_run_again_and_the_rest_are():
    toy_names = {v.name for v in modern.toy_variants()}
    assert not toy_names & set(modern.REUSED)
    assert {"R1", "R1 (lr x4)", "relativistic + R1 + R2 (lr x16)"} <= toy_names
    mnist_names = {v.name for v in modern.mnist_variants()}
    assert "hinge + spectral norm (lr x16)" in mnist_names and "WGAN-GP" not in mnist_names
    assert modern.stacked_variants()[0].name == "baseline"


def test_ablation_variants_change_one_thing_each_on_top_of_the_modern_base():
    base, *removals = modern.ablation_variants()
    assert base.overrides["loss"] == "relativistic"
    assert len(removals) == len(modern.REMOVALS)
    for variant in removals:
        before = train.TrainConfig(**base.overrides).to_dict()
        after = train.TrainConfig(**variant.overrides).to_dict()
        changed = {k for k in after if after[k] != before[k]}
        assert changed == set(modern.REMOVALS[variant.name][1]), variant.name
        # the replacement is a valid config
        train.TrainConfig.for_profile("smoke", **variant.overrides)


def test_setup_of_and_best_of_sweep():
    assert modern.setup_of("R1 (lr x16)").optimizer["learning_rate"] == pytest.approx(16e-4)
    results = {
        "R1": [{"final_fd": 50.0}, {"final_fd": 60.0}],
        "R1 (lr x16)": [{"final_fd": 30.0}, {"final_fd": None}],
    }
    assert modern.best_of_sweep(results, "R1", metric="final_fd", lower_is_better=True) == (
        "R1 (lr x16)"
    )
    assert modern.best_of_sweep(results, "R1", metric="final_fd") == "R1"
    with pytest.raises(ValueError, match="name must be a setup"):
        modern.setup_of("R7")
    with pytest.raises(ValueError, match="no run"):
        modern.best_of_sweep(results, "WGAN-GP")


def test_a_three_channel_generator_and_discriminator():
    generator = models.build_generator(8, filters=8, channels=3, seed=0)
    assert generator.output_shape == (None, 28, 28, 3)
    config = train.TrainConfig.for_profile("smoke", channels=3, g_filters=8, d_filters=8)
    gan = train.build_gan(config)
    assert gan.discriminator.input_shape == (None, 28, 28, 3)
    with pytest.raises(ValueError, match="channels"):
        train.TrainConfig(channels=0)
    with pytest.raises(ValueError, match="channels"):
        models.build_generator(8, channels=0)


def test_run_stacked_trains_scores_and_refuses_bad_input():
    digits = data.load_mnist(limit=256)
    stacks, _ = stacked.stack_digits(data.scale_images(digits.images), digits.labels, 128, seed=0)
    classifier = judge.load_classifier()
    profile = config.get_profile("smoke")
    variant = modern.stacked_variants()[-1]  # relativistic + R1 + R2
    row = modern.run_stacked(
        variant, 0, profile=profile, stacks=stacks, classifier=classifier, steps=2, samples=1500
    )
    assert row["n"] == 1500 and 1 <= row["modes_covered"] <= 1000
    assert row["kl"] >= 0 and row["config"]["channels"] == 3
    assert np.asarray(row["samples"]).shape == (8, 28, 28, 3)
    with pytest.raises(ValueError, match="multiple"):
        modern.run_stacked(
            variant, 0, profile=profile, stacks=stacks, classifier=classifier, steps=3
        )
    with pytest.raises(ValueError, match="stacks must be"):
        modern.run_stacked(
            variant, 0, profile=profile, stacks=stacks[..., :1], classifier=classifier, steps=2
        )


def test_run_study_appends_resumes_and_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="parts must be"):
        modern.run_study(tmp_path, parts=["toys"])
    with pytest.raises(ValueError, match="seeds"):
        modern.run_study(tmp_path, seeds=[])
    tiny = {"parts": ["stacked"], "seeds": [0], "profile": "smoke", "stacked_steps": 2}
    tiny.update(stacked_samples=1000, stacked_stacks=128, log=lambda line: None)
    first = modern.run_study(tmp_path, **tiny)
    assert len(first) == len(modern.stacked_variants())
    assert {r["part"] for r in first} == {"stacked"} and all(r["commit"] for r in first)
    again = modern.run_study(tmp_path, **tiny)
    assert len(again) == len(first)  # resumed: nothing ran twice


def test_run_study_keys_toy_rows_by_their_footing_and_resumes(tmp_path):
    tiny = {"parts": ["toy"], "seeds": [0], "profile": "smoke", "toy_steps": 8}
    lines = []
    rows = modern.run_study(tmp_path, log=lines.append, **tiny)
    names = [v.name for v in modern.toy_variants()]
    expected = [(f, name) for f in modern.TOY_FOOTINGS for name in names]
    assert [(r["footing"], r["variant"]) for r in rows] == expected
    assert all(r["part"] == "toy" and r["steps"] == 8 and r["data"].startswith("toy") for r in rows)
    assert lines[0].startswith(f"toy healthy-ring {names[0]} seed 0: ")
    again = []
    assert len(modern.run_study(tmp_path, log=again.append, **tiny)) == len(rows)
    assert again == [
        f"0 runs trained, {len(rows)} runs already in {tmp_path / 'results.jsonl'} (skipped)"
    ]


def test_run_study_scores_mnist_rows_against_the_bar(tmp_path):
    tiny = {"parts": ["mnist"], "seeds": [0], "profile": "smoke", "budget_seconds": 0.5}
    rows = modern.run_study(tmp_path, log=lambda line: None, **tiny)
    assert [r["variant"] for r in rows] == [v.name for v in modern.mnist_variants()]
    for row in rows:
        assert row["part"] == "mnist" and row["budget_seconds"] == 0.5 and row["commit"]
        assert row["bar_fd"] > row["floor_fd"] and row["data"].endswith(" images")


def test_combined_merges_the_reused_rows_first_and_checks_its_arguments():
    stabilisers = [
        {"footing": "healthy-ring", "variant": "baseline", "seed": 0, "modes_covered": 8},
        {"footing": "healthy-ring", "variant": "WGAN-GP", "seed": 0, "modes_covered": 0},
        {"footing": "healthy-ring", "variant": "RMSProp", "seed": 0, "modes_covered": 8},
        {"footing": "rescue-ring", "variant": "baseline", "seed": 0, "modes_covered": 1},
    ]
    own = [{"part": "toy", "footing": "healthy-ring", "variant": "R1", "seed": 0}]
    merged = modern.combined(own, stabilisers, "toy", "healthy-ring")
    assert list(merged) == [modern.RECIPE, "WGAN-GP", "R1"]
    assert merged[modern.RECIPE][0]["modes_covered"] == 8
    with pytest.raises(ValueError, match="part must be"):
        modern.combined(own, stabilisers, "cifar")
    with pytest.raises(ValueError, match="footing must be"):
        modern.combined(own, stabilisers, "toy", "rescue-ring")


def on(cpu: str, **fields) -> dict:
    return {"machine": {"cpu": cpu, "cores": 2, "gpus": []}, "seed": 0, **fields}


def test_combined_refuses_mnist_rows_of_two_machines_but_not_toy_rows():
    stabilisers = [on("AMD", footing="healthy-mnist", variant=v) for v in ("baseline", "WGAN-GP")]
    own = [on("Intel", part="mnist", variant="R1")]
    with pytest.raises(ValueError, match=r"'AMD' \(2 rows\); 'Intel' \(1 row\)"):
        modern.combined(own, stabilisers, "mnist")
    amd = modern.combined([], stabilisers, "mnist")
    assert list(amd) == [modern.RECIPE, "WGAN-GP"]
    toy = [on("AMD", footing="healthy-ring", variant="baseline")]
    mixed = modern.combined(
        [on("Intel", part="toy", footing="healthy-ring", variant="R1")], toy, "toy", "healthy-ring"
    )
    assert list(mixed) == [modern.RECIPE, "R1"]  # steps, not seconds: no machine needed


def committed():
    return studies.committed_results("modern")


def test_the_committed_study_covers_every_part_variant_and_seed():
    rows = committed()
    assert {r["profile"] for r in rows} == {"cpu"}
    have = {(r["part"], r.get("footing", ""), r["variant"], r["seed"]) for r in rows}
    for seed in (0, 1, 2):
        for footing in modern.TOY_FOOTINGS:
            for v in modern.toy_variants():
                assert ("toy", footing, v.name, seed) in have, (footing, v.name, seed)
        for part, variants in (
            ("mnist", modern.mnist_variants()),
            ("stacked", modern.stacked_variants()),
            ("ablation", modern.ablation_variants()),
        ):
            for v in variants:
                assert (part, "", v.name, seed) in have, (part, v.name, seed)
    for row in rows:
        assert row["commit"] and row["data"] and row["machine"]["cores"] >= 1


def test_stacked_and_ablation_rates_are_the_best_of_the_mnist_sweep_by_final_fd():
    # Every setup's sweep on one clock, so its best row is read there.
    mnist = modern.combined(committed(), studies.committed_results("stabilisers"), "mnist")
    measured = {
        name: [{"final_fd": ablate.final_fd(r)} for r in runs]
        for name, runs in mnist.items()
        if name != modern.RECIPE
    }
    for setting in modern.SETUPS:
        best = modern.best_of_sweep(measured, setting.name, metric="final_fd", lower_is_better=True)
        rate = modern.setup_of(best).optimizer["learning_rate"]
        multiple = modern.STACKED_MULTIPLES[setting.name]
        assert rate == pytest.approx(setting.optimizer["learning_rate"] * multiple), setting.name
    best = modern.best_of_sweep(
        measured, "relativistic + R1 + R2", metric="final_fd", lower_is_better=True
    )
    assert modern.setup_of(best).optimizer["learning_rate"] == pytest.approx(
        2e-4 * modern.ABLATION_MULTIPLE
    )


def test_the_chapter_reads_the_committed_study_and_renders_the_settings():
    notebook = json.loads(NOTEBOOK.read_text())
    code = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    assert 'committed_results("modern")' in code
    assert "modern.setups_table()" in code
    assert "ganutils.dirac.simulate_all()" in code
