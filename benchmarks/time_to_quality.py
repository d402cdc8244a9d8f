"""Time to good digits: the book's DCGAN against the TensorFlow tutorial's, on one CPU.

    python benchmarks/time_to_quality.py [--setups book tutorial-tuned tutorial]
                                         [--seeds 0 1 2] [--budget 360]
                                         [--name NAME --set FIELD=VALUE ...]
                                         [--out ganutils/results/time_to_quality]

Every setup trains on the same digits: the classifier's training part of
:func:`ganutils.data.load_split` (4,000 of the 5,000-digit subset offline;
the 1,000 held-out digits are never trained on, so the real-data floor and
the overfitting probe stay honest). After every epoch the generator's 1,000
samples from fixed latents are scored by **two** independently trained
classifiers, the book's (``pooled``, seed 0) and a second one (``strided``,
seed 1). "Good" is :func:`ganutils.metrics.is_good` against each scorer's
:meth:`~ganutils.metrics.MnistScorer.good_bar`; time to good is the training
time of the first check that is good and stays good at the next
:data:`ganutils.metrics.GOOD_HOLD` checks (scoring is not counted).

Each finished run appends one JSON line (setup, overrides, seed, the curve of
checks with both scorers' FDs and classes and D's ``r_t`` on training and
held-out digits, both scorers' calibration FDs, machine, versions, commit) to
``OUT/results.jsonl``; a run already there is skipped, so the study resumes.

Setups:

``book`` (or ``--name`` with ``--set`` overrides)
    ``ganutils.train.TrainConfig.for_profile("cpu")``: the book's recipe,
    trained for the whole profile (so "still good at the last epoch" is seen).
``tutorial``
    The official TensorFlow DCGAN tutorial as written: its models, its
    ``tf.function`` step, batch 256, Adam(1e-4) for both networks; stops at
    good or at ``--budget`` training seconds.
``tutorial-tuned``
    The tutorial's models and step with batch 64 and Adam(2e-4, beta_1=0.5).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import ganutils

ganutils.config.setup(seed=0, profile="cpu")
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from ganutils import callbacks, metrics, stabilizers, studies, train  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from step_benchmark import tutorial_models, tutorial_train_step  # noqa: E402

HOLD = metrics.GOOD_HOLD
OUT = Path(__file__).resolve().parents[1] / "ganutils" / "results" / "time_to_quality"

# The tutorial's own optimiser settings, and the DCGAN paper's with a smaller batch.
TUTORIAL_SETTINGS = {
    "tutorial": {"batch_size": 256, "learning_rate": 1e-4, "beta_1": 0.9},
    "tutorial-tuned": {"batch_size": 64, "learning_rate": 2e-4, "beta_1": 0.5},
}
SCORERS = {
    "book": {"seed": 0, "architecture": "pooled"},
    "second": {"seed": 1, "architecture": "strided"},
}


def seconds_to_good(checks: list[dict], scorer: str = "book", bar_fd: float | None = None):
    """Training seconds until good and holding under ``scorer`` (its bar, or ``bar_fd``)."""
    good = [
        c[f"classes_{scorer}"] >= metrics.GOOD_MIN_CLASSES
        and c[f"fd_{scorer}"] <= (bar_fd if bar_fd is not None else c[f"bar_{scorer}"])
        for c in checks
    ]
    return metrics.time_to_good([c["seconds"] for c in checks], good)


class Judge:
    """Both scorers, their bars, and the real digits D is probed on."""

    def __init__(self, split):
        self.scorers = {name: metrics.MnistScorer(**kw) for name, kw in SCORERS.items()}
        self.bars = {name: s.good_bar() for name, s in self.scorers.items()}
        rng = np.random.default_rng(0)
        train_digits = split.train_images[rng.choice(len(split.train_images), 1000, replace=False)]
        self.probe_train = ganutils.data.scale_images(train_digits)
        self.probe_heldout = ganutils.data.scale_images(split.heldout_images[:1000])

    def check(self, generator, latents, seconds, epoch, discriminator=None, batch_size=64):
        images = np.asarray(generator(latents, training=False))
        row = {"epoch": epoch, "seconds": seconds}
        for name, scorer in self.scorers.items():
            if np.isfinite(images).all():
                score = scorer.score(images)
                fd, classes = score.fd, score.classes_covered
            else:
                fd, classes = float("inf"), 0
            row.update(
                {f"fd_{name}": fd, f"classes_{name}": classes, f"bar_{name}": self.bars[name].fd}
            )
        if discriminator is not None:
            for part, probe in (("train", self.probe_train), ("heldout", self.probe_heldout)):
                logits = callbacks.discriminator_logits(discriminator, probe, batch_size=batch_size)
                row[f"rt_{part}"] = stabilizers.real_sign(logits)
        return row

    def calibration(self) -> dict:
        return {
            name: {kind: score.fd for kind, score in scorer.calibration().items()}
            for name, scorer in self.scorers.items()
        }


def run_book(images, judge, seed, overrides, log):
    config = train.TrainConfig.for_profile("cpu", **{"seed": seed, **overrides})
    ganutils.config.seed_everything(seed)
    gan = train.build_gan(config, steps_per_epoch=len(images) // config.batch_size)
    dataset = train.make_dataset(images, batch_size=config.batch_size, seed=seed)
    latents = np.random.default_rng(1000 + seed).standard_normal((1000, config.latent_dim))
    latents = latents.astype(np.float32)
    checks, seconds = [], 0.0
    for epoch in range(1, config.epochs + 1):
        start = time.perf_counter()
        gan.fit(dataset, epochs=1, verbose=0, shuffle=False)
        seconds += time.perf_counter() - start
        checks.append(
            judge.check(gan.sampler, latents, seconds, epoch, gan.discriminator, config.batch_size)
        )
        log(checks[-1])
    return checks, config.to_dict()


def run_tutorial(images, judge, seed, budget, log, *, batch_size, learning_rate, beta_1):
    ganutils.config.seed_everything(seed)
    generator, discriminator = tutorial_models()
    train_step = tutorial_train_step(
        generator,
        discriminator,
        keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1),
        keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1),
    )
    # The tutorial keeps the last partial batch; so do we.
    dataset = (
        tf.data.Dataset.from_tensor_slices(images)
        .shuffle(len(images), seed=seed)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    latents = np.random.default_rng(1000 + seed).standard_normal((1000, 100)).astype(np.float32)
    checks, seconds, epoch = [], 0.0, 0
    while seconds < budget:
        start = time.perf_counter()
        for batch in dataset:
            losses = train_step(batch)
        float(losses[0])
        seconds += time.perf_counter() - start
        epoch += 1
        checks.append(judge.check(generator, latents, seconds, epoch, discriminator, batch_size))
        log(checks[-1])
        if seconds_to_good(checks) is not None:
            break
    settings = {"batch_size": batch_size, "learning_rate": learning_rate, "beta_1": beta_1}
    return checks, settings


def describe(row: dict) -> str:
    checks = row["checks"]
    parts = []
    for name in SCORERS:
        reached = row[f"seconds_to_good_{name}"]
        last = checks[-1]
        parts.append(
            f"{name}: " + (f"good after {reached:5.1f} s" if reached is not None else "never good")
            + f", last FD {last[f'fd_{name}']:.1f} (bar {last[f'bar_{name}']:.1f})"
            + (" good" if last[f"fd_{name}"] <= last[f"bar_{name}"] else " NOT good")
        )  # fmt: skip
    return (
        f"{row['setup']:<22} seed {row['seed']}: {len(checks)} epochs, "
        f"{checks[-1]['seconds']:.0f} s; " + "; ".join(parts)
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--setups",
        nargs="+",
        default=["book", "tutorial-tuned", "tutorial"],
        choices=["book", "tutorial", "tutorial-tuned"],
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", type=float, default=360.0, help="training s per tutorial run")
    parser.add_argument("--name", default=None, help="the book setup's name in the results")
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="FIELD=VALUE",
        help="override TrainConfig fields of the book setup (JSON values)",
    )
    parser.add_argument("--out", type=Path, default=OUT, help="folder of results.jsonl")
    parser.add_argument("--verbose", action="store_true", help="print every check")
    args = parser.parse_args(argv)
    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}

    split = ganutils.data.load_split()
    images = ganutils.data.scale_images(split.train_images)
    judge = Judge(split)
    print(f"data: {split.summary}; the GANs train on the {len(images):,} training digits")
    for name, bar in judge.bars.items():
        print(f"scorer {name}: good means {bar}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "results.jsonl"
    done = {(r["setup"], r["seed"]) for r in studies.read_rows(path)}
    provenance = studies.provenance(ganutils.config.get_profile("cpu"), split.summary)

    def log(check):
        if args.verbose:
            print("   ", {k: round(v, 3) if isinstance(v, float) else v for k, v in check.items()})

    for setup in args.setups:
        name = (args.name or "book") if setup == "book" else setup
        for seed in args.seeds:
            if (name, seed) in done:
                print(f"{name} seed {seed}: already in {path}")
                continue
            if setup == "book":
                checks, settings = run_book(images, judge, seed, overrides, log)
            else:
                settings = TUTORIAL_SETTINGS[setup]
                checks, settings = run_tutorial(images, judge, seed, args.budget, log, **settings)
            row = {
                "setup": name,
                "kind": setup,
                "overrides": overrides if setup == "book" else {},
                "settings": settings,
                "seed": seed,
                "budget_seconds": None if setup == "book" else args.budget,
                "checks": checks,
                **{f"seconds_to_good_{n}": seconds_to_good(checks, n) for n in SCORERS},
                "calibration": judge.calibration(),
                "reference": metrics.GOOD_REFERENCE,
                **provenance,
            }
            studies.append_row(path, row)
            print(describe(row), flush=True)


if __name__ == "__main__":
    main()
