"""What the studies share: run variants of a GAN over seeds, and summarise what each changed.

The book's measurements (chapter 7's stabilisers, chapter 8's ablation,
chapter 10's one-step equivalence, chapter 6's hyperparameter grid) all take
the same shape: a baseline, some :class:`Variant` of it, several seeds, one
row of results per run, and a summary per variant. This module holds that
shape once, on top of the engine and recipes below it:

- :class:`Variant`: one arm of a comparison (name, what it changes, the
  config fields or engine options it overrides);
- runs: :func:`run_toy` / :func:`compare_toy` (2-D mixtures), :func:`run_mnist` /
  :func:`compare_mnist` (MNIST), :func:`sweep` (a grid of two config fields);
- :func:`summarise` (mean, spread, difference from a baseline, cost), :func:`markdown_table`;
- **the comparison rule** every chapter's verdicts come from, from
  :mod:`ganutils.studies.stats` and re-exported here: :func:`estimate` (mean,
  sample standard deviation, 95% interval) and :func:`compare` ("helps",
  "hurts" or "no measurable effect", by :data:`VERDICT_RULE`);
- results files: :func:`read_rows`, :func:`append_row`, :func:`provenance`,
  and :func:`committed_results` for the ones the package ships;
- the machine and session a row was measured on: :func:`this_machine`,
  :func:`this_session`, :func:`machines`, :func:`recipe_step_ms` (the clock a
  timed row records), :func:`known_sessions` and :func:`on_one_clock` (runs of
  several sessions on one clock, :mod:`ganutils.studies.clock`), and
  :func:`one_machine`, the guard every study calls before it compares rows
  (seconds compare only within one CPU model and one clock);
  :func:`keeps_batch_norm` reads what the runs' discriminators were;
- the one-step equivalence of two distribution strategies:
  :func:`one_step_weights`, :func:`max_difference`, :func:`differing_share`,
  :func:`biases_before_batch_norm`.

:mod:`ganutils.studies` re-exports all of it; :mod:`~ganutils.studies.ablate` builds on it.
"""

from __future__ import annotations

__all__ = [
    "COMMITTED_STUDIES",
    "CONFIDENCE",
    "RELATIVE_FLOOR",
    "VERDICT_RULE",
    "Comparison",
    "Estimate",
    "StepTimer",
    "Variant",
    "append_row",
    "batch_norm_note",
    "biases_before_batch_norm",
    "border_ink",
    "clock_note",
    "committed_results",
    "comparable",
    "compare",
    "compare_mnist",
    "compare_toy",
    "differing_share",
    "estimate",
    "group_rows",
    "joined",
    "keeps_batch_norm",
    "known_sessions",
    "machines",
    "markdown_table",
    "max_difference",
    "on_one_clock",
    "one_machine",
    "one_step_weights",
    "plot_points",
    "provenance",
    "read_rows",
    "recipe_step_ms",
    "run_mnist",
    "run_toy",
    "seconds_to_good",
    "session_check",
    "sessions_for",
    "summarise",
    "sweep",
    "this_machine",
    "this_session",
]

import dataclasses
import datetime
import functools
import importlib.resources
import json
import math
import os
import platform
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .. import book as _book
from .. import config as _config
from .stats import (
    CONFIDENCE,
    RELATIVE_FLOOR,
    VERDICT_RULE,
    Comparison,
    Estimate,
    compare,
    estimate,
)

tf = _config.import_tensorflow()
import keras  # noqa: E402
from keras import ops  # noqa: E402

from .. import diagnostics as _diagnostics  # noqa: E402
from .. import metrics as _metrics  # noqa: E402
from .. import toy as _toy  # noqa: E402
from .. import train as _train  # noqa: E402
from ..callbacks import QualityCheck  # noqa: E402
from ..metrics import border_ink  # noqa: E402  (re-exported: chapter 7 reads it here)
from . import clock as _clock  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Variant:
    """One arm of a comparison: what to change relative to the baseline.

    Attributes:
        name: Unique row label.
        description: What it changes or targets, in words (a table column).
        overrides: Config fields that differ from the baseline:
            :class:`ganutils.toy.ToyConfig` fields for toy runs
            (``{"d_dropout": 0.5}``, ``{"optimizer": "rmsprop"}``),
            :class:`ganutils.train.TrainConfig` fields for MNIST runs.
        gan_options: The engine options a toy variant changes
            (``{"loss": "wgan_gp", "d_steps": 5}``). They are
            :class:`ganutils.toy.ToyConfig` fields like ``overrides``, and are
            applied with them; a study keeps them apart to record them in its
            rows. MNIST runs set them through ``overrides``.
        generator: ``(config) -> model`` replacing the default toy generator, or ``None``.
        discriminator: ``(config) -> model`` replacing the default toy
            discriminator, or ``None``.
        kind: The ablation's grouping (``"baseline"``, ``"plain"``,
            ``"leave_one_out"``, ``"add_one"``); ``""`` elsewhere.
        practice: The book section label of the practice it tests, or ``""``.
    """

    name: str
    description: str = ""
    overrides: Mapping = dataclasses.field(default_factory=dict)
    gan_options: Mapping = dataclasses.field(default_factory=dict)
    generator: Callable | None = None
    discriminator: Callable | None = None
    kind: str = ""
    practice: str = ""


def _check_names(variants: Sequence[Variant]) -> None:
    names = [variant.name for variant in variants]
    if len(set(names)) != len(names):
        raise ValueError(f"variants must have distinct names; got {names}")


def _check_seeds(seeds: Sequence[int]) -> None:
    if len(seeds) < 1:
        raise ValueError("seeds must name at least one seed")


class StepTimer(keras.callbacks.Callback):
    """Wall time per training batch (the first epoch, which traces, is skipped).

    :meth:`median_ms` gives the median step in milliseconds: the cost column
    of the comparison, robust to the odd slow step of a shared machine.
    """

    def __init__(self):
        super().__init__()
        self.times: list[float] = []
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self._epoch > 0:
            self.times.append(time.perf_counter() - self._start)

    def median_ms(self) -> float:
        return 1000.0 * float(np.median(self.times)) if self.times else float("nan")


# -- Toy runs ------------------------------------------------------------------------------


def run_toy(variant: Variant, base: _toy.ToyConfig, seed: int, *, sigmas: float = 3.0) -> dict:
    """Train ``variant`` of the toy GAN ``base`` with one seed and score its final samples.

    Returns:
        ``modes_covered``, ``high_quality`` (see :func:`ganutils.toy.evaluate`),
        ``seconds`` (the whole run), ``step_ms`` (median time of one training
        step) and ``points`` (the final ``(n, 2)`` samples).
    """
    config = dataclasses.replace(base, seed=seed, **{**variant.overrides, **variant.gan_options})
    models = {}
    if variant.generator is not None:
        models["generator"] = variant.generator(config)
    if variant.discriminator is not None:
        models["discriminator"] = variant.discriminator(config)
    timer = StepTimer()
    start = time.perf_counter()
    _, _, snapshots = _toy.train_toy(config, callbacks=[timer], **models)
    seconds = time.perf_counter() - start
    points = snapshots.points[-1]
    score = _toy.evaluate(points, config.mixture, sigmas=sigmas)
    return {
        "modes_covered": score["modes_covered"],
        "high_quality": score["high_quality"],
        "seconds": seconds,
        "step_ms": timer.median_ms(),
        "points": points,
    }


def compare_toy(
    variants: Sequence[Variant],
    base: _toy.ToyConfig,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    sigmas: float = 3.0,
) -> dict[str, list[dict]]:
    """Train every variant on the same toy mixture for each seed; return the raw results.

    Args:
        variants: The arms, the baseline among them.
        base: The shared :class:`ganutils.toy.ToyConfig` (its ``seed`` is replaced).
        seeds: One run per seed and variant.
        sigmas: The high-quality radius of :func:`ganutils.toy.evaluate`, in
            mode standard deviations.

    Returns:
        ``{variant name: [one dict of :func:`run_toy` per seed]}``.
    """
    _check_seeds(seeds)
    _check_names(variants)
    return {
        variant.name: [run_toy(variant, base, int(seed), sigmas=sigmas) for seed in seeds]
        for variant in variants
    }


def sweep(
    config: _toy.ToyConfig,
    rows: tuple[str, list],
    cols: tuple[str, list],
    *,
    seeds: list[int],
    metric: str = "modes_covered",
) -> np.ndarray:
    """Train one toy run per grid cell and seed; return the final ``metric`` per run.

    Args:
        config: The base configuration, the engine's options among its fields;
            each run replaces two of its fields and the seed.
        rows, cols: ``(field, values)`` of :class:`ganutils.toy.ToyConfig` to
            vary, e.g. ``("learning_rate", [1e-4, 1e-3, 1e-2])``.
        seeds: Seeds per cell.
        metric: A key of :func:`ganutils.toy.evaluate`'s result, read from the last snapshot.

    Returns:
        ``(len(rows values), len(cols values), len(seeds))`` float array.

    Raises:
        ValueError: An unknown field or metric, or no seeds.
    """
    fields = {f.name for f in dataclasses.fields(_toy.ToyConfig)}
    for name, _ in (rows, cols):
        if name not in fields:
            raise ValueError(f"rows and cols must name ToyConfig fields; got {name!r}")
    if metric not in ("modes_covered", "high_quality"):
        raise ValueError(f"metric must be 'modes_covered' or 'high_quality'; got {metric!r}")
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    results = np.zeros((len(rows[1]), len(cols[1]), len(seeds)))
    for i, row in enumerate(rows[1]):
        for j, col in enumerate(cols[1]):
            for k, seed in enumerate(seeds):
                run = dataclasses.replace(config, **{rows[0]: row, cols[0]: col, "seed": seed})
                _, _, snapshots = _toy.train_toy(run)
                results[i, j, k] = snapshots.scores[-1][metric]
    return results


def plot_points(
    results: Mapping[str, Sequence[Mapping]],
    names: Sequence[str],
    *,
    mixture: str,
    run: int = 0,
):
    """Scatter the final samples of the named variants side by side, over the mode centres.

    Args:
        results: From :func:`compare_toy`.
        names: Variants to show, one panel each.
        mixture: The mixture's name (for its centres).
        run: Which seed's run to show (index into the seeds).

    Returns:
        The Matplotlib figure; each panel's title gives its modes covered and
        high-quality share.
    """
    figure = Figure(figsize=(2.6 * len(names), 2.8))
    axes = figure.subplots(1, len(names), squeeze=False)
    for axis, name in zip(axes[0], names, strict=True):
        result = results[name][run]
        _toy.draw_points(
            axis,
            result["points"],
            mixture,
            title=f"{name}\n{result['modes_covered']} modes, {result['high_quality']:.0%} HQ",
            margin=1.0,
            fontsize=9,
        )
    figure.tight_layout()
    return figure


# -- MNIST runs ----------------------------------------------------------------------------


#: The epoch cap of a run with a time budget: high enough that the budget ends it.
BUDGET_EPOCH_CAP = 1000


def _finite_or_none(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def run_mnist(
    variant: Variant,
    seed: int,
    *,
    profile,
    images: np.ndarray,
    scorer,
    bar=None,
    epochs: int | None = None,
    check_every: int = 1,
    sample_size: int = 0,
    keep_samples: int = 0,
    budget_seconds: float | None = None,
    labels: np.ndarray | None = None,
    final: Callable | None = None,
) -> dict:
    """Train ``variant`` of the book's MNIST DCGAN with one seed; return its results row.

    A run whose losses turn NaN or infinite is stopped by a
    :class:`ganutils.diagnostics.TrainingMonitor` and recorded ``diverged: true``.

    Args:
        variant: Its ``overrides`` are :class:`ganutils.train.TrainConfig` fields.
        seed: The run's seed.
        profile: The run profile (its batch size and digit count).
        images: ``(n, 28, 28, 1)`` float32 in [-1, 1].
        scorer: A :class:`ganutils.metrics.MnistScorer`.
        bar: The quality target (:meth:`ganutils.metrics.MnistScorer.good_bar`):
            with it, a :class:`ganutils.callbacks.QualityCheck` scores the run every
            ``check_every`` epochs (the FD and classes curves, time to good).
        epochs: Epochs per run (default: the profile's).
        check_every: Epochs between quality checks.
        sample_size: Score this many samples of the final generator (latents
            ``keras.random.normal`` seeded by ``seed``) into ``fd``,
            ``classes_covered`` and ``border_ink``; 0 skips it.
        keep_samples: Keep this many of those samples in ``samples``.
        budget_seconds: With ``bar``: stop after the first epoch whose training
            time reaches this many seconds (``epochs``, default
            :data:`BUDGET_EPOCH_CAP`, is then only a cap).
        labels: The images' classes, for a conditional variant (``num_classes``).
        final: ``final(gan, config) -> dict``: fields the trained GAN adds to the row.

    Returns:
        ``variant``, ``kind``, ``practice``, ``seed``, ``epochs`` (asked),
        ``epochs_trained``, ``budget_seconds``, ``config``, ``diverged``,
        ``wall_seconds``, ``step_ms``; with ``budget_seconds``: ``recipe_step_ms``
        (:func:`recipe_step_ms`, this session's clock); with ``bar``: ``final_fd``,
        ``final_classes``,
        ``final_classifier_score``, ``fd_curve``, ``classes_curve``, ``seconds_curve``,
        ``epoch_curve`` (the epoch of each check), ``time_to_good``, ``collapsed`` (3
        classes or fewer); with ``sample_size``: ``fd``, ``classes_covered``,
        ``border_ink`` and ``samples``.
    """
    if budget_seconds is not None and bar is None:
        raise ValueError("budget_seconds needs bar: the budget is counted by the quality check")
    recipe_ms = None if budget_seconds is None else recipe_step_ms(profile, images)
    config = _run_config(variant, seed, profile, epochs=epochs, budget_seconds=budget_seconds)
    timer = StepTimer()
    monitor = _diagnostics.TrainingMonitor(verbose=False)
    callbacks = [timer, monitor]
    if bar is not None:
        check = QualityCheck(scorer, every=check_every, bar=bar, budget_seconds=budget_seconds)
        callbacks.insert(0, check)
    start = time.perf_counter()
    gan, history = _train.train_mnist(
        config, images=images, labels=labels, extra_callbacks=callbacks, progress=False
    )
    row = {
        "variant": variant.name,
        "kind": variant.kind,
        "practice": variant.practice,
        "seed": int(seed),
        "epochs": config.epochs,
        "epochs_trained": len(history.get("d_loss", [])),
        "budget_seconds": budget_seconds,
        "config": config.to_dict(),
        "diverged": monitor.stopped_at is not None,
        "wall_seconds": time.perf_counter() - start,
        "step_ms": timer.median_ms(),
    }
    if recipe_ms is not None:
        row["recipe_step_ms"] = recipe_ms
    if bar is not None:
        row.update(_quality_fields(history))
    if sample_size:
        row.update(_sample_fields(gan, scorer, sample_size, keep_samples, config.latent_dim, seed))
    if final is not None:
        row.update(final(gan, config))
    return row


_RECIPE_STEP_MS: dict[tuple, float] = {}


def recipe_step_ms(profile, images: np.ndarray) -> float:
    """The median training step of the book's recipe on these images, in ms, timed now.

    Seconds mean the same only within one session on one machine (the same
    CPU model ran the recipe 40% faster on one day than on another). So a
    timed run records this too: the recipe's step time in the same session,
    measured once per process (two epochs of ``TrainConfig``'s recipe, the
    first skipped), which puts the seconds of two sessions on one clock
    (:func:`ganutils.studies.clock.on_one_clock`).
    """
    key = (profile.name, tuple(np.shape(images)))
    if key not in _RECIPE_STEP_MS:
        timer = StepTimer()
        config = _train.TrainConfig.for_profile(profile, epochs=2, seed=0)
        _train.train_mnist(config, images=images, extra_callbacks=[timer], progress=False)
        _RECIPE_STEP_MS[key] = timer.median_ms()
    return _RECIPE_STEP_MS[key]


def _run_config(variant: Variant, seed: int, profile, *, epochs, budget_seconds):
    """The run's :class:`ganutils.train.TrainConfig`: the variant's, seeded, its epochs set."""
    overrides = {**variant.overrides, "seed": int(seed)}
    if epochs is not None:
        overrides["epochs"] = epochs
    elif budget_seconds is not None:
        overrides["epochs"] = BUDGET_EPOCH_CAP
    return _train.TrainConfig.for_profile(profile, **overrides)


def _sample_fields(gan, scorer, sample_size, keep_samples, latent_dim, seed) -> dict:
    """``fd``, ``classes_covered``, ``border_ink`` and ``samples`` of the final generator."""
    latents = keras.random.normal((sample_size, latent_dim), seed=int(seed))
    samples = ops.convert_to_numpy(gan.sampler(latents, training=False))
    score = scorer.score(samples)
    return dict(
        fd=score.fd,
        classes_covered=score.classes_covered,
        border_ink=border_ink(samples),
        samples=samples[:keep_samples],
    )


def _quality_fields(history: dict) -> dict:
    """The quality curves of a run's history (see :class:`ganutils.callbacks.QualityCheck`)."""
    fd = [_finite_or_none(v) for v in history.get("fd", [])]
    scored = [i for i, v in enumerate(history.get("fd", [])) if not math.isnan(float(v))]
    last = scored[-1] if scored else None
    seconds, good = history.get("train_seconds", []), history.get("good", [])
    classes = None if last is None else int(history["classes_covered"][last])
    score = None if last is None else _finite_or_none(history["classifier_score"][last])
    epochs = history.get("epoch") or range(1, len(history.get("fd", [])) + 1)
    return {
        "final_fd": None if last is None else fd[last],
        "final_classes": classes,
        "final_classifier_score": score,
        "fd_curve": [fd[i] for i in scored],
        "classes_curve": [int(history["classes_covered"][i]) for i in scored],
        "seconds_curve": [float(seconds[i]) for i in scored],
        "epoch_curve": [int(epochs[i]) for i in scored],
        "time_to_good": _metrics.time_to_good(
            [seconds[i] for i in scored], [good[i] for i in scored]
        ),
        "collapsed": classes is not None and classes <= 3,
    }


def compare_mnist(
    variants: Sequence[Variant],
    *,
    profile,
    images: np.ndarray,
    scorer,
    seeds: Sequence[int] = (0, 1, 2),
    epochs: int = 5,
    sample_size: int = 1000,
) -> dict[str, list[dict]]:
    """Train the book's MNIST DCGAN once per variant and seed; score each run's final samples.

    Args:
        variants: The arms (``overrides`` are :class:`ganutils.train.TrainConfig`
            fields; the baseline has none).
        profile: The run profile (its batch size and digit count).
        images: ``(n, 28, 28, 1)`` float32 in [-1, 1].
        scorer: A :class:`ganutils.metrics.MnistScorer`.
        seeds: One run per seed and variant.
        epochs: Epochs per run.
        sample_size: Samples scored per run.

    Returns:
        ``{name: [one :func:`run_mnist` row per seed, with fd, classes_covered,
        border_ink, wall_seconds, step_ms and samples (32 images)]}``.
    """
    _check_seeds(seeds)
    _check_names(variants)
    return {
        variant.name: [
            run_mnist(
                variant,
                int(seed),
                profile=profile,
                images=images,
                scorer=scorer,
                epochs=epochs,
                sample_size=sample_size,
                keep_samples=32,
            )
            for seed in seeds
        ]
        for variant in variants
    }


# -- Summaries -----------------------------------------------------------------------------


def group_rows(rows: Sequence[Mapping], key: str = "variant") -> dict[str, list[Mapping]]:
    """Rows of a results file grouped by ``row[key]``, in first-seen order."""
    groups: dict[str, list[Mapping]] = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    return groups


def _finite(values) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def _timed(results: Mapping[str, Sequence[Mapping]]) -> bool:
    """Whether any run ran to a time budget (every measure of it then depends on the CPU)."""
    return any(run.get("budget_seconds") for runs in results.values() for run in runs)


def summarise(
    results: Mapping[str, Sequence[Mapping]],
    *,
    metrics: Sequence[str] = ("modes_covered", "high_quality"),
    baseline: str | None = None,
    cost: str | None = "step_ms",
    counts: Mapping[str, str] | None = None,
    keep: Sequence[str] = (),
) -> list[dict]:
    """Mean and spread over seeds per variant, against a baseline: the one summary of the studies.

    Args:
        results: Variant name -> its runs (from :func:`compare_toy`,
            :func:`compare_mnist` or :func:`group_rows`).
        metrics: Run fields to summarise. Missing, ``None`` and non-finite
            values (a diverged run) are left out of the mean and spread.
        baseline: A variant name: adds ``<metric>_delta`` (mean minus the
            baseline's mean) and ``cost_ratio``.
        cost: The run field whose mean, over the baseline's, is
            ``cost_ratio`` (``None``: no ratio).
        counts: Output name -> run field: how many runs have that field set
            (not ``None`` or ``False``), e.g. ``{"good_runs": "time_to_good"}``.
        keep: Run fields copied from the variant's first run (``"kind"``).

    Returns:
        One dict per variant: ``name``, ``runs``, ``<metric>_mean``,
        ``<metric>_std`` (sample standard deviation over the runs, ``ddof=1``;
        0 for a single run;
        ``None`` for both without a finite value), the deltas and cost ratio
        with a baseline, the counts and the kept fields.

    Raises:
        ValueError: ``baseline`` is not among the results; or the runs come
            from more than one CPU model (:func:`one_machine`) while their
            ``cost`` is compared or they ran to a time budget.
    """
    if baseline is not None and baseline not in results:
        raise ValueError(f"baseline must be one of {list(results)}; got {baseline!r}")
    if (baseline is not None and cost) or _timed(results):
        one_machine(*results.values())
    rows = []
    for name, runs in results.items():
        row = {"name": name, "runs": len(runs), **{field: runs[0].get(field) for field in keep}}
        for metric in metrics:
            values = _finite(run.get(metric) for run in runs)
            row[f"{metric}_mean"] = float(np.mean(values)) if values else None
            row[f"{metric}_std"] = (
                float(np.std(values, ddof=1)) if len(values) > 1 else 0.0 if values else None
            )
        for output, field in (counts or {}).items():
            row[output] = sum(
                run.get(field) is not None and run.get(field) is not False for run in runs
            )
        rows.append(row)
    if baseline is None:
        return rows
    reference = next(row for row in rows if row["name"] == baseline)
    base_cost = float(np.mean([run[cost] for run in results[baseline]])) if cost else None
    for row, runs in zip(rows, results.values(), strict=True):
        for metric in metrics:
            mean, base = row[f"{metric}_mean"], reference[f"{metric}_mean"]
            row[f"{metric}_delta"] = None if mean is None or base is None else mean - base
        if cost:
            row["cost_ratio"] = float(np.mean([run[cost] for run in runs])) / base_cost
    return rows


def markdown_table(
    rows: Sequence[Mapping],
    *,
    targets: Mapping[str, str] | None = None,
    metrics: Mapping[str, tuple[str, str]] | None = None,
    first_column: str = "stabiliser",
    results: Mapping[str, Sequence[Mapping]] | None = None,
    higher_is_better: Sequence[str] = ("modes_covered", "high_quality"),
) -> str:
    """A comparison as a Markdown table: variant, what it targets, cost, effect.

    Each effect cell reads ``mean ± std (delta vs baseline)`` over the seeds,
    and with ``results`` the verdict of :func:`compare` against the baseline
    (the first row) after it, in bold, as :attr:`Comparison.reading` words it
    (``helps (borderline)`` for a clear verdict near the floor).

    Args:
        rows: From :func:`summarise` with a baseline.
        targets: Variant name -> what it targets (the second column).
        metrics: Metric key -> ``(column title, format spec)``; default
            ``{"modes_covered": ("modes covered", ".1f"), "high_quality":
            ("high quality", ".0%")}``.
        first_column: The first column's title.
        results: Variant name -> its runs (what ``rows`` summarises): adds
            each cell's verdict.
        higher_is_better: The metrics where a higher value is the better one.
    """
    metrics = metrics or {
        "modes_covered": ("modes covered", ".1f"),
        "high_quality": ("high quality", ".0%"),
    }
    targets = targets or {}
    header = [first_column, "targets", "step time vs baseline"]
    header += [title for title, _ in metrics.values()]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cost = row.get("cost_ratio")
        cells = [
            row["name"],
            targets.get(row["name"], ""),
            "n/a" if cost is None else f"{cost:.2f}x",
        ]
        for key, (_, spec) in metrics.items():
            mean, std, delta = row[f"{key}_mean"], row[f"{key}_std"], row.get(f"{key}_delta")
            if mean is None:
                cells.append("n/a")
                continue
            versus = "" if delta is None else f" ({delta:+{spec}})"
            verdict = ""
            if results is not None and row["name"] != rows[0]["name"]:
                base, runs = results[rows[0]["name"]], results[row["name"]]
                values = _finite(run.get(key) for run in runs)
                reference = _finite(run.get(key) for run in base)
                if values and reference:
                    result = compare(reference, values, lower_is_better=key not in higher_is_better)
                    verdict = f" **{result.reading}**"
            cells.append(f"{mean:{spec}} ± {std:{spec}}{versus}{verdict}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- Results files -------------------------------------------------------------------------


#: The studies whose results the package ships in ``ganutils/results/<study>/results.jsonl``.
COMMITTED_STUDIES = ("ablation", "time_to_quality", "stabilisers", "modern", "conditional")


def read_rows(path) -> list[dict]:
    """The rows of a JSON Lines results file (an empty list when there is none).

    A half-written last line (a run killed while appending) is ignored.
    """
    path = Path(path)
    if not path.exists():
        return []
    return _parse_rows(path.read_text())


def committed_results(study: str) -> list[dict]:
    """The committed results of ``study``, read from the installed package (no network).

    They are package data, so an installed ``ganutils`` (Colab, ``pip install``)
    has them as a checkout does; a fork reads its own.

    Raises:
        ValueError: ``study`` is not one of :data:`COMMITTED_STUDIES`.
    """
    if study not in COMMITTED_STUDIES:
        raise ValueError(f"study must be one of {COMMITTED_STUDIES}; got {study!r}")
    resource = importlib.resources.files("ganutils") / "results" / study / "results.jsonl"
    return _parse_rows(resource.read_text())


def _parse_rows(text: str) -> list[dict]:
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def append_row(path, row: Mapping) -> None:
    """Append one row to a JSON Lines file and flush it to disk before returning."""
    with Path(path).open("a") as stream:
        stream.write(json.dumps(row) + "\n")
        stream.flush()
        os.fsync(stream.fileno())


def provenance(profile, data_summary: str) -> dict:
    """Where a results row came from: profile, data, versions, machine, session, date, commit."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "profile": profile.name,
        "data": data_summary,
        "versions": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
        },
        "machine": this_machine(),
        "session": this_session(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit,
    }


def this_session() -> str:
    """This boot of this machine (the kernel's boot id): the rows of one session share it."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return f"{platform.node()} process {os.getpid()}"


def this_machine() -> dict:
    """The machine this process runs on, as a results row records it.

    Returns:
        ``{"cpu": model name (from /proc/cpuinfo, else the platform's),
        "cores": logical cores, "gpus": [TensorFlow's GPU device names]}``.
    """
    gpus = [device.name for device in tf.config.list_physical_devices("GPU")]
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "gpus": gpus}


def machines(rows: Iterable[Mapping]) -> set[str]:
    """The CPU models ``rows`` were measured on (each row's ``machine.cpu``).

    A row without provenance (the runs :func:`compare_toy` and
    :func:`compare_mnist` return, or measures a chapter derived from rows)
    records none and adds nothing.
    """
    return {cpu for row in rows if (cpu := (row.get("machine") or {}).get("cpu"))}


@functools.cache
def known_sessions() -> tuple[_clock.Session, ...]:
    """Every session of the committed results (:func:`ganutils.studies.clock.find_sessions`)."""
    return _clock.find_sessions(row for s in COMMITTED_STUDIES for row in committed_results(s))


def sessions_for(rows: Iterable[Mapping]) -> tuple[_clock.Session, ...]:
    """The committed results' sessions, and those of ``rows`` that none of them holds."""
    known = known_sessions()
    new = []
    for row in rows:
        try:
            _clock.session_of(row, known)
        except ValueError:
            new.append(row)
    return known + _clock.find_sessions(new)


def on_one_clock(
    groups: Mapping[str, Sequence[Mapping]], *, reference: _clock.Session | None = None
) -> dict[str, list[dict]]:
    """:func:`ganutils.studies.clock.on_one_clock` over the sessions of every row there is."""
    rows = [row for runs in groups.values() for row in runs]
    return _clock.on_one_clock(groups, sessions_for(rows), reference=reference)


def comparable(groups: Mapping[str, Sequence[Mapping]]) -> dict[str, list[dict]]:
    """The runs of ``groups`` ready to compare: of one CPU model, and timed runs on one clock.

    Timed runs (:func:`ganutils.studies.clock.timed`) of several sessions are
    put on the clock of the first run's session (:func:`on_one_clock`);
    other runs come back as they are.

    Raises:
        ValueError: The runs come from more than one CPU model
            (:func:`one_machine`, which names each).
    """
    rows = [row for runs in groups.values() for row in runs]
    if len(machines(rows)) > 1:
        one_machine(rows)  # raises, naming each machine
    if rows and all(_clock.timed(row) for row in rows):
        groups = on_one_clock(groups)
    one_machine(*groups.values())
    return dict(groups)


def _clocks(rows: Sequence[Mapping]) -> Counter:
    """How many of the timed ``rows`` ran on each clock (session, or the clock put on them)."""
    timed = [
        r for r in rows if _clock.timed(r) and (r.get("clock") or (machines([r]) and r.get("date")))
    ]
    sessions = sessions_for(row for row in timed if not row.get("clock"))
    return Counter(row.get("clock") or _clock.session_of(row, sessions).label for row in timed)


def one_machine(*groups: Iterable[Mapping]) -> str | None:
    """The one CPU model on which every row of ``groups`` was measured: the studies' guard.

    A time to good in seconds, a step time, and every measure of a run with a
    time budget (its final FD after 60 s too: a slower CPU trains fewer
    steps in it) depend on the machine, and on the session: the same CPU
    model ran the recipe 40% faster on one day than on another. So rows are
    compared only with rows of the same CPU model, and timed rows only with
    rows of the same session or put on one clock with them
    (:func:`on_one_clock`); the studies call this before they turn rows into
    verdicts or cost ratios, and a comparison across machines or sessions
    fails here instead of reading as an effect.

    Args:
        groups: Rows (results rows, or the runs of one arm each).

    Returns:
        The CPU model, or ``None`` when no row records one (live runs).

    Raises:
        ValueError: The rows come from more than one CPU model, or timed rows
            from more than one clock; the message names each with its number
            of rows.
    """
    rows = [row for group in groups for row in group]
    for found, what, fix in (
        (Counter(cpu for row in rows for cpu in machines([row])), "machine", _ONE_CPU),
        (_clocks(rows), "session", "put them on one clock first (studies.on_one_clock)"),
    ):
        if len(found) > 1:
            named = "; ".join(
                f"{name!r} ({_book.counted(n, 'row')})" for name, n in found.most_common()
            )
            raise ValueError(
                f"the compared rows were measured in more than one {what}: {named}. {fix}"
            )
    return next(iter(machines(rows)), None)


_ONE_CPU = (
    "Seconds, and anything measured at a time budget, compare only between runs of one CPU "
    "model: choose the rows of one machine"
)


def session_check(first: Sequence[Mapping], again: Sequence[Mapping]) -> tuple[str, bool]:
    """The recipe run again in a later session, against its first runs, on one clock.

    ``first`` and ``again`` are the recipe's timed results rows from two
    sessions. The rule's verdicts on time to good (a run that never gets
    there counts as its budget) and final FD, with ``again`` put on the first
    session's clock (:func:`on_one_clock`), say whether the clock accounts
    for the two sessions' speeds.

    Returns:
        A clause in words (it reads after "run again in the later session,"),
        and whether both verdicts on the clock are "no measurable difference".
    """
    clocked = on_one_clock({"first": first, "again": again})
    step = [clocked[key][0]["session_recipe_ms"] for key in ("first", "again")]
    words = {  # the later session against the first, on measures where lower is better
        "time_to_good": {"helps": "measurably sooner", "hurts": "measurably later"},
        "final_fd": {"helps": "measurably lower", "hurts": "measurably higher"},
    }
    said = {}
    for measure in ("time_to_good", "final_fd"):
        result = compare(*(_measured(clocked[k], measure) for k in ("first", "again")))
        word = words[measure].get(result.verdict, "no measurable difference")
        word += " (borderline)" if result.borderline else ""
        said[measure] = (result.reference.mean, result.variant.mean, word)
    (t1, t2, tv), (f1, f2, fv) = said["time_to_good"], said["final_fd"]
    raw = float(np.mean(_measured(again, "time_to_good")))
    clause = (
        f"the recipe took {step[1]:.0f} ms per step against {step[0]:.0f} ms and reached "
        f"good digits in {raw:.0f} s against {t1:.0f} s; on the first session's clock (its "
        f"seconds times {step[0]:.0f}/{step[1]:.0f}, every run cut at the same budget) it "
        f"reached them in {t2:.0f} s ({tv}) and ended at an FD of {f2:.0f} against "
        f"{f1:.0f} ({fv})"
    )
    return clause, tv == fv == "no measurable difference"


def _measured(runs: Sequence[Mapping], measure: str) -> list[float]:
    """Time to good (:func:`seconds_to_good`) or final FD of each run."""
    if measure == "time_to_good":
        return [seconds_to_good(r) for r in runs]
    return [r[measure] for r in runs]


def seconds_to_good(row: Mapping) -> float:
    """A run's time to good, with "never" counted as its whole budget (censored there).

    Raises:
        ValueError: The run has no time budget (a run of fixed epochs has no
            stated value for "never").
    """
    if not row.get("budget_seconds"):
        raise ValueError(
            f"row {row['variant']!r} seed {row['seed']} has no budget_seconds: time to good "
            "is only compared between runs with the same time budget"
        )
    good = row["time_to_good"]
    return float(row["budget_seconds"]) if good is None else float(good)


def clock_note(groups: Mapping[str, Sequence[Mapping]]) -> str:
    """One sentence on the sessions of runs put on one clock ("" when they share one).

    ``groups``: arm -> runs, as :func:`on_one_clock` returns them.
    """
    rows = [row for runs in groups.values() for row in runs]
    own = {row["session_label"]: row["session_recipe_ms"] for row in rows}
    if len(own) < 2:
        return ""
    cpus = sorted({machines([row]).pop() for row in rows})
    cut = len(cpus[0]) + 2 if len(cpus) == 1 else 0  # drop the labels' "cpu, " then
    where = f" of {cpus[0]}" if cut else ""
    listed = joined(f"{ms:.0f} ms in the session from {label[cut:]}" for label, ms in own.items())
    count = {2: "two", 3: "three", 4: "four"}.get(len(own), str(len(own)))
    return (
        f"These runs come from {count} sessions{where}; a step of the book's recipe took "
        f"{listed}. Each run's seconds are put on the clock of the session from "
        f"{rows[0]['clock'][cut:]}: multiplied by the recipe's step time there over its "
        "step time in the run's own session, so a second of a faster session counts for "
        "more. Every run is then cut at the shortest budget that gives, "
        f"{rows[0]['budget_seconds']:.0f} s on that clock."
    )


def keeps_batch_norm(runs: Iterable[Mapping]) -> bool | None:
    """Whether these MNIST runs kept batch normalisation in D.

    That is ``config.d_batch_norm``, or ``config.batch_norm`` where the first
    is missing or ``None`` (D then follows G). The book's discriminator has it
    in its second block; WGAN-GP's penalty, spectral normalisation and R1 were
    published for critics without it (Gulrajani et al. 2017; Miyato et al.
    2018; Mescheder et al. 2018), which ``d_batch_norm=False`` gives.

    Returns:
        ``True`` when every run kept it, ``False`` when none did, ``None``
        when they differ or a run does not record it (a toy run, whose MLP
        has none).
    """
    kept = set()
    for run in runs:
        config = run.get("config") or {}
        alone = config.get("d_batch_norm")
        kept.add(config.get("batch_norm") if alone is None else alone)
    return kept.pop() if len(kept) == 1 and kept <= {True, False} else None


def joined(names: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``: names as a list in a sentence."""
    names = list(names)
    return " and ".join([", ".join(names[:-1]), names[-1]] if names[:-1] else names)


def batch_norm_note(
    results: Mapping[str, Sequence[Mapping]], names: Sequence[str], where="", *, marked=""
) -> str:
    """One sentence on which of ``names``' runs in ``results`` kept batch normalisation in D.

    The chapters print it beside the verdicts of setups whose papers use a
    critic without it (:func:`keeps_batch_norm`). ``where`` names the runs
    ("MNIST"), or is empty. ``marked``: the mark of the rows without it
    (``" + BN-free D"``); when the runs split exactly by it, the sentence
    counts the runs instead of naming every row.
    """
    kept = [name for name in names if keeps_batch_norm(results[name])]
    rest = [name for name in names if name not in kept]
    where = f"{where} " if where else ""
    if not kept:
        return f"None of these {where}runs has batch normalisation in D, as in the papers."
    runs = sum(len(results[name]) for name in kept)
    note = "kept batch normalisation in D (this book's discriminator, not the papers' critic)"
    if not rest:
        return f"All {runs} {where}runs of {joined(kept)} here {note}."
    without = sum(len(results[name]) for name in rest)
    if marked and all(marked in n for n in rest) and not any(marked in n for n in kept):
        return (
            f"The {runs} {where}runs of the unmarked rows {note}; the {without} runs of "
            f'the rows marked "{marked.strip()}" have none in D, as the papers\' critics '
            "have none."
        )
    return (
        f"The {runs} {where}runs of {joined(kept)} {note}; the {without} "
        f"{'run' if without == 1 else 'runs'} of {joined(rest)} "
        f"{'has' if without == 1 else 'have'} none in D, as the papers' critics have none."
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# -- One step under two strategies ---------------------------------------------------------


def one_step_weights(config, images, latents) -> dict[str, np.ndarray]:
    """Build ``config``'s GAN, take one ``fit`` step on one batch, return every weight.

    The batch is ``images`` with its ``latents`` (see
    :func:`ganutils.pipeline.make_dataset`), so two strategies see exactly the
    same data and the same random draws.

    Args:
        config: A :class:`ganutils.train.TrainConfig`; ``batch_size`` must equal ``len(images)``.
        images: ``(batch_size, 28, 28, 1)`` float32 in [-1, 1].
        latents: ``(batch_size, latent_dim)`` float32.

    Returns:
        ``"generator/<path>"`` and ``"discriminator/<path>"`` -> float32 array,
        batch-norm statistics included.
    """
    gan = _train.build_gan(config)
    dataset = _train.make_dataset(
        images, batch_size=config.batch_size, latents=latents, shuffle=False
    )
    gan.fit(dataset, epochs=1, verbose=0, shuffle=False)
    return {
        f"{name}/{variable.path}": np.asarray(variable.numpy())
        for name, network in (("generator", gan.generator), ("discriminator", gan.discriminator))
        for variable in network.variables
    }


def max_difference(first: dict, second: dict, *, skip=()) -> float:
    """The largest absolute difference between two :func:`one_step_weights` results.

    Weights are matched by order (layer names differ between two builds); the
    paths of ``first`` listed in ``skip`` are left out.
    """
    return max(
        float(np.max(np.abs(a - b)))
        for (path, a), b in zip(first.items(), second.values(), strict=True)
        if path not in skip
    )


def differing_share(first: dict, second: dict, *, atol: float = 1e-5, skip=()) -> float:
    """The share of individual weights (0 to 1) that differ by more than ``atol``.

    Matched as in :func:`max_difference`. A few weights whose gradient is
    almost zero can differ by more than round-off after an Adam step (see
    :func:`biases_before_batch_norm`); a different step moves most of them.
    """
    pairs = [
        (a, b)
        for (path, a), b in zip(first.items(), second.values(), strict=True)
        if path not in skip
    ]
    differing = sum(int(np.sum(np.abs(a - b) > atol)) for a, b in pairs)
    return differing / sum(a.size for a, _ in pairs)


def biases_before_batch_norm(weights: dict) -> list[str]:
    """The paths of biases that feed a batch normalisation, and of its moving means.

    Batch normalisation subtracts the batch mean, so a bias just before it has
    a gradient of exactly zero; what the computation returns is round-off,
    about 1e-9, whose sign differs with the order of the sums. Adam divides
    every gradient by its own running size, so it turns that noise into a
    step of up to the learning rate in either direction (and the moving mean
    picks it up). These weights are excluded when two strategies are compared.
    """
    skipped = []
    for path in weights:
        block = path.rsplit("/", 2)[0]
        norm = [p for p in weights if p.startswith(f"{block}/batch_normalization")]
        if path.endswith("/bias") and norm:
            skipped += [path, *(p for p in norm if p.endswith("/moving_mean"))]
    return skipped
