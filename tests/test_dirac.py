"""ganutils.dirac: the Dirac-GAN's field, its trajectories, their eigenvalues, the figure."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

import ganutils.dirac as dirac


def test_the_field_matches_the_formula_at_a_hand_computed_point():
    theta, psi = 0.5, 2.0  # psi * theta = 1, f'(1) = 1 / (1 + e)
    slope = 1.0 / (1.0 + math.e)
    v_theta, v_psi = dirac.vector_field(theta, psi, method="gan")
    assert v_theta == pytest.approx(-psi * slope, rel=1e-12)
    assert v_psi == pytest.approx(theta * slope, rel=1e-12)
    _, r1_psi = dirac.vector_field(theta, psi, method="r1", gamma=0.3)
    assert r1_psi == pytest.approx(theta * slope - 0.3 * psi, rel=1e-12)
    _, both_psi = dirac.vector_field(theta, psi, method="r1_r2", gamma=0.3)
    assert both_psi == pytest.approx(theta * slope - 0.6 * psi, rel=1e-12)
    assert dirac.vector_field(theta, psi, method="wgan") == (-psi, theta)
    _, gp_psi = dirac.vector_field(theta, -psi, method="wgan_gp", gamma=0.3)
    assert gp_psi == pytest.approx(theta - 0.3 * (psi - dirac.GP_TARGET) * -1.0)


def test_instance_noise_field_is_the_noise_average_of_the_gan_field():
    theta, psi, sigma = 0.7, -1.2, 0.5
    noise = np.random.default_rng(0).normal(0.0, sigma, size=(2, 400_000))

    def slope(t):
        return 1.0 / (1.0 + np.exp(t))

    fake = theta + noise[0]
    expected = (
        np.mean(-psi * slope(psi * fake)),
        np.mean(fake * slope(psi * fake)) - np.mean(noise[1] * slope(-psi * noise[1])),
    )
    got = dirac.vector_field(theta, psi, method="instance_noise", sigma=sigma)
    np.testing.assert_allclose(got, expected, atol=3e-3)  # Monte Carlo error ~1e-3
    grid = dirac.vector_field(np.zeros((3, 4)), np.ones((3, 4)), method="instance_noise")
    assert grid[0].shape == grid[1].shape == (3, 4)


def test_simultaneous_gan_does_not_approach_the_equilibrium():
    path = dirac.simulate("gan", (1.0, 1.0), steps=500)
    assert path.shape == (501, 2) and path.dtype == np.float64
    distance = dirac.distance_to_equilibrium(path)
    assert distance.shape == (501,)
    assert distance[-1] >= distance[0] - 1e-9
    assert np.all(np.diff(distance) >= -1e-12)  # each simultaneous step moves outwards


def test_alternating_gan_circles_without_converging():
    distance = dirac.distance_to_equilibrium(dirac.simulate("gan_alternating", steps=500))
    assert distance.min() > 0.9 * distance[0]


@pytest.mark.parametrize("method", ["r1", "r1_r2", "instance_noise"])
def test_r1_and_instance_noise_converge(method):
    path = dirac.simulate(method, (1.0, 1.0), steps=500)
    assert dirac.distance_to_equilibrium(path)[-1] < 0.05


@pytest.mark.parametrize("method", ["wgan", "wgan_gp"])
def test_wgan_and_wgan_gp_keep_away_from_the_equilibrium(method):
    path = dirac.simulate(method, (1.0, 1.0), steps=500)
    late = dirac.distance_to_equilibrium(path)[-200:]
    assert late.min() > 0.3, late.min()
    assert np.ptp(path[-200:, 0]) > 0.5  # theta keeps swinging
    if method == "wgan":
        assert np.abs(path[:, 1]).max() <= dirac.CLIP


def test_eigenvalues_at_the_equilibrium_match_the_paper():
    f1, f2 = 0.5, -0.25  # f'(0), f''(0)
    for method in ("gan", "gan_alternating"):
        values = dirac.eigenvalues(method)
        np.testing.assert_allclose(values.real, 0.0, atol=1e-8)
        np.testing.assert_allclose(sorted(values.imag), [-f1, f1], atol=1e-8)
    np.testing.assert_allclose(sorted(dirac.eigenvalues("wgan").imag), [-1.0, 1.0], atol=1e-8)
    for gamma in (0.3, 1.0, 2.0):
        root = np.sqrt(complex(gamma**2 / 4 - f1**2))
        expected = sorted([-gamma / 2 + root, -gamma / 2 - root], key=lambda z: (z.real, z.imag))
        got = sorted(dirac.eigenvalues("r1", gamma=gamma), key=lambda z: (z.real, z.imag))
        np.testing.assert_allclose(got, expected, atol=1e-6)
        assert max(z.real for z in got) < 0
    sigma = 0.7
    root = np.sqrt(complex(f2**2 * sigma**4 - f1**2))
    got = dirac.eigenvalues("instance_noise", sigma=sigma)
    np.testing.assert_allclose(sorted(got.imag), sorted([root.imag, -root.imag]), atol=1e-6)
    np.testing.assert_allclose(got.real, f2 * sigma**2, atol=1e-6)


def test_plot_trajectories_draws_one_labelled_panel_per_method():
    runs = dirac.simulate_all(["gan", "r1", "wgan"], steps=50)
    figure = dirac.plot_trajectories(runs, ncols=2)
    assert isinstance(figure, Figure)
    panels = [axis for axis in figure.axes if axis.get_visible() and axis.axison]
    assert len(panels) == 3
    for axis, (name, path) in zip(panels, runs.items(), strict=True):
        assert axis.get_xlabel() == "theta (generator)"
        assert axis.get_ylabel() == "psi (discriminator)"
        final = dirac.distance_to_equilibrium(path)[-1]
        assert dirac.METHODS[name] in axis.get_title() and f"{final:.3g}" in axis.get_title()
        assert axis.collections  # the quiver
        np.testing.assert_allclose(axis.lines[0].get_xydata(), path)
        assert any(list(line.get_xydata()[0]) == [0.0, 0.0] for line in axis.lines[1:])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "lsgan"}, "method"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"gamma": -1.0}, "gamma"),
        ({"sigma": 0}, "sigma"),
        ({"critic_steps": 0}, "critic_steps"),
        ({"clip": -0.1}, "clip"),
        ({"start": (1.0,)}, "start"),
        ({"start": (1.0, math.inf)}, "start"),
    ],
)
def test_simulate_rejects_bad_input(kwargs, match):
    arguments = {"method": "gan", "steps": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        dirac.simulate(**arguments)


def test_other_functions_reject_bad_input():
    with pytest.raises(ValueError, match="method"):
        dirac.vector_field(0.0, 0.0, method="GAN")
    with pytest.raises(ValueError, match="trajectory"):
        dirac.distance_to_equilibrium(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="method"):
        dirac.plot_trajectories({"nope": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="trajectories"):
        dirac.plot_trajectories({})
    with pytest.raises(ValueError, match="wgan_gp"):
        dirac.eigenvalues("wgan_gp")  # no Jacobian where the field jumps
