"""A seeded ablation of the book's DCGAN practices and ganhacks tricks.

From the book's recipe (:class:`ganutils.train.TrainConfig` defaults), each
**leave-one-out** variant removes one practice or swaps it for the common
alternative; each **add-one** variant adds one practice to a plain GAN that
has none of them. Every variant trains over several seeds on MNIST and is
scored with :mod:`ganutils.metrics` along the way. Results are appended to a
JSON Lines file, one row per finished run, with their provenance; a restarted
ablation skips the runs the file already holds. From a shell::

    python -m ganutils.ablate --profile cpu --out ganutils/results/ablation --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from . import config as _config
from . import data as _data
from . import metrics as _metrics
from . import studies as _studies
from . import train as _train
from .studies import Variant

__all__ = [
    "PRACTICES",
    "RELATIVE_TOLERANCE",
    "RESULTS_FILE",
    "main",
    "plain_overrides",
    "plot_summary",
    "run_ablation",
    "summary",
    "variants",
    "verdicts",
]

RESULTS_FILE = "results.jsonl"

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
    "dcgan-adam": ("plain SGD instead of Adam", {"optimizer": "sgd"}),
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
_EXTRA = {
    "adam-beta1-0.9": (
        "dcgan-adam",
        "Adam with Keras' default beta_1 = 0.9 instead of 0.5",
        {"beta_1": 0.9},
    ),
}

#: Practices the recipe does not use: their "leave-one-out" variant adds them.
_RECIPE_LACKS = frozenset({"ganhacks-noisy-labels"})

#: A difference smaller than this share of the reference FD is never called an effect.
RELATIVE_TOLERANCE = 0.05

#: Add-one variants that are not meaningful on the plain GAN, with the reason.
_NOT_ADDED = {
    "ganhacks-noisy-labels": "the plain GAN already has no label noise, and the recipe adds none",
}


def plain_overrides() -> dict:
    """The plain GAN: every practice of :data:`PRACTICES` replaced by its alternative.

    Label noise stays off (the recipe has none). The plain GAN keeps the
    recipe's learning rate, kernel size and generator average, which are
    not among the practices.
    """
    merged: dict = {}
    for label, (_, overrides) in PRACTICES.items():
        if label not in _NOT_ADDED:
            merged.update(overrides)
    return merged


def variants() -> list[Variant]:
    """Every variant: the baseline, leave-one-out, the plain GAN and add-one.

    Each is a :class:`ganutils.studies.Variant` whose ``overrides`` are the
    :class:`ganutils.train.TrainConfig` fields that differ from the recipe,
    with its ``kind`` and the ``practice`` (section label) it tests.
    """
    plain = plain_overrides()
    result = [Variant("baseline", "the book's recipe", {}, kind="baseline")]
    for label, (description, overrides) in PRACTICES.items():
        result.append(
            Variant(
                f"without:{label}", description, overrides, kind="leave_one_out", practice=label
            )
        )
    for name, (label, description, overrides) in _EXTRA.items():
        result.append(Variant(name, description, overrides, kind="leave_one_out", practice=label))
    result.append(Variant("plain", "every practice replaced", plain, kind="plain"))
    recipe = _recipe_values(plain)
    for label, (_, overrides) in PRACTICES.items():
        if label in _NOT_ADDED:
            continue
        added = {k: v for k, v in plain.items() if k not in overrides}
        added.update({k: recipe[k] for k in overrides})
        result.append(
            Variant(f"with:{label}", f"plain GAN + {label}", added, kind="add_one", practice=label)
        )
    return result


def _recipe_values(fields: dict) -> dict:
    defaults = {f.name: f.default for f in dataclasses.fields(_train.TrainConfig)}
    return {name: defaults[name] for name in fields}


# -- Running --------------------------------------------------------------------------------


def _key(row_or_variant: str, seed: int, profile: str, epochs: int) -> tuple:
    return (row_or_variant, int(seed), profile, int(epochs))


def run_ablation(
    out_dir,
    *,
    profile=None,
    seeds: list[int] = (0, 1, 2),
    names: list[str] | None = None,
    epochs: int | None = None,
    check_every: int = 1,
    images: np.ndarray | None = None,
    scorer=None,
    bar=None,
    log=print,
) -> list[dict]:
    """Run every variant (or those in ``names``) for every seed; append rows as runs finish.

    Runs already in ``out_dir/results.jsonl`` (same variant, seed, profile
    and epochs) are skipped, so an interrupted ablation resumes where it stopped.
    ``scorer`` and ``bar`` default to a :class:`ganutils.metrics.MnistScorer`
    and its quality bar (:meth:`~ganutils.metrics.MnistScorer.good_bar`).

    Returns:
        All rows of the results file after the run.

    Raises:
        ValueError: An unknown variant name or no seeds.
    """
    if not isinstance(profile, _config.Profile):
        profile = _config.get_profile(profile)
    chosen = variants()
    known = {v.name for v in chosen}
    if names is not None:
        unknown = sorted(set(names) - known)
        if unknown:
            raise ValueError(f"names holds unknown variants {unknown}; known: {sorted(known)}")
        chosen = [v for v in chosen if v.name in set(names)]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / RESULTS_FILE
    done = {
        _key(r["variant"], r["seed"], r["profile"], r["epochs"]) for r in _studies.read_rows(path)
    }
    mnist = _data.load_mnist(limit=profile.max_digits)
    if images is None:
        images = _data.scale_images(mnist.images)
    scorer = scorer if scorer is not None else _metrics.MnistScorer()
    bar = bar if bar is not None else scorer.good_bar()
    run_epochs = epochs if epochs is not None else profile.epochs
    provenance = None
    # Seed-major order: an ablation stopped early still covers every variant.
    for seed in seeds:
        for variant in chosen:
            if _key(variant.name, seed, profile.name, run_epochs) in done:
                continue
            provenance = provenance or _studies.provenance(
                profile, f"{mnist.summary}; {len(images)} images"
            )
            row = _studies.run_mnist(
                variant,
                seed,
                profile=profile,
                images=images,
                scorer=scorer,
                bar=bar,
                epochs=epochs,
                check_every=check_every,
            )
            row.update(provenance, floor_fd=float(bar.floor_fd), bar_fd=float(bar.fd))
            _studies.append_row(path, row)
            log(_describe(row))
    return _studies.read_rows(path)


def _describe(row: dict) -> str:
    """One line for a finished run: ``name seed 0: FD 31.2, 10 classes, good after 85 s``."""
    fd = "diverged" if row["final_fd"] is None else f"FD {row['final_fd']:.1f}"
    good = row["time_to_good"]
    reached = "not good yet" if good is None else f"good after {good:.0f} s"
    return f"{row['variant']} seed {row['seed']}: {fd}, {row['final_classes']} classes, {reached}"


def summary(rows: list[dict]) -> list[dict]:
    """Per variant of an ablation's rows: :func:`ganutils.studies.summarise` of the final FD.

    Returns:
        One dict per variant (in first-seen order): ``name``, ``kind``,
        ``practice``, ``runs``, ``final_fd_mean``, ``final_fd_std`` (None when
        no finite FD), ``final_classes_mean``, ``good_runs`` (runs that
        reached the quality threshold), ``diverged``, ``collapsed``.
    """
    return _studies.summarise(
        _studies.group_rows(rows),
        metrics=("final_fd", "final_classes"),
        cost=None,
        counts={"good_runs": "time_to_good", "diverged": "diverged", "collapsed": "collapsed"},
        keep=("kind", "practice"),
    )


def _effect(better_mean, worse_mean, spread) -> str:
    """``helps``/``hurts``/``no measurable effect`` from two FD means and their spread."""
    if better_mean is None or worse_mean is None:
        return "no result"
    gap = worse_mean - better_mean
    if gap > spread:
        return "helps"
    if gap < -spread:
        return "hurts"
    return "no measurable effect"


def verdicts(rows: list[dict]) -> list[dict]:
    """One verdict per practice from the rows of an ablation (see :func:`summary`).

    Leave-one-out: the practice **helps** when the run without it ends with a
    higher (worse) mean FD than the baseline by more than the two standard
    deviations added together (and by more than :data:`RELATIVE_TOLERANCE`
    of the baseline's FD, so that identical, seed-independent failures do not
    count), **hurts** when lower by as much, and otherwise has **no
    measurable effect**. For a practice the recipe does not use (label
    noise), the variant adds it, and the reading flips. Add-one is read the
    same way against the plain GAN. A variant that diverged in every run
    counts as infinitely bad.

    Returns:
        ``{"practice", "description", "without_fd", "without_verdict",
        "with_fd", "with_verdict"}`` per practice, in the order of :data:`PRACTICES`;
        the FDs are ``(mean, std)`` or ``None``.
    """
    by_name = {row["name"]: row for row in summary(rows)}

    def stats(name):
        row = by_name.get(name)
        if row is None:
            return None
        if row["final_fd_mean"] is None:
            return (math.inf, 0.0) if row["diverged"] == row["runs"] else None
        return (row["final_fd_mean"], row["final_fd_std"])

    def read(reference, variant, variant_is_better):
        if reference is None or variant is None:
            return "no result"
        spread = max(reference[1] + variant[1], RELATIVE_TOLERANCE * reference[0])
        if variant_is_better:
            return _effect(variant[0], reference[0], spread)
        return _effect(reference[0], variant[0], spread)

    baseline, plain = stats("baseline"), stats("plain")
    result = []
    for label, (description, _) in PRACTICES.items():
        without, added = stats(f"without:{label}"), stats(f"with:{label}")
        result.append(
            {
                "practice": label,
                "description": description,
                "without_fd": without,
                "without_verdict": read(
                    baseline, without, variant_is_better=label in _RECIPE_LACKS
                ),
                "with_fd": added,
                "with_verdict": read(plain, added, variant_is_better=True),
            }
        )
    return result


def plot_summary(rows: list[dict], *, floor_fd: float | None = None, title: str | None = None):
    """Final MNIST FD per variant: mean and standard deviation over seeds (log scale).

    The baseline's mean is a dashed line and the real-data floor a dotted one.
    Variants with no finite FD (every run diverged) are marked "diverged".
    """
    table = summary(rows)
    if not table:
        raise ValueError("rows holds no results")
    figure = Figure(figsize=(8, 0.32 * len(table) + 1.4))
    axis = figure.subplots()
    positions = np.arange(len(table))[::-1]
    colours = {
        "baseline": "black",
        "plain": "grey",
        "leave_one_out": "tab:red",
        "add_one": "tab:blue",
    }
    for y, row in zip(positions, table, strict=True):
        if row["final_fd_mean"] is None:
            axis.text(1, y, " diverged", va="center", fontsize=8)
            continue
        axis.errorbar(
            row["final_fd_mean"],
            y,
            xerr=row["final_fd_std"],
            fmt="o",
            color=colours.get(row["kind"], "k"),
        )
    axis.set_yticks(positions, [row["name"] for row in table], fontsize=8)
    axis.set_xscale("log")
    axis.set_xlabel("final MNIST FD (mean ± std over seeds; lower is better)")
    base = next((row for row in table if row["name"] == "baseline"), None)
    if base is not None and base["final_fd_mean"] is not None:
        axis.axvline(
            base["final_fd_mean"], color="black", linestyle="--", linewidth=1, label="baseline"
        )
    if floor_fd is not None:
        axis.axvline(floor_fd, color="green", linestyle=":", linewidth=1, label="real-data floor")
    axis.legend(loc="lower right", fontsize=8)
    if title:
        axis.set_title(title, fontsize=10)
    figure.tight_layout()
    return figure


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m ganutils.ablate --profile cpu --out ganutils/results/ablation``."""
    parser = argparse.ArgumentParser(
        prog="python -m ganutils.ablate",
        description="Seeded ablation of the book's DCGAN practices; resumes from --out.",
    )
    parser.add_argument("--profile", choices=list(_config.PROFILES), default=None)
    parser.add_argument("--out", help="folder of results.jsonl (required unless --list)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=None, help="override the profile's epochs")
    parser.add_argument("--check-every", type=int, default=1, help="score every N epochs")
    parser.add_argument("--variants", nargs="+", default=None, help="run only these variants")
    parser.add_argument("--list", action="store_true", help="list the variants and exit")
    args = parser.parse_args(argv)
    if args.list:
        for variant in variants():
            print(f"{variant.name:42s} {variant.kind:14s} {variant.description}")
        return 0
    if args.out is None:
        parser.error("--out is required")
    profile = _config.setup(seed=0, profile=args.profile)
    print(profile, file=sys.stderr)
    run_ablation(
        args.out,
        profile=profile,
        seeds=args.seeds,
        names=args.variants,
        epochs=args.epochs,
        check_every=args.check_every,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
