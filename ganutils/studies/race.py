"""Time to good digits: the book's recipe against the TensorFlow DCGAN tutorial's, measured.

Chapters 4 and 5 quote this study; ``benchmarks/time_to_quality.py`` runs it
and appends its rows to the committed results
(:func:`ganutils.studies.committed_results` ``("time_to_quality")``).

- :func:`tutorial_models` and :func:`tutorial_train_step`: the official
  TensorFlow DCGAN tutorial's networks and its ``tf.function`` step (one
  generator pass, two gradient tapes, both networks updated at once).
- :class:`Judge`: after every epoch, 1,000 samples from fixed latents scored
  by **two** independently trained classifiers (:data:`SCORERS`), each against
  its own :meth:`~ganutils.metrics.MnistScorer.good_bar`, and D's ``r_t`` on
  its training digits and on held-out ones.
- :func:`run_recipe` (the whole profile, so "still good at the end" is seen)
  and :func:`run_tutorial` (until good and holding, or a time budget).
- :func:`seconds_to_good` and :func:`summary`: the results read back.
"""

from __future__ import annotations

__all__ = [
    "SCORERS",
    "TUTORIAL_SETTINGS",
    "Judge",
    "good_at",
    "run_recipe",
    "run_tutorial",
    "seconds_to_good",
    "summary",
    "tutorial_models",
    "tutorial_train_step",
]

import time

import numpy as np

from .. import config as _config

tf = _config.import_tensorflow()
import keras  # noqa: E402

from .. import callbacks as _callbacks  # noqa: E402
from .. import data as _data  # noqa: E402
from .. import metrics as _metrics  # noqa: E402
from .. import stabilizers as _stabilizers  # noqa: E402
from .. import train as _train  # noqa: E402
from . import common as _common  # noqa: E402

LATENT_DIM = 100

SCORERS = {
    "book": {"seed": 0, "architecture": "pooled"},
    "second": {"seed": 1, "architecture": "strided"},
}
"""The two judges: the book's classifier and an independent one (another seed and
architecture; see :data:`ganutils.judge.ARCHITECTURES`)."""

TUTORIAL_SETTINGS = {
    "tutorial": {"batch_size": 256, "learning_rate": 1e-4, "beta_1": 0.9},
    "tutorial-tuned": {"batch_size": 64, "learning_rate": 2e-4, "beta_1": 0.5},
}
"""The tutorial as written (batch 256, Adam(1e-4) with Keras's default beta_1), and
its models and step with the DCGAN paper's optimiser and a batch of 64."""


def tutorial_models(latent_dim: int = LATENT_DIM) -> tuple[keras.Model, keras.Model]:
    """The generator and discriminator of the TensorFlow DCGAN tutorial."""
    layers = keras.layers
    generator = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(7 * 7 * 256, use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Reshape((7, 7, 256)),
            layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False),
            layers.Activation("tanh"),
        ]
    )
    discriminator = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(64, 5, strides=2, padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Conv2D(128, 5, strides=2, padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Flatten(),
            layers.Dense(1),
        ]
    )
    return generator, discriminator


def tutorial_train_step(generator, discriminator, g_opt, d_opt, latent_dim: int = LATENT_DIM):
    """The tutorial's step: one generation, two tapes, simultaneous updates."""
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def train_step(real):
        noise = tf.random.normal([tf.shape(real)[0], latent_dim])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            fake = generator(noise, training=True)
            real_output = discriminator(real, training=True)
            fake_output = discriminator(fake, training=True)
            gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = cross_entropy(tf.ones_like(real_output), real_output) + cross_entropy(
                tf.zeros_like(fake_output), fake_output
            )
        g_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        d_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables, strict=True))
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables, strict=True))
        return gen_loss, disc_loss

    return train_step


def good_at(check: dict, scorer: str = "book") -> bool:
    """Whether one check is good under ``scorer``: its FD within that scorer's bar, every class."""
    return bool(
        check[f"fd_{scorer}"] <= check[f"bar_{scorer}"]
        and check[f"classes_{scorer}"] >= _metrics.GOOD_MIN_CLASSES
    )


def seconds_to_good(checks: list[dict], scorer: str = "book") -> float | None:
    """Training seconds until good and holding under ``scorer`` (each check's own bar)."""
    good = [good_at(c, scorer) for c in checks]
    return _metrics.time_to_good([c["seconds"] for c in checks], good)


class Judge:
    """Both scorers, their bars, and the real digits D is probed on.

    Args:
        split: The :class:`ganutils.data.MnistSplit` the GANs train on (its
            training part) and are held out from (its held-out part).
        probe_size: Digits of each part D's ``r_t`` is measured on.
    """

    def __init__(self, split, *, probe_size: int = 1000):
        self.scorers = {name: _metrics.MnistScorer(**kw) for name, kw in SCORERS.items()}
        self.bars = {name: scorer.good_bar() for name, scorer in self.scorers.items()}
        rng = np.random.default_rng(0)
        size = min(probe_size, len(split.train_images), len(split.heldout_images))
        chosen = rng.choice(len(split.train_images), size, replace=False)
        self.probes = {
            "train": _data.scale_images(split.train_images[chosen]),
            "heldout": _data.scale_images(split.heldout_images[:size]),
        }

    def check(self, generator, latents, seconds, epoch, discriminator=None, batch_size=64):
        """One row: both scorers' FD, classes and bar, and D's ``r_t`` when given D."""
        images = np.asarray(generator(latents, training=False))
        row = {"epoch": epoch, "seconds": seconds}
        for name, scorer in self.scorers.items():
            fd, classes = float("inf"), 0
            if np.isfinite(images).all():
                score = scorer.score(images)
                fd, classes = score.fd, score.classes_covered
            row.update({f"fd_{name}": fd, f"classes_{name}": classes})
            row[f"bar_{name}"] = self.bars[name].fd
        if discriminator is not None:
            for part, probe in self.probes.items():
                logits = _callbacks.discriminator_logits(
                    discriminator, probe, batch_size=batch_size
                )
                row[f"rt_{part}"] = _stabilizers.real_sign(logits)
        return row

    def calibration(self) -> dict:
        """Every calibration set's FD under each scorer."""
        return {
            name: {kind: score.fd for kind, score in scorer.calibration().items()}
            for name, scorer in self.scorers.items()
        }


def run_recipe(images, judge: Judge, seed: int, overrides: dict, log=None):
    """The book's recipe (the ``cpu`` profile with ``overrides``), checked after every epoch.

    Returns:
        ``(checks, config_dict)``.
    """
    config = _train.TrainConfig.for_profile("cpu", **{"seed": seed, **overrides})
    _config.seed_everything(seed)
    gan = _train.build_gan(config, steps_per_epoch=len(images) // config.batch_size)
    latents = np.random.default_rng(1000 + seed).standard_normal((1000, config.latent_dim))
    latents = latents.astype(np.float32)
    checks, seconds = [], 0.0
    for epoch in range(1, config.epochs + 1):
        dataset = _train.make_dataset(
            images, batch_size=config.batch_size, seed=seed, first_epoch=epoch - 1
        )
        start = time.perf_counter()
        gan.fit(dataset, epochs=1, verbose=0, shuffle=False)
        seconds += time.perf_counter() - start
        checks.append(
            judge.check(gan.sampler, latents, seconds, epoch, gan.discriminator, config.batch_size)
        )
        if log is not None:
            log(checks[-1])
    return checks, config.to_dict()


def run_tutorial(images, judge: Judge, seed: int, budget: float, *, setup: str, log=None):
    """The tutorial's models and step with :data:`TUTORIAL_SETTINGS` ``[setup]``.

    Trains until good and holding under the book's scorer, or until
    ``budget`` training seconds. Like the tutorial, it keeps the last
    partial batch of every epoch.

    Returns:
        ``(checks, settings)``.
    """
    settings = TUTORIAL_SETTINGS[setup]
    _config.seed_everything(seed)
    generator, discriminator = tutorial_models()

    def adam():
        return keras.optimizers.Adam(
            learning_rate=settings["learning_rate"], beta_1=settings["beta_1"]
        )

    train_step = tutorial_train_step(generator, discriminator, adam(), adam())
    dataset = (
        tf.data.Dataset.from_tensor_slices(images)
        .shuffle(len(images), seed=seed)
        .batch(settings["batch_size"])
        .prefetch(tf.data.AUTOTUNE)
    )
    latents = np.random.default_rng(1000 + seed).standard_normal((1000, LATENT_DIM))
    latents = latents.astype(np.float32)
    checks, seconds, epoch = [], 0.0, 0
    while seconds < budget:
        start = time.perf_counter()
        for batch in dataset:
            losses = train_step(batch)
        float(losses[0])
        seconds += time.perf_counter() - start
        epoch += 1
        checks.append(
            judge.check(generator, latents, seconds, epoch, discriminator, settings["batch_size"])
        )
        if log is not None:
            log(checks[-1])
        if seconds_to_good(checks) is not None:
            break
    return checks, dict(settings)


def summary(rows: list[dict]) -> dict[str, dict]:
    """Per setup, over its seeds: time to good and the last check, under both scorers.

    Returns:
        ``{setup: {...}}`` in first-seen order, each with ``seeds``,
        ``kind``, ``budget_seconds``, and per scorer ``name``:
        ``seconds_<name>`` (each seed's time to good, ``None`` for never),
        ``reached_<name>`` (how many seeds got there), ``mean_<name>`` (the
        mean time when every seed got there, else ``None``),
        ``good_at_end_<name>`` (seeds good at their last check),
        ``final_fd_<name>`` (mean FD at the last check),
        ``drift_<name>`` (the largest ratio of a seed's last FD to its best:
        1.0 when no seed got worse after its best check) and ``bar_<name>``;
        plus ``epochs`` and ``seconds`` of the runs (means).

    Raises:
        ValueError: The rows come from more than one CPU model
            (:func:`ganutils.studies.one_machine`): their seconds do not compare.
    """
    _common.one_machine(rows)
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["setup"], []).append(row)
    out = {}
    for setup, runs in grouped.items():
        entry = {
            "seeds": [r["seed"] for r in runs],
            "kind": runs[0]["kind"],
            "budget_seconds": runs[0].get("budget_seconds"),
            "epochs": float(np.mean([len(r["checks"]) for r in runs])),
            "seconds": float(np.mean([r["checks"][-1]["seconds"] for r in runs])),
        }
        for name in SCORERS:
            times = [seconds_to_good(r["checks"], name) for r in runs]
            reached = [t for t in times if t is not None]
            last = [r["checks"][-1] for r in runs]
            entry.update(
                {
                    f"seconds_{name}": times,
                    f"reached_{name}": len(reached),
                    f"mean_{name}": float(np.mean(reached)) if len(reached) == len(times) else None,
                    f"good_at_end_{name}": sum(good_at(c, name) for c in last),
                    f"final_fd_{name}": float(np.mean([c[f"fd_{name}"] for c in last])),
                    f"drift_{name}": max(
                        r["checks"][-1][f"fd_{name}"] / min(c[f"fd_{name}"] for c in r["checks"])
                        for r in runs
                    ),
                    f"bar_{name}": float(last[0][f"bar_{name}"]),
                }
            )
        out[setup] = entry
    return out
