"""Tests for ganutils.studies.footings: published settings reach the GAN, sweep, runner."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from ganutils import studies, toy, train
from ganutils.studies import footings

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "07_stabilisers.ipynb"
BIB = Path(__file__).resolve().parents[1] / "book" / "references.bib"


def built(name: str, footing: str = "rescue-ring"):
    """The toy GAN that the study trains for variant ``name`` (compiled, not trained)."""
    variant = next(v for v in footings.toy_variants() if v.name == name)
    config = dataclasses.replace(
        toy.ToyConfig(**footings.FOOTINGS[footing]), **variant.overrides, **variant.gan_options
    )
    models = {}
    if variant.discriminator is not None:
        models["discriminator"] = variant.discriminator(config)
    if variant.generator is not None:
        models["generator"] = variant.generator(config)
    return toy.build_toy_gan(config, **models)


def learning_rate(optimizer) -> float:
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def test_wgan_runs_at_the_papers_settings():
    gan = built("WGAN (clipping)")
    for optimizer in (gan.d_optimizer, gan.g_optimizer):
        assert isinstance(optimizer, keras.optimizers.RMSprop)
        assert learning_rate(optimizer) == pytest.approx(5e-5)
    assert gan.options.loss == "wgan"
    assert gan.options.d_steps == 5
    assert gan.options.clip_value == pytest.approx(0.01)


def test_wgan_gp_runs_at_the_papers_settings():
    gan = built("WGAN-GP")
    for optimizer in (gan.d_optimizer, gan.g_optimizer):
        assert isinstance(optimizer, keras.optimizers.Adam)
        assert learning_rate(optimizer) == pytest.approx(1e-4)
        assert optimizer.beta_1 == 0.0
        assert optimizer.beta_2 == pytest.approx(0.9)
    assert gan.options.loss == "wgan_gp"
    assert gan.options.d_steps == 5
    assert gan.options.gp_weight == 10.0


def test_spectral_norm_wraps_every_dense_layer_at_dcgans_adam():
    gan = built("spectral norm")
    wrapped = [
        layer
        for layer in gan.discriminator.layers
        if isinstance(layer, keras.layers.SpectralNormalization)
    ]
    dense = [layer for layer in gan.discriminator.layers if isinstance(layer, keras.layers.Dense)]
    assert wrapped and not dense  # every Dense sits inside a wrapper
    assert learning_rate(gan.d_optimizer) == pytest.approx(2e-4)
    assert gan.d_optimizer.beta_1 == pytest.approx(0.5)


def test_the_sweep_scales_only_the_learning_rate():
    names = [v.name for v in footings.toy_variants()]
    for multiple in footings.SWEEP[1:]:
        assert f"WGAN-GP (lr x{multiple})" in names
    gan = built("WGAN-GP (lr x16)")
    assert learning_rate(gan.g_optimizer) == pytest.approx(16e-4)
    assert gan.g_optimizer.beta_2 == pytest.approx(0.9)
    assert gan.options.d_steps == 5
    # Add-ons without an optimiser of their own are not swept and keep the footing's.
    assert "instance noise (lr x4)" not in names
    assert learning_rate(built("instance noise").g_optimizer) == pytest.approx(1e-3)


def test_the_words_of_each_setting_match_its_numbers():
    keys = set()
    for line in BIB.read_text().splitlines():
        if line.startswith("@"):
            keys.add(line.split("{", 1)[1].rstrip(","))
    for setting in footings.SETTINGS:
        if "learning_rate" in setting.optimizer:
            words = f"{setting.optimizer['learning_rate']:.0e}".replace("e-0", "e-")
            assert words in setting.settings, setting.name
        if "d_steps" in setting.options:
            assert f"{setting.options['d_steps']} critic steps" in setting.settings
        if setting.source:
            assert setting.source in keys, setting.source
            assert setting.source in footings.SOURCE_NAMES
    table = footings.settings_table()
    for setting in footings.SETTINGS:
        assert setting.settings in table


def test_the_chapter_shows_the_settings_it_ran():
    source = "".join("".join(cell["source"]) for cell in json.loads(NOTEBOOK.read_text())["cells"])
    assert "ganutils.studies.footings.settings_table()" in source
    assert 'committed_results("stabilisers")' in source


def test_mnist_variants_are_valid_configs():
    variants = footings.mnist_variants()
    assert variants[0].name == "baseline"
    for variant in variants[1:]:
        config = train.TrainConfig(**variant.overrides)
        assert config.loss in ("wgan", "wgan_gp", "gan")
    sn16 = next(v for v in variants if v.name == "spectral norm (lr x16)")
    assert train.TrainConfig(**sn16.overrides).spectral_norm
    assert sn16.overrides["learning_rate"] == pytest.approx(32e-4)


def mnist_gan(footing: str, name: str):
    """The MNIST GAN the study builds for variant ``name`` on ``footing`` (not trained)."""
    variant = next(v for v in footings.mnist_variants(footing) if v.name == name)
    overrides = {**footings.MNIST_FOOTINGS[footing].overrides, **variant.overrides}
    config = train.TrainConfig(**overrides)
    return train.build_gan(config, steps_per_epoch=10), config


def test_the_mnist_rescue_footing_is_the_failure_chapters_collapse():
    gan, config = mnist_gan("rescue-mnist", "baseline")
    assert learning_rate(gan.d_optimizer) == pytest.approx(1e-5)
    assert learning_rate(gan.g_optimizer) == pytest.approx(5e-3)  # 500 times D's
    assert config.ema_decay is None
    # A stabiliser that adds to the footing keeps its failure ...
    gan, config = mnist_gan("rescue-mnist", "minibatch stddev")
    assert learning_rate(gan.d_optimizer) == pytest.approx(1e-5) and config.minibatch_stddev
    # ... one that brings its paper's optimiser sets both networks' rates.
    gan, config = mnist_gan("rescue-mnist", "WGAN-GP (lr x16)")
    for optimizer in (gan.d_optimizer, gan.g_optimizer):
        assert learning_rate(optimizer) == pytest.approx(16e-4)
        assert optimizer.beta_1 == pytest.approx(0.0) and optimizer.beta_2 == pytest.approx(0.9)
    assert gan.options.loss == "wgan_gp" and gan.options.d_steps == 5
    _, config = mnist_gan("rescue-mnist", "instance noise")
    assert (config.instance_noise, config.instance_noise_steps) == (0.5, footings.MNIST_NOISE_STEPS)
    _, config = mnist_gan("rescue-mnist", "generator EMA")
    assert config.ema_decay == 0.99


def test_the_small_data_footings_augment_both_branches_at_the_papers_policy():
    for footing in ("small-500", "small-1000"):
        gan, config = mnist_gan(footing, "DiffAugment")
        assert gan.options.augment == "both"
        assert set(config.augment_policy.split(",")) == {"color", "translation", "cutout"}
        assert learning_rate(gan.d_optimizer) == pytest.approx(5e-3)  # the recipe's optimiser
        chosen = footings.MNIST_FOOTINGS[footing]
        assert chosen.budget_seconds == 4 * footings.MNIST_BUDGET_SECONDS
    assert footings.MNIST_FOOTINGS["small-500"].digits == 500
    assert footings.MNIST_FOOTINGS["small-1000"].digits == 1000
    gan, _ = mnist_gan("small-500", "augment real only")
    assert gan.options.augment == "real_only"


def test_an_unknown_mnist_footing_or_setting_is_refused():
    with pytest.raises(ValueError, match="footing"):
        footings.mnist_variants("healthy-moon")
    for setting in (footings.SETTINGS[0], footings.IMAGE_SETTINGS[0]):
        with pytest.raises(ValueError, match="footing"):
            footings.mnist_variant(setting, footing="nowhere")


def test_a_small_data_run_holds_out_digits_and_records_rt(tmp_path):
    rows = footings.run_study(
        tmp_path,
        footings=("small-500",),
        seeds=(0,),
        profile="smoke",
        budget_seconds=0.5,
        names=["baseline"],
        log=lambda line: None,
    )
    (row,) = rows
    # smoke has 512 digits: 102 are held out, so the first 410 train
    assert row["data"].endswith("; 410 images")
    assert row["footing"] == "small-500" and row["variant"] == "baseline"
    for part in ("rt_train", "rt_heldout"):
        assert -1.0 <= row[part] <= 1.0
    assert row["final_fd"] is not None and row["budget_seconds"] == 0.5
    # a timed row carries its session and the recipe's step time in it: its clock
    assert row["session"] == studies.this_session() and len(row["session"]) > 8
    assert 0 < row["recipe_step_ms"] < 10_000


def test_a_setting_rejects_an_unknown_layer_and_a_sweep_without_a_rate():
    with pytest.raises(ValueError, match="layer"):
        footings.Setting("x", "y", layer="batch_norm")
    with pytest.raises(ValueError, match="sweep"):
        footings.Setting("x", "y", sweep=True)


def test_run_study_appends_rows_and_resumes(tmp_path):
    lines = []
    rows = footings.run_study(
        tmp_path,
        footings=("rescue-ring",),
        seeds=(0,),
        profile="smoke",
        toy_steps=8,
        names=["baseline", "instance noise"],
        log=lines.append,
    )
    assert [r["variant"] for r in rows] == ["baseline", "instance noise"]
    for row in rows:
        assert row["footing"] == "rescue-ring"
        assert row["config"]["beta_1"] == 0.5
        assert 0 <= row["modes_covered"] <= 8
        assert len(row["points"]) <= footings.POINTS_KEPT
        assert row["commit"]
    assert rows[1]["gan_options"]["instance_noise_steps"] == 4  # half of the run
    again = []
    footings.run_study(
        tmp_path,
        footings=("rescue-ring",),
        seeds=(0,),
        profile="smoke",
        toy_steps=8,
        names=["baseline", "instance noise"],
        log=again.append,
    )
    assert len(lines) == 3 and lines[-1].startswith("2 runs trained, 0 runs already in ")
    assert again == [f"0 runs trained, 2 runs already in {tmp_path / 'results.jsonl'} (skipped)"]
    grouped = footings.results_by_variant(rows, "rescue-ring")
    assert list(grouped) == ["baseline", "instance noise"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"footings": ("moon",)}, "footings"),
        ({"seeds": ()}, "seeds"),
        ({"names": ["nope"]}, "names"),
    ],
)
def test_run_study_rejects_bad_input(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        footings.run_study(tmp_path, profile="smoke", **kwargs)


def test_best_of_sweep_takes_the_highest_mean():
    results = {
        "WGAN-GP": [{"modes_covered": 2}, {"modes_covered": 4}],
        "WGAN-GP (lr x4)": [{"modes_covered": 8}, {"modes_covered": 6}],
        "WGAN-GP (lr x16)": [{"modes_covered": 1}, {"modes_covered": 1}],
    }
    assert footings.best_of_sweep(results, "WGAN-GP") == "WGAN-GP (lr x4)"
    with pytest.raises(ValueError, match="no run"):
        footings.best_of_sweep({}, "WGAN-GP")


def test_committed_results_cover_every_variant_with_three_seeds():
    rows = studies.committed_results("stabilisers")
    if not rows:
        pytest.skip("the study has not been committed yet")
    for footing in (*footings.FOOTINGS, *footings.MNIST_FOOTINGS):
        grouped = footings.results_by_variant(rows, footing)
        for variant in footings.variants_of(footing):
            seeds = {r["seed"] for r in grouped.get(variant.name, [])}
            assert seeds >= {0, 1, 2}, (footing, variant.name)
    for row in rows:
        assert np.isfinite(row["step_ms"]) or row.get("diverged")
        assert row["commit"] and row["profile"] == "cpu"
