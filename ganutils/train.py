"""The book's recipe, the MNIST run, and its command line.

:class:`TrainConfig` is everything that defines a run of the book's MNIST
DCGAN: the recipe's defaults, every trick and stabiliser as a field, and how
the run executes. :func:`build_gan` turns a config into the models, the
optimizers and the engine (:class:`ganutils.gan.GAN`), and
:func:`train_mnist` wires it to MNIST, the callbacks of
:mod:`ganutils.callbacks` (sample grids, loss history, GIF, checkpoints) and an
output folder, and resumes from that folder's last checkpoint. From a shell::

    python -m ganutils.train --profile gpu --out runs/mnist
"""

from __future__ import annotations

__all__ = [
    "RECIPE",
    "TrainConfig",
    "build_gan",
    "discriminator_batch_norm",
    "fixed_latents",
    "grid_of",
    "main",
    "make_dataset",
    "train_mnist",
]

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from . import book as _book
from . import config as _config
from . import data as _data
from . import latent as _latent

# TensorFlow and Keras load through ganutils.config so their start-up lines stay quiet.
tf = _config.import_tensorflow()
import keras  # noqa: E402

from . import callbacks as _callbacks  # noqa: E402
from . import checkpoint as _checkpoint  # noqa: E402
from . import conditioning as _conditioning  # noqa: E402
from . import distribute as _distribute  # noqa: E402
from . import gan as _gan  # noqa: E402
from . import models as _models  # noqa: E402
from . import options as _options  # noqa: E402
from .pipeline import make_dataset  # noqa: E402  (re-exported: the chapters build batches here)

# -- The book's recipe ----------------------------------------------------------

#: Where the recipe's engine options differ from :class:`ganutils.options.GANOptions`' defaults.
RECIPE = {
    # A 100-dimensional latent vector, as in DCGAN (GANOptions has no default).
    "latent_dim": 100,
    # One-sided label smoothing (real targets 0.9, Salimans et al. 2016), ganhacks #6.
    "label_smoothing": "one_sided",
    # Samples from a moving average of G's weights: one of the recipe's three departures.
    "ema_decay": 0.99,
    # Every run is seeded: its weights, data order, latents and steps come from this.
    "seed": 42,
}

# Where the engine's options stand among the recipe's own fields (each of these follows the
# field named, the options after it in GANOptions' order follow it), so that to_dict, the
# repr and the config table of chapter 4 keep the order they always had. A new option of
# GANOptions follows the one before it there.
_PLACES = {
    "latent_dim": "max_digits",
    "latent_distribution": "lr_decay",
    "seed": "batch_norm",
    "loss": "grid_size",
    "image_range": "kernel_initializer",
    "num_classes": "l2",
}


@dataclasses.dataclass(frozen=True)
@_options.option_fields(RECIPE, types={"seed": "int"}, after=_PLACES)
@_options.option_fields(
    {"learning_rate": 5e-3},  # 25 times DCGAN's 2e-4: one of the recipe's departures
    source=_options.OptimizerOptions,
    after={"learning_rate": "kernel_size", "beta_1": "d_learning_rate", "optimizer": "grid_size"},
)
class TrainConfig:
    """Everything that defines a training run of the book's MNIST DCGAN.

    The defaults are the book's recipe: the seven DCGAN practices and the
    ganhacks tricks (Gaussian latent space, separate real and fake batches,
    one-sided label smoothing, the non-saturating generator loss), with three
    departures measured to reach good digits faster on a CPU with these small
    models: a learning rate of 5e-3 instead of DCGAN's 2e-4, 5 x 5 kernels, and
    an exponential moving average of the generator's weights (decay 0.99)
    for sampling. Every field is a plain value, so a config is saved beside its
    checkpoints as JSON and compared on resume.

    Besides the fields declared here, every option of the engine
    (``latent_dim``, ``label_smoothing``, ``d_steps``, ``ema_decay``,
    ``loss``, ``r1_gamma``, ``augment``, ``num_classes``, ``seed``, ...: each
    field of :class:`ganutils.options.GANOptions`) is a field of this config
    under the same name, with GANOptions' type, default and documentation,
    except for the defaults in :data:`RECIPE` (and ``seed``, always an
    integer here); :func:`ganutils.options.option_fields` adds them.
    :meth:`gan_options` hands them to the engine. One difference:
    ``instance_noise_steps`` defaults to the whole run
    (``epochs * steps_per_epoch``) when ``instance_noise`` is set.
    """

    epochs: int = 15
    batch_size: int = 64
    max_digits: int | None = None
    # Image channels: 1 for MNIST, 3 for StackedMNIST (ganutils.stacked).
    channels: int = 1
    g_filters: int = 64
    d_filters: int = 64
    kernel_size: int = 5
    lr_decay: float | None = None
    batch_norm: bool = True
    # Batch normalisation in D alone (None: as batch_norm). The critics of WGAN-GP,
    # spectral norm and R1 have none: chapters 7 and 9 run them with d_batch_norm=False.
    d_batch_norm: bool | None = None
    grid_size: int = 64
    # The alternatives to the DCGAN practices that chapter 8's ablation measures.
    downsample: str = "strided"
    upsample: str = "transposed"
    d_activation: str = "leaky_relu"
    kernel_initializer: str = "dcgan"
    spectral_norm: bool = False
    minibatch_stddev: bool = False
    d_dropout: float = 0.0
    g_dropout: float = 0.0
    g_noise: float = 0.0
    l1: float = 0.0
    l2: float = 0.0
    # How the run executes, not what it learns (a checkpoint moves freely between
    # them; see ganutils.distribute). batch_size is the global batch.
    strategy: str = "default"
    precision: str = "float32"
    jit_compile: bool = False
    sync_batch_norm: bool = True

    def __post_init__(self):
        self._check_numbers()
        self._check_choices()
        _distribute.check_options(strategy=self.strategy, precision=self.precision)
        # The engine's own check: the run length only sets the instance-noise
        # schedule's default length, so one batch per epoch stands in for it here.
        self.gan_options(steps_per_epoch=1)

    def _check_numbers(self):
        """Counts, learning rates, Adam's betas, dropouts, noise and weight penalties."""
        for name in (
            "epochs",
            "batch_size",
            "channels",
            "g_filters",
            "d_filters",
            "kernel_size",
            "grid_size",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        for name in ("max_digits", "instance_noise_steps"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ValueError(f"{name} must be a positive integer or None; got {value!r}")
        _options.OptimizerOptions.of(self)  # the rates, betas and optimizer
        if self.lr_decay is not None and not 0.0 <= self.lr_decay <= 1.0:
            raise ValueError(f"lr_decay must lie in [0, 1] or be None; got {self.lr_decay!r}")
        for name in ("d_dropout", "g_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must lie in [0, 1); got {getattr(self, name)!r}")
        for name in ("g_noise", "l1", "l2"):
            if not getattr(self, name) >= 0.0:
                raise ValueError(f"{name} must be non-negative; got {getattr(self, name)!r}")

    def _check_choices(self):
        """The named choices of the networks."""
        for name, value, choices in (
            ("downsample", self.downsample, _models.DOWNSAMPLE),
            ("upsample", self.upsample, _models.UPSAMPLE),
            ("d_activation", self.d_activation, ("leaky_relu", "relu")),
            (
                "kernel_initializer",
                self.kernel_initializer,
                ("dcgan", "glorot_uniform", "he_normal"),
            ),
        ):
            if value not in choices:
                raise ValueError(f"{name} must be one of {choices}; got {value!r}")
        if not (self.d_batch_norm is None or isinstance(self.d_batch_norm, bool)):
            raise ValueError(f"d_batch_norm must be True, False or None; got {self.d_batch_norm!r}")

    def gan_options(self, *, steps_per_epoch: int) -> _gan.GANOptions:
        """The engine's options for this run, validated by :class:`ganutils.gan.GANOptions`.

        Args:
            steps_per_epoch: Batches per epoch. Instance noise anneals over
                ``instance_noise_steps`` generator steps, by default the whole
                run: ``epochs * steps_per_epoch``.

        Raises:
            ValueError: An option the engine refuses, named.
        """
        changes = {}
        if self.instance_noise is not None and self.instance_noise_steps is None:
            changes["instance_noise_steps"] = self.epochs * steps_per_epoch
        return _options.GANOptions.of(self, **changes)

    @classmethod
    def for_profile(cls, profile: _config.Profile | str | None = None, **overrides) -> TrainConfig:
        """The book's recipe at the scale of a run profile (see :mod:`ganutils.config`)."""
        if not isinstance(profile, _config.Profile):
            profile = _config.get_profile(profile)
        scale = {
            "epochs": profile.epochs,
            "batch_size": profile.batch_size,
            "max_digits": profile.max_digits,
        }
        if profile.name == "smoke":
            scale["grid_size"] = 16
        return cls(**{**scale, **overrides})

    def to_dict(self) -> dict:
        """Plain JSON-serialisable values (NumPy scalars become Python numbers)."""
        return {
            key: value.item() if isinstance(value, np.generic) else value
            for key, value in dataclasses.asdict(self).items()
        }


def build_gan(config: TrainConfig, *, steps_per_epoch: int | None = None) -> _gan.GAN:
    """Build and compile the book's GAN (models, optimizers) from a config.

    Everything is created in the scope of ``config.strategy`` (so ``fit``
    distributes the data and the step over its replicas) and under
    ``config.precision``; ``config.jit_compile`` compiles the step with XLA.
    See :mod:`ganutils.distribute`.

    Args:
        config: The run's configuration.
        steps_per_epoch: Batches per epoch; needed for ``config.lr_decay`` (the
            schedule spans ``config.epochs`` epochs). Without it the learning
            rates stay constant.

    Raises:
        ValueError: ``config.batch_size`` (the global batch) does not split
            evenly over the strategy's replicas.
    """
    strategy = _distribute.make_strategy(config.strategy)
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise ValueError(
            f"batch_size ({config.batch_size}) is the global batch: it must be a "
            f"multiple of the {replicas} replicas of strategy {config.strategy!r}"
        )
    with strategy.scope(), _distribute.precision_policy(config.precision):
        return _build_gan(config, steps_per_epoch=steps_per_epoch, replicas=replicas)


def _build_gan(config: TrainConfig, *, steps_per_epoch: int | None, replicas: int) -> _gan.GAN:
    generator = _generator(config)
    discriminator = _discriminator(config)
    for network in (generator, discriminator):
        if replicas > 1 and config.sync_batch_norm:
            _distribute.synchronize_batch_norm(network)
        _distribute.float32_outputs(network)  # mixed precision: float32 images and logits
    if steps_per_epoch is None and config.instance_noise is not None:
        if config.instance_noise_steps is None:
            raise ValueError(
                "instance_noise_steps must be set when build_gan gets no steps_per_epoch "
                "(the default anneals over the whole run)"
            )
    options = config.gan_options(steps_per_epoch=1 if steps_per_epoch is None else steps_per_epoch)
    gan = _gan.GAN(generator, discriminator, options)
    _compile(gan, config, steps_per_epoch=steps_per_epoch)
    return gan


def _shared_layers(config: TrainConfig) -> dict:
    """The layer settings both networks take from the config."""
    names = ("kernel_size", "batch_norm", "kernel_initializer", "l1", "l2")
    return {name: getattr(config, name) for name in names}


def _generator(config: TrainConfig) -> keras.Model:
    """The config's generator (:func:`ganutils.models.build_generator`)."""
    return _models.build_generator(
        config.latent_dim,
        filters=config.g_filters,
        upsample=config.upsample,
        output_activation="sigmoid" if config.image_range == "unit" else "tanh",
        dropout=config.g_dropout,
        noise=config.g_noise,
        channels=config.channels,
        **_shared_layers(config),
        num_classes=config.num_classes,
        seed=config.seed,
    )


def _discriminator(config: TrainConfig) -> keras.Model:
    """The config's discriminator (:func:`ganutils.models.build_discriminator`)."""
    return _models.build_discriminator(
        filters=config.d_filters,
        activation=config.d_activation,
        downsample=config.downsample,
        dropout=config.d_dropout,
        spectral_norm=config.spectral_norm,
        minibatch_stddev=config.minibatch_stddev,
        image_shape=(28, 28, config.channels),
        **{**_shared_layers(config), "batch_norm": discriminator_batch_norm(config)},
        num_classes=config.num_classes if config.conditioning == "channels" else None,
        auxiliary_classes=config.num_classes if config.conditioning == "auxiliary" else None,
        seed=config.seed + 100,
    )


def discriminator_batch_norm(config: TrainConfig) -> bool:
    """Whether D normalises its batches: ``d_batch_norm``, or ``batch_norm`` when that is None."""
    return config.batch_norm if config.d_batch_norm is None else config.d_batch_norm


def _compile(gan: _gan.GAN, config: TrainConfig, *, steps_per_epoch: int | None) -> None:
    """Compile ``gan`` with the config's optimizers, learning-rate schedule and loss scaling."""

    def rate(initial):
        if config.lr_decay is None or steps_per_epoch is None:
            return initial
        # Cosine decay from the initial rate to lr_decay times it over the run.
        return keras.optimizers.schedules.CosineDecay(
            initial, decay_steps=config.epochs * steps_per_epoch, alpha=config.lr_decay
        )

    def optimizer(learning_rate):
        # RMSProp keeps its own rho (beta_1/beta_2 are Adam's); SGD is plain, no momentum.
        return _gan.make_optimizer(
            config.optimizer, learning_rate, beta_1=config.beta_1, beta_2=config.beta_2
        )

    gan.compile(
        d_optimizer=optimizer(rate(config.d_learning_rate or config.learning_rate)),
        g_optimizer=optimizer(rate(config.learning_rate)),
        jit_compile=config.jit_compile,
    )
    if config.precision == "mixed_float16":  # float16 gradients underflow without loss scaling
        gan.compile(
            d_optimizer=keras.optimizers.LossScaleOptimizer(gan.d_optimizer),
            g_optimizer=keras.optimizers.LossScaleOptimizer(gan.g_optimizer),
            jit_compile=config.jit_compile,
        )


def fixed_latents(config: TrainConfig) -> np.ndarray:
    """The run's fixed latent batch for sample grids: ``(grid_size, latent_dim)`` float32.

    Drawn from ``config.seed`` and ``config.latent_distribution``, so the same
    config always shows the same latent vectors, on resume too.
    """
    return _latent.sample_latent(
        config.grid_size,
        config.latent_dim,
        distribution=config.latent_distribution,
        rng=np.random.default_rng(config.seed),
    )


def grid_of(config: TrainConfig) -> tuple:
    """The run's grid: inputs and columns for :class:`ganutils.callbacks.SampleGrid`.

    Unconditional: :func:`fixed_latents` in a square grid (columns ``None``).
    Conditional: one row per class, one fixed latent per column
    (:func:`ganutils.conditioning.class_grid`), ``grid_size // num_classes`` columns.
    """
    if config.num_classes is None:
        return fixed_latents(config), None
    columns = max(1, config.grid_size // config.num_classes)
    latents = fixed_latents(dataclasses.replace(config, grid_size=columns))
    return _conditioning.class_grid(latents, config.num_classes), columns


def train_mnist(
    config: TrainConfig,
    out_dir: str | os.PathLike | None = None,
    *,
    images: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    extra_callbacks: list | None = None,
    progress: bool = True,
) -> tuple[_gan.GAN, dict]:
    """Train the book's DCGAN on MNIST, resuming from ``out_dir`` when it holds a checkpoint.

    Writes into ``out_dir``: ``samples/epoch_NNN.png`` grids from one fixed
    latent batch, ``history/<name>.npy`` and ``history.csv`` (per epoch),
    ``steps/<name>.npy`` (per step), ``training.gif`` and ``checkpoint.npz``
    (both models, both optimizers, the generator average, the epoch and the
    step's random state). A resumed run continues with the same weights,
    optimizer state and random state, and each epoch's data order depends only
    on the seed and the epoch (:func:`make_dataset`), so an interrupted and
    resumed run ends as the uninterrupted run would have.

    Args:
        config: The run's :class:`TrainConfig`.
        out_dir: Output folder; ``None`` trains without writing anything.
        images: ``(n, 28, 28, 1)`` float32 in [-1, 1]; default: MNIST from
            :func:`ganutils.data.load_mnist` limited to ``config.max_digits``.
        labels: ``(n,)`` class labels of ``images``, for a conditional run
            (``config.num_classes``); with the default images, their labels.
            The sample grids then show one row per class (:func:`grid_of`).
        extra_callbacks: More Keras callbacks (a metric callback, or
            :class:`ganutils.callbacks.StopAfterEpoch` to stop early as an
            interruption would).
        progress: Show a progress bar.

    Returns:
        The trained :class:`ganutils.gan.GAN` and the epoch history (name -> list of floats).

    Raises:
        ValueError: ``out_dir`` holds a checkpoint of a different configuration,
            or a corrupt one.
    """
    images, labels = _training_data(config, images, labels)
    _config.seed_everything(config.seed)
    steps = len(images) // config.batch_size
    gan = build_gan(config, steps_per_epoch=steps)
    callbacks, initial_epoch = _run_callbacks(config, out_dir, gan, extra_callbacks)
    if progress:
        callbacks.insert(0, _callbacks.ProgressBar())
    if initial_epoch >= config.epochs:
        return gan, _callbacks.read_history(out_dir) if out_dir is not None else {}
    history = _fit(
        gan, config, images, labels, steps=steps, initial_epoch=initial_epoch, callbacks=callbacks
    )
    if out_dir is not None:
        return gan, _callbacks.read_history(out_dir)
    return gan, history.history


def _training_data(config: TrainConfig, images, labels) -> tuple:
    """``(images, labels)`` to train on: the ones given, or MNIST's; labels checked."""
    if images is None:
        digits = _data.load_mnist(limit=config.max_digits)
        images = _data.scale_images(digits.images)
        labels = digits.labels if config.num_classes is not None else None
    if (labels is None) != (config.num_classes is None):
        raise ValueError(
            "labels go with a conditional config: pass labels exactly when config.num_classes "
            f"is set (num_classes={config.num_classes!r}, labels given: {labels is not None})"
        )
    if labels is not None:
        labels = _conditioning.check_labels(labels, len(images), config.num_classes)
    return images, labels


def _run_callbacks(config: TrainConfig, out_dir, gan: _gan.GAN, extra_callbacks) -> tuple:
    """``(callbacks, initial epoch)``: the run folder's callbacks, ``gan`` restored from it.

    Without ``out_dir``: only ``extra_callbacks``, from epoch 0.
    """
    callbacks: list = []
    initial_epoch = 0
    if out_dir is not None:
        out = Path(out_dir)
        if not _distribute.is_chief():  # the other machines of a multi-worker run write aside
            out = out / f"worker_{_distribute.worker_index()}"
        out.mkdir(parents=True, exist_ok=True)
        checkpoint = _checkpoint.Checkpoint(out, config=config.to_dict())
        grid, columns = grid_of(config)
        initial_epoch = checkpoint.restore(gan)
        if initial_epoch:
            previous = _callbacks.read_history(out)
            for callback in extra_callbacks or []:
                if isinstance(callback, _callbacks.QualityCheck):
                    callback.resume_from(previous, initial_epoch=initial_epoch)
        callbacks += [
            _callbacks.SampleGrid(out / "samples", grid, ncols=columns),
            *(extra_callbacks or []),  # before LossHistory, so their logs are recorded
            _callbacks.LossHistory(out, initial_epoch=initial_epoch),
            _callbacks.TrainingGif(out / "samples", out / "training.gif"),
            _callbacks.SaveGenerator(out),  # generator.keras: plain Keras loads it
            checkpoint,  # last: everything the epoch wrote is in place before it is marked done
        ]
    else:
        callbacks += list(extra_callbacks or [])
    return callbacks, initial_epoch


def _fit(gan: _gan.GAN, config: TrainConfig, images, labels, *, steps, initial_epoch, callbacks):
    """``gan.fit`` from ``initial_epoch`` to ``config.epochs``; Keras' ``History``."""
    # Each epoch's order comes from the seed and the epoch alone, so a resumed run
    # sees the batches the uninterrupted run saw (the dataset repeats; fit counts steps).
    dataset = make_dataset(
        images,
        batch_size=config.batch_size,
        seed=config.seed,
        labels=labels,
        first_epoch=initial_epoch,
        epochs=None,
    )
    return gan.fit(
        dataset,
        epochs=config.epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=steps,
        callbacks=callbacks,
        verbose=0,
        shuffle=False,  # the tf.data pipeline shuffles
    )


def _integer(minimum: int, what: str):
    """An argparse type: a whole number of at least ``minimum``, named ``what`` in its error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"must be a {what} integer; got {text!r}")
        return value

    return parse


_positive_int = _integer(1, "positive")
_non_negative_int = _integer(0, "non-negative")


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m ganutils.train --profile cpu --out runs/mnist``.

    Says what it does with ``--out``: a fresh run, a resume from the epoch its
    checkpoint holds, or nothing when the run is already complete. A bad value
    (an argument, a batch larger than the data, a corrupt or foreign
    checkpoint) ends in one line on stderr and exit status 2.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _run_command(args)
    except ValueError as error:  # the package's own checks: bad data, checkpoint or option
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    """The command line's arguments."""
    parser = argparse.ArgumentParser(
        prog="python -m ganutils.train",
        description="Train the book's MNIST DCGAN; resumes when --out holds a checkpoint.",
    )
    parser.add_argument(
        "--profile",
        choices=list(_config.PROFILES),
        default=None,
        help="run profile (default: GANUTILS_PROFILE, else gpu/cpu by hardware)",
    )
    parser.add_argument(
        "--out", required=True, help="output folder (grids, GIF, history, checkpoints)"
    )
    parser.add_argument(
        "--epochs", type=_positive_int, default=None, help="override the profile's epochs"
    )
    parser.add_argument("--seed", type=_non_negative_int, default=42)
    parser.add_argument(
        "--batch-size",
        type=_positive_int,
        default=None,
        help="global batch (default: the profile's)",
    )
    parser.add_argument(
        "--strategy",
        choices=_distribute.STRATEGIES,
        default="default",
        help="one device, several GPUs (mirrored), a TPU, or several machines (TF_CONFIG)",
    )
    parser.add_argument("--precision", choices=_distribute.PRECISIONS, default="float32")
    parser.add_argument("--jit", action="store_true", help="compile the step with XLA")
    parser.add_argument(
        "--conditional",
        choices=_gan.CONDITIONING,
        default=None,
        help="draw the digit asked for: the label as input (channels) or AC-GAN (auxiliary)",
    )
    return parser


def _run_command(args) -> int:
    profile = _config.setup(seed=args.seed, profile=args.profile)
    _distribute.make_strategy(args.strategy)  # before TensorFlow runs anything else
    config = TrainConfig.for_profile(profile, **_overrides(args))
    out = Path(args.out)
    meta = _checkpoint.Checkpoint(out, config=config.to_dict()).read_meta()
    done = int(meta["epoch"]) if meta else 0
    if done >= config.epochs:
        print(
            f"the run in {out} is complete: {done} of {config.epochs} epochs are trained. "
            f"Outputs: {out / 'samples'}, {out / 'training.gif'}, {out / 'history.csv'}, "
            f"{out / _callbacks.GENERATOR_FILE}, "
            f"{out / _checkpoint.CHECKPOINT_FILE}. Pass a larger --epochs to train on."
        )
        return 0
    mnist = _data.load_mnist(limit=config.max_digits)
    print(profile)
    print(mnist.summary)
    if done:
        print(f"resuming from the checkpoint in {out}: epoch {done} of {config.epochs} is done")
    start = time.perf_counter()
    labels = mnist.labels if config.num_classes is not None else None
    _, history = train_mnist(config, out, images=_data.scale_images(mnist.images), labels=labels)
    seconds = time.perf_counter() - start
    finished = int(history["epoch"][-1]) if history.get("epoch") else done
    print(
        f"trained {_book.counted(finished - done, 'epoch')} ({done + 1} to {finished}) in "
        f"{seconds:.0f} s; {finished} of {config.epochs} done; outputs in {out}"
    )
    print(json.dumps({k: v[-1] for k, v in history.items() if v}, indent=1))
    return 0


def _overrides(args) -> dict:
    """The config fields the command line sets over the profile's recipe."""
    overrides = {
        "seed": args.seed,
        "strategy": args.strategy,
        "precision": args.precision,
        "jit_compile": args.jit,
    }
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    if args.batch_size is not None:
        overrides["batch_size"] = args.batch_size
    if args.conditional is not None:
        overrides.update(num_classes=10, conditioning=args.conditional)
    return overrides


if __name__ == "__main__":
    raise SystemExit(main())
