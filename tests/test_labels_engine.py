"""The book's GAN and ``ganutils.labels`` make the same targets on the same draws.

Chapter 3 teaches the NumPy helpers; the engine makes D's targets in its own
graph code (:meth:`ganutils.gan.GAN.targets`). Here the helpers are fed the
engine's draws, replayed by a fresh ``keras.random.SeedGenerator`` with the
GAN's seed, and must give its targets bit for bit.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import ganutils.labels as labels
from ganutils import train

N = 8


def tiny_gan(**options):
    config = train.TrainConfig(g_filters=8, d_filters=8, latent_dim=16, batch_size=N, **options)
    return train.build_gan(config)


def replayed_targets(gan, n):
    """``GAN.noisy_targets`` with the NumPy helpers, on a replay of the GAN's draws."""
    seed = keras.random.SeedGenerator(gan.options.seed)

    def uniform(shape, low=0.0, high=1.0):
        return keras.ops.convert_to_numpy(keras.random.uniform(shape, low, high, seed=seed))

    noise, smoothing = gan.options.label_noise, gan.options.label_smoothing
    pair = []
    for hard in (np.ones((n, 1)), np.zeros((n, 1))):  # real, then fake, as the engine draws
        if noise > 0.0:
            hard = labels.noisy_labels(hard, noise, order=np.argsort(uniform((n,))))
        if smoothing == "two_sided":
            real = labels.smooth_positive_labels(hard, draws=uniform((n, 1), 0.7, 1.2))
            fake = labels.smooth_negative_labels(hard, draws=uniform((n, 1), 0.0, 0.3))
            hard = np.where(hard == 1, real, fake)
        elif smoothing == "one_sided":
            hard = hard * labels.one_sided_labels(n, 0.9)
        pair.append(hard.astype(np.float32))
    return pair


def test_one_sided_targets_are_the_helper_column_and_zeros():
    gan = tiny_gan(label_smoothing="one_sided")
    real, fake = (keras.ops.convert_to_numpy(t) for t in gan.targets(N))
    assert gan.real_target == 0.9
    np.testing.assert_array_equal(real, labels.one_sided_labels(N, gan.real_target))
    np.testing.assert_array_equal(fake, np.zeros((N, 1), np.float32))


@pytest.mark.parametrize(
    ("smoothing", "noise"),
    [("two_sided", 0.0), ("none", 0.25), ("one_sided", 0.25), ("two_sided", 0.25)],
)
def test_random_targets_equal_the_helpers_on_the_engine_draws(smoothing, noise):
    gan = tiny_gan(label_smoothing=smoothing, label_noise=noise)
    engine = [keras.ops.convert_to_numpy(t) for t in gan.targets(N)]
    for side, (got, want) in enumerate(zip(engine, replayed_targets(gan, N), strict=True)):
        np.testing.assert_array_equal(got, want, err_msg=f"side {side}")
    if noise:  # exactly round(noise * n) targets of each side flipped
        hard = np.where(engine[0] > 0.5, 1, 0), np.where(engine[1] > 0.5, 1, 0)
        assert N - hard[0].sum() == round(noise * N) == hard[1].sum()
