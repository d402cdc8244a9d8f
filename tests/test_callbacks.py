"""Run folders: grids, GIF, history, checkpoints and resume."""

import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest

import ganutils.callbacks as callbacks
import ganutils.data as data
import ganutils.metrics as metrics
import ganutils.studies as studies
import ganutils.train as train

TINY = {"g_filters": 8, "d_filters": 8, "latent_dim": 16, "batch_size": 32, "grid_size": 4}


@pytest.fixture(scope="module")
def images(mnist_subset):
    return data.scale_images(mnist_subset.images[:96])  # 3 steps per epoch


def _run(out, images, epochs, config=None, **kwargs):
    config = train.TrainConfig(**{**TINY, **(config or {})}, epochs=epochs)
    return train.train_mnist(config, out, images=images, progress=False, **kwargs)


def test_run_folder_holds_grids_gif_history_and_checkpoint(tmp_path, images):
    _, history = _run(tmp_path, images, 3)
    assert history["epoch"] == [1, 2, 3]
    pngs = sorted((tmp_path / "samples").glob("epoch_*.png"))
    assert [p.name for p in pngs] == ["epoch_001.png", "epoch_002.png", "epoch_003.png"]
    gif = iio.imread(tmp_path / "training.gif", index=None)
    assert gif.shape[0] == 3  # one frame per epoch
    assert iio.immeta(tmp_path / "training.gif")["loop"] == 0  # loops forever
    steps = callbacks.read_steps(tmp_path)
    assert (
        steps["step"].tolist() == list(range(1, 10))
        and steps["epoch"].tolist() == [1] * 3 + [2] * 3 + [3] * 3
    )
    # The per-step values recovered from Keras' running means average to the epoch value.
    for epoch in (1, 2, 3):
        mean = steps["g_loss"][steps["epoch"] == epoch].mean()
        assert mean == pytest.approx(history["g_loss"][epoch - 1], rel=1e-4)
    assert np.load(tmp_path / "history" / "d_loss.npy").shape == (3,)
    csv = (tmp_path / "history.csv").read_text().splitlines()
    assert csv[0].startswith("epoch,") and len(csv) == 4
    assert (tmp_path / callbacks.CHECKPOINT_FILE).exists()


def test_interrupted_run_resumes_where_it_stopped(tmp_path, images):
    whole = tmp_path / "whole"
    straight, full = _run(whole, images, 4)
    broken = tmp_path / "broken"
    _, partial = _run(broken, images, 4, extra_callbacks=[callbacks.StopAfterEpoch(2)])
    assert partial["epoch"] == [1, 2]
    saved = np.load(broken / callbacks.CHECKPOINT_FILE)
    gan, resumed = _run(broken, images, 4)
    assert resumed["epoch"] == [1, 2, 3, 4]  # epochs 3 and 4 ran, 1 and 2 were kept
    assert resumed["d_loss"][:2] == partial["d_loss"]
    assert len(resumed["d_loss"]) == len(full["d_loss"])
    assert len(callbacks.read_steps(broken)["step"]) == len(callbacks.read_steps(whole)["step"])
    assert iio.imread(broken / "training.gif", index=None).shape[0] == 4
    assert int(gan.g_optimizer.iterations.numpy()) == 4 * 3  # the optimizer state carried on
    assert "meta" in saved.files
    # The same run: epochs 3 and 4 saw the batches the uninterrupted run saw.
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        np.testing.assert_allclose(resumed[name], full[name], rtol=1e-5, err_msg=name)
    np.testing.assert_allclose(
        callbacks.read_steps(broken)["g_loss"], callbacks.read_steps(whole)["g_loss"], rtol=1e-5
    )
    for network in ("generator", "discriminator", "ema_generator"):
        for a, b in zip(
            getattr(gan, network).weights, getattr(straight, network).weights, strict=True
        ):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    frames = [iio.imread(run / "training.gif", index=None) for run in (broken, whole)]
    assert np.abs(frames[0].astype(int) - frames[1].astype(int)).max() <= 1


def test_restore_loads_the_exact_weights(tmp_path, images):
    gan, _ = _run(tmp_path, images, 1)
    config = train.TrainConfig(**TINY, epochs=1)
    fresh = train.build_gan(config)
    checkpoint = callbacks.Checkpoint(tmp_path, config=config.to_dict())
    assert checkpoint.restore(fresh) == 1
    for a, b in zip(gan.generator.variables, fresh.generator.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(gan.d_optimizer.variables, fresh.d_optimizer.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(
        gan.seed_generator.state.numpy(), fresh.seed_generator.state.numpy()
    )


def test_corrupt_checkpoint_is_a_clear_error_not_a_fresh_start(tmp_path, images):
    _run(tmp_path, images, 1)
    (tmp_path / callbacks.CHECKPOINT_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="corrupt or unreadable"):
        _run(tmp_path, images, 2)


def test_checkpoint_of_another_configuration_is_refused(tmp_path, images):
    _run(tmp_path, images, 1)
    config = train.TrainConfig(**{**TINY, "g_filters": 16}, epochs=2)
    with pytest.raises(ValueError, match="g_filters: saved 8, now 16"):
        train.train_mnist(config, tmp_path, images=images, progress=False)


def test_checkpoint_of_other_models_is_refused(tmp_path, images):
    _run(tmp_path, images, 1)
    other = train.build_gan(train.TrainConfig(**{**TINY, "g_filters": 16}))
    checkpoint = callbacks.Checkpoint(tmp_path, config=train.TrainConfig(**TINY).to_dict())
    with pytest.raises(ValueError, match="does not match the models"):
        checkpoint.restore(other)


def test_finished_run_can_be_extended(tmp_path, images):
    _run(tmp_path, images, 2)
    _, history = _run(tmp_path, images, 3)
    assert history["epoch"] == [1, 2, 3]


class _PixelScorer:
    """A stand-in scorer with the MnistScorer interface: 'FD' is the mean pixel."""

    def __init__(self):
        self.calls = 0

    def _score(self, images, fd):
        from ganutils.metrics import MnistScore

        return MnistScore(
            fd=fd,
            classes_covered=10,
            class_kl=0.0,
            classifier_score=10.0,
            sample_size=len(images),
            class_counts=(len(images) // 10,) * 10,
        )

    def score(self, images):
        self.calls += 1
        assert images.shape[1:] == (28, 28, 1) and -1 <= images.min() <= images.max() <= 1
        return self._score(images, float(np.abs(images).mean()) + 1.0)

    def good_bar(self, *, sample_size):
        return metrics.QualityBar(reference="blur", fd=1.5, floor_fd=1.0, sample_size=sample_size)


def test_quality_check_adds_scores_to_the_history(tmp_path, images):
    scorer = _PixelScorer()
    check = callbacks.QualityCheck(scorer, every=2, sample_size=50)
    _, history = _run(tmp_path, images, 5, extra_callbacks=[check])
    assert scorer.calls == 3  # epochs 2 and 4, and always the last
    scored = [not np.isnan(v) for v in history["fd"]]
    assert scored == [False, True, False, True, True]
    seconds = [s for s in history["train_seconds"] if not np.isnan(s)]
    assert seconds == sorted(seconds) and seconds[0] > 0
    assert all(g in (0.0, 1.0) for g in history["good"] if not np.isnan(g))
    with pytest.raises(ValueError, match="every"):
        callbacks.QualityCheck(scorer, every=0)


def test_scores_stay_on_their_epochs_without_a_run_folder(images):
    # Without a run folder the history is Keras's own, which appends only the keys an
    # epoch logged: unscored epochs must log NaN, or later scores land on the wrong epochs.
    scorer = _PixelScorer()
    check = callbacks.QualityCheck(scorer, every=2, sample_size=50)
    overfit = callbacks.OverfitCheck(images[:32], images[32:64], every=2, batch_size=32)
    config = train.TrainConfig(**TINY, epochs=5)
    _, history = train.train_mnist(
        config, images=images, progress=False, extra_callbacks=[check, overfit]
    )
    for name in (*callbacks.SCORES, "rt_train", "rt_gap"):
        assert len(history[name]) == 5, name
        assert [not np.isnan(v) for v in history[name]] == [False, True, False, True, True]
    row = studies.run_mnist(
        studies.Variant("tiny", overrides=TINY),
        0,
        profile="smoke",
        images=images,
        scorer=scorer,
        bar=scorer.good_bar(sample_size=1000),  # run_mnist scores 1,000 samples
        epochs=5,
        check_every=2,
    )
    assert row["epoch_curve"] == [2, 4, 5]
    assert len(row["seconds_curve"]) == len(row["fd_curve"]) == 3
    assert row["seconds_curve"] == sorted(row["seconds_curve"])


def test_quality_check_stops_the_run_at_its_time_budget(tmp_path, images):
    scorer = _PixelScorer()
    # A budget below one epoch's training time: the first epoch reaches it.
    check = callbacks.QualityCheck(scorer, every=3, sample_size=50, budget_seconds=1e-6)
    _, history = _run(tmp_path, images, 5, extra_callbacks=[check])
    assert history["epoch"] == [1]  # stopped after the epoch that reached the budget
    assert scorer.calls == 1 and not np.isnan(history["fd"][0])  # and that epoch is scored
    for bad in (0, -5.0, True, "60"):
        with pytest.raises(ValueError, match="budget_seconds"):
            callbacks.QualityCheck(scorer, budget_seconds=bad)


def test_checkpoint_carries_the_generator_average(tmp_path, images):
    ema = {"ema_decay": 0.9}
    _run(tmp_path, images, 3, config=ema, extra_callbacks=[callbacks.StopAfterEpoch(1)])
    gan, history = _run(tmp_path, images, 3, config=ema)
    assert history["epoch"] == [1, 2, 3]
    assert int(gan.ema_updates.numpy()) == 9  # 3 steps per epoch, counted across the resume
    meta = callbacks.Checkpoint(tmp_path).read_meta()
    assert "ema_generator" in meta["signature"]


def test_history_cut_on_resume_even_after_a_half_finished_save(tmp_path, images):
    _run(tmp_path, images, 3, extra_callbacks=[callbacks.StopAfterEpoch(2)])
    # Simulate a crash in the middle of saving epoch 3's history: one array a row longer.
    epoch_file = tmp_path / "history" / "epoch.npy"
    np.save(epoch_file, np.append(np.load(epoch_file), 3))
    _, history = _run(tmp_path, images, 3)
    assert history["epoch"] == [1, 2, 3]
    assert len(history["d_loss"]) == 3


def test_quality_check_resumes_its_clock_from_the_checkpointed_epoch():
    check = callbacks.QualityCheck(_PixelScorer(), sample_size=10)
    history = {"epoch": [1, 2, 3], "train_seconds": [5.0, 9.0, 14.0]}
    check.resume_from(history, initial_epoch=2)  # epoch 3 was never checkpointed
    assert check.train_seconds == 9.0


def test_step_values_recover_each_step_from_running_means():
    steps = [0.5, 2.0, -1.0, 4.0]
    values = callbacks.StepValues()
    recovered = [
        values.update(k, {"d_loss": np.mean(steps[: k + 1])})["d_loss"] for k in range(len(steps))
    ]
    np.testing.assert_allclose(recovered, steps, atol=1e-12)
    values.reset()  # a new epoch: the running mean starts again
    assert values.update(0, {"d_loss": 7.0}) == {"d_loss": 7.0}


def test_a_leftover_temporary_file_is_not_read_as_history(tmp_path, images):
    _run(tmp_path, images, 1)
    (tmp_path / "history" / ".d_loss.npy.1a2b3c.tmp").write_bytes(b"half a file")
    (tmp_path / "history" / ".g_loss.npy.4d5e6f.tmp.npy").write_bytes(b"")  # hidden, too
    history = callbacks.read_history(tmp_path)
    assert all(not name.startswith(".") for name in history) and history["epoch"] == [1]


def test_discriminator_logits_use_batch_statistics_and_leave_d_unchanged(images):
    gan = train.build_gan(train.TrainConfig(**TINY))
    discriminator = gan.discriminator
    before = [v.numpy() for v in discriminator.non_trainable_variables]
    logits = callbacks.discriminator_logits(discriminator, images[:64], batch_size=32)
    expected = np.concatenate(
        [np.asarray(discriminator(images[s : s + 32], training=True)).reshape(-1) for s in (0, 32)]
    )
    for variable, value in zip(discriminator.non_trainable_variables, before, strict=True):
        variable.assign(value)  # the reference calls above moved them
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)
    after = callbacks.discriminator_logits(discriminator, images[:64], batch_size=32)
    np.testing.assert_allclose(after, logits, rtol=1e-5, atol=1e-6)  # nothing drifted
    for variable, value in zip(discriminator.non_trainable_variables, before, strict=True):
        np.testing.assert_array_equal(variable.numpy(), value)


def test_overfit_check_records_rt_on_seen_and_unseen_digits(tmp_path, images):
    check = callbacks.OverfitCheck(images[:64], images[64:128], every=1, batch_size=32)
    _, history = _run(tmp_path, images, 2, extra_callbacks=[check])
    for name in ("rt_train", "rt_heldout", "rt_gap"):
        assert len(history[name]) == 2 and all(-1 <= v <= 2 for v in history[name])
    np.testing.assert_allclose(
        history["rt_gap"], np.subtract(history["rt_train"], history["rt_heldout"]), atol=1e-6
    )
    with pytest.raises(ValueError, match="every"):
        callbacks.OverfitCheck(images, images, every=0)
    with pytest.raises(ValueError, match="heldout_images"):
        callbacks.OverfitCheck(images, images[0])


def test_the_saved_generator_loads_and_samples_without_ganutils(tmp_path):
    """A run folder's generator.keras is plain Keras: a fresh Python loads it, no ganutils."""
    config = train.TrainConfig(**TINY, epochs=1)
    images = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype("float32")
    gan, _ = train.train_mnist(config, tmp_path, images=images, progress=False)
    path = tmp_path / callbacks.GENERATOR_FILE
    assert path.is_file()
    latents = np.random.default_rng(1).normal(size=(3, config.latent_dim)).astype("float32")
    np.save(tmp_path / "latents.npy", latents)
    script = (
        "import sys, numpy as np, keras\n"
        f"model = keras.saving.load_model({str(path)!r})\n"
        f"images = np.asarray(model(np.load({str(tmp_path / 'latents.npy')!r})))\n"
        "assert 'ganutils' not in sys.modules\n"
        f"np.save({str(tmp_path / 'images.npy')!r}, images)\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""}
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path, env=env)
    images = np.load(tmp_path / "images.npy")
    assert images.shape == (3, 28, 28, 1)
    assert images.min() >= -1.0 and images.max() <= 1.0
    # The file holds the sampler: the moving average, as the book samples it.
    expected = np.asarray(gan.sampler(latents, training=False))
    np.testing.assert_allclose(images, expected, atol=1e-6)
