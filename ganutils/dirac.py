"""The Dirac-GAN: the smallest GAN that does not converge, and the penalties that fix it.

Mescheder, Geiger & Nowozin (2018), "Which Training Methods for GANs do
actually Converge?" (ICML; ``mescheder2018which`` in ``book/references.bib``)
reduce GAN training to two numbers. The real data is a point mass at 0, the
generator a point mass at ``theta``, and the discriminator is linear,
``D(x) = psi * x``. The GAN objective is

    L(theta, psi) = f(psi * theta) + f(0),  f(t) = -log(1 + exp(-t)),

which the generator minimises over ``theta`` and the discriminator maximises
over ``psi``; the one equilibrium is ``(0, 0)``. Gradient descent-ascent
follows the *gradient vector field*

    v(theta, psi) = (-psi f'(psi theta),  theta f'(psi theta)),  f'(t) = 1 / (1 + exp(t)),

whose Jacobian at the equilibrium, ``[[0, -f'(0)], [f'(0), 0]]``, has the
purely imaginary eigenvalues ``+-f'(0) i = +-i/2``: the field turns round the
equilibrium without pulling in. Simultaneous steps spiral out, alternating
steps circle, and a Wasserstein critic with clipped weights need not
converge either. Instance noise and a zero-centred gradient penalty on the
real data (R1) add a negative real part and training spirals in.

:data:`METHODS` names the variants; :func:`simulate` runs one from a start
point, :func:`simulate_all` runs several, :func:`vector_field` gives the
continuous-time field, :func:`jacobian` and :func:`eigenvalues` its
linearisation, and :func:`plot_trajectories` draws field and path per method.
NumPy and Matplotlib only: no TensorFlow, so it sits on the lowest floor.
"""

from __future__ import annotations

__all__ = [
    "CLIP",
    "CRITIC_STEPS",
    "GAMMA",
    "GP_TARGET",
    "LEARNING_RATE",
    "METHODS",
    "SIGMA",
    "START",
    "STEPS",
    "distance_to_equilibrium",
    "eigenvalues",
    "jacobian",
    "plot_trajectories",
    "simulate",
    "simulate_all",
    "vector_field",
]

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

METHODS = {
    "gan": "GAN, simultaneous steps",
    "gan_alternating": "GAN, alternating steps",
    "wgan": "WGAN, clipped critic",
    "wgan_gp": "WGAN-GP",
    "instance_noise": "GAN + instance noise",
    "r1": "GAN + R1",
    "r1_r2": "GAN + R1 + R2",
}
"""The training methods :func:`simulate` knows, with the label of their panel.

- ``"gan"``: the standard loss, simultaneous gradient descent-ascent.
- ``"gan_alternating"``: the same loss, a generator step, then
  ``critic_steps`` discriminator steps on the moved generator.
- ``"wgan"``: ``f(t) = t``, alternating, the critic weight ``psi`` clipped to
  ``[-clip, clip]`` after each critic step (Arjovsky et al. 2017).
- ``"wgan_gp"``: ``f(t) = t``, alternating, with the gradient penalty
  ``gamma/2 (|psi| - GP_TARGET)^2`` in the critic's loss (Gulrajani et al. 2017);
  ``D``'s input gradient is ``psi`` everywhere, so this is the whole penalty.
- ``"instance_noise"``: Gaussian noise of std ``sigma`` added to real and fake
  points, the field averaged over the noise (Sønderby et al. 2017).
- ``"r1"``: ``gamma/2 psi^2`` (``gamma/2 |grad_x D|^2`` on the real data) in
  D's loss, simultaneous steps.
- ``"r1_r2"``: the same penalty at the fake point too (R2). ``D`` is linear,
  so its gradient is ``psi`` at the fake point as well: R1 + R2 with ``gamma``
  each is R1 with ``2 gamma``.
"""

_ALTERNATING = ("gan_alternating", "wgan", "wgan_gp")

LEARNING_RATE = 0.1
"""Step size of both players in the book's picture (the authors' code uses 0.1 too)."""

STEPS = 500
"""Generator steps in the book's picture."""

START = (1.0, 1.0)
"""The start ``(theta, psi)`` of the book's picture."""

GAMMA = 0.3
"""Penalty weight of R1, R1 + R2 and WGAN-GP (0.3 in the authors' Dirac-GAN code):
R1's equilibrium eigenvalues are then ``-0.15 +- 0.48i``, a visible spiral."""

SIGMA = 0.7
"""Instance-noise standard deviation: eigenvalues ``-0.12 +- 0.49i`` at the equilibrium."""

CRITIC_STEPS = 5
"""Critic steps per generator step of ``wgan`` and ``wgan_gp``, as in WGAN's recipe
(``gan_alternating`` takes one unless told otherwise)."""

CLIP = 1.0
"""WGAN's critic clipping bound ``c``: ``psi`` stays in ``[-c, c]``."""

GP_TARGET = 1.0
"""WGAN-GP pulls the critic's input-gradient norm ``|psi|`` towards this (Gulrajani et al.)."""

# Probabilists' Gauss-Hermite rule: E[g(eps)], eps ~ N(0, 1), is sum(w * g(nodes)).
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(41)
_WEIGHTS = _WEIGHTS / math.sqrt(2.0 * math.pi)


def _f_prime(t: np.ndarray) -> np.ndarray:
    """``f'(t) = 1 / (1 + exp(t))`` for ``f(t) = -log(1 + exp(-t))``, without overflow."""
    return 0.5 * (1.0 - np.tanh(0.5 * t))


def _check_method(method: Any) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {tuple(METHODS)}; got {method!r}")
    return method


def _positive(value: Any, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a positive finite number; got {value!r}")
    return float(value)


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def _point(value: Any, name: str) -> np.ndarray:
    try:
        point = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be two finite numbers (theta, psi); got {value!r}") from None
    if point.shape != (2,) or not np.isfinite(point).all():
        raise ValueError(f"{name} must be two finite numbers (theta, psi); got {value!r}")
    return point


def vector_field(
    theta: Any,
    psi: Any,
    *,
    method: str = "gan",
    gamma: float = GAMMA,
    sigma: float = SIGMA,
) -> tuple[np.ndarray, np.ndarray]:
    """The continuous-time gradient vector field of ``method`` at ``(theta, psi)``.

    ``(d theta/dt, d psi/dt) = (-dL/dtheta, dL/dpsi - dR/dpsi)`` with the
    method's loss ``L`` and discriminator penalty ``R`` (see :data:`METHODS`):

    - ``gan``, ``gan_alternating``: ``(-psi f'(psi theta), theta f'(psi theta))``;
    - ``r1``: as ``gan`` with ``-gamma psi`` added to ``d psi/dt``; ``r1_r2``: ``-2 gamma psi``;
    - ``instance_noise``: ``(-E[psi f'(psi (theta + e))],
      E[(theta + e) f'(psi (theta + e))] - E[e' f'(-psi e')])`` with
      ``e, e' ~ N(0, sigma^2)`` (a 41-node Gauss-Hermite rule, exact to
      round-off here);
    - ``wgan``: ``(-psi, theta)`` (clipping is a projection, not part of the field);
    - ``wgan_gp``: ``(-psi, theta - gamma (|psi| - GP_TARGET) sign(psi))``.

    Args:
        theta: Generator positions, any shape (a float or a meshgrid).
        psi: Discriminator weights, broadcastable with ``theta``.
        method: A key of :data:`METHODS`.
        gamma: Penalty weight (``r1``, ``r1_r2``, ``wgan_gp``).
        sigma: Instance-noise standard deviation (``instance_noise``).

    Returns:
        ``(v_theta, v_psi)``: float64 arrays of the broadcast shape.

    Raises:
        ValueError: Unknown ``method`` or a non-positive ``gamma`` or ``sigma``.
    """
    _check_method(method)
    gamma, sigma = _positive(gamma, "gamma"), _positive(sigma, "sigma")
    theta, psi = np.broadcast_arrays(np.asarray(theta, np.float64), np.asarray(psi, np.float64))
    if method in ("wgan", "wgan_gp"):
        v_theta, v_psi = -psi, theta.copy()
        if method == "wgan_gp":
            v_psi = v_psi - gamma * (np.abs(psi) - GP_TARGET) * np.sign(psi)
        return v_theta, v_psi
    if method == "instance_noise":
        noisy = theta[..., None] + sigma * _NODES  # the fake point plus noise
        real = sigma * _NODES  # the real point (0) plus noise
        slope = _f_prime(psi[..., None] * noisy)
        v_theta = -(psi[..., None] * slope) @ _WEIGHTS
        v_psi = (noisy * slope) @ _WEIGHTS - (real * _f_prime(-psi[..., None] * real)) @ _WEIGHTS
        return v_theta, v_psi
    slope = _f_prime(psi * theta)
    v_theta, v_psi = -psi * slope, theta * slope
    if method == "r1":
        v_psi = v_psi - gamma * psi
    elif method == "r1_r2":
        v_psi = v_psi - 2.0 * gamma * psi
    return v_theta, v_psi


def simulate(
    method: str,
    start: tuple[float, float] = START,
    *,
    learning_rate: float = LEARNING_RATE,
    steps: int = STEPS,
    gamma: float = GAMMA,
    sigma: float = SIGMA,
    critic_steps: int | None = None,
    clip: float = CLIP,
) -> np.ndarray:
    """Train the Dirac-GAN with ``method`` by gradient steps from ``start``.

    ``gan``, ``instance_noise``, ``r1`` and ``r1_r2`` take simultaneous steps
    ``x <- x + learning_rate * v(x)`` (:func:`vector_field`). ``gan_alternating``,
    ``wgan`` and ``wgan_gp`` alternate, in the order of the authors' code: one
    generator step, then ``critic_steps`` discriminator steps, each on the
    current ``theta``; ``wgan`` clips ``psi`` to ``[-clip, clip]`` after each
    (and clips the start).

    Args:
        method: A key of :data:`METHODS`.
        start: The initial ``(theta, psi)``.
        learning_rate: Step size of both players.
        steps: Generator steps.
        gamma: Penalty weight (``r1``, ``r1_r2``, ``wgan_gp``).
        sigma: Instance-noise standard deviation (``instance_noise``).
        critic_steps: Discriminator steps per generator step (alternating
            methods); ``None``: :data:`CRITIC_STEPS` for ``wgan`` and
            ``wgan_gp``, 1 for ``gan_alternating``.
        clip: WGAN's clipping bound.

    Returns:
        ``(steps + 1, 2)`` float64: ``(theta, psi)`` at the start and after
        each generator step (with its critic steps).

    Raises:
        ValueError: Unknown ``method``, a ``start`` that is not two finite
            numbers, or a non-positive number (the message names it).
    """
    _check_method(method)
    point = _point(start, "start")
    learning_rate = _positive(learning_rate, "learning_rate")
    steps = _positive_int(steps, "steps")
    if critic_steps is None:
        critic_steps = 1 if method == "gan_alternating" else CRITIC_STEPS
    critic_steps = _positive_int(critic_steps, "critic_steps")
    clip = _positive(clip, "clip")
    field = {
        "method": method,
        "gamma": _positive(gamma, "gamma"),
        "sigma": _positive(sigma, "sigma"),
    }
    theta, psi = float(point[0]), float(point[1])
    if method == "wgan":
        psi = min(max(psi, -clip), clip)
    path = np.empty((steps + 1, 2))
    path[0] = theta, psi
    for step in range(1, steps + 1):
        if method in _ALTERNATING:
            theta += learning_rate * float(vector_field(theta, psi, **field)[0])
            for _ in range(critic_steps):
                psi += learning_rate * float(vector_field(theta, psi, **field)[1])
                if method == "wgan":
                    psi = min(max(psi, -clip), clip)
        else:
            v_theta, v_psi = vector_field(theta, psi, **field)
            theta, psi = theta + learning_rate * float(v_theta), psi + learning_rate * float(v_psi)
        path[step] = theta, psi
    return path


def simulate_all(
    methods: Iterable[str] | None = None,
    start: tuple[float, float] = START,
    **settings: Any,
) -> dict[str, np.ndarray]:
    """:func:`simulate` for several methods from the same start.

    Args:
        methods: Keys of :data:`METHODS`; ``None`` runs them all.
        start: The initial ``(theta, psi)``.
        **settings: Keyword arguments of :func:`simulate` (``learning_rate``, ...).

    Returns:
        ``{method: (steps + 1, 2) float64 trajectory}`` in the order given.
    """
    chosen = list(METHODS) if methods is None else list(methods)
    return {method: simulate(method, start, **settings) for method in chosen}


def distance_to_equilibrium(trajectory: Any) -> np.ndarray:
    """Euclidean distance of each ``(theta, psi)`` from the equilibrium ``(0, 0)``.

    Args:
        trajectory: ``(steps + 1, 2)`` from :func:`simulate`.

    Returns:
        ``(steps + 1,)`` float64, non-negative.

    Raises:
        ValueError: Not an ``(n, 2)`` array of finite numbers.
    """
    path = np.asarray(trajectory, dtype=np.float64)
    if path.ndim != 2 or path.shape[1] != 2 or len(path) == 0:
        raise ValueError(f"trajectory must have shape (n, 2); got shape {np.shape(trajectory)}")
    if not np.isfinite(path).all():
        raise ValueError("trajectory must be finite")
    return np.hypot(path[:, 0], path[:, 1])


def jacobian(
    method: str,
    point: tuple[float, float] = (0.0, 0.0),
    *,
    gamma: float = GAMMA,
    sigma: float = SIGMA,
    eps: float = 1e-5,
) -> np.ndarray:
    """Jacobian of :func:`vector_field` at ``point``, by central differences.

    Mescheder et al. (2018) read convergence off its eigenvalues at the
    equilibrium: all with negative real part means gradient steps converge
    for a small enough learning rate; a zero real part (the unregularised GAN,
    WGAN: ``+-f'(0) i``) means they need not. WGAN-GP's field jumps at
    ``psi = 0``, so it has no Jacobian there.

    Args:
        method: A key of :data:`METHODS`.
        point: Where, ``(theta, psi)``; the equilibrium by default.
        gamma: As for :func:`vector_field`.
        sigma: As for :func:`vector_field`.
        eps: Finite-difference half-step.

    Returns:
        ``(2, 2)`` float64, rows ``(v_theta, v_psi)``, columns ``(d/dtheta, d/dpsi)``.

    Raises:
        ValueError: Unknown ``method``, a bad ``point`` (or ``psi = 0`` for
            ``wgan_gp``) or a non-positive number.
    """
    _check_method(method)
    base = _point(point, "point")
    eps = _positive(eps, "eps")
    if method == "wgan_gp" and abs(base[1]) <= eps:
        raise ValueError(
            f"point must have |psi| > eps for wgan_gp: its field jumps at psi = 0; got {point!r}"
        )
    matrix = np.empty((2, 2))
    for column in range(2):
        shift = np.zeros(2)
        shift[column] = eps
        up = vector_field(*(base + shift), method=method, gamma=gamma, sigma=sigma)
        down = vector_field(*(base - shift), method=method, gamma=gamma, sigma=sigma)
        matrix[:, column] = (np.array(up) - np.array(down)) / (2.0 * eps)
    return matrix


def eigenvalues(method: str, *, gamma: float = GAMMA, sigma: float = SIGMA) -> np.ndarray:
    """Eigenvalues of :func:`jacobian` at the equilibrium ``(0, 0)``.

    The paper's closed forms, with ``f'(0) = 1/2`` and ``f''(0) = -1/4``:
    ``+-i/2`` (GAN, either step order), ``+-i`` (WGAN), ``-gamma/2 +-
    sqrt(gamma^2/4 - 1/4)`` (R1; ``gamma`` doubled for R1 + R2) and
    ``f''(0) sigma^2 +- sqrt(f''(0)^2 sigma^4 - f'(0)^2)`` (instance noise).

    Returns:
        ``(2,)`` complex128.
    """
    return np.linalg.eigvals(jacobian(method, gamma=gamma, sigma=sigma)).astype(np.complex128)


def plot_trajectories(
    trajectories: Mapping[str, Any],
    *,
    gamma: float = GAMMA,
    sigma: float = SIGMA,
    clip: float = CLIP,
    extent: float | None = None,
    ncols: int = 4,
    arrows: int = 15,
    panel_size: float = 3.0,
) -> Figure:
    """One panel per method: the vector field as arrows, the path, the equilibrium.

    Args:
        trajectories: ``{method: (steps + 1, 2) trajectory}``, keys from
            :data:`METHODS` (e.g. :func:`simulate_all`).
        gamma: The penalty weight the trajectories used (for the arrows).
        sigma: The instance noise they used.
        clip: WGAN's clipping bound (dashed lines at ``psi = +-clip``).
        extent: Half-width of each panel's square; ``None`` fits each path
            (at least 1.5).
        ncols: Panels per row.
        arrows: Arrows per axis.
        panel_size: Inches per panel.

    Returns:
        The Matplotlib figure; each title names the method and the final
        distance to the equilibrium.

    Raises:
        ValueError: No trajectories, an unknown key, a bad trajectory or a
            non-positive setting.
    """
    if not trajectories:
        raise ValueError("trajectories must hold at least one (method, trajectory) pair")
    for name in trajectories:
        _check_method(name)
    ncols = _positive_int(ncols, "ncols")
    arrows = _positive_int(arrows, "arrows")
    if extent is not None:
        extent = _positive(extent, "extent")
    paths = {name: np.asarray(path, np.float64) for name, path in trajectories.items()}
    distances = {name: distance_to_equilibrium(path) for name, path in paths.items()}
    ncols = min(ncols, len(paths))
    nrows = math.ceil(len(paths) / ncols)
    figure = Figure(figsize=(ncols * panel_size, nrows * panel_size + 0.3))
    axes = figure.subplots(nrows, ncols, squeeze=False)
    for axis, (name, path) in zip(axes.flat, paths.items(), strict=False):
        half = extent if extent is not None else max(1.5, 1.1 * float(np.abs(path).max()))
        grid = np.linspace(-half, half, arrows)
        theta, psi = np.meshgrid(grid, grid)
        v_theta, v_psi = vector_field(theta, psi, method=name, gamma=gamma, sigma=sigma)
        axis.quiver(theta, psi, v_theta, v_psi, color="0.6", angles="xy", width=0.004)
        axis.plot(path[:, 0], path[:, 1], color="C0", linewidth=1.2, label="training path")
        axis.plot(*path[0], "o", color="C0", markersize=4, label="start")
        axis.plot(0.0, 0.0, "*", color="C3", markersize=11, label="equilibrium")
        if name == "wgan":
            for bound in (-clip, clip):
                axis.axhline(bound, color="C2", linestyle="--", linewidth=0.8)
        axis.set_xlim(-half, half)
        axis.set_ylim(-half, half)
        axis.set_aspect("equal")
        axis.set_xlabel("theta (generator)")
        axis.set_ylabel("psi (discriminator)")
        axis.set_title(f"{METHODS[name]}\nfinal distance {distances[name][-1]:.3g}", fontsize=9)
    for axis in axes.flat[len(paths) :]:
        axis.set_axis_off()
    axes.flat[0].legend(loc="lower left", fontsize=7, framealpha=0.8)
    figure.tight_layout()
    return figure
