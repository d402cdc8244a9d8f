"""Strategies, mixed precision and XLA: the same GAN step, however it runs.

The two-replica checks need two logical CPU devices, which must be set up
before TensorFlow starts, so they run in a fresh process
(``tests/distribute_check.py``) and report JSON.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ganutils.data as data
import ganutils.distribute as distribute
import ganutils.studies as studies
import ganutils.train as train

TINY = {"g_filters": 8, "d_filters": 8, "latent_dim": 16, "batch_size": 8, "grid_size": 4}
CHECK = Path(__file__).with_name("distribute_check.py")
# One step under MirroredStrategy (2 logical CPUs, global batch 8) against one
# device (batch 8), same initial weights and latents: float32 round-off only.
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def two_replicas():
    result = subprocess.run(
        [sys.executable, str(CHECK)], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_check_ran_on_two_logical_devices(two_replicas):
    assert two_replicas["devices"] == ["/device:CPU:0", "/device:CPU:1"]


def test_mirrored_step_matches_one_device_without_batch_norm(two_replicas):
    assert two_replicas["no_batch_norm"] < TOLERANCE  # measured about 1e-7


def test_mirrored_step_matches_one_device_with_synchronized_batch_norm(two_replicas):
    assert two_replicas["sync_batch_norm"] < TOLERANCE  # measured about 2e-6
    # Biases feeding a batch norm have a zero gradient; Adam turns its round-off
    # into a step of at most the learning rate (see biases_before_batch_norm).
    assert two_replicas["sync_batch_norm_skipped"] <= 2 * train.TrainConfig().learning_rate


@pytest.mark.parametrize("name", ["hinge", "relativistic_r1_r2"])
def test_mirrored_step_matches_one_device_under_the_modern_losses(two_replicas, name):
    # Each replica's loss and penalties are means over its own pairs; scaled by the
    # number of replicas, their gradients add up to the one-device gradient.
    assert two_replicas[name] < TOLERANCE


def test_unsynchronized_batch_norm_differs(two_replicas):
    # Each replica normalises with its own 4 images: a different step altogether.
    assert two_replicas["unsynced_batch_norm"] > 100 * TOLERANCE


def test_checkpoint_from_two_replicas_resumes_on_one_device(two_replicas):
    assert two_replicas["restored_epoch"] == 1
    assert two_replicas["restored_max_difference"] == 0.0
    assert two_replicas["history_epochs"] == [1, 2]
    assert np.isfinite(two_replicas["final_d_loss"])


@pytest.fixture(scope="module")
def real_batch(mnist_subset):
    return data.scale_images(mnist_subset.images[:8])


def test_mixed_bfloat16_step_gives_finite_losses_and_float32_logits(real_batch):
    gan = train.build_gan(train.TrainConfig(**TINY, precision="mixed_bfloat16"))
    assert gan.generator.layers[1].compute_dtype == "bfloat16"  # the body computes in 16 bits
    assert all(w.dtype == "float32" for w in gan.discriminator.weights)  # weights stay float32
    logits = gan.discriminator(real_batch, training=False)
    assert str(logits.dtype) == "<dtype: 'float32'>"
    assert str(gan.generator(np.zeros((2, 16), np.float32)).dtype) == "<dtype: 'float32'>"
    logs = {name: float(value) for name, value in gan.train_step(real_batch).items()}
    assert all(np.isfinite(v) for v in logs.values()), logs
    import keras

    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored


def test_mixed_float16_scales_the_loss_and_reports_unscaled_norms(real_batch):
    import keras

    norms = {}
    for precision in ("float32", "mixed_float16"):
        gan = train.build_gan(train.TrainConfig(**TINY, precision=precision))
        logs = {name: float(value) for name, value in gan.train_step(real_batch).items()}
        assert all(np.isfinite(v) for v in logs.values()), logs
        norms[precision] = logs["d_grad_norm"]
    assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert float(gan.d_optimizer.dynamic_scale) > 1  # the loss was scaled up...
    assert norms["mixed_float16"] == pytest.approx(norms["float32"], rel=0.02)  # ...and back


def test_jit_compiled_fit_runs(real_batch):
    gan = train.build_gan(train.TrainConfig(**TINY, jit_compile=True))
    assert gan.jit_compile
    dataset = train.make_dataset(real_batch, batch_size=8)
    history = gan.fit(dataset, epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["d_loss"][-1])


def test_fixed_latents_make_a_step_repeatable(real_batch):
    latents = np.random.default_rng(0).standard_normal((8, 16)).astype(np.float32)
    config = train.TrainConfig(**TINY, ema_decay=None)
    first = studies.one_step_weights(config, real_batch, latents)
    second = studies.one_step_weights(config, real_batch, latents)
    assert studies.max_difference(first, second) == 0.0


def test_one_device_draws_the_latents_keras_draws():
    import keras

    gan = train.build_gan(train.TrainConfig(**TINY, seed=3))
    expected = keras.random.normal((5, 16), seed=keras.random.SeedGenerator(3))
    np.testing.assert_array_equal(gan.sample_latent(5).numpy(), expected.numpy())


def test_one_device_leaves_losses_norms_and_logs_as_they_are():
    gan = train.build_gan(train.TrainConfig(**TINY, seed=3))
    assert gan.replicas == 1
    assert gan.d_loss_scale == gan.g_loss_scale == 1.0  # no mixed_float16 loss scale
    assert distribute.log_shape() == ()  # scalar logs, except on a multi-worker cluster


def test_make_dataset_with_latents_yields_pairs(real_batch):
    latents = np.zeros((8, 16), np.float32)
    images, batch_latents = next(
        iter(train.make_dataset(real_batch, batch_size=4, latents=latents))
    )
    assert images.shape == (4, 28, 28, 1) and batch_latents.shape == (4, 16)
    with pytest.raises(ValueError, match="latents"):
        train.make_dataset(real_batch, batch_size=4, latents=latents[:3])


@pytest.mark.parametrize(("field", "value"), [("strategy", "horovod"), ("precision", "fp8")])
def test_bad_options_name_the_argument(field, value):
    with pytest.raises(ValueError, match=field):
        train.TrainConfig(**TINY, **{field: value})


def test_tf_config_decides_who_writes(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.is_chief() and distribute.worker_index() == 0
    cluster = {"worker": ["host0:12345", "host1:12345"]}
    for index, chief in ((0, True), (1, False)):
        task = {"type": "worker", "index": index}
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
        assert distribute.is_chief() is chief and distribute.worker_index() == index
    cluster["chief"] = ["host2:12345"]
    task = {"type": "worker", "index": 0}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
    assert not distribute.is_chief()


def test_command_line_takes_the_scaling_options(tmp_path, capsys):
    argv = ["--profile", "smoke", "--epochs", "1", "--batch-size", "128", "--out", str(tmp_path)]
    assert train.main([*argv, "--strategy", "default", "--precision", "mixed_bfloat16"]) == 0
    assert "trained 1 epoch (1 to 1)" in capsys.readouterr().out
    saved = json.loads(str(np.load(tmp_path / "checkpoint.npz")["meta"]))["config"]
    assert saved["precision"] == "mixed_bfloat16" and saved["batch_size"] == 128
