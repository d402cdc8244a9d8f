"""A seeded ablation of the book's DCGAN practices and ganhacks tricks.

From the book's recipe (:class:`ganutils.train.TrainConfig` defaults), each
**leave-one-out** variant removes one practice or swaps it for the common
alternative; each **add-one** variant adds one practice to a plain GAN that
has none of them. Every variant trains over several seeds on MNIST and is
scored with :mod:`ganutils.metrics` along the way. Results are appended to a
JSON Lines file, one row per finished run, with their provenance; a restarted
ablation skips the runs the file already holds. From a shell::

    python -m ganutils.studies.ablate --profile cpu --out ganutils/results/ablation --seeds 0 1 2

Every run gets the same training time (:data:`BUDGET_SECONDS`); the verdicts
(:func:`verdicts`) compare time to good and final FD by the book's one
comparison rule, :func:`ganutils.studies.compare`. Seconds are only the same
budget on the same machine, so :func:`verdicts` and :func:`summary` refuse
rows of more than one CPU model (:func:`ganutils.studies.one_machine`): the
committed file holds the 60 s ablation of one machine and the 8-epoch one of
another, and :func:`at_budget` and :func:`at_epochs` pick them apart.
"""

from __future__ import annotations

__all__ = [
    "BUDGET_SECONDS",
    "EXTRA",
    "PLAIN_DESCRIPTION",
    "PLAIN_LEARNING_RATE",
    "PLAIN_SWEEP",
    "PRACTICES",
    "RESULTS_FILE",
    "at_budget",
    "at_epochs",
    "final_fd",
    "main",
    "plain_overrides",
    "plot_summary",
    "run_ablation",
    "seconds_to_good",
    "summary",
    "sweep_variants",
    "variants",
    "verdicts",
]

import argparse
import functools
import math

import numpy as np
from matplotlib.figure import Figure

from .. import book as _book
from .. import data as _data
from .. import metrics as _metrics
from .. import train as _train
from . import common as _common
from . import runner as _runner
from .common import Variant

RESULTS_FILE = _runner.RESULTS_FILE

_RECIPE = _train.TrainConfig()

#: The eleven practices of Parts I and II, by the label of their section in the
#: book, with what replaces each when it is left out (the common alternative).
PRACTICES: dict[str, tuple[str, dict]] = {
    "dcgan-strided-downsampling": (
        "max pooling instead of strided convolutions in D",
        {"downsample": "maxpool"},
    ),
    "dcgan-transposed-upsampling": (
        "upsampling + convolution instead of transposed convolutions in G",
        {"upsample": "upsampling"},
    ),
    "dcgan-leaky-relu": ("ReLU instead of LeakyReLU in D", {"d_activation": "relu"}),
    "dcgan-batch-norm": ("no batch normalisation", {"batch_norm": False}),
    "dcgan-gaussian-init": (
        "Keras' default (Glorot uniform) initialiser instead of N(0, 0.02)",
        {"kernel_initializer": "glorot_uniform"},
    ),
    "dcgan-adam": (
        f"plain SGD at the recipe's learning rate ({_RECIPE.learning_rate:g}) instead of "
        f"Adam (beta_1 {_RECIPE.beta_1:g})",
        {"optimizer": "sgd"},
    ),
    "dcgan-scale-tanh": (
        "images in [0, 1] with a sigmoid output instead of [-1, 1] and tanh",
        {"image_range": "unit"},
    ),
    "ganhacks-gaussian-latent": (
        "a uniform latent instead of a Gaussian one",
        {"latent_distribution": "uniform"},
    ),
    "ganhacks-separate-batches": (
        "one mixed real/fake batch instead of separate ones",
        {"d_updates": "mixed"},
    ),
    "ganhacks-label-smoothing": (
        "hard labels instead of one-sided smoothing",
        {"label_smoothing": "none"},
    ),
    "ganhacks-noisy-labels": (
        "5% of D's labels flipped (the recipe flips none)",
        {"label_noise": 0.05},
    ),
}

#: Extra leave-one-out variants: a second common alternative to a practice.
EXTRA: dict[str, tuple[str, str, dict]] = {
    "adam-beta1-0.9": (
        "dcgan-adam",
        f"Adam with Keras' default beta_1 = 0.9 instead of {_RECIPE.beta_1:g} "
        f"(learning rate {_RECIPE.learning_rate:g})",
        {"beta_1": 0.9},
    ),
}

#: Practices the recipe does not use: their "leave-one-out" variant adds them.
_RECIPE_LACKS = frozenset({"ganhacks-noisy-labels"})

#: The learning rate of the plain GAN: the best of :data:`PLAIN_SWEEP` on seed 0
#: (the committed ``plain-lr-*`` rows), so that the add-one base trains.
PLAIN_LEARNING_RATE = 2e-4

#: The learning rates tried for the plain GAN (Keras' Adam default in the middle).
PLAIN_SWEEP = (2e-4, 1e-3, 5e-3)

#: Where the plain GAN replaces a practice with something other than its
#: leave-one-out alternative: it keeps Adam (SGD does not train it), with
#: Keras' default beta_1, so the add-one ``dcgan-adam`` variant puts back
#: DCGAN's beta_1 = 0.5.
_PLAIN_ALTERNATIVE = {"dcgan-adam": {"beta_1": 0.9}}

#: Add-one variants that are not meaningful on the plain GAN, with the reason.
_NOT_ADDED = {
    "ganhacks-noisy-labels": "the plain GAN already has no label noise, and the recipe adds none",
}

#: The training time every run of the ablation gets, in seconds: about three
#: times the recipe's mean time to good in the committed time-to-quality runs,
#: timed on the CPU model of the committed ablation (tests/test_ablate.py checks
#: that ratio and that machine), so most variants can reach "good" or fail to.
#: A slower CPU trains fewer steps in the same seconds.
BUDGET_SECONDS = 60.0

PLAIN_DESCRIPTION = (
    "every practice replaced by its alternative; Adam kept (beta_1 0.9, Keras' default) at "
    f"learning rate {PLAIN_LEARNING_RATE:g}; the recipe's kernel size, filters, batch size "
    "and generator average kept"
)


def _plain_alternative(label: str) -> dict:
    return _PLAIN_ALTERNATIVE.get(label, PRACTICES[label][1])


def plain_overrides(learning_rate: float = PLAIN_LEARNING_RATE) -> dict:
    """The plain GAN: every practice of :data:`PRACTICES` replaced by its alternative.

    The exceptions: it keeps Adam, with Keras' default ``beta_1`` of 0.9 and
    ``learning_rate`` (SGD, the alternative the leave-one-out half measures,
    does not train it at all), and label noise stays off (the recipe has
    none). It keeps the recipe's kernel size, filters, batch size and
    generator average, which are not among the practices.
    """
    merged: dict = {"learning_rate": learning_rate}
    for label in PRACTICES:
        if label not in _NOT_ADDED:
            merged.update(_plain_alternative(label))
    return merged


def sweep_variants() -> list[Variant]:
    """The plain GAN at each learning rate of :data:`PLAIN_SWEEP` (kind ``"plain_sweep"``)."""
    return [
        Variant(
            f"plain-lr-{rate:g}",
            f"the plain GAN at learning rate {rate:g}",
            plain_overrides(rate),
            kind="plain_sweep",
        )
        for rate in PLAIN_SWEEP
    ]


def variants() -> list[Variant]:
    """Every variant: the baseline, leave-one-out, the plain GAN and add-one.

    Each is a :class:`ganutils.studies.Variant` whose ``overrides`` are the
    :class:`ganutils.train.TrainConfig` fields that differ from the recipe,
    with its ``kind`` and the ``practice`` (section label) it tests. The
    plain GAN's learning-rate sweep is :func:`sweep_variants`.
    """
    plain = plain_overrides()
    result = [Variant("baseline", "the book's recipe", {}, kind="baseline")]
    for label, (description, overrides) in PRACTICES.items():
        result.append(
            Variant(
                f"without:{label}", description, overrides, kind="leave_one_out", practice=label
            )
        )
    for name, (label, description, overrides) in EXTRA.items():
        result.append(Variant(name, description, overrides, kind="leave_one_out", practice=label))
    result.append(Variant("plain", PLAIN_DESCRIPTION, plain, kind="plain"))
    for label in PRACTICES:
        if label in _NOT_ADDED:
            continue
        alternative = _plain_alternative(label)
        added = {k: v for k, v in plain.items() if k not in alternative}
        added.update({k: getattr(_RECIPE, k) for k in alternative})
        result.append(
            Variant(f"with:{label}", f"plain GAN + {label}", added, kind="add_one", practice=label)
        )
    return result


# -- Running --------------------------------------------------------------------------------


def _key(row_or_variant: str, seed: int, profile: str, epochs, budget) -> tuple:
    return (row_or_variant, int(seed), profile, epochs, budget)


def _row_key(row: dict) -> tuple:
    # A run with a time budget is keyed by the budget; the epoch cap does not matter.
    budget = row.get("budget_seconds")
    return _key(
        row["variant"], row["seed"], row["profile"], None if budget else row["epochs"], budget
    )


def run_ablation(
    out_dir,
    *,
    profile=None,
    seeds: list[int] = (0, 1, 2),
    names: list[str] | None = None,
    epochs: int | None = None,
    budget_seconds: float | None = None,
    check_every: int = 1,
    images: np.ndarray | None = None,
    scorer=None,
    bar=None,
    log=print,
) -> list[dict]:
    """Run every variant (or those in ``names``) for every seed; append rows as runs finish.

    Runs already in ``out_dir/results.jsonl`` (same variant, seed, profile,
    and epochs or time budget) are skipped, so an interrupted ablation
    resumes where it stopped. ``scorer`` and ``bar`` default to a
    :class:`ganutils.metrics.MnistScorer` and its quality bar
    (:meth:`~ganutils.metrics.MnistScorer.good_bar`).

    Args:
        names: Variants of :func:`variants` or :func:`sweep_variants` by name
            (default: every variant of :func:`variants`).
        epochs: Epochs per run (default: the profile's, or with a budget a cap).
        budget_seconds: Training seconds per run (the full ablation uses
            :data:`BUDGET_SECONDS`); ``None`` trains for ``epochs``.

    Returns:
        All rows of the results file after the run.

    Raises:
        ValueError: An unknown variant name or no seeds.
    """
    profile = _runner.get_profile(profile)
    chosen = _chosen(names)
    _runner.check_seeds(seeds)
    path = _runner.results_file(out_dir)
    mnist = _data.load_mnist(limit=profile.max_digits)
    if images is None:
        images = _data.scale_images(mnist.images)
    scorer = scorer if scorer is not None else _metrics.MnistScorer()
    bar = bar if bar is not None else scorer.good_bar()
    key_epochs = None if budget_seconds else (epochs if epochs is not None else profile.epochs)
    data = f"{mnist.summary}; {len(images)} images"
    provenance = functools.cache(lambda: _common.provenance(profile, data))  # one per call

    def train(variant, seed):
        stamp = provenance()
        row = _common.run_mnist(
            variant,
            seed,
            profile=profile,
            images=images,
            scorer=scorer,
            bar=bar,
            epochs=epochs,
            check_every=check_every,
            budget_seconds=budget_seconds,
        )
        row.update(stamp, floor_fd=float(bar.floor_fd), bar_fd=float(bar.fd))
        return row

    # Seed-major order: an ablation stopped early still covers every variant.
    runs = (
        _runner.Run(
            _key(variant.name, seed, profile.name, key_epochs, budget_seconds),
            functools.partial(train, variant, seed),
        )
        for seed in seeds
        for variant in chosen
    )
    return _runner.run_resumable(
        path, runs, key=_row_key, log=log, describe=lambda row, _: _describe(row)
    )


def _chosen(names: list[str] | None) -> list[Variant]:
    """The variants ``names`` names, of :func:`variants` and :func:`sweep_variants`.

    ``None`` chooses every variant of :func:`variants`.
    """
    if names is None:
        return variants()
    everything = variants() + sweep_variants()
    known = {v.name for v in everything}
    unknown = sorted(set(names) - known)
    if unknown:
        raise ValueError(f"names holds unknown variants {unknown}; known: {sorted(known)}")
    return [v for v in everything if v.name in set(names)]


def _describe(row: dict) -> str:
    """One line for a finished run: ``name seed 0: FD 31.2, 10 classes, good after 85 s``."""
    fd = "diverged" if row["final_fd"] is None else f"FD {row['final_fd']:.1f}"
    good = row["time_to_good"]
    reached = "not good yet" if good is None else f"good after {good:.0f} s"
    classes = _book.counted(row["final_classes"], "class", "classes")
    return f"{row['variant']} seed {row['seed']}: {fd}, {classes}, {reached}"


def summary(rows: list[dict]) -> list[dict]:
    """Per variant of an ablation's rows: :func:`ganutils.studies.summarise` of the final FD.

    Returns:
        One dict per variant (in first-seen order): ``name``, ``kind``,
        ``practice``, ``runs``, ``final_fd_mean``, ``final_fd_std`` (sample
        standard deviation; None when no finite FD), ``final_classes_mean``,
        ``good_runs`` (runs that reached the quality threshold and held it),
        ``diverged``, ``collapsed``.

    Raises:
        ValueError: The rows come from more than one CPU model.
    """
    _common.one_machine(rows)
    return _common.summarise(
        _common.group_rows(rows),
        metrics=("final_fd", "final_classes"),
        cost=None,
        counts={"good_runs": "time_to_good", "diverged": "diverged", "collapsed": "collapsed"},
        keep=("kind", "practice"),
    )


#: A run's time to good, "never" counted as its whole budget (the studies' one reading).
seconds_to_good = _common.seconds_to_good


def final_fd(row: dict) -> float:
    """A run's final FD; a diverged run (no finite FD) counts as the worst the file holds."""
    return math.inf if row["final_fd"] is None else float(row["final_fd"])


def at_budget(rows: list[dict], budget_seconds: float = BUDGET_SECONDS) -> list[dict]:
    """The runs with this time budget (the ablation proper, not the plain sweep), on one clock.

    Their seeds may come from more than one session: they are put on the
    clock of the first run's session (:func:`ganutils.studies.on_one_clock`).
    """
    chosen = [
        r
        for r in rows
        if r.get("budget_seconds") == budget_seconds and r.get("kind") != "plain_sweep"
    ]
    return _common.comparable({"runs": chosen})["runs"] if chosen else []


def at_epochs(rows: list[dict], epochs: int) -> list[dict]:
    """The rows of runs of a fixed number of epochs, without a time budget (earlier ablations)."""
    return [r for r in rows if not r.get("budget_seconds") and r["epochs"] == epochs]


def _measures(runs: list[dict]) -> dict:
    values = {"final_fd": [final_fd(r) for r in runs]}
    if all(r.get("budget_seconds") for r in runs):
        values["time_to_good"] = [seconds_to_good(r) for r in runs]
    return values


def verdicts(rows: list[dict]) -> list[dict]:
    """One verdict row per leave-one-out variant (each practice, and :data:`EXTRA`).

    Each measure, time to good (primary; "never" counts as the budget; only
    for runs with a time budget) and final FD, goes through
    :func:`ganutils.studies.compare`. Pass the rows of one budget
    (:func:`at_budget`) or one epoch count (:func:`at_epochs`). Leave-one-out
    compares the variant with the baseline: the practice **helps** when the
    run *without* it is worse. For a practice the recipe does not use (label
    noise), the variant adds it, and the reading flips. Add-one compares
    the plain GAN plus the practice with the plain GAN. A diverged run's FD
    is replaced by the worst finite FD in ``rows`` (diverging is no better
    than the worst result).

    Returns:
        Per variant, in the order of :func:`variants`: ``practice``,
        ``variant``, ``description``, ``without`` (``{measure: Comparison}``,
        the variant against the baseline), ``without_verdict`` (the practice's
        verdict on time to good), ``without_fd_verdict``, and for the
        practices' own variants ``with`` and ``with_verdict``,
        ``with_fd_verdict`` (``None`` where there is no add-one variant). Each
        ``_verdict`` key has a ``_reading`` twin to show (``without_reading``,
        ...): the same verdict, with ``" (borderline)"`` after a borderline one
        (:attr:`ganutils.studies.Comparison.reading`); compare on the verdicts.

    Raises:
        ValueError: The rows come from more than one CPU model
            (:func:`ganutils.studies.one_machine`).
    """
    rows = [r for r in rows if r.get("kind") != "plain_sweep"]
    _common.one_machine(rows)
    groups = _common.group_rows(rows)
    worst = max((float(r["final_fd"]) for r in rows if r["final_fd"] is not None), default=0.0)

    def measures(name):
        runs = groups.get(name)
        if not runs:
            return None
        values = _measures(runs)
        values["final_fd"] = [worst if math.isinf(v) else v for v in values["final_fd"]]
        return values

    baseline, plain = measures("baseline"), measures("plain")
    result = []
    for variant in variants():
        if variant.kind != "leave_one_out":
            continue
        label = variant.practice
        without = _compared(baseline, measures(variant.name))
        adds = label in _RECIPE_LACKS
        entry = {
            "practice": label,
            "variant": variant.name,
            "description": variant.description,
            "without": without,
        }
        entry.update(_practice_verdicts(without, adds, "without"))
        if variant.name.startswith("without:"):
            added = _compared(plain, measures(f"with:{label}"))
            entry["with"] = added
            entry.update(_practice_verdicts(added, True, "with"))
        result.append(entry)
    return result


def _compared(reference: dict | None, variant: dict | None) -> dict | None:
    """``{measure: Comparison}`` of ``variant`` against ``reference``; ``None`` without one."""
    if reference is None or variant is None:
        return None
    return {m: _common.compare(reference[m], variant[m]) for m in reference if m in variant}


_FLIP = {"helps": "hurts", "hurts": "helps"}


def _practice_verdicts(comparisons: dict | None, adds: bool, prefix: str) -> dict:
    """The practice's verdicts on time to good and final FD, and their readings.

    Returns:
        ``{prefix}_verdict`` and ``{prefix}_fd_verdict``, with their
        ``_reading`` twins; ``None`` where not measured.
    """
    out = {}
    for measure, key in (("time_to_good", prefix), ("final_fd", f"{prefix}_fd")):
        result = (comparisons or {}).get(measure)
        if result is None:
            out[f"{key}_verdict"] = out[f"{key}_reading"] = None
            continue
        # The comparison says whether the *variant* helps; the practice is its opposite
        # when the variant removes it. Borderline or not does not depend on the side.
        verdict = result.verdict if adds else _FLIP.get(result.verdict, result.verdict)
        out[f"{key}_verdict"] = verdict
        out[f"{key}_reading"] = result.reading.replace(result.verdict, verdict, 1)
    return out


_COLOURS = {"baseline": "black", "plain": "grey", "leave_one_out": "tab:red", "add_one": "tab:blue"}


def _interval_points(axis, positions, estimates, kinds):
    """Means with their 95% intervals (none for a single run), one row per variant."""
    for y, est, kind in zip(positions, estimates, kinds, strict=True):
        if est is None:
            axis.text(
                0.02, y, " diverged", va="center", fontsize=8, transform=axis.get_yaxis_transform()
            )
            continue
        error = None
        if est.n > 1:
            error = [[est.mean - est.low], [est.high - est.mean]]
        axis.errorbar(est.mean, y, xerr=error, fmt="o", color=_COLOURS.get(kind, "k"), capsize=2)


def plot_summary(rows: list[dict], *, floor_fd: float | None = None, title: str | None = None):
    """Per variant: time to good (with a time budget) and final FD, means with 95% intervals.

    With a time budget the left panel is the time to good ("never" counted
    as the budget, marked by a dotted line) and the right one the final FD
    (log scale); runs of a fixed number of epochs get the FD panel only. The
    baseline's mean is a dashed line and the real-data floor a dotted one.
    Variants with no finite FD (every run diverged) are marked "diverged".

    Raises:
        ValueError: ``rows`` is empty.
    """
    table = summary(rows)
    if not table:
        raise ValueError("rows holds no results")
    groups = _common.group_rows(rows)
    timed = all(r.get("budget_seconds") for r in rows)
    figure = Figure(figsize=(10 if timed else 8, 0.32 * len(table) + 1.6))
    axes = figure.subplots(1, 2, sharey=True) if timed else [figure.subplots()]
    positions = np.arange(len(table))[::-1]
    names = [row["name"] for row in table]
    kinds = [row["kind"] for row in table]
    base = names.index("baseline") if "baseline" in names else None
    fd = _estimates(groups, names, lambda runs: [final_fd(r) for r in runs])
    _fd_panel(axes[-1], positions, fd, kinds, floor_fd=floor_fd, base=base)
    if timed:
        seconds = _estimates(groups, names, lambda runs: [seconds_to_good(r) for r in runs])
        budget = float(rows[0]["budget_seconds"])
        _time_panel(axes[0], positions, seconds, kinds, budget=budget, base=base)
    axes[0].set_yticks(positions, names, fontsize=8)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure


def _estimates(groups: dict, names: list[str], values_of) -> list:
    """Per variant name, the estimate of its runs' finite ``values_of(runs)``, or ``None``."""
    out = []
    for name in names:
        values = [v for v in values_of(groups[name]) if math.isfinite(v)]
        out.append(_common.estimate(values) if values else None)
    return out


def _fd_panel(axis, positions, fd, kinds, *, floor_fd, base) -> None:
    """The final-FD panel: intervals on a log scale, the floor and the baseline's mean."""
    _interval_points(axis, positions, fd, kinds)
    axis.set_xscale("log")
    axis.set_xlabel("final MNIST FD (mean, 95% interval; lower is better)")
    if floor_fd is not None:
        axis.axvline(floor_fd, color="green", linestyle=":", linewidth=1, label="real-data floor")
    if base is not None and fd[base] is not None:
        axis.axvline(fd[base].mean, color="black", linestyle="--", linewidth=1, label="baseline")
    axis.legend(loc="lower right", fontsize=8)


def _time_panel(axis, positions, seconds, kinds, *, budget, base) -> None:
    """The time-to-good panel: intervals, the budget ("never good") and the baseline's mean."""
    _interval_points(axis, positions, seconds, kinds)
    axis.axvline(budget, color="grey", linestyle=":", linewidth=1, label="budget (never good)")
    if base is not None:
        axis.axvline(
            seconds[base].mean, color="black", linestyle="--", linewidth=1, label="baseline"
        )
    axis.set_xlabel("seconds to good and holding (mean, 95% interval)")
    axis.set_xlim(0, budget * 1.08)
    axis.legend(loc="lower left", fontsize=8)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m ganutils.studies.ablate --profile cpu --out DIR``."""
    parser = argparse.ArgumentParser(
        prog="python -m ganutils.studies.ablate",
        description="Seeded ablation of the book's DCGAN practices; resumes from --out.",
        parents=[
            _runner.parent_parser(
                out_required=False, out_help="folder of results.jsonl (required unless --list)"
            )
        ],
    )
    parser.add_argument("--epochs", type=int, default=None, help="override the profile's epochs")
    parser.add_argument(
        "--budget",
        type=float,
        default=BUDGET_SECONDS,
        help=f"training seconds per run (default {BUDGET_SECONDS:g}; 0: train for --epochs)",
    )
    parser.add_argument("--check-every", type=int, default=1, help="score every N epochs")
    parser.add_argument("--variants", nargs="+", default=None, help="run only these variants")
    parser.add_argument("--list", action="store_true", help="list the variants and exit")
    args = parser.parse_args(argv)
    if args.list:
        for variant in variants() + sweep_variants():
            print(f"{variant.name:42s} {variant.kind:14s} {variant.description}")
        return 0
    if args.out is None:
        parser.error("--out is required")
    run_ablation(
        args.out,
        profile=_runner.start(args),
        seeds=args.seeds,
        names=args.variants,
        epochs=args.epochs,
        budget_seconds=args.budget or None,
        check_every=args.check_every,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
