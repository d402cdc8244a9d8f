"""StackedMNIST: three digits as the three channels of one image, 1,000 modes to cover.

Metz et al. (2017, "Unrolled Generative Adversarial Networks",
``metz2017unrolled``) stack three MNIST digits as the channels of one
``28 x 28 x 3`` image, so the data has 1,000 modes: the triple of digit
classes. PacGAN (Lin et al. 2018) and R3GAN (Huang et al. 2024) report two
numbers on it, both computed from the classes a pretrained MNIST classifier
reads in each channel of each generated image:

* **modes covered**: how many of the 1,000 triples at least one sample lands in;
* **KL**: ``KL(p_hat || uniform)``, in nats, of the empirical mode
  distribution ``p_hat`` from the uniform distribution over the 1,000 modes.

Both depend on the sample size: a perfect generator scored on ``n`` samples
covers about :func:`expected_modes_covered` modes and shows the KL of
:func:`kl_floor`, not 0. Print those beside a result.

:func:`stack_digits` builds real stacks, :func:`read_modes` classifies the
channels with the book's classifier (:func:`ganutils.judge.load_classifier`),
:func:`mode_histogram` and :func:`coverage` score the modes.
"""

from __future__ import annotations

__all__ = [
    "NUM_MODES",
    "coverage",
    "expected_modes_covered",
    "kl_floor",
    "mode_histogram",
    "modes_of",
    "read_modes",
    "stack_digits",
]

import math
from typing import Any

import numpy as np

from .config import check_seed
from .data import as_model_input
from .judge import NUM_CLASSES

NUM_MODES = NUM_CLASSES**3
"""1,000: one mode per triple of digit classes."""

_CHANNELS = 3
_WEIGHTS = np.array([NUM_CLASSES**2, NUM_CLASSES, 1])  # mode = 100 c0 + 10 c1 + c2


def _rng(seed: Any) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_seed(seed))


def modes_of(classes: Any) -> np.ndarray:
    """The mode of each triple of digit classes: ``100 c0 + 10 c1 + c2``.

    Args:
        classes: ``(n, 3)`` integers in [0, 10), channel 0 first.

    Returns:
        ``(n,)`` int64 in [0, 1000).

    Raises:
        ValueError: Not ``(n, 3)`` integers in [0, 10).
    """
    array = np.asarray(classes)
    if array.ndim != 2 or array.shape[1] != _CHANNELS or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"classes must be (n, 3) integers; got {array.dtype} {array.shape}")
    if array.size and (array.min() < 0 or array.max() >= NUM_CLASSES):
        raise ValueError(
            f"classes must lie in [0, {NUM_CLASSES}); got [{array.min()}, {array.max()}]"
        )
    return array.astype(np.int64) @ _WEIGHTS


def stack_digits(
    images: Any, labels: Any, n: int, *, seed: int | np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` StackedMNIST images from single digits.

    The three digits of each stack are drawn independently and uniformly,
    with replacement, from ``images`` (Metz et al. 2017); channel ``k`` holds
    digit ``k``.

    Args:
        images: ``(m, 28, 28)`` or ``(m, 28, 28, 1)`` MNIST digits, any dtype
            and range (uint8 in [0, 255] from :func:`ganutils.data.load_mnist`,
            or float in [-1, 1] after :func:`ganutils.data.scale_images`).
        labels: ``(m,)`` integer digit classes in [0, 10).
        n: How many stacks.
        seed: A non-negative integer or a ``numpy.random.Generator``.

    Returns:
        ``(stacked, modes)``: ``(n, 28, 28, 3)`` with the dtype and range of
        ``images``, and ``(n,)`` int64 modes in [0, 1000)
        (``100 c0 + 10 c1 + c2`` of the channels' labels).

    Raises:
        ValueError: Bad shapes, a length mismatch, labels outside [0, 10),
            ``n`` below 1 or a bad ``seed``.
    """
    pixels = np.asarray(images)
    if pixels.ndim == 4 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim != 3 or pixels.shape[1:] != (28, 28) or len(pixels) == 0:
        raise ValueError(
            f"images must have shape (m, 28, 28) or (m, 28, 28, 1) with m >= 1; "
            f"got shape {np.shape(images)}"
        )
    classes = np.asarray(labels)
    if classes.shape != (len(pixels),) or not np.issubdtype(classes.dtype, np.integer):
        raise ValueError(
            f"labels must be ({len(pixels)},) integers, one per image; "
            f"got {classes.dtype} {classes.shape}"
        )
    if classes.min() < 0 or classes.max() >= NUM_CLASSES:
        raise ValueError(
            f"labels must lie in [0, {NUM_CLASSES}); got [{classes.min()}, {classes.max()}]"
        )
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    chosen = _rng(seed).integers(0, len(pixels), size=(int(n), _CHANNELS))
    stacked = np.stack([pixels[chosen[:, k]] for k in range(_CHANNELS)], axis=-1)
    return stacked, modes_of(classes[chosen])


def read_modes(classifier: Any, stacked: Any, *, batch_size: int = 1000) -> np.ndarray:
    """The mode of each stacked image, as the book's MNIST classifier reads it.

    Each channel is classified on its own (its top class); the mode is
    ``100 c0 + 10 c1 + c2``, channel 0 first, as in :func:`stack_digits`.

    Args:
        classifier: The :class:`ganutils.judge.MnistClassifier` of
            :func:`ganutils.judge.load_classifier`, or any object whose
            ``predict`` maps ``(k, 28, 28, 1)`` float32 in [-1, 1] to ``(k, 10)``
            class scores.
        stacked: ``(n, 28, 28, 3)``: float in [-1, 1] (a three-channel tanh
            generator's output) or uint8 in [0, 255] (:func:`stack_digits` of
            :func:`ganutils.data.load_mnist` digits).
        batch_size: Stacks per ``predict`` call (each call sees ``3 * batch_size``
            digits).

    Returns:
        ``(n,)`` int64 modes in [0, 1000).

    Raises:
        ValueError: Not ``(n, 28, 28, 3)`` with ``n >= 1``, a bad dtype or
            range, a ``batch_size`` below 1, or class scores of the wrong shape.
    """
    array = np.asarray(stacked)
    if array.ndim != 4 or array.shape[1:] != (28, 28, _CHANNELS) or len(array) == 0:
        raise ValueError(f"stacked must have shape (n, 28, 28, 3), n >= 1; got shape {array.shape}")
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    modes = []
    for start in range(0, len(array), batch_size):
        batch = array[start : start + batch_size]
        count = len(batch)
        digits = np.concatenate([batch[..., k] for k in range(_CHANNELS)])  # channel-major
        scores = np.asarray(classifier.predict(as_model_input(digits, "stacked")))
        if scores.shape != (_CHANNELS * count, NUM_CLASSES):
            raise ValueError(
                f"classifier.predict must return ({_CHANNELS * count}, {NUM_CLASSES}) class "
                f"scores; got shape {scores.shape}"
            )
        classes = scores.argmax(axis=1).reshape(_CHANNELS, count).T  # (count, 3)
        modes.append(modes_of(classes))
    return np.concatenate(modes)


def _check_modes(modes: Any) -> np.ndarray:
    array = np.asarray(modes)
    if array.ndim != 1 or len(array) == 0 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"modes must be a non-empty (n,) integer array; got {array.dtype} {array.shape}"
        )
    if array.min() < 0 or array.max() >= NUM_MODES:
        raise ValueError(f"modes must lie in [0, {NUM_MODES}); got [{array.min()}, {array.max()}]")
    return array.astype(np.int64)


def mode_histogram(modes: Any) -> np.ndarray:
    """Samples per mode.

    Args:
        modes: ``(n,)`` integers in [0, 1000) (:func:`read_modes`).

    Returns:
        ``(1000,)`` int64 counts summing to ``n``.

    Raises:
        ValueError: Empty, not 1-D integers, or outside [0, 1000).
    """
    return np.bincount(_check_modes(modes), minlength=NUM_MODES).astype(np.int64)


def _kl_from_counts(counts: np.ndarray) -> np.ndarray:
    """``KL(p_hat || uniform)`` in nats along the last axis of ``counts``."""
    total = counts.sum(axis=-1, keepdims=True)
    share = counts / total
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(counts > 0, share * np.log(share * NUM_MODES), 0.0)
    return terms.sum(axis=-1)


def coverage(modes: Any) -> dict[str, float | int]:
    """Modes covered and the KL from uniform, as PacGAN and R3GAN report them.

    A mode counts as **covered** when at least one sample lands in it (the
    rule of Lin et al. 2018, PacGAN). The **KL** is ``KL(p_hat || u) =
    sum_m p_hat(m) log(1000 p_hat(m))`` in nats, ``p_hat`` the share of
    samples per mode and ``u`` uniform over the 1,000 modes: 0 for a perfect
    spread, ``log(1000 / k)`` for samples spread evenly over ``k`` modes.
    Compare with :func:`kl_floor` and :func:`expected_modes_covered` at the
    same ``n``.

    Args:
        modes: ``(n,)`` integers in [0, 1000).

    Returns:
        ``{"modes_covered": int, "kl": float, "n": int}``.

    Raises:
        ValueError: As for :func:`mode_histogram`.
    """
    counts = mode_histogram(modes)
    return {
        "modes_covered": int(np.count_nonzero(counts)),
        "kl": float(_kl_from_counts(counts)),
        "n": int(counts.sum()),
    }


def kl_floor(
    n: int, *, repeats: int = 1000, seed: int | np.random.Generator = 0
) -> dict[str, float | int]:
    """The KL that a perfect generator shows when scored on ``n`` samples.

    A generator uniform over the 1,000 modes still scores a KL above 0 on a
    finite sample: its counts scatter (about ``999 / (2 n)`` nats for large
    ``n``). Simulated with ``repeats`` multinomial draws of ``n`` samples.

    Args:
        n: Samples per scored set.
        repeats: Simulated sets.
        seed: A non-negative integer or a ``numpy.random.Generator``.

    Returns:
        ``{"mean", "low", "high", "n", "repeats"}``: the mean KL in nats and
        its 2.5th and 97.5th percentiles over the sets.

    Raises:
        ValueError: ``n`` or ``repeats`` below 1, or a bad ``seed``.
    """
    for value, name in ((n, "n"), (repeats, "repeats")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    counts = _rng(seed).multinomial(int(n), np.full(NUM_MODES, 1.0 / NUM_MODES), size=int(repeats))
    kls = _kl_from_counts(counts)
    low, high = np.percentile(kls, [2.5, 97.5])
    return {
        "mean": float(kls.mean()),
        "low": float(low),
        "high": float(high),
        "n": int(n),
        "repeats": int(repeats),
    }


def expected_modes_covered(n: int) -> float:
    """Modes a perfect generator covers on ``n`` samples, on average: ``1000 (1 - (1 - 1/1000)^n)``.

    Raises:
        ValueError: ``n`` is not a non-negative integer.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer; got {n!r}")
    return float(NUM_MODES * -math.expm1(int(n) * math.log1p(-1.0 / NUM_MODES)))
