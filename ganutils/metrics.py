"""Offline quality metrics for MNIST GANs: MNIST FD, classes covered, class KL, score.

The Fréchet Inception Distance (FID, Heusel et al. 2017) compares the mean and
covariance of Inception-v3 features of real and generated images. Inception
weights need a download and know nothing about digits, so the book measures
its GANs with a small MNIST classifier of its own instead:

* :func:`load_classifier` (from :mod:`ganutils.judge`) trains a
  two-convolution network on real digits (or loads it from the disk cache) and
  reports its accuracy on held-out digits.
* :class:`MnistScorer` feeds images through it and returns an
  :class:`MnistScore`: the **MNIST FD** (Fréchet distance between the
  classifier's 128 penultimate-layer features of real and generated digits),
  the number of **classes covered**, the **class KL** (how far the predicted
  class histogram is from uniform) and the **classifier score** (the Inception
  Score formula of Salimans et al. 2016 with our classifier).
* :meth:`MnistScorer.real_floor` scores held-out real digits against the same
  reference statistics: what a perfect generator would reach.
* :meth:`MnistScorer.calibration` scores held-out real digits degraded in
  documented ways (:data:`DEGRADATIONS`: pixel noise, a slight blur, a class
  missing, thinned strokes, half the classes missing): FDs a reader can picture.
* :func:`is_good` is the book's quality target against a :class:`QualityBar`
  (:meth:`MnistScorer.good_bar`): FD at most that of the named degradation
  :data:`GOOD_REFERENCE`, scored by the same classifier at the same sample
  size, and all ``GOOD_MIN_CLASSES`` classes covered. A bar defined by a
  picture of quality, not by a multiple of the floor, means the same under
  another classifier (a ratio to the floor does not: it changes with the
  feature extractor).

The Fréchet distance of finite samples is biased upwards, and the bias shrinks
as the sample grows: compare FDs only at equal sample size, with the same
classifier (data source, seed and :data:`ganutils.judge.CLASSIFIER_VERSION`). MNIST FDs are
not comparable with published FIDs, which use Inception features.
"""

from __future__ import annotations

__all__ = [
    "CONFIDENCE",
    "DEFAULT_SAMPLE_SIZE",
    "DEGRADATIONS",
    "GOOD_HOLD",
    "GOOD_MIN_CLASSES",
    "GOOD_REFERENCE",
    "MIN_CLASS_SHARE",
    "MnistClassifier",  # from ganutils.judge, so the chapters need one module
    "MnistScore",
    "MnistScorer",
    "QualityBar",
    "border_ink",
    "class_kl",
    "classes_covered",
    "classifier_score",
    "degrade",
    "feature_statistics",
    "frechet_distance",
    "is_good",
    "load_classifier",  # from ganutils.judge
    "time_to_good",
]

import dataclasses
import math
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from scipy import linalg, ndimage

from .config import check_seed
from .data import as_model_input
from .judge import NUM_CLASSES, MnistClassifier, load_classifier

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

DEGRADATIONS = {
    "real": "held-out real digits as they are (the floor)",
    "noise": "held-out digits plus Gaussian pixel noise, std 10% of the pixel range",
    "blur": "held-out digits blurred by a Gaussian of 0.5 px",
    "missing_one": "held-out digits with the 0s left out (the others resampled to fill)",
    "eroded": "held-out digits with strokes thinned by a 2 x 2 grey erosion",
    "missing_half": "held-out digits of classes 5 to 9 only (resampled to fill)",
}
"""The calibration sets of :meth:`MnistScorer.calibration`, from closest to real to
farthest as both of the book's classifiers rank them."""

GOOD_REFERENCE = "eroded"
"""The quality target's degradation: good digits are at least as close to real as
real digits with their strokes thinned about a pixel (and cover every class).
Of the calibration sets, thinned strokes move between the book's two
classifiers as a DCGAN's samples do (their FD grows by a similar factor from
one classifier to the other), so the verdict does not flip with the scorer;
chapter 5 shows the measurement."""

GOOD_MIN_CLASSES = 10
"""The quality target: this many classes covered (all ten digits)."""

GOOD_HOLD = 2
"""Time to quality counts a check only if it stays good for this many more checks."""

_IMAGINARY_ATOL = 1e-3  # as in the TTUR reference implementation


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


def degrade(images: np.ndarray, labels: np.ndarray, kind: str, *, seed: int = 0) -> np.ndarray:
    """Real digits made worse in one documented way (see :data:`DEGRADATIONS`).

    Args:
        images: ``(n, 28, 28)`` uint8 real digits.
        labels: ``(n,)`` their classes (the class-removal sets need them).
        kind: A key of :data:`DEGRADATIONS`.
        seed: Seed of the noise and of the resampling.

    Returns:
        ``(n, 28, 28)`` uint8: as many images as given. The class-removal sets
        draw the kept classes' digits with replacement to fill ``n``, so some
        digits repeat.

    Raises:
        ValueError: Unknown ``kind``, or images and labels that do not match.
    """
    if kind not in DEGRADATIONS:
        raise ValueError(f"kind must be one of {tuple(DEGRADATIONS)}; got {kind!r}")
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim != 3 or images.dtype != np.uint8 or labels.shape != images.shape[:1]:
        raise ValueError(
            "images must be (n, 28, 28) uint8 with one label each; got "
            f"{images.dtype} {images.shape} and labels {labels.shape}"
        )
    rng = np.random.default_rng(check_seed(seed))
    pixels = images.astype(np.float64)
    if kind == "noise":
        pixels = pixels + rng.normal(0.0, 0.1 * 255.0, pixels.shape)
    elif kind == "blur":
        pixels = ndimage.gaussian_filter(pixels, sigma=(0, 0.5, 0.5))
    elif kind == "eroded":
        pixels = ndimage.grey_erosion(pixels, size=(1, 2, 2))
    elif kind in ("missing_one", "missing_half"):
        dropped = [0] if kind == "missing_one" else [0, 1, 2, 3, 4]
        kept = np.flatnonzero(~np.isin(labels, dropped))
        pixels = pixels[np.sort(rng.choice(kept, len(images), replace=True))]
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


@dataclasses.dataclass(frozen=True)
class QualityBar:
    """The FD a generator must reach to count as good, and what it stands for.

    Attributes:
        reference: The :data:`DEGRADATIONS` key whose FD is the bar.
        fd: That set's MNIST FD: good digits score at most this.
        floor_fd: The real-data floor at the same sample size, for the ratio.
        sample_size: Images per scored set (compare only at this size).
        min_classes: Classes a good set must cover.
    """

    reference: str
    fd: float
    floor_fd: float
    sample_size: int
    min_classes: int = GOOD_MIN_CLASSES

    @property
    def ratio(self) -> float:
        """The bar as a multiple of the floor (it differs between classifiers)."""
        return self.fd / self.floor_fd

    def __str__(self) -> str:
        return (
            f"FD <= {self.fd:.2f} (as close to real as: {DEGRADATIONS[self.reference]}; "
            f"{self.ratio:.1f}x the floor {self.floor_fd:.2f}) and {self.min_classes} classes, "
            f"n={self.sample_size:,}"
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
            :func:`load_classifier` with ``load_options``.
        sample_size: Default sample size of :meth:`real_floor` (and what
            generated sets should be scored at): FD shrinks as ``n`` grows, so
            compare only at equal ``n``.
        **load_options: Keyword arguments of :func:`load_classifier`
            (``source``, ``seed``, ``cache_dir``, ``architecture``), used only
            when ``classifier`` is ``None``.

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
        sample_size: int = DEFAULT_SAMPLE_SIZE,
        **load_options,
    ) -> None:
        if classifier is None:
            classifier = load_classifier(**load_options)
        elif load_options:
            raise ValueError(
                f"load_options ({sorted(load_options)}) load a classifier: give them or a "
                "loaded classifier, not both"
            )
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
        self._calibrations: dict[tuple[int, int], dict[str, MnistScore]] = {}

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
        inputs = as_model_input(images, min_count=2)
        if sample_size is not None:
            sample_size = _check_sample_size(sample_size, len(inputs), "images given")
            if sample_size < len(inputs):
                rng = np.random.default_rng(check_seed(seed))
                inputs = inputs[np.sort(rng.choice(len(inputs), sample_size, replace=False))]
        features, probabilities = self.classifier.features(inputs)
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
        seed = check_seed(seed)
        if (size, seed) not in self._floors:
            rng = np.random.default_rng(seed)
            chosen = np.sort(rng.choice(len(heldout), size, replace=False))
            self._floors[size, seed] = self.score(heldout[chosen])
        return self._floors[size, seed]

    def calibration(
        self, *, sample_size: int | None = None, seed: int = 0
    ) -> dict[str, MnistScore]:
        """Score every set of :data:`DEGRADATIONS`, made from the same held-out digits.

        Args:
            sample_size: Held-out digits per set; ``None``: the scorer's.
            seed: Which held-out digits (as in :meth:`real_floor`), and the
                degradations' noise and resampling.

        Returns:
            ``{name: MnistScore}`` in the order of :data:`DEGRADATIONS`;
            ``"real"`` is :meth:`real_floor` itself. Kept, so asking again is free.
        """
        heldout = self.classifier.split.heldout_images
        size = self.sample_size if sample_size is None else sample_size
        size = _check_sample_size(size, len(heldout), "held-out real digits")
        seed = check_seed(seed)
        if (size, seed) not in self._calibrations:
            chosen = np.sort(np.random.default_rng(seed).choice(len(heldout), size, replace=False))
            images = heldout[chosen]
            labels = self.classifier.split.heldout_labels[chosen]
            scores = {"real": self.real_floor(sample_size=size, seed=seed)}
            for kind in list(DEGRADATIONS)[1:]:
                scores[kind] = self.score(degrade(images, labels, kind, seed=seed))
            self._calibrations[size, seed] = scores
        return self._calibrations[size, seed]

    def good_bar(
        self, *, reference: str = GOOD_REFERENCE, sample_size: int | None = None
    ) -> QualityBar:
        """The book's quality target under this scorer: the FD of ``reference``.

        Raises:
            ValueError: Unknown ``reference``, or a bad ``sample_size``.
        """
        if reference not in DEGRADATIONS:
            raise ValueError(f"reference must be one of {tuple(DEGRADATIONS)}; got {reference!r}")
        scores = self.calibration(sample_size=sample_size)
        return QualityBar(
            reference=reference,
            fd=scores[reference].fd,
            floor_fd=scores["real"].fd,
            sample_size=scores["real"].sample_size,
        )


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
    bar: QualityBar | float,
    *,
    min_classes: int | None = None,
) -> bool:
    """The book's quality target: are these good digits yet?

    True when the MNIST FD is at most the bar's and at least ``min_classes``
    digit classes are covered. Used for "time to good digits" in benchmarks
    and training callbacks.

    Args:
        result: The generated set's :class:`MnistScore` (or a mapping with
            ``"fd"`` and ``"classes_covered"``).
        bar: :meth:`MnistScorer.good_bar` of the same scorer at the same
            sample size, or an FD threshold as a number.
        min_classes: Classes that must be covered; ``None``: the bar's (or
            all 10 with a number).

    Returns:
        Whether both conditions hold.

    Raises:
        ValueError: Missing fields, a bar that is not a finite non-negative FD,
            ``min_classes`` outside 1-10, or ``result`` and ``bar`` measured
            at different sample sizes (FD depends on it).
    """
    fd = float(_field(result, "fd", "result"))
    covered = int(_field(result, "classes_covered", "result"))
    if isinstance(bar, QualityBar):
        threshold, needed = bar.fd, bar.min_classes
        size = _optional_field(result, "sample_size")
        if size is not None and size != bar.sample_size:
            raise ValueError(
                f"bar was measured on {bar.sample_size:,} images and result on {size:,}: "
                "FD depends on the sample size, so compare at equal sample_size"
            )
    elif isinstance(bar, (int, float, np.number)) and not isinstance(bar, bool):
        threshold, needed = float(bar), GOOD_MIN_CLASSES
    else:
        raise ValueError(f"bar must be a QualityBar or an FD number; got {type(bar).__name__}")
    if not math.isfinite(threshold) or threshold < 0:
        raise ValueError(f"bar FD must be a finite non-negative number; got {threshold!r}")
    needed = needed if min_classes is None else min_classes
    if isinstance(needed, bool) or not 1 <= needed <= NUM_CLASSES:
        raise ValueError(f"min_classes must lie in 1..{NUM_CLASSES}; got {needed!r}")
    return bool(fd <= threshold and covered >= needed)


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


def border_ink(images, *, width: int = 3) -> float:
    """Mean ink in a ``width``-pixel frame around each image, in [0, 1].

    MNIST digits are centred with empty borders, so real digits score close to
    0. Translations and brightness shifts that leak from augmentation into the
    samples put ink (or grey background) there.

    Args:
        images: ``(n, h, w, c)`` float in [-1, 1].
        width: Frame width in pixels.
    """
    pixels = (np.asarray(images, dtype=np.float64) + 1.0) / 2.0
    if pixels.ndim != 4 or min(pixels.shape[1:3]) <= 2 * width:
        raise ValueError(f"images must be (n, h, w, c) larger than the frame; got {pixels.shape}")
    mask = np.ones(pixels.shape[1:3], bool)
    mask[width:-width, width:-width] = False
    return float(pixels[:, mask].mean())
