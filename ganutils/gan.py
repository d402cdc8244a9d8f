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

from . import config

tf = config.import_tensorflow()
import keras  # noqa: E402

from . import conditioning as _conditioning  # noqa: E402
from . import distribute as _distribute  # noqa: E402
from . import stabilizers as _stabilizers  # noqa: E402
from .options import (  # noqa: E402  (the choices and options, re-exported)
    AUGMENT,
    CONDITIONING,
    D_UPDATES,
    GENERATOR_LOSSES,
    IMAGE_RANGES,
    LABEL_SMOOTHING,
    LATENT_DISTRIBUTIONS,
    LOSSES,
    OPTIMIZERS,
    GANOptions,
)

__all__ = [
    "AUGMENT",
    "CONDITIONING",
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
    when the step's latents are fixed (see :func:`ganutils.train.make_dataset`);
    a conditional GAN (``num_classes``) per ``(images, labels)`` or
    ``(images, labels, latents)``.
    Each step:

    1. ``d_steps`` discriminator updates on real images and fresh fakes, with
       the label tricks applied to the targets;
    2. one generator update through the discriminator.

    Args:
        generator: Maps ``(n, latent_dim)`` to images (conditional: ``[latents, labels]``).
        discriminator: Maps images to ``(n, 1)`` logits (``conditioning="channels"``:
            ``[images, labels]``; ``"auxiliary"``: images to ``(n, 1 + num_classes)``).
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
        """Generate images: ``(n, latent_dim)`` latents (conditional: ``[latents, labels]``)."""
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
            inputs = [keras.Input(t.shape[1:], dtype=t.dtype) for t in generator.inputs]
            inputs = inputs if len(inputs) > 1 else inputs[0]
            images = keras.layers.Rescaling(2.0, offset=-1.0)(generator(inputs))
            self._signed_views[id(generator)] = keras.Model(inputs, images)
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

    def _generate(self, latents, labels=None):
        """The generator on ``latents`` (and, conditional, the labels asked for)."""
        inputs = latents if labels is None else [latents, labels]
        return self.generator(inputs, training=True)

    def _score(self, images, labels=None, training=True):
        """D's real-vs-fake logits ``(n, 1)`` and, under AC-GAN, its class logits (else None)."""
        if labels is None:
            return self.discriminator(images, training=training), None
        if self.options.conditioning == "channels":
            return self.discriminator([images, labels], training=training), None
        outputs = self.discriminator(images, training=training)
        return outputs[:, :1], outputs[:, 1:]

    def _critic(self, labels):
        """D as a function of images alone (for the gradient penalties)."""
        return lambda images, training=True: self._score(images, labels, training)[0]

    def _class_loss(self, labels, class_logits):
        """AC-GAN's weighted class cross-entropy, or 0 without class logits."""
        if class_logits is None:
            return 0.0
        return _conditioning.class_loss(labels, class_logits, self.options.class_loss_weight)

    def _d_losses(self, real_images, fake_images, real_targets, fake_targets, labels=None):
        if self.options.d_updates == "mixed":
            # One forward pass over real and fake together: batch normalisation
            # computes its statistics over the mix (order within a batch is irrelevant).
            n = tf.shape(real_images)[0]
            both = None if labels is None else tf.concat([labels, labels], 0)
            logits, classes = self._score(tf.concat([real_images, fake_images], 0), both)
            real_logits, fake_logits = logits[:n], logits[n:]
            real_classes, fake_classes = (
                (None, None) if classes is None else (classes[:n], classes[n:])
            )
        else:
            real_logits, real_classes = self._score(real_images, labels)
            fake_logits, fake_classes = self._score(fake_images, labels)
        # AC-GAN: D also learns to name the class of real and of generated images.
        real_class_loss = self._class_loss(labels, real_classes)
        fake_class_loss = self._class_loss(labels, fake_classes)
        if self.options.loss == "hinge":
            loss_real, loss_fake = _stabilizers.hinge_discriminator_losses(real_logits, fake_logits)
        elif self.options.loss == "relativistic":
            loss_real, _ = _stabilizers.relativistic_losses(real_logits, fake_logits)
            loss_fake = tf.zeros_like(loss_real)
        elif self.options.loss != "gan":
            loss_real, loss_fake = _stabilizers.wasserstein_critic_losses(real_logits, fake_logits)
        else:
            loss_real, loss_fake = _bce(real_targets, real_logits), _bce(fake_targets, fake_logits)
        return (
            loss_real + real_class_loss,
            loss_fake + fake_class_loss,
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

    def _zero_centred_penalties(self, real_images, fake_images, labels=None):
        """``r1_gamma / 2 * R1`` at the real images plus ``r2_gamma / 2 * R2`` at the fakes."""
        total = 0.0
        for gamma, images in (
            (self.options.r1_gamma, real_images),
            (self.options.r2_gamma, fake_images),
        ):
            if gamma is not None and images is not None:
                penalty = _stabilizers.r1_penalty(self._critic(labels), tf.stop_gradient(images))
                total += 0.5 * gamma * self._gamma_scale() * penalty
        return total

    def _one_side(self, images, targets, labels=None, real=False):
        logits, classes = self._score(images, labels)
        loss = _bce(targets, logits) + self._class_loss(labels, classes)
        loss += self._zero_centred_penalties(
            images if real else None, None if real else images, labels
        )
        return loss, logits

    def _discriminator_step(self, real_images, fake_images, labels=None):
        """One discriminator update (or two, under ``d_updates="alternating"``) on these images."""
        n = tf.shape(real_images)[0]
        real_images, fake_images = self._d_view(real_images, True), self._d_view(fake_images)
        real_targets, fake_targets = self._d_targets(n)
        variables = self.discriminator.trainable_variables
        if self.options.d_updates == "alternating":
            (loss_real, real_logits), norm_real = self._apply(
                self.d_optimizer,
                lambda: self._one_side(real_images, real_targets, labels, real=True),
                variables,
                self.discriminator,
            )
            (loss_fake, fake_logits), norm_fake = self._apply(
                self.d_optimizer,
                lambda: self._one_side(fake_images, fake_targets, labels),
                variables,
                self.discriminator,
            )
            norm = tf.sqrt(norm_real**2 + norm_fake**2)
            return loss_real, loss_fake, real_logits, fake_logits, norm

        def loss_fn():
            loss_real, loss_fake, real_logits, fake_logits = self._d_losses(
                real_images, fake_images, real_targets, fake_targets, labels
            )
            loss = loss_real + loss_fake
            if self.options.loss == "wgan_gp":
                loss += self.options.gp_weight * _stabilizers.gradient_penalty(
                    self._critic(labels), real_images, fake_images, seed=self.seed_generator
                )
            loss += self._zero_centred_penalties(real_images, fake_images, labels)
            return loss, loss_real, loss_fake, real_logits, fake_logits

        (_, loss_real, loss_fake, real_logits, fake_logits), norm = self._apply(
            self.d_optimizer, loss_fn, variables, self.discriminator
        )
        return loss_real, loss_fake, real_logits, fake_logits, norm

    def _generator_loss(self, real_images, fake_images, labels=None):
        """G's loss on ``fake_images`` (made inside the caller's tape), through D as it is now."""
        fake_images = self._d_view(fake_images)
        if self.options.feature_matching:
            real_features = self.feature_model(self._d_view(real_images, True), training=True)
            fake_features = self.feature_model(fake_images, training=True)
            return _stabilizers.feature_matching_loss(real_features, fake_features)
        real_logits = None
        if self.options.loss == "relativistic":  # G's loss pairs each fake with a real image
            real_logits, _ = self._score(self._d_view(real_images, True), labels)
        fake_logits, fake_classes = self._score(fake_images, labels)
        # AC-GAN: G also wants its fakes classified as the label they were asked for.
        return self._g_loss(fake_logits, real_logits) + self._class_loss(labels, fake_classes)

    def _alternating_step(self, real_images, latents=None, labels=None):
        """``d_steps`` D updates, then one G update through the updated D.

        G's tape records only the generator's forward pass of the last D
        step's fakes (unless ``fresh_fakes``) and G's loss: the D update in
        between runs with that tape paused, so its gradient never reaches G
        and G's update never touches D's weights.
        """
        n = tf.shape(real_images)[0]
        reuse = not self.options.fresh_fakes
        for _ in range(self.options.d_steps - 1 if reuse else self.options.d_steps):
            fakes = self._generate(self.sample_latent(n, latents), labels)
            d_out = self._discriminator_step(real_images, fakes, labels)
        g_variables = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            fakes = self._generate(self.sample_latent(n, latents), labels)
            if reuse:
                with tape.stop_recording():
                    d_out = self._discriminator_step(real_images, fakes, labels)
            g_loss = self._generator_loss(real_images, fakes, labels)
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
        """One step on a batch of real images, or of ``(images, latents)``.

        A conditional GAN (``num_classes``) takes ``(images, labels)`` or
        ``(images, labels, latents)``.

        Raises:
            ValueError: A conditional GAN gets batches without labels.
        """
        paired = isinstance(data, (tuple, list))
        real_images = data[0] if paired else data
        labels = None
        if self.options.num_classes is not None:
            if not paired or len(data) < 2:
                raise ValueError(
                    "a conditional GAN (num_classes set) trains on (images, labels) batches; "
                    "pass labels= to ganutils.train.make_dataset"
                )
            labels = tf.cast(data[1], tf.int32)
            data = (data[0], *data[2:])
        latents = data[1] if paired and len(data) > 1 else None  # this step's fixed latents
        if self.options.image_range == "unit":
            real_images = (real_images + 1.0) / 2.0
        if self.options.simultaneous:
            d_out, (g_loss, g_norm) = self._simultaneous_step(real_images, latents)
        else:
            d_out, (g_loss, g_norm) = self._alternating_step(real_images, latents, labels)
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
