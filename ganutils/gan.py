"""The GAN engine: one ``keras.Model`` whose ``train_step`` plays the game.

:class:`GAN` holds a generator and a discriminator, one optimizer each, and
updates them in one compiled TensorFlow function per batch: no Python loop
of ``train_on_batch`` calls. Every ganhacks trick and stabiliser is an option
of :class:`GANOptions`, validated in one place, so the same engine trains the
book's recipe (:mod:`ganutils.train`), the toy GANs (:mod:`ganutils.toy`)
and every variant of the studies (:mod:`ganutils.studies`)::

    gan = GAN(generator, discriminator, latent_dim=100, label_smoothing="one_sided")
    gan.compile(d_optimizer=make_optimizer("adam", 2e-4), g_optimizer=make_optimizer("adam", 2e-4))
    gan.fit(dataset, epochs=5)
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import config

tf = config.import_tensorflow()
import keras  # noqa: E402

from . import distribute as _distribute  # noqa: E402
from . import stabilizers as _stabilizers  # noqa: E402

__all__ = [
    "AUGMENT",
    "D_UPDATES",
    "GAN",
    "GENERATOR_LOSSES",
    "IMAGE_RANGES",
    "LABEL_SMOOTHING",
    "LATENT_DISTRIBUTIONS",
    "LOSSES",
    "OPTIMIZERS",
    "GANOptions",
    "make_optimizer",
]

D_UPDATES = ("separate", "mixed", "alternating")
GENERATOR_LOSSES = ("non_saturating", "minimax")
LABEL_SMOOTHING = ("none", "two_sided", "one_sided")
LATENT_DISTRIBUTIONS = ("gaussian", "uniform")
LOSSES = ("gan", "wgan", "wgan_gp", "hinge", "relativistic")
AUGMENT = (None, "both", "real_only")
IMAGE_RANGES = ("signed", "unit")
OPTIMIZERS = ("adam", "rmsprop", "sgd")
_WGAN_CLIP = 0.01  # the WGAN paper's c


def make_optimizer(
    name: str,
    learning_rate,
    *,
    beta_1: float = 0.5,
    beta_2: float = 0.999,
    clipnorm: float | None = None,
) -> keras.optimizers.Optimizer:
    """The optimizer called ``name`` (one of :data:`OPTIMIZERS`): the one factory of the package.

    Args:
        name: ``"adam"`` (with ``beta_1``/``beta_2``; DCGAN uses beta_1 0.5),
            ``"rmsprop"`` (Keras' defaults: rho 0.9, no momentum; the WGAN
            paper's choice) or ``"sgd"`` (plain, no momentum).
        learning_rate: A number or a ``keras.optimizers.schedules`` schedule.
        beta_1, beta_2: Adam's moment decays (ignored by the others).
        clipnorm: Clip each gradient to this norm (``None``: no clipping).

    Raises:
        ValueError: An unknown ``name``.
    """
    if name == "adam":
        return keras.optimizers.Adam(
            learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, clipnorm=clipnorm
        )
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=learning_rate, clipnorm=clipnorm)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate, clipnorm=clipnorm)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}; got {name!r}")


def _is_number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, np.number))


def _is_count(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer)) and value >= 1


@dataclasses.dataclass(frozen=True)
class GANOptions:
    """How :class:`GAN` plays the game: every trick as one validated option.

    ``GAN(generator, discriminator, **options)`` builds one of these, so a bad
    value fails before any model is touched, with a ``ValueError`` naming the
    option and what it expects.

    Attributes:
        latent_dim: Length of z.
        latent_distribution: ``"gaussian"`` (ganhacks #3) or ``"uniform"`` in [-1, 1].
        d_updates: How D sees a step's images. ``"separate"``: an all-real and
            an all-fake forward pass, one update (ganhacks #4, as the TensorFlow
            DCGAN tutorial does); ``"mixed"``: one forward pass over real and
            fake images together, so batch normalisation sees both at once;
            ``"alternating"``: two optimizer updates, first all-real then
            all-fake, as the Keras 2 ``train_on_batch`` loops of older tutorials do.
        label_smoothing: ``"none"``, ``"two_sided"`` (real targets uniform in
            [0.7, 1.2], fake in [0.0, 0.3], ganhacks #6) or ``"one_sided"`` (real
            targets 0.9, Salimans et al. 2016).
        label_noise: Share of D's targets flipped per batch (ganhacks #6); exactly
            ``round(label_noise * n)`` real and as many fake targets flip.
        generator_loss: ``"non_saturating"`` (maximise log D(G(z)), ganhacks #2)
            or ``"minimax"`` (minimise log(1 - D(G(z))), Goodfellow et al. 2014).
        d_steps: Discriminator updates per generator update (same real batch,
            fresh latents each time).
        simultaneous: Compute both updates from one forward pass (one batch of
            fakes, two gradient tapes), as the TensorFlow DCGAN tutorial does:
            the generator's gradient comes from the discriminator before its
            update. ``False`` alternates: D is updated first, then G is
            trained against the new D.
        fresh_fakes: Under alternation, where G's update gets its fakes.
            ``False`` (the PyTorch DCGAN tutorial's order): G is updated
            through the updated D on the very fakes D was just trained on, so
            the step runs the generator once. ``True``: G's update draws fresh
            latents and runs the generator a second time, as the Keras 2
            ``train_on_batch`` loops of older tutorials do.
        ema_decay: Keep an exponential moving average of the generator's
            weights with this decay (e.g. 0.99) and draw samples from it
            (:attr:`GAN.sampler`); ``None`` keeps none. Averaging the generator
            over recent steps smooths out the oscillation of the game (Yazici
            et al. 2019).
        loss: ``"gan"`` (the cross-entropy game above), ``"wgan"`` (Wasserstein
            critic with weight clipping, Arjovsky et al. 2017), ``"wgan_gp"``
            (Wasserstein with the gradient penalty, Gulrajani et al. 2017),
            ``"hinge"`` (Lim & Ye 2017, Miyato et al. 2018:
            :func:`ganutils.stabilizers.hinge_discriminator_losses`, G minimises
            ``-mean(D(G(z)))``) or ``"relativistic"`` (the relativistic pairing
            loss of R3GAN, Huang et al. 2024:
            :func:`ganutils.stabilizers.relativistic_losses`; each real image is
            paired with one fake, and its whole loss is recorded as
            ``d_loss_real``, with ``d_loss_fake`` 0). Every loss but ``"gan"``
            ignores the label options and ``generator_loss``; pair the
            Wasserstein ones with ``d_steps=5`` and a critic without batch
            normalisation.
        gp_weight: Weight of the gradient penalty (``loss="wgan_gp"``; paper: 10).
        r1_gamma: Add ``r1_gamma / 2`` times the R1 penalty (the squared
            gradient norm of D at real images,
            :func:`ganutils.stabilizers.r1_penalty`; Mescheder et al. 2018) to
            D's loss; ``None`` adds none. Any loss.
        r2_gamma: The same penalty at the generated images D is trained on
            (R2; Huang et al. 2024 pair it with R1); ``None`` adds none.
        gamma_end_share: With ``gamma_steps``: the gammas fall linearly from
            their value to this share of it over ``gamma_steps`` generator
            steps, then stay there (R3GAN decays its gamma over training).
        gamma_steps: The length of that schedule; ``None`` keeps the gammas fixed.
        clip_value: Clip every critic weight into [-clip_value, clip_value]
            after each update; ``None`` means 0.01 under ``loss="wgan"`` and no
            clipping otherwise (see :attr:`clip_bound`).
        instance_noise: Initial standard deviation of Gaussian noise added to
            every image D sees, real and fake; it falls linearly to 0 over
            ``instance_noise_steps`` generator steps
            (:func:`ganutils.stabilizers.instance_noise_std`). ``None`` adds none.
        instance_noise_steps: How many generator steps the noise anneals over;
            required with ``instance_noise``.
        augment: ``"both"`` applies :func:`ganutils.stabilizers.diff_augment`
            to real and fake images before D (Zhao et al. 2020);
            ``"real_only"`` to real images only, the unsafe variant whose
            augmentations leak into the samples; ``None`` augments nothing.
        augment_policy: The augmentations, e.g. ``"color,translation,cutout"``.
        feature_matching: Train G to match the mean of D's last hidden features
            on real images instead of fooling D (Salimans et al. 2016).
        image_range: ``"signed"``: the networks work on images in [-1, 1]
            (DCGAN, with a tanh generator); ``"unit"``: in [0, 1] (a sigmoid
            generator, the alternative chapter 8's ablation measures). Batches
            arrive in [-1, 1] either way and are mapped inside the step, and
            :attr:`GAN.sampler` always returns [-1, 1].
        seed: Seed of the step's random draws (latents, smoothing, flips).
    """

    latent_dim: int
    latent_distribution: str = "gaussian"
    d_updates: str = "separate"
    label_smoothing: str = "none"
    label_noise: float = 0.0
    generator_loss: str = "non_saturating"
    d_steps: int = 1
    simultaneous: bool = False
    fresh_fakes: bool = False
    ema_decay: float | None = None
    loss: str = "gan"
    gp_weight: float = 10.0
    r1_gamma: float | None = None
    r2_gamma: float | None = None
    gamma_end_share: float | None = None
    gamma_steps: int | None = None
    clip_value: float | None = None
    instance_noise: float | None = None
    instance_noise_steps: int | None = None
    augment: str | None = None
    augment_policy: str = "color,translation,cutout"
    feature_matching: bool = False
    image_range: str = "signed"
    seed: int | None = None

    def __post_init__(self):
        if not _is_count(self.latent_dim):
            raise ValueError(f"latent_dim must be a positive integer; got {self.latent_dim!r}")
        for name, choices in (
            ("latent_distribution", LATENT_DISTRIBUTIONS),
            ("d_updates", D_UPDATES),
            ("label_smoothing", LABEL_SMOOTHING),
            ("generator_loss", GENERATOR_LOSSES),
            ("loss", LOSSES),
            ("augment", AUGMENT),
            ("image_range", IMAGE_RANGES),
        ):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {choices}; got {getattr(self, name)!r}")
        if not _is_number(self.label_noise) or not 0.0 <= self.label_noise <= 1.0:
            raise ValueError(f"label_noise must lie in [0, 1]; got {self.label_noise!r}")
        if not _is_count(self.d_steps):
            raise ValueError(f"d_steps must be a positive integer; got {self.d_steps!r}")
        if self.ema_decay is not None and not (
            _is_number(self.ema_decay) and 0.0 < self.ema_decay < 1.0
        ):
            raise ValueError(f"ema_decay must lie in (0, 1) or be None; got {self.ema_decay!r}")
        if not _is_number(self.gp_weight) or not self.gp_weight > 0:
            raise ValueError(f"gp_weight must be a positive number; got {self.gp_weight!r}")
        for name in ("r1_gamma", "r2_gamma"):
            value = getattr(self, name)
            if value is not None and not (_is_number(value) and value > 0):
                raise ValueError(f"{name} must be a positive number or None; got {value!r}")
        share, steps = self.gamma_end_share, self.gamma_steps
        if (share is None) != (steps is None):
            raise ValueError(
                "gamma_end_share and gamma_steps go together (both None: fixed gammas); "
                f"got gamma_end_share={share!r}, gamma_steps={steps!r}"
            )
        if share is not None:
            if not (_is_number(share) and share >= 0):
                raise ValueError(f"gamma_end_share must be a number >= 0; got {share!r}")
            if not _is_count(steps):
                raise ValueError(f"gamma_steps must be a positive integer; got {steps!r}")
            if self.r1_gamma is None and self.r2_gamma is None:
                raise ValueError("gamma_end_share and gamma_steps need r1_gamma or r2_gamma")
        clip = self.clip_value
        if clip is not None and not (_is_number(clip) and clip > 0):
            raise ValueError(
                f"clip_value must be a positive number or None; got {self.clip_value!r}"
            )
        if self.instance_noise is not None and not (
            _is_number(self.instance_noise) and self.instance_noise > 0
        ):
            raise ValueError(
                f"instance_noise must be a positive number or None; got {self.instance_noise!r}"
            )
        steps = self.instance_noise_steps
        if (steps is not None or self.instance_noise is not None) and not _is_count(steps):
            raise ValueError(
                "instance_noise_steps must be a positive integer when instance_noise is set; "
                f"got {steps!r}"
            )
        parts = self.augment_policy.split(",") if isinstance(self.augment_policy, str) else [None]
        if not all(part.strip() in _stabilizers.AUGMENT_POLICIES for part in parts if part != ""):
            raise ValueError(
                f"augment_policy must be comma-separated names from "
                f"{_stabilizers.AUGMENT_POLICIES}; got {self.augment_policy!r}"
            )
        for name in ("simultaneous", "fresh_fakes", "feature_matching"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False; got {getattr(self, name)!r}")
        seed = self.seed
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"seed must be an integer or None; got {self.seed!r}")
        self._check_combinations()
        # Plain Python numbers (Keras' SeedGenerator refuses NumPy integers, and
        # JSON refuses NumPy floats), so the options reach Keras and print cleanly.
        kinds = {
            "latent_dim": int,
            "d_steps": int,
            "label_noise": float,
            "gp_weight": float,
            "r1_gamma": float,
            "r2_gamma": float,
            "gamma_end_share": float,
            "gamma_steps": int,
            "ema_decay": float,
            "clip_value": float,
            "instance_noise": float,
            "instance_noise_steps": int,
            "seed": int,
        }
        for name, kind in kinds.items():
            if getattr(self, name) is not None:
                object.__setattr__(self, name, kind(getattr(self, name)))

    def _check_combinations(self):
        if self.simultaneous and (self.d_steps != 1 or self.d_updates == "alternating"):
            raise ValueError(
                "simultaneous=True computes both updates from one forward pass; it needs "
                f"d_steps=1 and d_updates 'separate' or 'mixed' (got d_steps={self.d_steps!r}, "
                f"d_updates={self.d_updates!r})"
            )
        if self.loss != "gan" and self.d_updates == "alternating":
            raise ValueError(
                f"loss={self.loss!r} needs real and fake scores in one update: d_updates must "
                f"be 'separate' or 'mixed'; got {self.d_updates!r}"
            )
        extras = {
            "r1_gamma": self.r1_gamma,
            "r2_gamma": self.r2_gamma,
            "clip_value": self.clip_value,
            "instance_noise": self.instance_noise,
            "augment": self.augment,
            "feature_matching": self.feature_matching,
        }
        if self.simultaneous and (self.loss != "gan" or any(extras.values())):
            given = ", ".join(f"{name}={value!r}" for name, value in extras.items())
            raise ValueError(
                "simultaneous=True supports only loss='gan' without r1_gamma, r2_gamma, "
                "clip_value, "
                f"instance_noise, augment or feature_matching; got loss={self.loss!r}, {given}"
            )

    @property
    def clip_bound(self) -> float | None:
        """The critic's weight-clipping bound in force: ``clip_value``, or 0.01 under WGAN."""
        if self.clip_value is not None:
            return float(self.clip_value)
        return _WGAN_CLIP if self.loss == "wgan" else None

    def to_dict(self) -> dict:
        """The options as plain values (for ``get_config`` and JSON)."""
        return dataclasses.asdict(self)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The option names, in the order of the fields."""
        return tuple(field.name for field in dataclasses.fields(cls))


def _bce(labels, logits):
    """Mean sigmoid cross-entropy; labels may be soft (and above 1, as ganhacks allows)."""
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def _penalties(network):
    """The sum of ``network``'s weight penalties (``kernel_regularizer`` L1/L2 terms), or 0."""
    losses = network.losses
    return tf.add_n(losses) if losses else 0.0


class GAN(keras.Model):
    """A generator and a discriminator trained against each other.

    ``fit(dataset)`` runs :meth:`train_step` per batch of real images
    (``(n, 28, 28, 1)`` float32 in [-1, 1]), or per ``(images, latents)`` pair
    when the step's latents are fixed (see :func:`ganutils.train.make_dataset`).
    Each step:

    1. ``d_steps`` discriminator updates on real images and fresh fakes, with
       the label tricks applied to the targets;
    2. one generator update through the discriminator.

    Args:
        generator: Maps ``(n, latent_dim)`` to images.
        discriminator: Maps images to ``(n, 1)`` logits.
        options: A :class:`GANOptions`; keyword arguments replace its fields,
            or, without it, are the options themselves
            (``GAN(g, d, latent_dim=100, d_steps=2)``).
        name: The Keras model's name.

    Raises:
        ValueError: An unknown option, or an option's value (see :class:`GANOptions`).
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        options: GANOptions | None = None,
        *,
        name: str | None = None,
        **option_values,
    ):
        if options is not None and not isinstance(options, GANOptions):
            raise ValueError(f"options must be a GANOptions or None; got {type(options).__name__}")
        unknown = sorted(set(option_values) - set(GANOptions.names()))
        if unknown:
            raise ValueError(
                f"unknown GAN option(s) {unknown}; the options are the fields of "
                f"GANOptions: {list(GANOptions.names())}"
            )
        if options is None:
            options = GANOptions(**option_values)
        elif option_values:
            options = dataclasses.replace(options, **option_values)
        super().__init__(name=name)
        self.options = options
        self.generator = generator
        self.discriminator = discriminator
        self.feature_model = (
            _stabilizers.feature_extractor(discriminator) if options.feature_matching else None
        )
        self._signed_views: dict = {}
        self.ema_generator = None
        if options.ema_decay is not None:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
            self.ema_generator.trainable = False  # updated by averaging, never by gradients
            self.ema_updates = keras.Variable(0, dtype="int64", trainable=False, name="ema_updates")
        self.seed_generator = keras.random.SeedGenerator(options.seed, name="gan_seed")
        names = (
            "d_loss",
            "d_loss_real",
            "d_loss_fake",
            "g_loss",
            "d_real",
            "d_fake",
            "d_grad_norm",
            "g_grad_norm",
        )
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        # Both networks arrive built: fit under a distribution strategy must not
        # try to build the GAN by calling it on a batch of images.
        self.built = True

    # -- Keras plumbing -------------------------------------------------------

    def compile(self, *, d_optimizer, g_optimizer, **kwargs):
        """Attach one optimizer per network (pass ``jit_compile=`` etc. through).

        Raises:
            ValueError: ``steps_per_execution`` above 1: the per-step history
                needs Keras to report every step.
        """
        if kwargs.get("steps_per_execution", 1) != 1:
            raise ValueError(
                "steps_per_execution must be 1: ganutils.callbacks.LossHistory records every "
                f"step; got {kwargs['steps_per_execution']!r}"
            )
        # optimizer=None: the two networks bring their own; Keras must not build a third.
        super().compile(optimizer=None, **kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, latents, training=False):
        """Generate images from latents: ``(n, latent_dim)`` -> images."""
        return self.generator(latents, training=training)

    @property
    def sampler(self) -> keras.Model:
        """The generator to draw samples from: the moving average when ``ema_decay`` is set.

        Its images are in [-1, 1] whatever ``image_range`` the GAN trains in.
        """
        generator = self.ema_generator if self.ema_generator is not None else self.generator
        if self.options.image_range == "signed":
            return generator
        if id(generator) not in self._signed_views:
            # Same weights, output mapped from [0, 1] back to [-1, 1].
            latents = keras.Input(generator.input_shape[1:])
            images = keras.layers.Rescaling(2.0, offset=-1.0)(generator(latents))
            self._signed_views[id(generator)] = keras.Model(latents, images)
        return self._signed_views[id(generator)]

    def _update_ema(self):
        """``ema = d * ema + (1 - d) * weights``, with ``d`` warmed up as ``(1 + t) / (10 + t)``."""
        self.ema_updates.assign_add(1)
        steps = tf.cast(self.ema_updates, tf.float32)
        decay = tf.minimum(self.options.ema_decay, (1.0 + steps) / (10.0 + steps))
        for average, variable in zip(
            self.ema_generator.variables, self.generator.variables, strict=True
        ):
            if variable.trainable:
                average.assign(decay * average + (1.0 - decay) * variable)
            elif "float" in str(variable.dtype):
                # Batch-norm statistics are copied: they describe the current
                # weights' activations. Integer seed states are left alone.
                average.assign(variable)

    def get_config(self):
        return self.options.to_dict()

    # -- The tricks, in graph -------------------------------------------------

    def sample_latent(self, n, given=None):
        """Draw ``(n, latent_dim)`` latents from the configured distribution.

        Each replica of a distribution strategy draws its own latents. ``given``
        (the latents a batch brought along, see :func:`ganutils.train.make_dataset`)
        is returned instead: exact comparisons (one device against several)
        need the same latents on both sides.
        """
        if given is not None:
            return given
        shape = (n, self.options.latent_dim)
        seed = _distribute.replica_seed(self.seed_generator.next())
        if self.options.latent_distribution == "gaussian":
            return tf.random.stateless_normal(shape, seed=seed)
        return tf.random.stateless_uniform(shape, seed=seed, minval=-1.0, maxval=1.0)

    def _flip(self, hard):
        """Flip exactly ``round(label_noise * n)`` of the 0/1 targets in ``hard``."""
        if self.options.label_noise <= 0.0:
            return hard
        n = tf.shape(hard)[0]
        count = tf.cast(tf.round(self.options.label_noise * tf.cast(n, tf.float32)), tf.int32)
        order = tf.argsort(keras.random.uniform((n,), seed=self.seed_generator))
        flip = tf.scatter_nd(order[:count, None], tf.ones((count,), hard.dtype), (n,))
        return tf.abs(hard - flip[:, None])

    def _targets(self, hard):
        """Turn hard 0/1 targets into (possibly smoothed) training targets."""
        if self.options.label_smoothing == "two_sided":
            shape = tf.shape(hard)
            real = keras.random.uniform(shape, 0.7, 1.2, seed=self.seed_generator)
            fake = keras.random.uniform(shape, 0.0, 0.3, seed=self.seed_generator)
            return hard * real + (1.0 - hard) * fake
        if self.options.label_smoothing == "one_sided":
            return hard * 0.9
        return hard

    def _d_targets(self, n):
        real = self._targets(self._flip(tf.ones((n, 1))))
        fake = self._targets(self._flip(tf.zeros((n, 1))))
        return real, fake

    def _d_view(self, images, real=False):
        """The images as D sees them: augmented and noised as the options ask."""
        augment = self.options.augment
        if augment == "both" or (augment == "real_only" and real):
            images = _stabilizers.diff_augment(
                images, self.options.augment_policy, seed=self.seed_generator
            )
        if self.options.instance_noise is not None:
            std = _stabilizers.instance_noise_std(
                self.g_optimizer.iterations,
                self.options.instance_noise,
                self.options.instance_noise_steps,
            )
            images = _stabilizers.add_instance_noise(images, std, seed=self.seed_generator)
        return images

    # -- The step ---------------------------------------------------------------

    def _d_losses(self, real_images, fake_images, real_targets, fake_targets):
        if self.options.d_updates == "mixed":
            # One forward pass over real and fake together: batch normalisation
            # computes its statistics over the mix (order within a batch is irrelevant).
            n = tf.shape(real_images)[0]
            logits = self.discriminator(tf.concat([real_images, fake_images], 0), training=True)
            real_logits, fake_logits = logits[:n], logits[n:]
        else:
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(fake_images, training=True)
        if self.options.loss == "hinge":
            loss_real, loss_fake = _stabilizers.hinge_discriminator_losses(real_logits, fake_logits)
            return loss_real, loss_fake, real_logits, fake_logits
        if self.options.loss == "relativistic":
            loss, _ = _stabilizers.relativistic_losses(real_logits, fake_logits)
            return loss, tf.zeros_like(loss), real_logits, fake_logits
        if self.options.loss != "gan":
            loss_real, loss_fake = _stabilizers.wasserstein_critic_losses(real_logits, fake_logits)
            return loss_real, loss_fake, real_logits, fake_logits
        return (
            _bce(real_targets, real_logits),
            _bce(fake_targets, fake_logits),
            real_logits,
            fake_logits,
        )

    def _g_loss(self, fake_logits, real_logits=None):
        if self.options.loss == "relativistic":
            return _stabilizers.relativistic_losses(real_logits, fake_logits)[1]
        if self.options.loss != "gan":  # the Wasserstein losses and hinge
            return _stabilizers.wasserstein_generator_loss(fake_logits)
        if self.options.generator_loss == "non_saturating":
            return _bce(tf.ones_like(fake_logits), fake_logits)
        return -_bce(tf.zeros_like(fake_logits), fake_logits)

    def _apply(self, optimizer, loss_fn, variables, network):
        """One optimizer update of ``network`` on ``loss_fn()[0]`` plus its weight penalties."""
        with tf.GradientTape() as tape:
            outputs = loss_fn()
            loss = outputs[0] + _penalties(network)
            # A replica's share of the global-batch mean (and the mixed_float16 loss scale).
            loss = _distribute.scale_loss(optimizer, loss)
        gradients = tape.gradient(loss, variables)
        norm = _distribute.gradient_norm(optimizer, gradients)
        optimizer.apply(gradients, variables)
        bound = self.options.clip_bound
        if network is self.discriminator and bound is not None:
            _stabilizers.clip_weights(self.discriminator, bound)
        return outputs, norm

    def _gamma_scale(self):
        """The gammas' share of their value now: 1, or the linear schedule's at this step."""
        if self.options.gamma_steps is None:
            return 1.0
        done = tf.cast(self.g_optimizer.iterations, tf.float32) / float(self.options.gamma_steps)
        return 1.0 + (self.options.gamma_end_share - 1.0) * tf.minimum(done, 1.0)

    def _zero_centred_penalties(self, real_images, fake_images):
        """``r1_gamma / 2 * R1`` at the real images plus ``r2_gamma / 2 * R2`` at the fakes."""
        total = 0.0
        for gamma, images in (
            (self.options.r1_gamma, real_images),
            (self.options.r2_gamma, fake_images),
        ):
            if gamma is not None and images is not None:
                penalty = _stabilizers.r1_penalty(self.discriminator, tf.stop_gradient(images))
                total += 0.5 * gamma * self._gamma_scale() * penalty
        return total

    def _one_side(self, images, targets, real=False):
        logits = self.discriminator(images, training=True)
        loss = _bce(targets, logits)
        loss += self._zero_centred_penalties(images if real else None, None if real else images)
        return loss, logits

    def _discriminator_step(self, real_images, fake_images):
        """One discriminator update (or two, under ``d_updates="alternating"``) on these images."""
        n = tf.shape(real_images)[0]
        real_images, fake_images = self._d_view(real_images, True), self._d_view(fake_images)
        real_targets, fake_targets = self._d_targets(n)
        variables = self.discriminator.trainable_variables
        if self.options.d_updates == "alternating":
            (loss_real, real_logits), norm_real = self._apply(
                self.d_optimizer,
                lambda: self._one_side(real_images, real_targets, real=True),
                variables,
                self.discriminator,
            )
            (loss_fake, fake_logits), norm_fake = self._apply(
                self.d_optimizer,
                lambda: self._one_side(fake_images, fake_targets),
                variables,
                self.discriminator,
            )
            norm = tf.sqrt(norm_real**2 + norm_fake**2)
            return loss_real, loss_fake, real_logits, fake_logits, norm

        def loss_fn():
            loss_real, loss_fake, real_logits, fake_logits = self._d_losses(
                real_images, fake_images, real_targets, fake_targets
            )
            loss = loss_real + loss_fake
            if self.options.loss == "wgan_gp":
                loss += self.options.gp_weight * _stabilizers.gradient_penalty(
                    self.discriminator, real_images, fake_images, seed=self.seed_generator
                )
            loss += self._zero_centred_penalties(real_images, fake_images)
            return loss, loss_real, loss_fake, real_logits, fake_logits

        (_, loss_real, loss_fake, real_logits, fake_logits), norm = self._apply(
            self.d_optimizer, loss_fn, variables, self.discriminator
        )
        return loss_real, loss_fake, real_logits, fake_logits, norm

    def _generator_loss(self, real_images, fake_images):
        """G's loss on ``fake_images`` (made inside the caller's tape), through D as it is now."""
        fake_images = self._d_view(fake_images)
        if self.options.feature_matching:
            real_features = self.feature_model(self._d_view(real_images, True), training=True)
            fake_features = self.feature_model(fake_images, training=True)
            return _stabilizers.feature_matching_loss(real_features, fake_features)
        real_logits = None
        if self.options.loss == "relativistic":  # G's loss pairs each fake with a real image
            real_logits = self.discriminator(self._d_view(real_images, True), training=True)
        return self._g_loss(self.discriminator(fake_images, training=True), real_logits)

    def _alternating_step(self, real_images, latents=None):
        """``d_steps`` D updates, then one G update through the updated D.

        G's tape records only the generator's forward pass of the last D
        step's fakes (unless ``fresh_fakes``) and G's loss: the D update in
        between runs with that tape paused, so its gradient never reaches G
        and G's update never touches D's weights.
        """
        n = tf.shape(real_images)[0]
        reuse = not self.options.fresh_fakes
        for _ in range(self.options.d_steps - 1 if reuse else self.options.d_steps):
            fakes = self.generator(self.sample_latent(n, latents), training=True)
            d_out = self._discriminator_step(real_images, fakes)
        g_variables = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            fakes = self.generator(self.sample_latent(n, latents), training=True)
            if reuse:
                with tape.stop_recording():
                    d_out = self._discriminator_step(real_images, fakes)
            g_loss = self._generator_loss(real_images, fakes)
            g_total = _distribute.scale_loss(self.g_optimizer, g_loss + _penalties(self.generator))
        gradients = tape.gradient(g_total, g_variables)
        g_norm = _distribute.gradient_norm(self.g_optimizer, gradients)
        self.g_optimizer.apply(gradients, g_variables)
        return d_out, (g_loss, g_norm)

    def _simultaneous_step(self, real_images, latents=None):
        """Both updates from one forward pass, as the TensorFlow DCGAN tutorial does."""
        n = tf.shape(real_images)[0]
        real_targets, fake_targets = self._d_targets(n)
        latents = self.sample_latent(n, latents)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = self.generator(latents, training=True)
            loss_real, loss_fake, real_logits, fake_logits = self._d_losses(
                real_images, fake_images, real_targets, fake_targets
            )
            d_loss = loss_real + loss_fake
            g_loss = self._g_loss(fake_logits)
            d_total = d_loss + _penalties(self.discriminator)
            g_total = g_loss + _penalties(self.generator)
            d_total = _distribute.scale_loss(self.d_optimizer, d_total)
            g_total = _distribute.scale_loss(self.g_optimizer, g_total)
        d_variables = self.discriminator.trainable_variables
        g_variables = self.generator.trainable_variables
        d_gradients = d_tape.gradient(d_total, d_variables)
        g_gradients = g_tape.gradient(g_total, g_variables)
        d_norm = _distribute.gradient_norm(self.d_optimizer, d_gradients)
        g_norm = _distribute.gradient_norm(self.g_optimizer, g_gradients)
        self.d_optimizer.apply(d_gradients, d_variables)
        self.g_optimizer.apply(g_gradients, g_variables)
        return (
            (loss_real, loss_fake, real_logits, fake_logits, d_norm),
            (g_loss, g_norm),
        )

    def train_step(self, data):
        """One step on a batch of real images, or of ``(images, latents)``."""
        paired = isinstance(data, (tuple, list))
        real_images = data[0] if paired else data
        latents = data[1] if paired and len(data) > 1 else None  # this step's fixed latents
        if self.options.image_range == "unit":
            real_images = (real_images + 1.0) / 2.0
        if self.options.simultaneous:
            d_out, (g_loss, g_norm) = self._simultaneous_step(real_images, latents)
        else:
            d_out, (g_loss, g_norm) = self._alternating_step(real_images, latents)
        loss_real, loss_fake, real_logits, fake_logits, d_norm = d_out
        if self.ema_generator is not None:
            self._update_ema()
        values = {
            "d_loss": loss_real + loss_fake,
            "d_loss_real": loss_real,
            "d_loss_fake": loss_fake,
            "g_loss": g_loss,
            "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
            "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits)),
            "d_grad_norm": d_norm,
            "g_grad_norm": g_norm,
        }
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return _distribute.step_logs({name: t.result() for name, t in self.trackers.items()})
