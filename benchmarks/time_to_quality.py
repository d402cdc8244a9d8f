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
from pathlib import Path

import ganutils

ganutils.config.setup(seed=0, profile="cpu")
from ganutils import studies  # noqa: E402
from ganutils.studies import race  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "ganutils" / "results" / "time_to_quality"


def describe(row: dict) -> str:
    """One line per finished run: both scorers' verdicts."""
    checks = row["checks"]
    last = checks[-1]
    parts = []
    for name in race.SCORERS:
        reached = row[f"seconds_to_good_{name}"]
        verdict = "good" if last[f"fd_{name}"] <= last[f"bar_{name}"] else "NOT good"
        parts.append(
            f"{name}: " + (f"good after {reached:5.1f} s" if reached is not None else "never good")
            + f", last FD {last[f'fd_{name}']:.1f} (bar {last[f'bar_{name}']:.1f}) {verdict}"
        )  # fmt: skip
    return (
        f"{row['setup']:<22} seed {row['seed']}: {len(checks)} epochs, "
        f"{last['seconds']:.0f} s; " + "; ".join(parts)
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--setups",
        nargs="+",
        default=["book", "tutorial-tuned", "tutorial"],
        choices=["book", *race.TUTORIAL_SETTINGS],
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
    judge = race.Judge(split)
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
                checks, settings = race.run_recipe(images, judge, seed, overrides, log)
            else:
                checks, settings = race.run_tutorial(
                    images, judge, seed, args.budget, setup=setup, log=log
                )
            row = {
                "setup": name,
                "kind": setup,
                "overrides": overrides if setup == "book" else {},
                "settings": settings,
                "seed": seed,
                "budget_seconds": None if setup == "book" else args.budget,
                "checks": checks,
                **{f"seconds_to_good_{n}": race.seconds_to_good(checks, n) for n in race.SCORERS},
                "calibration": judge.calibration(),
                "reference": ganutils.metrics.GOOD_REFERENCE,
                **provenance,
            }
            studies.append_row(path, row)
            print(describe(row), flush=True)


if __name__ == "__main__":
    main()
