"""Points in the latent space: what a generator takes as input.

:func:`sample_latent` draws a batch of latent vectors from a standard Gaussian
(the ganhacks advice, Chintala et al. 2016) or from the uniform hypercube
[-1, 1]^d that the DCGAN paper used (Radford et al. 2015). :func:`slerp`
interpolates between two latent points along a great circle, as White (2016)
recommends for Gaussian latent spaces, so that the path stays on the shell
where the generator's training inputs lie.
"""

from __future__ import annotations

__all__ = ["DISTRIBUTIONS", "check_rng", "sample_latent", "slerp"]

import numpy as np

DISTRIBUTIONS = ("gaussian", "uniform")


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer of at least 1; got {value!r}")
    return int(value)


def check_rng(rng: object) -> np.random.Generator:
    """``rng`` itself, or a fresh generator for ``None``; anything else is a ValueError."""
    if rng is None:
        return np.random.default_rng()
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)) or None; "
            f"got {type(rng).__name__}"
        )
    return rng


def sample_latent(
    n: int,
    latent_dim: int,
    *,
    distribution: str = "gaussian",
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Draw ``n`` latent vectors of length ``latent_dim``.

    ``"gaussian"`` samples each coordinate from N(0, 1): the points fill a
    rotation-invariant ball whose mass, in many dimensions, sits in a thin shell
    of radius about ``sqrt(latent_dim)`` (the "spherical Z" of ganhacks,
    Chintala et al. 2016). ``"uniform"`` samples each coordinate from U(-1, 1),
    the hypercube used by DCGAN (Radford et al. 2015); its points lie closer to
    the origin (radius about ``sqrt(latent_dim / 3)``) and their norm depends on
    the direction (the corners stick out).

    Args:
        n: Number of vectors, at least 1.
        latent_dim: Length of each vector, at least 1.
        distribution: ``"gaussian"`` (mean 0, std 1) or ``"uniform"`` (in [-1, 1)).
        rng: The random generator to draw from; ``None`` uses a fresh, unseeded
            one (pass ``np.random.default_rng(seed)`` for repeatable draws).

    Returns:
        ``(n, latent_dim)`` float32.

    Raises:
        ValueError: ``n`` or ``latent_dim`` below 1 or not an integer, an
            unknown ``distribution``, or an ``rng`` that is not a Generator.
    """
    n = _check_count("n", n)
    latent_dim = _check_count("latent_dim", latent_dim)
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}; got {distribution!r}")
    rng = check_rng(rng)
    if distribution == "gaussian":
        return rng.standard_normal((n, latent_dim), dtype=np.float32)
    return rng.uniform(-1.0, 1.0, size=(n, latent_dim)).astype(np.float32)


def slerp(start: np.ndarray, end: np.ndarray, steps: int) -> np.ndarray:
    """Interpolate between two latent vectors along a great circle.

    Spherical linear interpolation (White 2016) rotates ``start`` towards
    ``end`` at a constant angular speed while the norm changes linearly from
    ``|start|`` to ``|end|``. For two Gaussian latent points the norm therefore
    stays near ``sqrt(latent_dim)`` all the way, where a straight line would
    cut through the sparsely sampled interior (its midpoint has a norm about
    ``1 / sqrt(2)`` times smaller). When the two directions are (nearly)
    parallel the arc is a straight line and this returns that line.

    Args:
        start: ``(latent_dim,)`` float, the first point.
        end: ``(latent_dim,)`` float, the last point.
        steps: Number of points on the path, ends included, at least 2.

    Returns:
        ``(steps, latent_dim)`` float32; row 0 is ``start`` and row
        ``steps - 1`` is ``end``.

    Raises:
        ValueError: ``start`` or ``end`` not 1-D, of different lengths, zero or
            not finite, or ``steps`` below 2.
    """
    a = np.asarray(start, dtype=np.float64)
    b = np.asarray(end, dtype=np.float64)
    for name, point in (("start", a), ("end", b)):
        if point.ndim != 1 or point.size == 0:
            raise ValueError(f"{name} must be a 1-D vector; got shape {np.shape(point)}")
        if not np.all(np.isfinite(point)) or not np.any(point):
            raise ValueError(f"{name} must be finite and not all zeros")
    if a.shape != b.shape:
        raise ValueError(f"start and end must have the same length; got {a.size} and {b.size}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ValueError(f"steps must be an integer of at least 2; got {steps!r}")

    t = np.linspace(0.0, 1.0, int(steps))[:, np.newaxis]
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    unit_a, unit_b = a / norm_a, b / norm_b
    omega = np.arccos(np.clip(unit_a @ unit_b, -1.0, 1.0))
    if np.sin(omega) < 1e-6:  # parallel (or opposite): no unique great circle
        return ((1 - t) * a + t * b).astype(np.float32)
    direction = (np.sin((1 - t) * omega) * unit_a + np.sin(t * omega) * unit_b) / np.sin(omega)
    radius = (1 - t) * norm_a + t * norm_b
    return (radius * direction).astype(np.float32)
