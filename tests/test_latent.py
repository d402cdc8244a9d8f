import numpy as np
import pytest

import ganutils.latent as latent


def test_gaussian_latent_has_the_shape_dtype_and_moments_asked_for():
    points = latent.sample_latent(500, 100, rng=np.random.default_rng(1))
    assert points.shape == (500, 100)
    assert points.dtype == np.float32
    # 50,000 draws: the standard error of the mean is 0.0045, of the std 0.0032.
    assert abs(points.mean()) < 0.02
    assert points.std() == pytest.approx(1.0, abs=0.015)
    # Gaussian, not uniform: about 4.6% of N(0, 1) draws lie beyond 2 std.
    assert 0.035 < np.mean(np.abs(points) > 2) < 0.057


def test_gaussian_points_lie_on_a_shell_of_radius_sqrt_dim():
    norms = np.linalg.norm(latent.sample_latent(2000, 100, rng=np.random.default_rng(2)), axis=1)
    assert norms.mean() == pytest.approx(10.0, abs=0.1)
    assert norms.std() < 1.0  # a thin shell: std of the norm is about 1/sqrt(2)


def test_uniform_latent_fills_the_cube_minus_one_to_one():
    points = latent.sample_latent(500, 100, distribution="uniform", rng=np.random.default_rng(3))
    assert points.shape == (500, 100)
    assert points.dtype == np.float32
    assert points.min() >= -1.0 and points.max() <= 1.0
    assert points.min() < -0.999 and points.max() > 0.999
    assert points.std() == pytest.approx(1 / np.sqrt(3), abs=0.01)
    norms = np.linalg.norm(points, axis=1)
    assert norms.mean() == pytest.approx(np.sqrt(100 / 3), abs=0.1)


def test_the_same_seed_gives_the_same_points_and_a_new_seed_new_ones():
    first = latent.sample_latent(4, 3, rng=np.random.default_rng(7))
    again = latent.sample_latent(4, 3, rng=np.random.default_rng(7))
    other = latent.sample_latent(4, 3, rng=np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_without_an_rng_each_call_draws_new_points():
    assert not np.array_equal(latent.sample_latent(2, 8), latent.sample_latent(2, 8))


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((0, 100), {}, "n must"),
        ((-3, 100), {}, "n must"),
        ((2.5, 100), {}, "n must"),
        ((True, 100), {}, "n must"),
        ((10, 0), {}, "latent_dim must"),
        ((10, 1.0), {}, "latent_dim must"),
        ((10, 100), {"distribution": "normal"}, "distribution must"),
        ((10, 100), {"rng": 42}, "rng must"),
    ],
)
def test_sample_latent_rejects_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        latent.sample_latent(*args, **kwargs)


def test_slerp_keeps_gaussian_points_on_the_shell_where_a_line_does_not():
    start, end = latent.sample_latent(2, 100, rng=np.random.default_rng(4))
    path = latent.slerp(start, end, 9)
    assert path.shape == (9, 100) and path.dtype == np.float32
    np.testing.assert_allclose(path[0], start, atol=1e-5)
    np.testing.assert_allclose(path[-1], end, atol=1e-5)
    norms = np.linalg.norm(path, axis=1)
    low, high = sorted((np.linalg.norm(start), np.linalg.norm(end)))
    assert np.all(norms >= low - 1e-3) and np.all(norms <= high + 1e-3)
    midpoint = (start + end) / 2
    assert np.linalg.norm(midpoint) < 0.8 * low  # the straight line sags inwards
    # Equal angular steps along the great circle.
    unit = path / norms[:, np.newaxis]
    angles = np.arccos(np.clip(np.sum(unit[1:] * unit[:-1], axis=1), -1, 1))
    np.testing.assert_allclose(angles, angles[0], rtol=1e-3)


def test_slerp_on_a_quarter_circle_is_exact():
    path = latent.slerp(np.array([1.0, 0.0]), np.array([0.0, 1.0]), 3)
    np.testing.assert_allclose(path[1], [np.sqrt(0.5), np.sqrt(0.5)], atol=1e-6)


def test_slerp_of_parallel_vectors_is_the_straight_line():
    path = latent.slerp(np.array([1.0, 1.0]), np.array([3.0, 3.0]), 3)
    np.testing.assert_allclose(path, [[1, 1], [2, 2], [3, 3]], atol=1e-6)


@pytest.mark.parametrize(
    ("start", "end", "steps", "match"),
    [
        (np.ones((2, 3)), np.ones(3), 5, "start must be a 1-D"),
        (np.ones(3), np.ones(4), 5, "same length"),
        (np.zeros(3), np.ones(3), 5, "start must be finite and not all zeros"),
        (np.ones(3), np.full(3, np.nan), 5, "end must be finite"),
        (np.ones(3), -np.ones(3), 1, "steps must"),
    ],
)
def test_slerp_rejects_bad_arguments(start, end, steps, match):
    with pytest.raises(ValueError, match=match):
        latent.slerp(start, end, steps)
