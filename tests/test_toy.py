"""Tests for ganutils.toy: the 2-D mixtures, their metrics and the toy runner."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ganutils import callbacks, studies, toy
from ganutils import gan as engine


@pytest.mark.parametrize(("name", "k"), [("ring", 8), ("grid", 25)])
def test_centers_and_mixture(name, k):
    modes = toy.centers(name)
    assert modes.shape == (k, 2)
    points = toy.mixture(name, 4000, seed=1)
    assert points.shape == (4000, 2) and points.dtype == np.float32
    np.testing.assert_array_equal(points, toy.mixture(name, 4000, seed=1))
    nearest = np.min(np.linalg.norm(points[:, None] - modes[None], axis=2), axis=1)
    assert nearest.std() < 2 * toy.mixture_std(name)  # every point sits on a mode


def test_ring_lies_on_radius_two():
    np.testing.assert_allclose(np.linalg.norm(toy.centers("ring"), axis=1), 2.0, rtol=1e-6)


@pytest.mark.parametrize(("name", "k"), [("ring", 8), ("grid", 25)])
def test_evaluate_counts_all_modes_for_real_data(name, k):
    result = toy.evaluate(toy.mixture(name, 5000, seed=0), name)
    assert result["modes"] == k
    assert result["modes_covered"] == k
    assert result["high_quality"] > 0.97  # 3 sigma in 2-D holds 98.9% of a Gaussian
    assert result["mode_counts"].sum() == round(result["high_quality"] * 5000)


def test_evaluate_one_mode():
    rng = np.random.default_rng(0)
    points = toy.centers("ring")[3] + rng.normal(0, toy.mixture_std("ring"), size=(1000, 2))
    result = toy.evaluate(points, "ring")
    assert result["modes_covered"] == 1
    assert result["mode_counts"][3] == result["mode_counts"].sum()


def test_evaluate_no_mode_between_the_modes():
    # Midpoints between neighbouring ring modes are far from every mode.
    modes = toy.centers("ring")
    midpoints = (modes + np.roll(modes, 1, axis=0)) / 2
    result = toy.evaluate(np.repeat(midpoints, 50, axis=0), "ring")
    assert result["modes_covered"] == 0
    assert result["high_quality"] == 0.0


def test_evaluate_stray_points_do_not_cover_a_mode():
    rng = np.random.default_rng(0)
    points = np.repeat(toy.centers("ring")[:1], 1000, axis=0)
    points[:5] = toy.centers("ring")[4]  # 5 of 1000 < a quarter of the fair share (31)
    points += rng.normal(0, 0.01, size=points.shape)
    assert toy.evaluate(points, "ring")["modes_covered"] == 1


def test_evaluate_non_finite_points_are_low_quality():
    points = toy.mixture("ring", 100, seed=0)
    points[:50] = np.nan
    result = toy.evaluate(points, "ring")
    assert result["high_quality"] <= 0.5


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: toy.centers("moons"), "name must be one of"),
        (lambda: toy.mixture("ring", 0), "n must be a positive integer"),
        (lambda: toy.evaluate(np.zeros((10, 3)), "ring"), r"shape \(n, 2\)"),
        (lambda: toy.evaluate(np.zeros((10, 2)), "ring", sigmas=0), "sigmas"),
        (lambda: toy.ToyConfig(steps=250, check_every=100), "multiple of check_every"),
        (lambda: toy.ToyConfig(mixture="spiral"), "name must be one of"),
        (lambda: toy.ToyConfig(learning_rate=0), "learning_rate must be positive"),
        (lambda: toy.ToyConfig(latent_dim=0), "latent_dim must be a positive integer"),
        (lambda: toy.ToyConfig(d_steps=0), "d_steps must be a positive integer"),
        (lambda: toy.ToyConfig(loss="lsgan"), "loss must be one of"),
        (lambda: toy.build_discriminator(dropout=1.0), "dropout"),
        (lambda: toy.build_generator(hidden=0), "hidden"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_models_shapes_and_l2_penalty():
    generator = toy.build_generator(4, hidden=8, depth=2)
    assert generator(np.zeros((3, 4), np.float32)).shape == (3, 2)
    discriminator = toy.build_discriminator(hidden=8, depth=2, l2=1e-2)
    assert discriminator(np.zeros((3, 2), np.float32)).shape == (3, 1)
    assert len(discriminator.losses) == 2 and float(sum(discriminator.losses)) > 0


def test_train_toy_records_snapshots_and_metrics():
    config = toy.ToyConfig(steps=200, check_every=100, batch_size=64, g_hidden=16, d_hidden=16)
    gan, history, snapshots = toy.train_toy(config, samples=200)
    assert snapshots.steps == [0, 100, 200]
    assert all(points.shape == (200, 2) for points in snapshots.points)
    assert len(history["d_loss"]) == 2 and np.all(np.isfinite(history["d_loss"]))
    assert history["modes_covered"] == [s["modes_covered"] for s in snapshots.scores[1:]]
    assert gan.d_optimizer.iterations.numpy() == 200


def test_train_toy_resumes_from_its_checkpoint(tmp_path):
    small = dict(check_every=50, batch_size=32, g_hidden=8, d_hidden=8)
    toy.train_toy(toy.ToyConfig(steps=100, **small), out_dir=tmp_path)
    gan, history, snapshots = toy.train_toy(toy.ToyConfig(steps=150, **small), out_dir=tmp_path)
    assert snapshots.steps == [100, 150]
    assert len(history["d_loss"]) == 1
    assert gan.g_optimizer.iterations.numpy() == 150
    with pytest.raises(ValueError, match="different configuration"):
        toy.train_toy(toy.ToyConfig(steps=150, learning_rate=1e-2, **small), out_dir=tmp_path)


def test_the_config_carries_the_engine_options_and_saves_them_apart(tmp_path):
    config = toy.ToyConfig(
        steps=20, check_every=20, batch_size=32, g_hidden=8, d_hidden=8, d_steps=2, seed=3
    )
    gan = toy.build_toy_gan(config)
    assert gan.options == config.gan_options()
    assert (gan.options.d_steps, gan.options.seed, gan.options.latent_dim) == (2, 3, 16)
    toy.train_toy(config, samples=10, out_dir=tmp_path)
    saved = callbacks.Checkpoint(tmp_path).read_meta()["config"]
    # As checkpoints were written when the options were a dict beside the config:
    # the ones that differ from the toy's defaults, apart; latent_dim and seed on top.
    assert saved["gan_options"] == {"d_steps": 2}
    assert (saved["latent_dim"], saved["seed"]) == (16, 3)
    assert not set(saved) & set(engine.GANOptions.names()) - {"latent_dim", "seed"}
    with pytest.raises(ValueError, match="different configuration"):
        toy.load_toy_gan(tmp_path, dataclasses.replace(config, d_steps=1))


def test_load_toy_gan_without_checkpoint_raises(tmp_path):
    with pytest.raises(ValueError, match="holds no checkpoint"):
        toy.load_toy_gan(tmp_path, toy.ToyConfig())


def test_plots_and_sweep():
    config = toy.ToyConfig(steps=100, check_every=50, batch_size=32, g_hidden=8, d_hidden=8)
    _, _, snapshots = toy.train_toy(config, samples=100)
    assert len(toy.plot_snapshots(snapshots, count=3).axes) == 3
    assert toy.plot_occupancy(snapshots).axes[0].get_images()[0].get_array().shape == (8, 3)
    results = studies.sweep(
        config, ("learning_rate", [1e-3, 1e-2]), ("d_hidden", [8]), seeds=[0, 1]
    )
    assert results.shape == (2, 1, 2)
    assert np.all((results >= 0) & (results <= 8))
    with pytest.raises(ValueError, match="ToyConfig fields"):
        studies.sweep(config, ("lr", [1]), ("d_hidden", [8]), seeds=[0])


def test_a_toy_checkpoint_from_before_the_optimizer_field_still_loads(tmp_path):
    import json
    import shutil
    from pathlib import Path

    fixture = Path(__file__).parent / "data" / "toy_checkpoint_format1"
    shutil.copytree(fixture, tmp_path / "run")  # restore only reads, but keep the fixture clean
    config = toy.ToyConfig(**json.loads((fixture / "config.json").read_text()))
    gan, epochs = toy.load_toy_gan(tmp_path / "run", config)
    assert epochs == 2
    latents = np.load(fixture / "latents.npy")
    np.testing.assert_allclose(
        np.asarray(gan.sampler(latents, training=False)),
        np.load(fixture / "expected_points.npy"),
        atol=1e-5,
    )
    with pytest.raises(ValueError, match="optimizer"):  # another optimizer is another run
        toy.load_toy_gan(tmp_path / "run", dataclasses.replace(config, optimizer="rmsprop"))
