"""Time to good digits: the book's DCGAN against the TensorFlow tutorial's, on one CPU.

    python benchmarks/time_to_quality.py [--setups book tutorial tutorial-tuned]
                                         [--seeds 0 1 2] [--budget 240]

Every setup trains on the same digits (``ganutils.data.load_mnist``: the
5,000-digit subset offline) and is scored after every epoch by the same
``ganutils.metrics.MnistScorer`` on 1,000 samples. "Good" is the book's
quality target (``ganutils.metrics.is_good``): MNIST FD within 7x of the
real-data floor and all 10 classes covered; a setup reaches it at the first
check where it holds and keeps holding at the next two checks. The time is
training wall time only: the scoring is not counted.

Setups:

``book``
    ``ganutils.train.TrainConfig.for_profile("cpu")``: the book's recipe.
``tutorial``
    The official TensorFlow DCGAN tutorial as written: its models, its
    ``tf.function`` step, batch 256, Adam(1e-4) for both networks.
``tutorial-tuned``
    The tutorial's models and step with batch 64 and Adam(2e-4, beta_1=0.5).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

import ganutils

ganutils.config.setup(seed=0, profile="cpu")
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from ganutils import metrics, train  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from step_benchmark import tutorial_models, tutorial_train_step  # noqa: E402

HOLD = metrics.GOOD_HOLD

# The tutorial's own optimiser settings, and the DCGAN paper's with a smaller batch.
TUTORIAL_SETTINGS = {
    "tutorial": {"batch_size": 256, "learning_rate": 1e-4, "beta_1": 0.9},
    "tutorial-tuned": {"batch_size": 64, "learning_rate": 2e-4, "beta_1": 0.5},
}


def time_to_good(checks: list[dict]) -> float | None:
    """Training seconds until good and holding (``ganutils.metrics.time_to_good``)."""
    return metrics.time_to_good([c["seconds"] for c in checks], [c["good"] for c in checks])


def _check(scorer, floor, generator, latents, seconds, epoch):
    images = np.asarray(generator(latents, training=False))
    score = scorer.score(images)
    return {
        "epoch": epoch,
        "seconds": seconds,
        "fd": score.fd,
        "classes": score.classes_covered,
        "good": bool(metrics.is_good(score, floor)),
    }


def run_book(images, scorer, floor, seed, budget, overrides):
    config = train.TrainConfig.for_profile("cpu", **{"seed": seed, **overrides})
    ganutils.config.seed_everything(seed)
    gan = train.build_gan(config, steps_per_epoch=len(images) // config.batch_size)
    dataset = train.make_dataset(images, batch_size=config.batch_size, seed=seed)
    latents = np.random.default_rng(1000 + seed).standard_normal((1000, config.latent_dim))
    latents = latents.astype(np.float32)
    checks, seconds, epoch = [], 0.0, 0
    while seconds < budget and epoch < config.epochs:
        start = time.perf_counter()
        gan.fit(dataset, epochs=1, verbose=0, shuffle=False)
        seconds += time.perf_counter() - start
        epoch += 1
        checks.append(_check(scorer, floor, gan.sampler, latents, seconds, epoch))
        if time_to_good(checks) is not None:
            break
    return checks


def run_tutorial(images, scorer, floor, seed, budget, *, batch_size, learning_rate, beta_1):
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
        checks.append(_check(scorer, floor, generator, latents, seconds, epoch))
        if time_to_good(checks) is not None:
            break
    return checks


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--setups",
        nargs="+",
        default=["book", "tutorial-tuned", "tutorial"],
        choices=["book", "tutorial", "tutorial-tuned"],
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", type=float, default=300.0, help="training seconds per run")
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="FIELD=VALUE",
        help="override TrainConfig fields of the book setup (JSON values)",
    )
    parser.add_argument("--json", type=Path, help="also write every check to this file")
    args = parser.parse_args(argv)
    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}

    mnist = ganutils.data.load_mnist()
    images = ganutils.data.scale_images(mnist.images)
    scorer = metrics.MnistScorer()
    floor = scorer.real_floor()
    print(
        f"machine: {platform.processor() or platform.machine()}, TF {tf.__version__}; "
        f"{mnist.summary}"
    )
    print(
        f"real-data floor: FD {floor.fd:.2f} -> good means FD < "
        f"{metrics.GOOD_FD_RATIO * floor.fd:.2f} and {metrics.GOOD_MIN_CLASSES} classes, "
        f"holding {HOLD} more checks; budget {args.budget:.0f} s per run"
    )
    if overrides:
        print(f"book overrides: {overrides}")
    results = {}
    for setup in args.setups:
        for seed in args.seeds:
            if setup == "book":
                checks = run_book(images, scorer, floor, seed, args.budget, overrides)
            else:
                checks = run_tutorial(
                    images, scorer, floor, seed, args.budget, **TUTORIAL_SETTINGS[setup]
                )
            reached = time_to_good(checks)
            results[(setup, seed)] = {"seconds": reached, "checks": checks}
            best = min(c["fd"] for c in checks)
            print(
                f"{setup:<15} seed {seed}: "
                + (f"good after {reached:6.1f} s" if reached else "never good      ")
                + f"  ({len(checks)} epochs, {checks[-1]['seconds']:.0f} s, best FD {best:.2f})",
                flush=True,
            )
    print()
    for setup in args.setups:
        times = [results[(setup, s)]["seconds"] for s in args.seeds]
        reached = [t for t in times if t is not None]
        mean = f"{np.mean(reached):.1f} s" if len(reached) == len(times) else "n/a"
        print(f"{setup:<15} mean time to good: {mean}  (reached in {len(reached)}/{len(times)})")
    if args.json:
        args.json.write_text(
            json.dumps({f"{k[0]}/{k[1]}": v for k, v in results.items()}, indent=1)
        )


if __name__ == "__main__":
    main()
