"""Stabilisers beyond the basics: the pieces, each usable on its own.

:class:`ganutils.gan.GAN` switches these on by option (``loss="wgan_gp"``,
``instance_noise=0.1, instance_noise_steps=2000``, ``augment="both"``,
``feature_matching=True``);
:mod:`ganutils.models` builds them into the networks (``spectral_norm=True``,
``minibatch_stddev=True``, ``l1``/``l2``, ``noise``). This module holds the
parts themselves, so a chapter can call each one on a tiny input and a test
can check the property it promises:

- the engine's losses, one table of ``(d_loss, g_loss)`` pairs keyed by the
  loss names (:data:`GAME_LOSSES`, :func:`game_loss`), and its penalties, one
  callable each (:class:`GradientPenalty`, :class:`ZeroCentredPenalty`,
  :class:`WeightPenalty`);
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
  :func:`add_layer_noise`, :func:`add_minibatch_stddev`).

The comparison behind chapter 7's closing table lives in :mod:`ganutils.studies`.
"""

from __future__ import annotations

__all__ = [
    "AUGMENT_POLICIES",
    "GAME_LOSSES",
    "WGAN_CLIP",
    "GameLoss",
    "GradientPenalty",
    "MinibatchStddev",
    "WeightPenalty",
    "ZeroCentredPenalty",
    "add_instance_noise",
    "add_layer_noise",
    "add_minibatch_stddev",
    "clip_weights",
    "cross_entropy",
    "cross_entropy_losses",
    "diff_augment",
    "feature_extractor",
    "feature_matching_loss",
    "game_loss",
    "gradient_penalty",
    "hinge_discriminator_losses",
    "instance_noise_std",
    "interpolate",
    "largest_singular_value",
    "minimax_generator_loss",
    "non_saturating_generator_loss",
    "r1_penalty",
    "real_sign",
    "relativistic_discriminator_losses",
    "relativistic_generator_loss",
    "relativistic_losses",
    "spectral_normalize",
    "wasserstein_critic_losses",
    "wasserstein_generator_loss",
]

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from . import config

tf = config.import_tensorflow()
import keras  # noqa: E402
from keras import layers, ops  # noqa: E402

AUGMENT_POLICIES = ("color", "translation", "cutout")
_BACKGROUND = -1.0  # the value of an empty MNIST pixel in [-1, 1]


def _check_positive_float(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not value > 0:
        raise ValueError(f"{name} must be a positive number; got {value!r}")
    return float(value)


# -- Wasserstein losses, clipping and the gradient penalty -------------------------------


def wasserstein_critic_losses(real_scores, fake_scores, targets=None):
    """The critic's WGAN loss in its two halves: ``(-mean(D(real)), mean(D(fake)))``.

    Their sum, ``mean(D(fake)) - mean(D(real))``, is the loss the critic
    minimises (Arjovsky et al. 2017): it pushes real scores up and fake scores
    down, and its negative estimates the Wasserstein-1 distance when the critic
    is 1-Lipschitz. The engine records the halves as ``d_loss_real`` and
    ``d_loss_fake``. Scores are raw critic outputs ``(n, 1)``, no sigmoid;
    ``targets`` is ignored (the critic has none; see :data:`GAME_LOSSES`).
    """
    return -ops.mean(real_scores), ops.mean(fake_scores)


def wasserstein_generator_loss(fake_scores, real_scores=None):
    """The generator's WGAN loss: ``-mean(D(G(z)))`` (``real_scores`` is ignored)."""
    return -ops.mean(fake_scores)


def hinge_discriminator_losses(real_logits, fake_logits, targets=None):
    """D's hinge loss in its two halves: ``(mean(relu(1 - D(x))), mean(relu(1 + D(G(z)))))``.

    The hinge game of Lim & Ye (2017) and Miyato et al. (2018): D stops
    pushing a real score once it is above 1 and a fake one once it is below
    -1. G minimises ``-mean(D(G(z)))`` (:func:`wasserstein_generator_loss`).
    ``targets`` is ignored.
    """
    return ops.mean(ops.relu(1.0 - real_logits)), ops.mean(ops.relu(1.0 + fake_logits))


def relativistic_losses(real_logits, fake_logits):
    """The relativistic pairing loss: ``(D's loss, G's loss)`` for paired real and fake logits.

    D minimises ``mean(softplus(-(D(x_i) - D(G(z_i)))))`` and G minimises
    ``mean(softplus(-(D(G(z_i)) - D(x_i))))``: each real image is scored
    against the fake drawn beside it (Jolicoeur-Martineau 2019; Huang et al.
    2024, R3GAN). ``softplus(-t)`` is ``-log(sigmoid(t))``.

    Raises:
        ValueError: The two batches differ in shape (the loss needs pairs).
    """
    if tuple(real_logits.shape) != tuple(fake_logits.shape):
        raise ValueError(
            "real_logits and fake_logits must have the same shape "
            "(one fake per real image); "
            f"got {tuple(real_logits.shape)} and {tuple(fake_logits.shape)}"
        )
    gap = real_logits - fake_logits
    return ops.mean(ops.softplus(-gap)), ops.mean(ops.softplus(gap))


def cross_entropy(targets, logits):
    """Mean sigmoid cross-entropy; ``targets`` may be soft (and above 1, as ganhacks allows)."""
    return ops.mean(ops.binary_crossentropy(targets, logits, from_logits=True))


def cross_entropy_losses(real_logits, fake_logits, targets):
    """D's cross-entropy in its two halves: real logits against 1, fake logits against 0.

    Args:
        real_logits, fake_logits: D's logits ``(n, 1)``.
        targets: ``(real_targets, fake_targets)``, each ``(n, 1)``: 1 and 0, or
            as label smoothing and flips made them.
    """
    real = ops.mean(ops.binary_crossentropy(targets[0], real_logits, from_logits=True))
    return real, ops.mean(ops.binary_crossentropy(targets[1], fake_logits, from_logits=True))


def non_saturating_generator_loss(fake_logits, real_logits=None):
    """G maximises ``log D(G(z))``: the cross-entropy of its fakes against 1 (ganhacks #2)."""
    return ops.mean(
        ops.binary_crossentropy(ops.ones_like(fake_logits), fake_logits, from_logits=True)
    )


def minimax_generator_loss(fake_logits, real_logits=None):
    """G minimises ``log(1 - D(G(z)))``, Goodfellow et al.'s (2014) original game."""
    return -cross_entropy(tf.zeros_like(fake_logits), fake_logits)


def relativistic_discriminator_losses(real_logits, fake_logits, targets=None):
    """D's half of :func:`relativistic_losses`, whole as the real half (the fake half is 0)."""
    loss, _ = relativistic_losses(real_logits, fake_logits)
    return loss, tf.zeros_like(loss)


def relativistic_generator_loss(fake_logits, real_logits):
    """G's half of :func:`relativistic_losses`: each fake scored against its real partner."""
    return relativistic_losses(real_logits, fake_logits)[1]


@dataclasses.dataclass(frozen=True)
class GameLoss:
    """A GAN loss as the engine plays it: D's loss and G's loss, and what comes with them.

    Attributes:
        d_loss: ``(real_logits, fake_logits, targets) -> (loss_real, loss_fake)``,
            D's loss in the two halves the engine records.
        g_loss: ``(fake_logits, real_logits) -> loss``; ``real_logits`` is
            ``None`` unless ``pairs``.
        pairs: G's loss also needs D's logits on the real images.
        gradient_penalty: D's loss adds the WGAN-GP penalty (:func:`gradient_penalty`).
        clip: Clip D's weights into ``[-clip, clip]`` after each update
            (:func:`clip_weights`), or ``None``.
    """

    d_loss: Callable
    g_loss: Callable
    pairs: bool = False
    gradient_penalty: bool = False
    clip: float | None = None


WGAN_CLIP = 0.01  # the WGAN paper's c

#: The engine's losses by name: the one place a loss name turns into functions.
GAME_LOSSES = {
    "gan": GameLoss(cross_entropy_losses, non_saturating_generator_loss),
    "wgan": GameLoss(wasserstein_critic_losses, wasserstein_generator_loss, clip=WGAN_CLIP),
    "wgan_gp": GameLoss(
        wasserstein_critic_losses, wasserstein_generator_loss, gradient_penalty=True
    ),
    "hinge": GameLoss(hinge_discriminator_losses, wasserstein_generator_loss),
    "relativistic": GameLoss(
        relativistic_discriminator_losses, relativistic_generator_loss, pairs=True
    ),
}


def game_loss(name: str, generator_loss: str = "non_saturating") -> GameLoss:
    """The :data:`GAME_LOSSES` entry called ``name``.

    ``generator_loss="minimax"`` swaps G's loss of ``"gan"`` for
    :func:`minimax_generator_loss`; the other losses ignore it.

    Raises:
        ValueError: An unknown ``name``.
    """
    if name not in GAME_LOSSES:
        raise ValueError(f"loss must be one of {tuple(GAME_LOSSES)}; got {name!r}")
    if name == "gan" and generator_loss == "minimax":
        return dataclasses.replace(GAME_LOSSES[name], g_loss=minimax_generator_loss)
    return GAME_LOSSES[name]


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


def r1_penalty(discriminator: Callable, real, *, training: bool = True):
    """The R1 penalty ``mean(||grad_x D(x)||^2)`` on real images (Mescheder et al. 2018).

    Called on generated images (held fixed) it is R2, the same penalty on
    the fake side (Huang et al. 2024 use both).

    A zero-centred gradient penalty on the data alone: it pushes D's surface
    flat where the real digits are, so D cannot sharpen around the training
    set; the engine multiplies it by ``r1_gamma / 2``. Unlike WGAN-GP's it
    needs no interpolates and no unit target, and it works with batch
    normalisation in D (each image's gradient still involves only itself
    through the logits' sum, up to the batch statistics).

    Args:
        discriminator: Maps ``(n, ...)`` images to ``(n, 1)`` logits.
        real: A batch of real images.
        training: Passed to the discriminator.

    Returns:
        A scalar: the batch mean of the per-image squared gradient norm.
    """
    real = ops.convert_to_tensor(real)
    with tf.GradientTape() as tape:
        tape.watch(real)
        total = ops.sum(discriminator(real, training=training))  # recorded: inside the tape
    gradients = tape.gradient(total, real)
    axes = list(range(1, len(real.shape)))
    return ops.mean(ops.sum(ops.square(gradients), axis=axes))


# -- Penalties: the terms the engine adds to a loss, one callable each -------------------
#
# Each is called as ``penalty(critic, real_images, fake_images)`` and returns a
# scalar to add to D's (or G's) loss; ``critic`` maps images to D's logits.


@dataclasses.dataclass(frozen=True)
class GradientPenalty:
    """WGAN-GP's term of D's loss: ``weight * gradient_penalty(critic, real, fake)``.

    Attributes:
        weight: The paper's lambda (10).
        seed: Seed of the interpolation weights (a ``keras.random.SeedGenerator``).
    """

    weight: float
    seed: Any = None

    def __call__(self, critic, real_images, fake_images):
        return self.weight * gradient_penalty(critic, real_images, fake_images, seed=self.seed)


@dataclasses.dataclass(frozen=True)
class ZeroCentredPenalty:
    """``r1_gamma / 2 * R1`` at the real images plus ``r2_gamma / 2 * R2`` at the fakes.

    See :func:`r1_penalty`. A side without a gamma, or without images (an
    update on the other side only), adds nothing.

    Attributes:
        r1_gamma, r2_gamma: The weights, or ``None``.
        scale: Called at each step for the gammas' share of their value now (a
            schedule); ``None`` keeps them whole.
    """

    r1_gamma: float | None = None
    r2_gamma: float | None = None
    scale: Callable | None = None

    def __call__(self, critic, real_images, fake_images):
        total = 0.0
        for gamma, images in ((self.r1_gamma, real_images), (self.r2_gamma, fake_images)):
            if gamma is not None and images is not None:
                share = 1.0 if self.scale is None else self.scale()
                total += 0.5 * gamma * share * r1_penalty(critic, tf.stop_gradient(images))
        return total


@dataclasses.dataclass(frozen=True)
class WeightPenalty:
    """A network's weight penalties (its ``kernel_regularizer`` L1/L2 terms), summed.

    Attributes:
        network: The ``keras.Model`` whose ``losses`` to add.
    """

    network: Any

    def __call__(self, critic=None, real_images=None, fake_images=None):
        losses = self.network.losses
        return tf.add_n(losses) if losses else 0.0


def real_sign(logits) -> float:
    """``r_t = E[sign(D(x))]`` over real images' logits: Karras et al.'s (2020) overfitting signal.

    0 when D cannot tell the real digits from fakes (half its logits on each
    side), 1 when it calls every one real. On digits D trains on it climbs as
    D overfits; on held-out real digits it does not, and the gap between the
    two is the overfitting itself. ADA steers its augmentation to keep the
    training value near 0.6.

    Raises:
        ValueError: No logits, or non-finite ones.
    """
    values = np.asarray(logits, dtype=np.float64).reshape(-1)
    if values.size == 0 or not np.isfinite(values).all():
        raise ValueError(f"logits must be a non-empty finite array; got {values.size} values")
    return float(np.mean(np.sign(values)))


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
        kind = type(discriminator).__name__
        raise ValueError(f"discriminator must be a functional keras.Model; got {kind}") from error


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
