"""Soft and noisy targets for the discriminator (ganhacks item 6).

A discriminator is usually trained towards hard targets: 1 for every real
image and 0 for every fake. The helpers here soften or corrupt those targets,
two regularisers from Chintala et al. (2016) and Salimans et al. (2016):

- :func:`smooth_positive_labels` and :func:`smooth_negative_labels` replace
  hard 1s and 0s with random values near them (two-sided smoothing);
- :func:`one_sided_labels` gives the real images a fixed target such as 0.9
  and leaves the fakes at 0 (one-sided smoothing, Salimans et al. 2016);
- :func:`noisy_labels` flips an exact number of distinct labels.

Every function returns a new float32 array and never changes its input. The
book's GAN makes the same targets inside its training step, in TensorFlow
(:meth:`ganutils.gan.GAN.targets`); to check that the two agree on the same
randomness, the random helpers also take their draws as an argument
(``draws=`` for smoothing, ``order=`` for flips) instead of drawing them.
"""

from __future__ import annotations

__all__ = [
    "noisy_labels",
    "one_sided_labels",
    "smooth_negative_labels",
    "smooth_positive_labels",
]

import math

import numpy as np

from .latent import check_rng


def _check_labels(y: object, name: str = "y") -> np.ndarray:
    """Return ``y`` as a float32 copy after checking it holds 0/1 labels."""
    array = np.asarray(y)
    if array.ndim not in (1, 2) or (array.ndim == 2 and array.shape[1] != 1):
        raise ValueError(f"{name} must have shape (n,) or (n, 1); got shape {array.shape}")
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise ValueError(f"{name} must hold numeric 0/1 labels; got dtype {array.dtype}")
    if not np.isin(array, (0, 1)).all():
        bad = np.unique(array[~np.isin(array, (0, 1))])[:3]
        shown = ", ".join(f"{value:.4g}" for value in bad)
        raise ValueError(f"{name} must hold only 0/1 labels; got values such as {shown}")
    return array.astype(np.float32)  # astype copies: the caller's array is never touched


def _check_draws(draws: object, labels: np.ndarray, low: float, high: float, rng) -> np.ndarray:
    """``draws`` as float32 after checking it has ``labels``' shape and lies in [low, high)."""
    if rng is not None:
        raise ValueError("give rng or draws, not both: the draws replace the generator")
    array = np.asarray(draws, dtype=np.float32)
    if array.shape != labels.shape:
        raise ValueError(f"draws must have y's shape {labels.shape}; got shape {array.shape}")
    if not np.all((array >= low) & (array < high)):
        raise ValueError(f"draws must lie in [{low}, {high}); got [{array.min()}, {array.max()}]")
    return array


def _check_order(order: object, n: int, rng) -> np.ndarray:
    """``order`` as an integer array after checking it is a permutation of ``range(n)``."""
    if rng is not None:
        raise ValueError("give rng or order, not both: the order replaces the generator")
    array = np.asarray(order)
    if not np.issubdtype(array.dtype, np.integer) or not np.array_equal(
        np.sort(array), np.arange(n)
    ):
        raise ValueError(f"order must be a permutation of range({n}); got {array!r}")
    return array


def _check_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number; got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value!r}")
    return float(value)


def smooth_positive_labels(
    y: np.ndarray,
    *,
    low: float = 0.7,
    high: float = 1.2,
    rng: np.random.Generator | None = None,
    draws: np.ndarray | None = None,
) -> np.ndarray:
    """Replace every real-image label 1 with a random value in ``[low, high)``.

    Two-sided smoothing of the positive class as listed in ganhacks
    (Chintala et al. 2016): each 1 becomes an independent draw from
    U(low, high), so the expected target is ``(low + high) / 2`` (0.95 with the
    defaults). Zeros in ``y`` are left at 0.

    Args:
        y: ``(n,)`` or ``(n, 1)`` labels, each 0 or 1 (any numeric dtype).
        low: Smallest smoothed value.
        high: Upper end of the range (exclusive); must exceed ``low``.
        rng: The random generator; ``None`` uses a fresh, unseeded one.
        draws: Values to use instead of drawing them: an array of ``y``'s
            shape in ``[low, high)``, whose entries at the 1s replace them
            (for example the GAN's own ``keras.random.uniform`` draws, to
            compare with :meth:`ganutils.gan.GAN.noisy_targets`).

    Returns:
        A new float32 array of ``y``'s shape: 1s in ``[low, high)``, 0s kept.

    Raises:
        ValueError: ``y`` is not 0/1 labels of shape (n,) or (n, 1), ``low`` or
            ``high`` is not a finite number, ``low >= high``, ``rng`` is not
            a Generator, or ``draws`` is given with ``rng``, with another shape
            or outside ``[low, high)``.
    """
    labels = _check_labels(y)
    low = _check_number("low", low)
    high = _check_number("high", high)
    if low >= high:
        raise ValueError(f"low must be below high; got low={low} and high={high}")
    positive = labels == 1
    if draws is None:
        labels[positive] = check_rng(rng).uniform(low, high, size=int(positive.sum()))
    else:
        labels[positive] = _check_draws(draws, labels, low, high, rng)[positive]
    return labels


def smooth_negative_labels(
    y: np.ndarray,
    *,
    high: float = 0.3,
    rng: np.random.Generator | None = None,
    draws: np.ndarray | None = None,
) -> np.ndarray:
    """Replace every fake-image label 0 with a random value in ``[0, high)``.

    Two-sided smoothing of the negative class (Chintala et al. 2016). Salimans
    et al. (2016) advise against it: a positive target for fakes rewards the
    discriminator for calling some fakes partly real, which weakens the push
    on the generator exactly where its samples are unlike the data.

    Args:
        y: ``(n,)`` or ``(n, 1)`` labels, each 0 or 1 (any numeric dtype).
        high: Upper end of the range (exclusive), in (0, 1].
        rng: The random generator; ``None`` uses a fresh, unseeded one.
        draws: Values to use instead of drawing them: an array of ``y``'s
            shape in ``[0, high)``, whose entries at the 0s replace them.

    Returns:
        A new float32 array of ``y``'s shape: 0s in ``[0, high)``, 1s kept.

    Raises:
        ValueError: ``y`` is not 0/1 labels of shape (n,) or (n, 1), ``high``
            is not in (0, 1], ``rng`` is not a Generator, or ``draws`` is given
            with ``rng``, with another shape or outside ``[0, high)``.
    """
    labels = _check_labels(y)
    high = _check_number("high", high)
    if not 0.0 < high <= 1.0:
        raise ValueError(f"high must lie in (0, 1]; got {high}")
    negative = labels == 0
    if draws is None:
        labels[negative] = check_rng(rng).uniform(0.0, high, size=int(negative.sum()))
    else:
        labels[negative] = _check_draws(draws, labels, 0.0, high, rng)[negative]
    return labels


def one_sided_labels(n: int, value: float = 0.9) -> np.ndarray:
    """Targets for a batch of ``n`` real images under one-sided label smoothing.

    Salimans et al. (2016) smooth only the real class: real images get a target
    such as 0.9 instead of 1 (which stops the discriminator from driving its
    logits towards infinity), while fakes keep the target 0.

    Args:
        n: Batch size, at least 1.
        value: The target for every real image, in (0, 1].

    Returns:
        ``(n, 1)`` float32 filled with ``value``, shaped like a discriminator's
        output.

    Raises:
        ValueError: ``n`` below 1 or not an integer, or ``value`` not in (0, 1].
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer of at least 1; got {n!r}")
    value = _check_number("value", value)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"value must lie in (0, 1]; got {value}")
    return np.full((int(n), 1), value, dtype=np.float32)


def noisy_labels(
    y: np.ndarray,
    p_flip: float,
    *,
    rng: np.random.Generator | None = None,
    order: np.ndarray | None = None,
) -> np.ndarray:
    """Flip exactly ``round(p_flip * len(y))`` distinct labels (1 to 0, 0 to 1).

    Occasional wrong targets keep the discriminator from becoming
    over-confident (Chintala et al. 2016). The labels to flip are drawn
    *without* replacement, so the count is exact: drawing indices with
    replacement, as some tutorials do, picks some labels twice and flips fewer
    than asked. ``round`` is Python's, which rounds halves to even.

    Args:
        y: ``(n,)`` or ``(n, 1)`` labels, each 0 or 1 (any numeric dtype).
        p_flip: Fraction of labels to flip, in [0, 1].
        rng: The random generator; ``None`` uses a fresh, unseeded one.
        order: The labels in the order they are picked, instead of drawing
            them: a permutation of ``range(len(y))`` whose first
            ``round(p_flip * len(y))`` entries flip (for example the GAN's
            ``argsort`` of uniform draws, see
            :meth:`ganutils.gan.GAN.noisy_targets`).

    Returns:
        A new float32 array of ``y``'s shape with exactly
        ``round(p_flip * len(y))`` labels flipped.

    Raises:
        ValueError: ``y`` is not 0/1 labels of shape (n,) or (n, 1), ``p_flip``
            is not a number in [0, 1], ``rng`` is not a Generator, or ``order``
            is given with ``rng`` or is not a permutation of ``range(len(y))``.
    """
    labels = _check_labels(y)
    p_flip = _check_number("p_flip", p_flip)
    if not 0.0 <= p_flip <= 1.0:
        raise ValueError(f"p_flip must lie in [0, 1]; got {p_flip}")
    n_flip = round(p_flip * len(labels))
    if order is None:
        flip = check_rng(rng).choice(len(labels), size=n_flip, replace=False)
    else:
        flip = _check_order(order, len(labels), rng)[:n_flip]
    labels[flip] = 1.0 - labels[flip]
    return labels
