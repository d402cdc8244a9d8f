import numpy as np
import pytest

import ganutils.labels as labels


@pytest.fixture
def real():
    return np.ones((1000, 1))


@pytest.fixture
def fake():
    return np.zeros((1000, 1))


def test_smooth_positive_labels_fill_the_range_seven_tenths_to_six_fifths(real):
    smoothed = labels.smooth_positive_labels(real, rng=np.random.default_rng(0))
    assert smoothed.shape == (1000, 1) and smoothed.dtype == np.float32
    assert smoothed.min() >= 0.7 and smoothed.max() < 1.2
    # Uniform over the whole range, not squeezed into part of it.
    assert smoothed.min() < 0.71 and smoothed.max() > 1.19
    assert smoothed.mean() == pytest.approx(0.95, abs=0.015)
    counts, _ = np.histogram(smoothed, bins=5, range=(0.7, 1.2))
    assert counts.min() > 150  # 200 expected per bin
    np.testing.assert_array_equal(real, 1.0)  # the input is untouched


def test_smooth_positive_labels_take_custom_bounds_and_keep_zeros():
    y = np.array([1, 0, 1, 0, 1, 1, 0, 1])
    smoothed = labels.smooth_positive_labels(y, low=0.8, high=0.9, rng=np.random.default_rng(1))
    assert smoothed.shape == (8,)
    np.testing.assert_array_equal(smoothed[y == 0], 0.0)
    assert np.all((smoothed[y == 1] >= 0.8) & (smoothed[y == 1] < 0.9))
    assert len(np.unique(smoothed[y == 1])) == 5  # an independent draw per label


def test_smooth_negative_labels_fill_zero_to_three_tenths(fake):
    smoothed = labels.smooth_negative_labels(fake, rng=np.random.default_rng(2))
    assert smoothed.shape == (1000, 1) and smoothed.dtype == np.float32
    assert smoothed.min() >= 0.0 and smoothed.max() < 0.3
    assert smoothed.min() < 0.01 and smoothed.max() > 0.29
    assert smoothed.mean() == pytest.approx(0.15, abs=0.01)
    np.testing.assert_array_equal(fake, 0.0)


def test_smooth_negative_labels_keep_ones():
    y = np.array([[0], [1], [0]], dtype=np.int64)
    smoothed = labels.smooth_negative_labels(y, high=0.1, rng=np.random.default_rng(3))
    assert smoothed[1, 0] == 1.0
    assert 0.0 <= smoothed[0, 0] < 0.1 and 0.0 <= smoothed[2, 0] < 0.1
    assert smoothed[0, 0] != smoothed[2, 0]


def test_smoothing_is_repeatable_with_a_seed(real):
    first = labels.smooth_positive_labels(real, rng=np.random.default_rng(5))
    again = labels.smooth_positive_labels(real, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(first, again)


def test_one_sided_labels_are_a_column_of_the_value():
    y = labels.one_sided_labels(1000)
    assert y.shape == (1000, 1) and y.dtype == np.float32
    np.testing.assert_array_equal(y, np.float32(0.9))
    np.testing.assert_array_equal(labels.one_sided_labels(3, 0.8), np.full((3, 1), np.float32(0.8)))


@pytest.mark.parametrize(("fill", "expected_sum"), [(1, 950), (0, 50)])
def test_noisy_labels_flip_exactly_five_percent(fill, expected_sum):
    y = np.full((1000, 1), fill)
    for seed in range(20):  # with replacement, most seeds would flip fewer than 50
        noisy = labels.noisy_labels(y, 0.05, rng=np.random.default_rng(seed))
        assert noisy.shape == (1000, 1) and noisy.dtype == np.float32
        assert noisy.sum() == expected_sum
        assert np.count_nonzero(noisy != y) == 50
        assert set(np.unique(noisy)) <= {0.0, 1.0}
    np.testing.assert_array_equal(y, fill)  # the input is untouched


def test_noisy_labels_flip_both_ways_in_a_mixed_batch():
    y = np.array([1] * 50 + [0] * 50)
    noisy = labels.noisy_labels(y, 0.1, rng=np.random.default_rng(4))
    flipped = noisy != y
    assert flipped.sum() == 10
    np.testing.assert_array_equal(noisy[flipped], 1 - y[flipped])
    np.testing.assert_array_equal(noisy[~flipped], y[~flipped])


@pytest.mark.parametrize(
    ("n", "p_flip", "expected"),
    [(1000, 0.0, 0), (1000, 1.0, 1000), (10, 0.25, 2), (10, 0.35, 4), (7, 0.5, 4), (3, 0.1, 0)],
)
def test_noisy_labels_flip_round_p_times_n(n, p_flip, expected):
    noisy = labels.noisy_labels(np.zeros(n), p_flip, rng=np.random.default_rng(6))
    assert noisy.sum() == expected == round(p_flip * n)


def test_noisy_labels_are_repeatable_with_a_seed():
    y = np.ones(100)
    first = labels.noisy_labels(y, 0.2, rng=np.random.default_rng(9))
    again = labels.noisy_labels(y, 0.2, rng=np.random.default_rng(9))
    other = labels.noisy_labels(y, 0.2, rng=np.random.default_rng(10))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("p_flip", [-0.01, 1.01, float("nan"), "0.1", True])
def test_noisy_labels_reject_p_flip_outside_zero_one(p_flip):
    with pytest.raises(ValueError, match="p_flip"):
        labels.noisy_labels(np.ones(10), p_flip)


@pytest.mark.parametrize(
    "y",
    [
        np.full(5, 0.9),  # already smoothed
        np.array([0, 1, 2]),
        np.array([1.0, np.nan]),
        np.array([True, False]),
        np.array(["1", "0"]),
        np.ones((4, 2)),
        np.ones((2, 2, 1)),
        np.float64(1.0),
    ],
    ids=["smoothed", "two", "nan", "bool", "str", "two-columns", "3-d", "scalar"],
)
@pytest.mark.parametrize(
    "function",
    [
        lambda y: labels.noisy_labels(y, 0.1),
        labels.smooth_positive_labels,
        labels.smooth_negative_labels,
    ],
    ids=["noisy", "positive", "negative"],
)
def test_label_functions_reject_what_is_not_0_1_labels(function, y):
    with pytest.raises(ValueError, match="y must"):
        function(y)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"low": 1.2, "high": 0.7}, "low must be below high"),
        ({"low": 0.9, "high": 0.9}, "low must be below high"),
        ({"low": float("inf")}, "low must be finite"),
        ({"high": "1.2"}, "high must be a number"),
        ({"rng": 0}, "rng must"),
    ],
)
def test_smooth_positive_labels_reject_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        labels.smooth_positive_labels(np.ones(4), **kwargs)


@pytest.mark.parametrize("high", [0.0, -0.1, 1.5])
def test_smooth_negative_labels_reject_high_outside_zero_one(high):
    with pytest.raises(ValueError, match="high must lie in"):
        labels.smooth_negative_labels(np.zeros(4), high=high)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0,), "n must"),
        ((-5,), "n must"),
        ((2.0,), "n must"),
        ((4, 0.0), "value"),
        ((4, 1.1), "value"),
    ],
)
def test_one_sided_labels_reject_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        labels.one_sided_labels(*args)


def test_smooth_positive_labels_take_given_draws_at_the_ones():
    y = np.array([[1], [0], [1], [1]])
    draws = np.array([[0.8], [0.9], [1.1], [0.7]], dtype=np.float32)
    smoothed = labels.smooth_positive_labels(y, draws=draws)
    np.testing.assert_array_equal(smoothed, np.array([[0.8], [0.0], [1.1], [0.7]], np.float32))
    np.testing.assert_array_equal(y, [[1], [0], [1], [1]])  # the input is untouched


def test_smooth_negative_labels_take_given_draws_at_the_zeros():
    y = np.array([0, 1, 0])
    draws = np.array([0.25, 0.1, 0.0], dtype=np.float32)
    smoothed = labels.smooth_negative_labels(y, draws=draws)
    np.testing.assert_array_equal(smoothed, np.array([0.25, 1.0, 0.0], np.float32))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"draws": np.full(4, 0.8), "rng": np.random.default_rng(0)}, "rng or draws"),
        ({"draws": np.full(3, 0.8)}, "draws must have y's shape"),
        ({"draws": np.full((4, 1), 0.8)}, "draws must have y's shape"),
        ({"draws": np.full(4, 1.2)}, r"draws must lie in \[0.7, 1.2\)"),
        ({"draws": np.full(4, 0.5)}, r"draws must lie in"),
    ],
)
def test_smooth_positive_labels_reject_bad_draws(kwargs, match):
    with pytest.raises(ValueError, match=match):
        labels.smooth_positive_labels(np.ones(4), **kwargs)


def test_smooth_negative_labels_reject_draws_outside_the_range():
    with pytest.raises(ValueError, match=r"draws must lie in \[0.0, 0.3\)"):
        labels.smooth_negative_labels(np.zeros(2), draws=np.array([0.1, 0.3]))


def test_noisy_labels_flip_the_first_labels_of_a_given_order():
    y = np.array([1, 1, 0, 0, 1, 0, 1, 0])
    noisy = labels.noisy_labels(y, 0.25, order=np.array([5, 1, 0, 2, 3, 4, 6, 7]))
    expected = y.astype(np.float32)
    expected[[5, 1]] = 1 - expected[[5, 1]]  # round(0.25 * 8) = 2: the first two of the order
    np.testing.assert_array_equal(noisy, expected)
    np.testing.assert_array_equal(y, [1, 1, 0, 0, 1, 0, 1, 0])  # the input is untouched


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"order": np.arange(4), "rng": np.random.default_rng(0)}, "rng or order"),
        ({"order": np.array([0, 1, 2])}, "permutation"),
        ({"order": np.array([0, 1, 1, 2])}, "permutation"),
        ({"order": np.array([0.0, 1.0, 2.0, 3.0])}, "permutation"),
    ],
)
def test_noisy_labels_reject_an_order_that_is_not_a_permutation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        labels.noisy_labels(np.ones(4), 0.5, **kwargs)
