"""Tests for ganutils.diagnostics: each failure signature fires, a healthy run stays quiet."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ganutils import callbacks, diagnostics, toy

HEALTHY = {"d_loss": 1.3, "g_loss": 0.8, "d_grad_norm": 2.0, "g_grad_norm": 1.5}


class FakeModel:
    """Stands in for a GAN: a stop flag and a sampler returning fixed samples."""

    def __init__(self, samples=None):
        self.stop_training = False
        self.samples = samples

    def sampler(self, latents, training=False):
        return self.samples


def play(monitor, epochs):
    """Feed per-step values to the monitor the way Keras does: as running means."""
    for epoch, steps in enumerate(epochs):
        monitor.on_epoch_begin(epoch)
        totals = {}
        for batch, step in enumerate(steps):
            for name, value in step.items():
                totals[name] = totals.get(name, 0.0) + value
            monitor.on_train_batch_end(batch, {k: v / (batch + 1) for k, v in totals.items()})
        means = {k: v / len(steps) for k, v in totals.items()}
        monitor.on_epoch_end(epoch, means)


def monitor_for(model=None, **kwargs):
    monitor = diagnostics.TrainingMonitor(verbose=False, **kwargs)
    monitor.set_model(model or FakeModel())
    return monitor


def test_healthy_run_stays_quiet():
    rng = np.random.default_rng(0)
    diverse = rng.normal(size=(64, 2))
    monitor = monitor_for(FakeModel(diverse), latents=np.zeros((64, 4)), reference=diverse)
    epochs = [[{k: v * rng.uniform(0.8, 1.2) for k, v in HEALTHY.items()}] * 20] * 5
    play(monitor, epochs)
    assert monitor.events == []
    assert monitor.diversity and min(monitor.diversity) > 0


def test_discriminator_wins_fires_once_while_it_lasts():
    monitor = monitor_for()
    winning = {**HEALTHY, "d_loss": 0.01}
    play(monitor, [[winning] * 10, [winning] * 10, [HEALTHY] * 10, [winning] * 10])
    fired = monitor.fired("discriminator_wins")
    assert [e.epoch for e in fired] == [1, 4]  # re-armed after the healthy epoch
    assert fired[0].value == pytest.approx(0.01)
    assert "below 0.05). Keep G learning" in fired[0].message  # its troubleshooting row


def test_vanishing_gradient_fires():
    monitor = monitor_for()
    play(monitor, [[HEALTHY] * 5, [{**HEALTHY, "g_grad_norm": 1e-5}] * 5])
    assert [e.epoch for e in monitor.fired("vanishing_gradient")] == [2]
    assert [e.signature for e in monitor.events] == ["vanishing_gradient"]


def test_exploding_gradient_fires_on_one_step():
    monitor = monitor_for()
    steps = [HEALTHY] * 7 + [{**HEALTHY, "d_grad_norm": 450.0}] + [HEALTHY] * 7
    play(monitor, [steps])
    (event,) = monitor.fired("exploding_gradient")
    assert event.step == 8  # the step's own value, recovered from the running means
    assert event.value == pytest.approx(450.0, rel=1e-6)
    assert "D's gradient norm" in event.message


def test_collapse_fires_against_the_reference():
    rng = np.random.default_rng(0)
    copies = np.repeat(rng.normal(size=(1, 2)), 64, axis=0) + rng.normal(0, 1e-3, (64, 2))
    monitor = monitor_for(
        FakeModel(copies), latents=np.zeros((64, 4)), reference=rng.normal(size=(256, 2))
    )
    play(monitor, [[HEALTHY] * 3])
    (event,) = monitor.fired("collapse")
    assert event.value < 0.01


def test_collapse_against_its_own_peak():
    rng = np.random.default_rng(0)
    model = FakeModel(rng.normal(size=(64, 2)))
    monitor = monitor_for(model, latents=np.zeros((64, 4)))
    play(monitor, [[HEALTHY] * 3])
    model.samples = model.samples * 0.1
    play(monitor, [[HEALTHY] * 3])
    assert [e.signature for e in monitor.events] == ["collapse"]
    assert monitor.fired("collapse")[0].value == pytest.approx(0.1, rel=1e-6)


def test_non_finite_stops_the_run():
    model = FakeModel()
    monitor = monitor_for(model)
    steps = [HEALTHY] * 4 + [{**HEALTHY, "g_loss": math.nan}] + [HEALTHY] * 3
    play(monitor, [steps])
    assert model.stop_training
    assert monitor.stopped_at == 5
    (event,) = monitor.events
    assert event.signature == "non_finite" and "g_loss" in event.message


def test_sample_diversity():
    assert diagnostics.sample_diversity(np.ones((10, 3, 3))) == pytest.approx(0.0, abs=1e-6)
    two = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert diagnostics.sample_diversity(two) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="at least 2"):
        diagnostics.sample_diversity(np.ones((1, 2)))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"d_loss_floor": 0}, "d_loss_floor"),
        ({"max_grad_norm": -1}, "max_grad_norm"),
        ({"min_grad_norm": math.inf}, "min_grad_norm"),
        ({"diversity_floor": 1.5}, "diversity_floor"),
        ({"latents": np.zeros((1, 4))}, "latents"),
    ],
)
def test_bad_thresholds_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        diagnostics.TrainingMonitor(**kwargs)


class PoisonAtStep(callbacks.keras.callbacks.Callback):
    """Set one discriminator kernel to NaN before a given step, as a blown-up update would."""

    def __init__(self, step):
        super().__init__()
        self.step = step
        self.seen = 0

    def on_train_batch_begin(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            kernel = self.model.discriminator.trainable_variables[0]
            kernel.assign(np.full(kernel.shape, np.nan, np.float32))


def test_nan_run_stops_and_the_last_good_checkpoint_loads(tmp_path):
    config = toy.ToyConfig(steps=200, check_every=50, batch_size=32, g_hidden=8, d_hidden=8)
    monitor = diagnostics.TrainingMonitor(verbose=False)
    gan, _, _ = toy.train_toy(config, callbacks=[monitor, PoisonAtStep(120)], out_dir=tmp_path)
    assert monitor.stopped_at == 120
    assert gan.g_optimizer.iterations.numpy() < 200  # stopped early
    fresh, epochs = toy.load_toy_gan(tmp_path, config)
    assert epochs == 2  # epochs 1 and 2 (100 steps) were good; the third was not saved
    for variable in fresh.discriminator.variables + fresh.generator.variables:
        assert np.all(np.isfinite(variable.numpy()))
    assert fresh.g_optimizer.iterations.numpy() == 100


def test_checkpoint_refuses_non_finite_weights(tmp_path):
    config = toy.ToyConfig(steps=100, check_every=50, batch_size=32, g_hidden=8, d_hidden=8)
    gan = toy.build_toy_gan(config)
    checkpoint = callbacks.Checkpoint(tmp_path)
    checkpoint.save(gan, 1)
    before = checkpoint.path.read_bytes()
    gan.generator.trainable_variables[0].assign(
        np.full(gan.generator.trainable_variables[0].shape, np.inf, np.float32)
    )
    with pytest.raises(ValueError, match="NaN or infinite"):
        checkpoint.save(gan, 2)
    assert checkpoint.path.read_bytes() == before
