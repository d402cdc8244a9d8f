"""The study of the "Use the labels" chapter: conditional GANs against the book's recipe.

Four arms on the same digits, budget and seeds: the book's (unconditional)
recipe, the recipe conditioned on the label as an extra input of both
networks (:data:`CHANNELS`: ganhacks #16, Mirza & Osindero 2014), and the
AC-GAN of Odena et al. 2017 (the generator conditioned, the discriminator
classifying as well) at the recipe's learning rate (:data:`AUXILIARY`) and at
its paper's (:data:`AUXILIARY_PAPER`). Each run trains for as many seconds as
the MNIST runs of chapter 7's study, on whatever machine runs this study (a
second is not the same training on another CPU: compare its rows only with
rows of the same machine, :func:`ganutils.studies.one_machine`), and is judged
as there (time to good, final FD), then its
final generator draws 1,000 samples, 100 asked for each class, scored for the
share the book's classifier reads as the class asked for and the FD of each
class to the real digits of that class::

    python -m ganutils.studies.conditional --out ganutils/results/conditional

resumes where it stopped (rows already in ``results.jsonl`` are skipped).
"""

from __future__ import annotations

__all__ = [
    "AUXILIARY",
    "AUXILIARY_PAPER",
    "BASELINE",
    "CHANNELS",
    "SAMPLE_SIZE",
    "class_fds",
    "class_floor",
    "class_scores",
    "main",
    "run_study",
    "variants",
]

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import config as _config
from .. import data as _data

tf = _config.import_tensorflow()
import keras  # noqa: E402

from .. import conditioning as _conditioning  # noqa: E402
from .. import metrics as _metrics  # noqa: E402
from . import common as _common  # noqa: E402
from . import footings as _footings  # noqa: E402
from . import runner as _runner  # noqa: E402

#: The arms' names.
BASELINE, CHANNELS, AUXILIARY = "unconditional recipe", "label as input", "AC-GAN"
#: AC-GAN at its paper's Adam (Odena et al. 2017: learning rate 2e-4, beta_1 0.5), since the
#: recipe's rate was tuned for the unconditional GAN.
AUXILIARY_PAPER = "AC-GAN (Adam 2e-4)"
#: Final samples scored per run (100 asked for each class).
SAMPLE_SIZE = 1000
#: Samples of each run kept in its row (the first two of each class).
KEEP_SAMPLES = 20


def variants() -> list[_common.Variant]:
    """The arms: the recipe, the recipe with the label as input, and AC-GAN at two rates."""
    return [
        _common.Variant(BASELINE, "the book's recipe, no labels", kind="baseline"),
        _common.Variant(
            CHANNELS,
            "label embedded and joined to G's latent and to D's image as a channel",
            overrides={"num_classes": 10, "conditioning": "channels"},
        ),
        _common.Variant(
            AUXILIARY,
            "G conditioned as above; D classifies too, class loss weight 1 (Odena et al. 2017)",
            overrides={"num_classes": 10, "conditioning": "auxiliary", "class_loss_weight": 1.0},
        ),
        _common.Variant(
            AUXILIARY_PAPER,
            "AC-GAN at its paper's Adam: learning rate 2e-4, beta_1 0.5",
            overrides={
                "num_classes": 10,
                "conditioning": "auxiliary",
                "class_loss_weight": 1.0,
                "learning_rate": 2e-4,
            },
        ),
    ]


def class_fds(scorer: _metrics.MnistScorer, images: Any, asked: Any) -> np.ndarray:
    """Per class ``k``: the FD of the images asked to be ``k`` to the real digits of class ``k``.

    The reference of class ``k`` is the scorer's classifier's training digits
    of that class. A class set is small (100 of each class in a set of 1,000)
    and FD grows as ``n`` shrinks, so read it beside :func:`class_floor` at
    the same ``n``.

    Returns:
        ``(10,)`` floats; NaN for a class with fewer than two images.

    Raises:
        ValueError: Bad images, or ``asked`` not one class in [0, 10) per image.
    """
    features, probabilities = scorer.classifier.features(images)
    asked = _conditioning.check_labels(asked, len(features), probabilities.shape[1])
    split = scorer.classifier.split
    reference, _ = scorer.classifier.features(split.train_images)
    result = np.full(probabilities.shape[1], np.nan)
    for k in range(len(result)):
        if np.sum(asked == k) >= 2:
            real = _metrics.feature_statistics(reference[split.train_labels == k])
            fake = _metrics.feature_statistics(features[asked == k])
            result[k] = _metrics.frechet_distance(*real, *fake)
    return result


def class_floor(scorer: _metrics.MnistScorer, per_class: int, *, seed: int = 0) -> np.ndarray:
    """:func:`class_fds` of ``per_class`` held-out real digits of each class: the floor.

    Raises:
        ValueError: ``per_class`` not an integer from 2 to the held-out digits of every class.
    """
    split = scorer.classifier.split
    rng = np.random.default_rng(_config.check_seed(seed))
    chosen = []
    for k in np.unique(split.heldout_labels):
        index = np.flatnonzero(split.heldout_labels == k)
        if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)):
            raise ValueError(f"per_class must be an integer; got {per_class!r}")
        if not 2 <= per_class <= len(index):
            raise ValueError(
                f"per_class must lie in [2, {len(index)}] (held-out digits of class {k}); "
                f"got {per_class!r}"
            )
        chosen.append(np.sort(rng.choice(index, per_class, replace=False)))
    chosen = np.concatenate(chosen)
    return class_fds(scorer, split.heldout_images[chosen], split.heldout_labels[chosen])


def class_scores(gan, scorer: _metrics.MnistScorer, n: int, *, seed: int = 0) -> dict:
    """Draw ``n`` samples of a conditional ``gan``, every class in turn, and score each class.

    Returns:
        ``class_accuracy`` and ``class_fds`` (per class, as lists; see
        :func:`ganutils.conditioning.class_accuracy` and :func:`class_fds`),
        ``class_fd`` (their overall FD), ``class_counts`` (confident
        predictions per class), ``class_samples`` (``(n, 28, 28, 1)`` in
        [-1, 1]) and ``asked`` (``(n,)``).
    """
    asked = _conditioning.asked_classes(n, gan.options.num_classes)
    latents = keras.random.normal((n, gan.options.latent_dim), seed=int(seed))
    inputs = [keras.ops.convert_to_numpy(latents), asked]  # one kind in a list: both NumPy
    samples = keras.ops.convert_to_numpy(gan.sampler(inputs, training=False))
    _, probabilities = scorer.classifier.features(samples)
    score = scorer.score(samples)
    return {
        "class_accuracy": _conditioning.class_accuracy(probabilities, asked).tolist(),
        "class_fds": class_fds(scorer, samples, asked).tolist(),
        "class_fd": float(score.fd),
        "class_counts": list(score.class_counts),
        "class_samples": samples,
        "asked": asked,
    }


def run_study(
    out_dir,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    profile=None,
    budget_seconds: float = _footings.MNIST_BUDGET_SECONDS,
    log=print,
) -> list[dict]:
    """Run every arm for every seed; append one row per run to ``out_dir/results.jsonl``.

    Rows already there (same variant, seed and profile) are skipped.

    Returns:
        All rows of the results file after the run.

    Raises:
        ValueError: No seeds, or a non-positive budget.
    """
    _runner.check_seeds(seeds)
    if not budget_seconds > 0:
        raise ValueError(f"budget_seconds must be positive; got {budget_seconds!r}")
    profile = _runner.get_profile(profile)
    path = _runner.results_file(out_dir)
    digits = _data.load_mnist(limit=profile.max_digits)
    images = _data.scale_images(digits.images)
    judge: dict = {}  # the scorer and its bar, made for the first run

    def train(variant, seed: int) -> dict:
        if not judge:
            judge["scorer"] = _metrics.MnistScorer()
            judge["bar"] = judge["scorer"].good_bar()
        scorer, bar = judge["scorer"], judge["bar"]
        conditional = "num_classes" in variant.overrides
        scores = _kept_class_scores if conditional else _class_counts
        row = _common.run_mnist(
            variant,
            seed,
            profile=profile,
            images=images,
            labels=digits.labels if conditional else None,
            scorer=scorer,
            bar=bar,
            budget_seconds=budget_seconds,
            sample_size=0 if conditional else SAMPLE_SIZE,
            keep_samples=KEEP_SAMPLES,
            final=functools.partial(scores, scorer=scorer, seed=seed),
        )
        if "samples" in row:  # uint8 keeps the kept samples small in the committed file
            row["samples"] = _as_uint8(row["samples"])
        row.update(floor_fd=float(bar.floor_fd), bar_fd=float(bar.fd))
        row.update(_common.provenance(profile, f"{digits.summary}; {len(images)} images"))
        return row

    runs = (
        _runner.Run((v.name, int(seed), profile.name), functools.partial(train, v, seed))
        for seed in seeds
        for v in variants()
    )
    return _runner.run_resumable(path, runs, key=_row_key, log=log, describe=_describe)


def _row_key(row) -> tuple:
    return (row["variant"], row["seed"], row["profile"])


def _describe(row, seconds: float) -> str:
    return f"{row['variant']} seed {row['seed']}: {seconds:.0f} s"


def _kept_class_scores(gan, _train_config, *, scorer, seed) -> dict:
    """:func:`class_scores` for a results row: two samples of each class kept, as uint8."""
    scores = class_scores(gan, scorer, SAMPLE_SIZE, seed=seed)
    keep = np.concatenate([np.flatnonzero(scores["asked"] == k)[:2] for k in range(10)])
    scores["class_samples"] = _as_uint8(scores["class_samples"][keep])
    scores["asked"] = scores["asked"][keep].tolist()
    return scores


def _class_counts(gan, _train_config, *, scorer, seed) -> dict:
    """An unconditional run's confident predictions per class, on its final samples."""
    latents = keras.random.normal((SAMPLE_SIZE, gan.options.latent_dim), seed=int(seed))
    samples = keras.ops.convert_to_numpy(gan.sampler(latents, training=False))
    return {"class_counts": list(scorer.score(samples).class_counts)}


def _as_uint8(images) -> list:
    return ((np.asarray(images) + 1.0) * 127.5).round().clip(0, 255).astype("uint8").tolist()


#: The command line: ``python -m ganutils.studies.conditional --out DIR``.
main = _runner.command_line(
    run_study,
    prog="python -m ganutils.studies.conditional",
    description="Conditional GANs (label as input, AC-GAN) against the book's recipe; resumes.",
    flags={"--budget": _runner.budget_flag(_footings.MNIST_BUDGET_SECONDS)},
)


if __name__ == "__main__":
    raise SystemExit(main())
