"""Stabilisers beyond the basics: the pieces, each usable on its own.

:class:`ganutils.train.GAN` switches these on by option (``loss="wgan_gp"``,
``instance_noise=(0.1, 2000)``, ``augment="both"``, ``feature_matching=True``);
:mod:`ganutils.models` builds them into the networks (``spectral_norm=True``,
``minibatch_stddev=True``, ``l1``/``l2``, ``noise``). This module holds the
parts themselves, so a chapter can call each one on a tiny input and a test
can check the property it promises:

- the Wasserstein losses (Arjovsky et al. 2017) with weight clipping
  (:func:`clip_weights`) or the gradient penalty (:func:`gradient_penalty`,
  Gulrajani et al. 2017);
- instance noise annealed to zero (:func:`instance_noise_std`, Sønderby et al.
  2017; Arjovsky and Bottou 2017);
- differentiable augmentation (:func:`diff_augment`, Zhao et al. 2020);
- minibatch standard deviation (:class:`MinibatchStddev`, Karras et al. 2018);
- feature matching (:func:`feature_extractor`, :func:`feature_matching_loss`,
  Salimans et al. 2016);
- model rewrites for networks built elsewhere (:func:`spectral_normalize`,
  :func:`add_layer_noise`, :func:`add_minibatch_stddev`);
- the comparison behind the chapter's closing table (:func:`compare_toy`,
  :func:`summarise`, :func:`markdown_table`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from . import config as _config

tf = _config._import_tensorflow()
import keras  # noqa: E402
from keras import layers, ops  # noqa: E402

__all__ = [
    "AUGMENT_POLICIES",
    "MinibatchStddev",
    "StepTimer",
    "Variant",
    "add_instance_noise",
    "add_layer_noise",
    "add_minibatch_stddev",
    "border_ink",
    "clip_weights",
    "compare_mnist",
    "compare_toy",
    "diff_augment",
    "feature_extractor",
    "feature_matching_loss",
    "gradient_penalty",
    "instance_noise_std",
    "interpolate",
    "largest_singular_value",
    "markdown_table",
    "plot_points",
    "spectral_normalize",
    "summarise",
    "wasserstein_critic_loss",
    "wasserstein_generator_loss",
]

AUGMENT_POLICIES = ("color", "translation", "cutout")
_BACKGROUND = -1.0  # the value of an empty MNIST pixel in [-1, 1]


def _check_positive_float(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not value > 0:
        raise ValueError(f"{name} must be a positive number; got {value!r}")
    return float(value)


# -- Wasserstein losses, clipping and the gradient penalty -------------------------------


def wasserstein_critic_loss(real_scores, fake_scores):
    """The critic's WGAN loss: ``mean(D(fake)) - mean(D(real))`` (Arjovsky et al. 2017).

    Minimising it pushes real scores up and fake scores down; its negative
    estimates the Wasserstein-1 distance when the critic is 1-Lipschitz.
    Scores are raw critic outputs ``(n, 1)``, no sigmoid.
    """
    return ops.mean(fake_scores) - ops.mean(real_scores)


def wasserstein_generator_loss(fake_scores):
    """The generator's WGAN loss: ``-mean(D(G(z)))``."""
    return -ops.mean(fake_scores)


def clip_weights(model: keras.Model, bound: float) -> None:
    """Clip every trainable weight of ``model`` into ``[-bound, bound]``, in place.

    The original WGAN keeps its critic Lipschitz this way, with ``bound=0.01``
    after every critic update. Old Keras 2 examples do it with a
    ``keras.constraints`` subclass passed as ``kernel_constraint``, which leaves
    biases unclipped; this clips all trainable weights, as the paper does.

    Raises:
        ValueError: ``bound`` is not a positive number.
    """
    bound = _check_positive_float("bound", bound)
    for variable in model.trainable_variables:
        variable.assign(ops.clip(variable, -bound, bound))


def interpolate(real, fake, *, seed=None):
    """Points on the lines between real and fake samples, as WGAN-GP samples them.

    ``x = eps * real + (1 - eps) * fake`` with one ``eps ~ U[0, 1]`` per sample
    (Gulrajani et al. 2017, Algorithm 1). The Keras WGAN-GP example draws
    ``eps`` from a normal distribution instead, which puts many points outside
    the segment.

    Args:
        real, fake: Batches of the same shape ``(n, ...)``.
        seed: An int or ``keras.random.SeedGenerator``.

    Returns:
        ``(mixed, eps)``: ``mixed`` of the inputs' shape, ``eps`` of shape
        ``(n, 1, ..., 1)`` in [0, 1].
    """
    real = ops.convert_to_tensor(real)
    fake = ops.convert_to_tensor(fake)
    if tuple(real.shape) != tuple(fake.shape):
        raise ValueError(
            f"real and fake must have the same shape; got {real.shape} and {fake.shape}"
        )
    shape = (ops.shape(real)[0],) + (1,) * (len(real.shape) - 1)
    eps = keras.random.uniform(shape, 0.0, 1.0, dtype=real.dtype, seed=seed)
    return eps * real + (1.0 - eps) * fake, eps


def gradient_penalty(
    critic: Callable, real, fake, *, seed=None, epsilon: float = 1e-12, training: bool = True
):
    """The WGAN-GP penalty ``mean((||grad_x D(x)||_2 - 1)^2)`` on interpolates.

    The norm is computed as ``sqrt(sum(g^2) + epsilon)``: at a zero gradient the
    plain square root has an infinite derivative, which turns the critic's
    update into NaNs (the Keras example's ``tf.sqrt(tf.reduce_sum(...))`` can
    hit this). The critic must treat samples independently, so no batch
    normalisation in it: the paper uses layer normalisation or none.

    Args:
        critic: Maps ``(n, ...)`` inputs to ``(n, 1)`` scores.
        real, fake: Batches of the same shape.
        seed: Seed of the interpolation weights (see :func:`interpolate`).
        epsilon: Added under the square root.
        training: Passed to the critic.

    Returns:
        A scalar; 0 exactly when the gradient has unit norm at every interpolate.
    """
    mixed, _ = interpolate(real, fake, seed=seed)
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        scores = critic(mixed, training=training)
    gradients = tape.gradient(scores, mixed)
    axes = list(range(1, len(mixed.shape)))
    norms = ops.sqrt(ops.sum(ops.square(gradients), axis=axes) + epsilon)
    return ops.mean(ops.square(norms - 1.0))


# -- Instance noise -----------------------------------------------------------------------


def instance_noise_std(step, initial: float, anneal_steps: int):
    """The instance-noise standard deviation at ``step``: a linear decay to zero.

    ``std(step) = initial * max(0, 1 - step / anneal_steps)``: ``initial`` at
    step 0, half of it at ``anneal_steps / 2``, and 0 from ``anneal_steps`` on.
    Noise blurs real and fake distributions into overlap early on, so the
    discriminator cannot separate them perfectly and the generator's gradients
    do not vanish (Arjovsky and Bottou 2017; Sønderby et al. 2017); it must go
    away so the generator is finally judged on clean images.

    Args:
        step: Generator steps so far (int or scalar tensor).
        initial: Standard deviation at step 0 (in the data's units: 0.1 is 5%
            of the [-1, 1] image range).
        anneal_steps: Steps until the noise reaches zero.

    Raises:
        ValueError: ``initial`` not positive, or ``anneal_steps`` not a positive integer.
    """
    initial = _check_positive_float("initial", initial)
    if (
        isinstance(anneal_steps, bool)
        or not isinstance(anneal_steps, (int, np.integer))
        or anneal_steps < 1
    ):
        raise ValueError(f"anneal_steps must be a positive integer; got {anneal_steps!r}")
    progress = ops.cast(step, "float32") / float(anneal_steps)
    return initial * ops.maximum(0.0, 1.0 - progress)


def add_instance_noise(images, std, *, seed=None):
    """``images + N(0, std^2)`` noise, same shape and dtype (no clipping)."""
    images = ops.convert_to_tensor(images)
    return images + ops.cast(std, images.dtype) * keras.random.normal(
        ops.shape(images), dtype=images.dtype, seed=seed
    )


# -- Differentiable augmentation ---------------------------------------------------------


def _parse_policy(policy: str) -> list[str]:
    if not isinstance(policy, str):
        raise ValueError(f"policy must be a comma-separated string; got {policy!r}")
    parts = [part.strip() for part in policy.split(",") if part.strip()]
    for part in parts:
        if part not in AUGMENT_POLICIES:
            raise ValueError(
                f"policy must name augmentations from {AUGMENT_POLICIES}; got {part!r}"
            )
    return parts


def _color(images, seed):
    n = ops.shape(images)[0]
    brightness = keras.random.uniform((n, 1, 1, 1), -0.25, 0.25, seed=seed)
    contrast = keras.random.uniform((n, 1, 1, 1), 0.5, 1.5, seed=seed)
    mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
    return ops.clip((images - mean) * contrast + mean + brightness, -1.0, 1.0)


def _translation(images, seed, ratio=0.125):
    n, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]
    pad_h, pad_w = max(1, round(height * ratio)), max(1, round(width * ratio))
    shift_y = keras.random.randint((n, 1), -pad_h, pad_h + 1, seed=seed)
    shift_x = keras.random.randint((n, 1), -pad_w, pad_w + 1, seed=seed)
    padded = tf.pad(
        images, [[0, 0], [pad_h, pad_h], [pad_w, pad_w], [0, 0]], constant_values=_BACKGROUND
    )
    rows = ops.arange(height)[None, :] + pad_h - shift_y  # (n, height)
    cols = ops.arange(width)[None, :] + pad_w - shift_x
    shifted = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(shifted, cols, axis=2, batch_dims=1)


def _cutout(images, seed, ratio=0.5):
    n, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]
    size_h, size_w = round(height * ratio), round(width * ratio)
    top = keras.random.randint((n, 1, 1), 0, height - size_h + 1, seed=seed)
    left = keras.random.randint((n, 1, 1), 0, width - size_w + 1, seed=seed)
    rows = ops.arange(height)[None, :, None]
    cols = ops.arange(width)[None, None, :]
    inside = (rows >= top) & (rows < top + size_h) & (cols >= left) & (cols < left + size_w)
    keep = ops.cast(~inside, images.dtype)[..., None]
    return images * keep + _BACKGROUND * (1.0 - keep)


def diff_augment(images, policy: str = "color,translation,cutout", *, seed=None):
    """Differentiable augmentation of image batches (Zhao et al. 2020).

    Every operation is built from tensor arithmetic and gathers, so gradients
    flow through it back into the generator: that is what makes it safe to
    apply to the fake images a generator is trained through.

    - ``"color"``: per image, contrast scaled by U[0.5, 1.5] around the
      image's mean and brightness shifted by U[-0.25, 0.25], then clipped to
      [-1, 1];
    - ``"translation"``: per image, a shift of up to 1/8 of the height and
      width (3 pixels at 28 x 28), filled with the background value -1;
    - ``"cutout"``: per image, a square of half the height and width set to -1.

    Args:
        images: ``(n, h, w, c)`` float32 in [-1, 1].
        policy: Comma-separated names from :data:`AUGMENT_POLICIES`, applied in order.
        seed: An int or ``keras.random.SeedGenerator``.

    Returns:
        ``(n, h, w, c)`` float32, still in [-1, 1].

    Raises:
        ValueError: An unknown policy name, or images not of rank 4.
    """
    parts = _parse_policy(policy)
    images = ops.convert_to_tensor(images)
    if len(images.shape) != 4:
        raise ValueError(f"images must have shape (n, h, w, c); got {images.shape}")
    if seed is None or isinstance(seed, int):
        seed = keras.random.SeedGenerator(seed)
    apply = {"color": _color, "translation": _translation, "cutout": _cutout}
    for part in parts:
        images = apply[part](images, seed)
    return images


# -- Minibatch standard deviation --------------------------------------------------------


@keras.saving.register_keras_serializable(package="ganutils")
class MinibatchStddev(layers.Layer):
    """Append the batch's average feature standard deviation as one more feature.

    Karras et al. (2018): compute each feature's standard deviation over the
    batch, average them to one number, and append it as a constant channel
    (images ``(n, h, w, c)`` -> ``(n, h, w, c + 1)``) or feature (vectors
    ``(n, d)`` -> ``(n, d + 1)``). A collapsed generator makes batches with
    almost no variety; this number lets the discriminator see that and reject
    them, a cheap form of Salimans et al.'s minibatch discrimination.

    Args:
        epsilon: Added to the variance before the square root.
    """

    def __init__(self, epsilon: float = 1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, inputs):
        variance = ops.var(inputs, axis=0, keepdims=True)
        stddev = ops.mean(ops.sqrt(variance + self.epsilon))
        return ops.concatenate([inputs, ops.ones_like(inputs[..., :1]) * stddev], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


# -- Feature matching ---------------------------------------------------------------------


def feature_extractor(discriminator: keras.Model) -> keras.Model:
    """A model sharing ``discriminator``'s weights that returns the input of its last layer.

    For the book's discriminators that is the flattened features the logit is
    computed from. Feature matching (Salimans et al. 2016) trains the
    generator to match the mean of these features on real data instead of
    maximising the discriminator's output.

    Raises:
        ValueError: ``discriminator`` is not a functional model with an input.
    """
    try:
        features = discriminator.layers[-1].input
        return keras.Model(discriminator.input, features, name="features")
    except (AttributeError, ValueError) as error:
        raise ValueError(
            f"discriminator must be a functional keras.Model; got {type(discriminator).__name__}"
        ) from error


def feature_matching_loss(real_features, fake_features):
    """``mean_j (E[f_j(real)] - E[f_j(fake)])^2``: the squared distance of feature means."""
    real_mean = ops.mean(ops.reshape(real_features, (ops.shape(real_features)[0], -1)), axis=0)
    fake_mean = ops.mean(ops.reshape(fake_features, (ops.shape(fake_features)[0], -1)), axis=0)
    return ops.mean(ops.square(ops.stop_gradient(real_mean) - fake_mean))


# -- Rewriting models built elsewhere -----------------------------------------------------

_KERNEL_LAYERS = (layers.Dense, layers.Conv2D, layers.Conv2DTranspose)


def spectral_normalize(model: keras.Model, *, power_iterations: int = 1) -> keras.Model:
    """A copy of ``model`` with every Dense and convolution wrapped in ``SpectralNormalization``.

    Miyato et al. (2018): dividing each weight matrix by its largest singular
    value (estimated by power iteration, refreshed at every training call)
    makes each layer 1-Lipschitz, which bounds how sharply the discriminator
    can change. The copy has freshly initialised weights.
    """

    def wrap(layer):
        clone = layer.__class__.from_config(layer.get_config())
        if isinstance(layer, _KERNEL_LAYERS):
            return layers.SpectralNormalization(clone, power_iterations=power_iterations)
        return clone

    return keras.models.clone_model(model, clone_function=wrap, recursive=True)


def largest_singular_value(layer) -> float:
    """The largest singular value of a layer's kernel reshaped to ``(-1, out)``.

    Accepts a ``SpectralNormalization`` wrapper (reads its inner layer) or any
    layer with a ``kernel``.
    """
    inner = getattr(layer, "layer", layer)
    kernel = inner.kernel.numpy()
    return float(np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0])


def add_layer_noise(
    generator: keras.Model, stddev: float, *, seed: int | None = None
) -> keras.Model:
    """A copy of ``generator`` with ``GaussianNoise(stddev)`` after every hidden activation.

    Noise in the generator's layers (ganhacks #13; Zhao et al. 2017 for
    layer-wise noise) is active only in training calls, so sampling stays
    deterministic. The copy shares no weights with the original.
    """
    stddev = _check_positive_float("stddev", stddev)
    counter = iter(range(10_000))

    def call(layer, *args, **kwargs):
        outputs = layer(*args, **kwargs)
        if isinstance(layer, (layers.ReLU, layers.LeakyReLU)):
            index = next(counter)
            noise_seed = None if seed is None else seed + index
            return layers.GaussianNoise(stddev, seed=noise_seed)(outputs)
        return outputs

    return keras.models.clone_model(generator, call_function=call)


def add_minibatch_stddev(discriminator: keras.Model, *, seed: int = 0) -> keras.Model:
    """``discriminator`` (shared weights) with :class:`MinibatchStddev` before a new logit layer."""
    features = feature_extractor(discriminator)
    inputs = keras.Input(discriminator.inputs[0].shape[1:])
    x = MinibatchStddev()(features(inputs))
    if len(x.shape) > 2:
        x = layers.Flatten()(x)
    logit = layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed=seed))(x)
    return keras.Model(inputs, logit, name=f"{discriminator.name}_mbstd")


# -- Comparing stabilisers on the same footing --------------------------------------------


@dataclasses.dataclass(frozen=True)
class Variant:
    """One arm of a comparison: what to change relative to the baseline.

    Attributes:
        name: Row label.
        targets: The failure the stabiliser targets (for the table).
        gan_options: Extra ``GAN(...)`` options (``{"loss": "wgan_gp", "d_steps": 5}``).
        config: ``ToyConfig`` field overrides (``{"d_dropout": 0.5}``).
        generator: ``(config) -> model`` replacing the default generator, or ``None``.
        discriminator: ``(config) -> model`` replacing the default discriminator, or ``None``.
        optimizer: ``"adam"`` or ``"rmsprop"`` for both networks.
    """

    name: str
    targets: str = ""
    gan_options: Mapping = dataclasses.field(default_factory=dict)
    config: Mapping = dataclasses.field(default_factory=dict)
    generator: Callable | None = None
    discriminator: Callable | None = None
    optimizer: str = "adam"


def _toy_run(variant: Variant, base, seed: int, sigmas: float) -> dict:
    from . import toy

    config = dataclasses.replace(base, seed=seed, **dict(variant.config))
    kwargs = {}
    if variant.generator is not None:
        kwargs["generator"] = variant.generator(config)
    if variant.discriminator is not None:
        kwargs["discriminator"] = variant.discriminator(config)
    if variant.optimizer == "rmsprop":
        kwargs["d_optimizer"] = keras.optimizers.RMSprop(
            config.d_learning_rate or config.learning_rate
        )
        kwargs["g_optimizer"] = keras.optimizers.RMSprop(config.learning_rate)
    elif variant.optimizer != "adam":
        raise ValueError(f"optimizer must be 'adam' or 'rmsprop'; got {variant.optimizer!r}")
    timer = StepTimer()
    start = time.perf_counter()
    _, _, snapshots = toy.train_toy(
        config, gan_options=dict(variant.gan_options), callbacks=[timer], **kwargs
    )
    seconds = time.perf_counter() - start
    points = snapshots.points[-1]
    score = toy.evaluate(points, config.mixture, sigmas=sigmas)
    return {
        "modes_covered": score["modes_covered"],
        "high_quality": score["high_quality"],
        "seconds": seconds,
        "step_ms": timer.median_ms(),
        "points": points,
    }


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


def compare_toy(
    variants: Sequence[Variant], base, *, seeds: Sequence[int] = (0, 1, 2), sigmas: float = 3.0
) -> dict[str, list[dict]]:
    """Train every variant on the same toy mixture for each seed; return the raw results.

    Args:
        variants: The arms, the baseline among them.
        base: The shared :class:`ganutils.toy.ToyConfig` (its ``seed`` is replaced).
        seeds: One run per seed and variant.
        sigmas: The high-quality radius of :func:`ganutils.toy.evaluate`, in
            mode standard deviations.

    Returns:
        ``{variant name: [one dict per seed with modes_covered, high_quality,
        seconds (the whole run), step_ms (median time of one training step)
        and points (the final (n, 2) samples)]}``.
    """
    if len(seeds) < 1:
        raise ValueError("seeds must name at least one seed")
    names = [variant.name for variant in variants]
    if len(set(names)) != len(names):
        raise ValueError(f"variants must have distinct names; got {names}")
    return {
        variant.name: [_toy_run(variant, base, int(seed), sigmas) for seed in seeds]
        for variant in variants
    }


def summarise(
    results: Mapping[str, Sequence[Mapping]],
    *,
    baseline: str,
    metrics: Sequence[str] = ("modes_covered", "high_quality"),
    cost: str = "step_ms",
) -> list[dict]:
    """Mean and standard deviation over seeds per variant, and cost relative to the baseline.

    Returns:
        One dict per variant: ``name``, ``seeds``, ``<metric>_mean``,
        ``<metric>_std`` (population std over seeds), ``<metric>_delta``
        (mean minus the baseline's mean), and ``cost_ratio`` (median
        ``cost`` over the baseline's).

    Raises:
        ValueError: ``baseline`` is not among the results.
    """
    if baseline not in results:
        raise ValueError(f"baseline must be one of {list(results)}; got {baseline!r}")
    base_cost = float(np.mean([run[cost] for run in results[baseline]]))
    base_means = {
        metric: float(np.mean([run[metric] for run in results[baseline]])) for metric in metrics
    }
    rows = []
    for name, runs in results.items():
        row = {"name": name, "seeds": len(runs)}
        for metric in metrics:
            values = np.array([run[metric] for run in runs], dtype=float)
            row[f"{metric}_mean"] = float(values.mean())
            row[f"{metric}_std"] = float(values.std())
            row[f"{metric}_delta"] = float(values.mean()) - base_means[metric]
        row["cost_ratio"] = float(np.mean([run[cost] for run in runs])) / base_cost
        rows.append(row)
    return rows


def markdown_table(
    rows: Sequence[Mapping],
    *,
    targets: Mapping[str, str] | None = None,
    metrics: Mapping[str, tuple[str, str]] | None = None,
) -> str:
    """The closing table as Markdown: stabiliser, failure targeted, cost, effect.

    Each effect cell reads ``mean ± std (delta vs baseline)`` over the seeds.

    Args:
        rows: From :func:`summarise`.
        targets: Variant name -> the failure it targets.
        metrics: Metric key -> ``(column title, format spec)``; default
            ``{"modes_covered": ("modes covered", ".1f"), "high_quality":
            ("high quality", ".0%")}``.
    """
    metrics = metrics or {
        "modes_covered": ("modes covered", ".1f"),
        "high_quality": ("high quality", ".0%"),
    }
    targets = targets or {}
    header = ["stabiliser", "targets", "step time vs baseline"]
    header += [title for title, _ in metrics.values()]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row["name"], targets.get(row["name"], ""), f"{row['cost_ratio']:.2f}x"]
        for key, (_, spec) in metrics.items():
            mean, std, delta = row[f"{key}_mean"], row[f"{key}_std"], row[f"{key}_delta"]
            cells.append(f"{mean:{spec}} ± {std:{spec}} ({delta:+{spec}})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


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
    import matplotlib.pyplot as plt

    from . import toy

    centres = toy.centers(mixture)
    figure, axes = plt.subplots(1, len(names), figsize=(2.6 * len(names), 2.8), squeeze=False)
    for axis, name in zip(axes[0], names, strict=True):
        result = results[name][run]
        points = np.asarray(result["points"])
        axis.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4, color="tab:blue")
        axis.scatter(centres[:, 0], centres[:, 1], s=30, marker="x", color="tab:red")
        axis.set_title(
            f"{name}\n{result['modes_covered']} modes, {result['high_quality']:.0%} HQ",
            fontsize=9,
        )
        limit = float(np.abs(centres).max()) + 1.0
        axis.set_xlim(-limit, limit)
        axis.set_ylim(-limit, limit)
        axis.set_aspect("equal")
        axis.set_xticks([])
        axis.set_yticks([])
    figure.tight_layout()
    plt.close(figure)
    return figure


# -- The MNIST footing ---------------------------------------------------------------------


def border_ink(images, *, width: int = 3) -> float:
    """Mean ink in a ``width``-pixel frame around each image, in [0, 1].

    MNIST digits are centred with empty borders, so real digits score close to
    0. Translations and brightness shifts that leak from augmentation into the
    samples put ink (or grey background) there.

    Args:
        images: ``(n, h, w, c)`` float in [-1, 1].
        width: Frame width in pixels.
    """
    pixels = (np.asarray(images, dtype=np.float64) + 1.0) / 2.0
    if pixels.ndim != 4 or min(pixels.shape[1:3]) <= 2 * width:
        raise ValueError(f"images must be (n, h, w, c) larger than the frame; got {pixels.shape}")
    mask = np.ones(pixels.shape[1:3], bool)
    mask[width:-width, width:-width] = False
    return float(pixels[:, mask].mean())


def compare_mnist(
    variants: Mapping[str, Mapping],
    *,
    profile,
    images: np.ndarray,
    scorer,
    seeds: Sequence[int] = (0, 1, 2),
    epochs: int = 5,
    sample_size: int = 1000,
) -> dict[str, list[dict]]:
    """Train the book's MNIST DCGAN once per variant and seed; score each run.

    Args:
        variants: Variant name -> :class:`ganutils.train.TrainConfig` overrides
            (``{"augment": "both"}``); ``{}`` is the baseline.
        profile: The run profile (its batch size and digit count).
        images: ``(n, 28, 28, 1)`` float32 in [-1, 1].
        scorer: A :class:`ganutils.metrics.MnistScorer`.
        seeds: One run per seed and variant.
        epochs: Epochs per run.
        sample_size: Samples scored per run.

    Returns:
        ``{name: [one dict per seed with fd, classes_covered, border_ink,
        seconds, step_ms and samples (32 images)]}``.
    """
    from . import train as _train

    results: dict[str, list[dict]] = {}
    for name, overrides in variants.items():
        results[name] = []
        for seed in seeds:
            config = _train.TrainConfig.for_profile(
                profile, epochs=epochs, seed=int(seed), **dict(overrides)
            )
            timer = StepTimer()
            start = time.perf_counter()
            gan, _ = _train.train_mnist(
                config, None, images=images, extra_callbacks=[timer], progress=False
            )
            seconds = time.perf_counter() - start
            latents = keras.random.normal((sample_size, config.latent_dim), seed=int(seed))
            samples = ops.convert_to_numpy(gan.sampler(latents, training=False))
            score = scorer.score(samples)
            results[name].append(
                {
                    "fd": score.fd,
                    "classes_covered": score.classes_covered,
                    "border_ink": border_ink(samples),
                    "seconds": seconds,
                    "step_ms": timer.median_ms(),
                    "samples": samples[:32],
                }
            )
    return results
