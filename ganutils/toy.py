"""Two-dimensional mixtures of Gaussians: GAN failures you can watch in seconds.

A generator that must place points on eight small blobs in a ring (or 25 on a
grid) shows every failure of a GAN in a scatter plot: which modes it found,
which it lost, whether its points sit on a mode or between them. The data sets
follow Metz et al. (2017) and Srivastava et al. (2017): eight Gaussians on a
circle of radius 2, and 25 on a 5 x 5 grid with spacing 2, each with standard
deviation 0.05 (Metz et al. use 0.02 for the ring; the wider blobs let a CPU
run of a few seconds find them, and change nothing else).

The models are small multi-layer perceptrons, and :func:`train_toy` trains them
with the same :class:`ganutils.gan.GAN` engine as the MNIST DCGAN, so every
option of the book's recipe (losses, label tricks, ``d_steps``, EMA) applies
here unchanged. A run of a few thousand steps takes seconds on a CPU.
"""

from __future__ import annotations

__all__ = [
    "MIXTURES",
    "RECIPE",
    "Snapshots",
    "ToyConfig",
    "build_discriminator",
    "build_generator",
    "build_toy_gan",
    "centers",
    "draw_points",
    "evaluate",
    "load_toy_gan",
    "mixture",
    "mixture_std",
    "plot_occupancy",
    "plot_snapshots",
    "train_toy",
]

import dataclasses
import os

import numpy as np
from matplotlib.figure import Figure

from . import config as _config

tf = _config.import_tensorflow()
import keras  # noqa: E402
from keras import layers  # noqa: E402

from . import gan as _gan  # noqa: E402
from . import options as _options  # noqa: E402
from .checkpoint import Checkpoint  # noqa: E402

MIXTURES = ("ring", "grid")
_STD = {"ring": 0.05, "grid": 0.05}


def _check_mixture(name: str) -> None:
    if name not in MIXTURES:
        raise ValueError(f"name must be one of {MIXTURES}; got {name!r}")


def centers(name: str) -> np.ndarray:
    """The mixture's mode centres: ``(k, 2)`` float32.

    ``"ring"``: 8 points on a circle of radius 2, the first at (2, 0).
    ``"grid"``: the 25 points of {-4, -2, 0, 2, 4}^2.
    """
    _check_mixture(name)
    if name == "ring":
        angles = 2 * np.pi * np.arange(8) / 8
        return np.stack([2 * np.cos(angles), 2 * np.sin(angles)], axis=1).astype(np.float32)
    ticks = np.arange(-4.0, 5.0, 2.0)
    return np.array([(x, y) for x in ticks for y in ticks], dtype=np.float32)


def mixture_std(name: str) -> float:
    """The standard deviation of each mode (0.05 for both mixtures)."""
    _check_mixture(name)
    return _STD[name]


def mixture(name: str, n: int, *, seed: int | np.random.Generator = 0) -> np.ndarray:
    """Draw ``n`` points from a mixture: ``(n, 2)`` float32, modes equally likely.

    Args:
        name: ``"ring"`` (8 modes) or ``"grid"`` (25 modes).
        n: Number of points.
        seed: An integer seed or a ``numpy.random.Generator``.

    Raises:
        ValueError: An unknown mixture or a non-positive ``n``.
    """
    _check_mixture(name)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    modes = centers(name)
    which = rng.integers(len(modes), size=n)
    points = modes[which] + rng.normal(0.0, _STD[name], size=(n, 2))
    return points.astype(np.float32)


def evaluate(samples: np.ndarray, name: str, *, sigmas: float = 3.0) -> dict:
    """Score 2-D samples against a mixture: modes covered and high-quality share.

    A sample is **high quality** when it lies within ``sigmas`` standard
    deviations of its nearest mode centre. A mode is **covered** when it holds
    at least a quarter of its fair share of the samples as high-quality ones
    (``n / (4 k)`` for ``k`` modes), so a few stray points do not count as a
    mode found. These are the measures of Srivastava et al. (2017).

    Args:
        samples: ``(n, 2)`` points (non-finite points count as low quality).
        name: The mixture the samples should match.
        sigmas: The high-quality radius in standard deviations.

    Returns:
        ``{"modes_covered": int, "modes": k, "high_quality": share in [0, 1],
        "mode_counts": (k,) int array of high-quality samples per mode}``.

    Raises:
        ValueError: Samples not of shape ``(n, 2)`` with ``n >= 1``, or a bad ``sigmas``.
    """
    points = np.asarray(samples, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"samples must have shape (n, 2) with n >= 1; got {points.shape}")
    if not sigmas > 0:
        raise ValueError(f"sigmas must be positive; got {sigmas!r}")
    modes = centers(name).astype(np.float64)
    finite = np.all(np.isfinite(points), axis=1)
    distances = np.linalg.norm(
        np.where(finite[:, None], points, 0.0)[:, None, :] - modes[None], axis=2
    )
    nearest = np.argmin(distances, axis=1)
    good = finite & (distances[np.arange(len(points)), nearest] <= sigmas * _STD[name])
    counts = np.bincount(nearest[good], minlength=len(modes))
    needed = len(points) / (4 * len(modes))
    return {
        "modes_covered": int(np.sum(counts >= needed)),
        "modes": len(modes),
        "high_quality": float(np.mean(good)),
        "mode_counts": counts,
    }


# -- Models -------------------------------------------------------------------------------


def _mlp(inputs, hidden: int, depth: int, activation, *, seed, dropout=0.0, l2=0.0):
    x = inputs
    regularizer = keras.regularizers.L2(l2) if l2 else None
    for index in range(depth):
        x = layers.Dense(
            hidden,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed + index),
            kernel_regularizer=regularizer,
        )(x)
        x = activation()(x)
        if dropout:
            x = layers.Dropout(dropout, seed=seed + index)(x)
    return x


def _check_size(hidden, depth) -> None:
    for name, value in (("hidden", hidden), ("depth", depth)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")


def build_generator(
    latent_dim: int = 16, *, hidden: int = 128, depth: int = 3, seed: int = 0
) -> keras.Model:
    """An MLP generator: ``(n, latent_dim)`` -> ``(n, 2)`` points, ReLU hidden layers.

    The output layer is linear: the points are not bounded like images.
    """
    _check_size(hidden, depth)
    latent = keras.Input((latent_dim,), name="latent")
    x = _mlp(latent, hidden, depth, layers.ReLU, seed=seed)
    points = layers.Dense(2, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 99))(x)
    return keras.Model(latent, points, name="toy_generator")


def build_discriminator(
    *,
    hidden: int = 128,
    depth: int = 3,
    dropout: float = 0.0,
    l2: float = 0.0,
    seed: int = 1000,
) -> keras.Model:
    """An MLP discriminator: ``(n, 2)`` points -> ``(n, 1)`` logits, LeakyReLU(0.2) hidden layers.

    Args:
        hidden: Units per hidden layer (a tiny ``hidden`` makes a weak discriminator).
        depth: Hidden layers.
        dropout: Dropout rate after each hidden layer.
        l2: L2 weight penalty on every hidden kernel (added to D's loss by the GAN).
        seed: Initialiser seed.
    """
    _check_size(hidden, depth)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must lie in [0, 1); got {dropout!r}")
    if not l2 >= 0.0:
        raise ValueError(f"l2 must be non-negative; got {l2!r}")
    points = keras.Input((2,), name="points")
    x = _mlp(
        points,
        hidden,
        depth,
        lambda: layers.LeakyReLU(negative_slope=0.2),
        seed=seed,
        dropout=dropout,
        l2=l2,
    )
    logit = layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 99))(x)
    return keras.Model(points, logit, name="toy_discriminator")


# -- Training -----------------------------------------------------------------------------


#: Where the toy's engine options differ from :class:`ganutils.options.GANOptions`' defaults.
RECIPE = {
    # A 16-dimensional latent vector: plenty for 2-D points (GANOptions has no default).
    "latent_dim": 16,
    # Every run is seeded: its weights, data and steps come from this.
    "seed": 0,
}


# Where the engine's options stand among the toy's own fields: latent_dim where it always
# stood, the others after clipnorm, so the fields ToyConfig had before it carried them keep
# their order (seed, GANOptions' last, stays last).
_PLACES = {"latent_dim": "batch_size", "latent_distribution": "clipnorm"}


@dataclasses.dataclass(frozen=True)
@_options.option_fields(RECIPE, types={"seed": "int"}, after=_PLACES)
@_options.option_fields(
    {"learning_rate": 1e-3, "beta_1": 0.0},  # no momentum: see the class's docstring
    source=_options.OptimizerOptions,
    after={"learning_rate": "depth"},
)
class ToyConfig:
    """A toy run: data set, model sizes, optimiser, length and the engine's options.

    ``steps`` counts generator updates; they run in ``steps // check_every``
    Keras epochs of ``check_every`` steps, so callbacks (snapshots, the
    training monitor, checkpoints) act every ``check_every`` steps.

    Besides the fields declared here, every option of the engine
    (``generator_loss``, ``d_steps``, ``loss``, ``ema_decay``, ``latent_dim``,
    ``seed``, ...: each field of :class:`ganutils.options.GANOptions`) is a
    field of this config under the same name, with GANOptions' type, default
    and documentation, except for the defaults in :data:`RECIPE`;
    :func:`ganutils.options.option_fields` adds them, as it does to
    :class:`ganutils.train.TrainConfig`. So
    ``ToyConfig(generator_loss="minimax", d_steps=5)`` is a whole run.

    The defaults are the healthy baseline of the failure chapter: it covers
    all 8 ring modes in about 1,000 steps. Its Adam runs without momentum
    (``beta_1=0``, as StyleGAN2 and BigGAN do): with DCGAN's ``beta_1=0.5``
    the same toy GAN hops between a few modes for thousands of steps (shown
    in the chapter).
    """

    mixture: str = "ring"
    steps: int = 2000
    check_every: int = 100
    batch_size: int = 256
    g_hidden: int = 128
    d_hidden: int = 128
    depth: int = 3
    d_dropout: float = 0.0
    d_l2: float = 0.0
    clipnorm: float | None = None

    def __post_init__(self):
        _check_mixture(self.mixture)
        for name in ("steps", "check_every", "batch_size", "g_hidden", "d_hidden"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if self.steps % self.check_every:
            raise ValueError(
                f"steps ({self.steps}) must be a multiple of check_every ({self.check_every})"
            )
        if self.clipnorm is not None and not self.clipnorm > 0:
            raise ValueError(f"clipnorm must be positive; got {self.clipnorm!r}")
        _options.OptimizerOptions.of(self)  # the rates, betas and optimizer
        self.gan_options()  # the engine's own check of its options

    def gan_options(self) -> _gan.GANOptions:
        """The engine's options for this run, validated by :class:`ganutils.gan.GANOptions`.

        Raises:
            ValueError: An option the engine refuses, named.
        """
        return _options.GANOptions.of(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def build_toy_gan(
    config: ToyConfig,
    *,
    generator: keras.Model | None = None,
    discriminator: keras.Model | None = None,
    d_optimizer: keras.optimizers.Optimizer | None = None,
    g_optimizer: keras.optimizers.Optimizer | None = None,
):
    """A compiled :class:`ganutils.gan.GAN` of the toy MLPs (or of the models given).

    Args:
        config: The run's configuration, the engine's options among its
            fields (for example ``ToyConfig(generator_loss="minimax", d_steps=5)``).
        generator, discriminator: Models to use instead of the config's MLPs.
        d_optimizer, g_optimizer: Optimizers to use instead of the config's
            (its ``optimizer``, learning rates, betas and ``clipnorm``).
    """
    generator = generator or build_generator(
        config.latent_dim, hidden=config.g_hidden, depth=config.depth, seed=config.seed
    )
    discriminator = discriminator or build_discriminator(
        hidden=config.d_hidden,
        depth=config.depth,
        dropout=config.d_dropout,
        l2=config.d_l2,
        seed=config.seed + 1000,
    )
    gan = _gan.GAN(generator, discriminator, config.gan_options())

    def optimizer(rate):
        return _gan.make_optimizer(
            config.optimizer,
            rate,
            beta_1=config.beta_1,
            beta_2=config.beta_2,
            clipnorm=config.clipnorm,
        )

    gan.compile(
        d_optimizer=d_optimizer or optimizer(config.d_learning_rate or config.learning_rate),
        g_optimizer=g_optimizer or optimizer(config.learning_rate),
    )
    return gan


# The fields ToyConfig had before it carried the engine's options: a checkpoint keeps
# them at the top of its saved configuration, and the options apart.
_SAVED_AT_TOP = ("latent_dim", "seed")


def _checkpoint(out_dir, config: ToyConfig):
    saved = config.to_dict()
    # ``steps`` may grow on resume (a finished run extended), like ``epochs`` on MNIST.
    del saved["steps"]
    # ToyConfig gained ``optimizer`` after checkpoints were first written; Adam was
    # the only choice then, so it is left out of the saved config and they still load.
    if saved["optimizer"] == "adam":
        del saved["optimizer"]
    # The engine's options are saved as they were when they came apart from the config,
    # a dict of the ones that differ from the toy's defaults, so those checkpoints load.
    defaults = {field.name: field.default for field in dataclasses.fields(ToyConfig)}
    options = {
        name: saved.pop(name) for name in _options.GANOptions.names() if name not in _SAVED_AT_TOP
    }
    changed = {name: value for name, value in options.items() if value != defaults[name]}
    return Checkpoint(out_dir, config={**saved, "gan_options": changed})


def load_toy_gan(out_dir, config: ToyConfig, **models):
    """Rebuild a toy run's GAN from the checkpoint in ``out_dir``: ``(gan, epochs_done)``.

    Args:
        out_dir: The run's folder.
        config: The run's :class:`ToyConfig`.
        models: The ``generator``, ``discriminator``, ``d_optimizer`` or
            ``g_optimizer`` the run was given (:func:`build_toy_gan`); its own
            optimizers must be given again as new ones of the same kind (their
            state is restored too).

    Raises:
        ValueError: No checkpoint there, or one of another configuration or models.
    """
    checkpoint = _checkpoint(out_dir, config)
    if checkpoint.read_meta() is None:
        raise ValueError(f"out_dir holds no checkpoint: {checkpoint.path} does not exist")
    gan = build_toy_gan(config, **models)
    return gan, checkpoint.restore(gan)


class Snapshots(keras.callbacks.Callback):
    """Keep the generator's points for one fixed latent batch after every epoch.

    ``snapshots.steps[i]`` generator steps had run when ``snapshots.points[i]``
    (``(n, 2)``) was drawn; ``snapshots.scores[i]`` is its :func:`evaluate`
    result. The points come from the sampling generator (the moving average
    when the GAN keeps one).

    Args:
        mixture: The data set's name, for scoring.
        latents: ``(n, latent_dim)`` fixed latents.
        steps_per_epoch: Generator steps per Keras epoch.
        initial_step: Steps already done (a resumed run).
    """

    def __init__(
        self, mixture: str, latents: np.ndarray, *, steps_per_epoch: int, initial_step: int = 0
    ):
        super().__init__()
        _check_mixture(mixture)
        self.mixture = mixture
        self.latents = np.asarray(latents, dtype=np.float32)
        self.steps_per_epoch = int(steps_per_epoch)
        self.initial_step = int(initial_step)
        self.steps: list[int] = []
        self.points: list[np.ndarray] = []
        self.scores: list[dict] = []

    def record(self, step: int) -> None:
        points = np.asarray(self.model.sampler(self.latents, training=False))
        self.steps.append(int(step))
        self.points.append(points)
        self.scores.append(evaluate(points, self.mixture))

    def on_train_begin(self, logs=None):
        if not self.steps:
            self.record(self.initial_step)

    def on_epoch_end(self, epoch, logs=None):
        self.record((epoch + 1) * self.steps_per_epoch)
        if logs is not None:
            logs["modes_covered"] = self.scores[-1]["modes_covered"]
            logs["high_quality"] = self.scores[-1]["high_quality"]


def train_toy(
    config: ToyConfig,
    *,
    callbacks: list | None = None,
    samples: int = 1000,
    out_dir: str | os.PathLike | None = None,
    **models,
):
    """Train a GAN on a 2-D mixture; return ``(gan, history, snapshots)``.

    The real points are a fixed pool of ``check_every * batch_size`` draws
    (seeded by ``config.seed``), reshuffled every epoch.

    Args:
        config: The run's :class:`ToyConfig`, the engine's options among its fields.
        callbacks: More Keras callbacks (a :class:`ganutils.diagnostics.TrainingMonitor`,
            a :class:`ganutils.checkpoint.Checkpoint`, ...).
        samples: Points per snapshot.
        out_dir: Keep a :class:`ganutils.checkpoint.Checkpoint` here after
            every epoch and resume from it when it holds one (of the same
            configuration; anything else raises ``ValueError``).
            The checkpoint callback runs after ``callbacks``, so a monitor that
            stops a diverged run does so before its weights could be saved.
        models: ``generator``, ``discriminator``, ``d_optimizer`` or
            ``g_optimizer`` instead of the config's (see :func:`build_toy_gan`).

    Returns:
        The GAN, the Keras history dict (per epoch of ``check_every`` steps:
        the running means of the losses, D outputs and gradient norms, plus
        ``modes_covered`` and ``high_quality``), and the :class:`Snapshots`.
    """
    _config.seed_everything(config.seed)
    gan = build_toy_gan(config, **models)
    rng = np.random.default_rng(config.seed)
    pool = mixture(config.mixture, config.check_every * config.batch_size, seed=rng)
    dataset = (
        tf.data.Dataset.from_tensor_slices(pool)
        .shuffle(len(pool), seed=config.seed, reshuffle_each_iteration=True)
        .batch(config.batch_size, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )
    latents = rng.normal(size=(samples, config.latent_dim)).astype(np.float32)
    callbacks = list(callbacks or [])
    initial_epoch = 0
    if out_dir is not None:
        checkpoint = _checkpoint(out_dir, config)
        os.makedirs(out_dir, exist_ok=True)
        initial_epoch = checkpoint.restore(gan)
        callbacks.append(checkpoint)
    snapshots = Snapshots(
        config.mixture,
        latents,
        steps_per_epoch=config.check_every,
        initial_step=initial_epoch * config.check_every,
    )
    history = gan.fit(
        dataset,
        epochs=config.steps // config.check_every,
        initial_epoch=initial_epoch,
        callbacks=[snapshots, *callbacks],
        verbose=0,
        shuffle=False,  # the tf.data pipeline shuffles
    )
    return gan, history.history, snapshots


# -- Plots --------------------------------------------------------------------------------


def draw_points(
    axis, points, mixture: str, *, title: str, margin: float = 1.5, fontsize: int = 8
) -> None:
    """One panel: 2-D ``points`` (blue dots) over the mixture's mode centres (red crosses).

    The panel is square, without ticks, and reaches ``margin`` beyond the
    outermost centre; ``title`` is set in ``fontsize``.
    """
    points = np.asarray(points)
    modes = centers(mixture)
    reach = float(np.abs(modes).max()) + margin
    axis.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4, color="tab:blue")
    axis.scatter(modes[:, 0], modes[:, 1], s=30, marker="x", color="tab:red")
    axis.set_xlim(-reach, reach)
    axis.set_ylim(-reach, reach)
    axis.set_aspect("equal")
    axis.set_xticks([])
    axis.set_yticks([])
    axis.set_xlabel("x", fontsize=8)
    axis.set_ylabel("y", fontsize=8)
    axis.set_title(title, fontsize=fontsize)


def plot_snapshots(snapshots: Snapshots, *, count: int = 6, title: str | None = None):
    """Scatter the generator's points at ``count`` evenly spaced snapshots, modes marked.

    Returns:
        The matplotlib ``Figure``: one panel per snapshot, titled with its
        step, modes covered and high-quality share.
    """
    if not snapshots.points:
        raise ValueError("snapshots holds no points yet: train first")
    picks = np.unique(np.linspace(0, len(snapshots.points) - 1, count).round().astype(int))
    figure = Figure(figsize=(2.2 * len(picks), 2.6))
    axes = figure.subplots(1, len(picks), squeeze=False)
    for axis, index in zip(axes[0], picks, strict=True):
        score = snapshots.scores[index]
        draw_points(
            axis,
            snapshots.points[index],
            snapshots.mixture,
            title=f"step {snapshots.steps[index]}\n{score['modes_covered']}/{score['modes']} "
            f"modes, {score['high_quality']:.0%} hq",
        )
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure


def plot_occupancy(snapshots: Snapshots, *, title: str | None = None):
    """Show which modes the generator occupies over training: modes x snapshots.

    Each cell is the share of the snapshot's samples that sit on that mode
    (within 3 standard deviations). A collapsing generator shows as a bright
    cell that jumps from row to row: the chase from mode to mode.
    """
    if not snapshots.points:
        raise ValueError("snapshots holds no points yet: train first")
    shares = np.stack(
        [
            s["mode_counts"] / len(p)
            for s, p in zip(snapshots.scores, snapshots.points, strict=True)
        ],
        axis=1,
    )
    figure = Figure(figsize=(7, 0.25 * len(shares) + 1.2))
    axis = figure.subplots()
    image = axis.imshow(shares, aspect="auto", cmap="magma", vmin=0, vmax=max(shares.max(), 1e-9))
    ticks = np.unique(np.linspace(0, len(snapshots.steps) - 1, 6).round().astype(int))
    axis.set_xticks(ticks, [snapshots.steps[i] for i in ticks])
    axis.set_xlabel("generator step")
    axis.set_ylabel("mode")
    figure.colorbar(image, ax=axis, label="share of samples")
    if title:
        axis.set_title(title, fontsize=10)
    figure.tight_layout()
    return figure
