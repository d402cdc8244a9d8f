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
import functools

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


def _options_of(options: GANOptions | None, option_values: dict) -> GANOptions:
    """The engine's options: ``options`` (or the defaults) with ``option_values`` over them."""
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
    return options


class GAN(keras.Model):
    """A generator and a discriminator trained against each other.

    ``fit(dataset)`` runs :meth:`train_step` per batch of real images
    (``(n, 28, 28, 1)`` float32 in [-1, 1]), or per ``(images, latents)`` pair
    when the step's latents are fixed (see :func:`ganutils.pipeline.make_dataset`);
    a conditional GAN (``num_classes``) per ``(images, labels)`` or
    ``(images, labels, latents)``.
    Each step (:meth:`train_step`):

    1. ``d_steps`` discriminator updates on real images and fresh fakes, with
       the label tricks applied to the targets;
    2. one generator update through the discriminator.

    What varies is a piece the step calls: the loss is a pair of functions
    (:attr:`game`, from :data:`ganutils.stabilizers.GAME_LOSSES`), D's and G's
    penalties are lists of callables (:attr:`d_penalties`, :attr:`g_penalties`),
    what D sees is :meth:`d_view` and its targets are :meth:`targets`.

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
        options = _options_of(options, option_values)
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
        # The pieces the step calls: the loss (a pair of functions) and each network's penalties.
        self.game = _stabilizers.game_loss(options.loss, options.generator_loss)
        self.d_penalties = self._d_penalties()
        self.g_penalties = _weight_penalties(generator)
        self.d_clip = options.clip_bound  # clip D's weights after each update, or None
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

    # -- The pieces the step calls ---------------------------------------------

    def sample_latent(self, n, given=None):
        """Draw ``(n, latent_dim)`` latents from the configured distribution.

        Each replica of a distribution strategy draws its own latents. ``given``
        (the latents a batch brought along, see :func:`ganutils.pipeline.make_dataset`)
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

    def generate(self, n, latents=None, labels=None):
        """``n`` fakes from fresh latents (or the batch's ``latents``), asked for ``labels``."""
        latents = self.sample_latent(n, latents)
        return self.generator(latents if labels is None else [latents, labels], training=True)

    def targets(self, n):
        """D's cross-entropy targets ``(real, fake)``, ``(n, 1)`` each: 1 and 0, then the tricks.

        Exactly ``round(label_noise * n)`` targets of each side flip (ganhacks
        #6), then ``label_smoothing`` softens them; the losses other than
        ``"gan"`` ignore them.
        """
        noise, smoothing = self.options.label_noise, self.options.label_smoothing
        pair = []
        for hard in (tf.ones((n, 1)), tf.zeros((n, 1))):
            if noise > 0.0:
                count = tf.cast(tf.round(noise * tf.cast(n, tf.float32)), tf.int32)
                order = tf.argsort(keras.random.uniform((n,), seed=self.seed_generator))
                flip = tf.scatter_nd(order[:count, None], tf.ones((count,), hard.dtype), (n,))
                hard = tf.abs(hard - flip[:, None])
            if smoothing == "two_sided":  # real in [0.7, 1.2], fake in [0.0, 0.3]
                real = keras.random.uniform(tf.shape(hard), 0.7, 1.2, seed=self.seed_generator)
                fake = keras.random.uniform(tf.shape(hard), 0.0, 0.3, seed=self.seed_generator)
                hard = hard * real + (1.0 - hard) * fake
            elif smoothing == "one_sided":  # real 0.9 (Salimans et al. 2016)
                hard = hard * 0.9
            pair.append(hard)
        return tuple(pair)

    def d_view(self, images, real=False):
        """The images as D sees them: augmented and noised as the options ask, else as they are."""
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

    def score(self, images, labels=None, training=True):
        """D's real-vs-fake logits ``(n, 1)`` and, under AC-GAN, its class logits (else None).

        The one place conditioning meets D: ``"channels"`` hands it the labels,
        ``"auxiliary"`` reads the class logits after the first output.
        """
        if labels is None:
            return self.discriminator(images, training=training), None
        if self.options.conditioning == "channels":
            return self.discriminator([images, labels], training=training), None
        outputs = self.discriminator(images, training=training)
        return outputs[:, :1], outputs[:, 1:]

    def critic(self, images, labels=None, training=True):
        """D's logits alone, a function of the images: what the gradient penalties differentiate."""
        return self.score(images, labels, training)[0]

    def _gamma_scale(self):
        """The gammas' share of their value now: 1, or the linear schedule's at this step."""
        if self.options.gamma_steps is None:
            return 1.0
        done = tf.cast(self.g_optimizer.iterations, tf.float32) / float(self.options.gamma_steps)
        return 1.0 + (self.options.gamma_end_share - 1.0) * tf.minimum(done, 1.0)

    def _d_penalties(self) -> list:
        """D's penalties in the order they join its loss: WGAN-GP's, R1 and R2, weight penalties."""
        options, penalties = self.options, []
        if self.game.gradient_penalty:
            penalties.append(_stabilizers.GradientPenalty(options.gp_weight, self.seed_generator))
        r1, r2 = options.r1_gamma, options.r2_gamma
        if r1 is not None or r2 is not None:
            penalties.append(_stabilizers.ZeroCentredPenalty(r1, r2, self._gamma_scale))
        return penalties + _weight_penalties(self.discriminator)

    # -- The step ---------------------------------------------------------------

    def train_step(self, data):
        """One step of the game on a batch of real images, or of ``(images, latents)``.

        The recipe: make fakes; update D on the real images and the fakes
        (:meth:`discriminator_step`, ``d_steps`` times); update G through the
        updated D; update the moving average of G; log. G's tape records only
        the generator's forward pass and G's loss: D's update in between runs
        with the tape paused, so its gradient never reaches G and G's update
        never touches D's weights.

        A conditional GAN (``num_classes``) takes ``(images, labels)`` or
        ``(images, labels, latents)``.

        Raises:
            ValueError: A conditional GAN gets batches without labels.
        """
        real_images, labels, latents = self._unpack(data)
        if self.options.simultaneous:  # both updates from one forward pass
            return self._simultaneous_step(real_images, latents)
        n = tf.shape(real_images)[0]
        # All D updates but the last on fakes of their own; with fresh_fakes, all of them.
        extra = self.options.d_steps if self.options.fresh_fakes else self.options.d_steps - 1
        for _ in range(extra):
            d_out = self.discriminator_step(real_images, self.generate(n, latents, labels), labels)
        with tf.GradientTape() as tape:
            fake_images = self.generate(n, latents, labels)
            if not self.options.fresh_fakes:  # D's last update, on these very fakes
                with tape.stop_recording():
                    d_out = self.discriminator_step(real_images, fake_images, labels)
            g_loss = self.generator_loss(real_images, fake_images, labels)
            loss = sum([penalty(None, None, None) for penalty in self.g_penalties], g_loss)
            # A replica's share of the global-batch mean (and the mixed_float16 loss scale).
            scaled = _distribute.scale_loss(self.g_optimizer, loss)
        variables = self.generator.trainable_variables
        gradients = tape.gradient(scaled, variables)
        g_norm = _distribute.gradient_norm(self.g_optimizer, gradients)
        self.g_optimizer.apply(gradients, variables)
        if self.ema_generator is not None:
            self._update_ema()
        return self._log(d_out, g_loss, g_norm)

    def discriminator_step(self, real_images, fake_images, labels=None):
        """One update of D on real and fake images (two under ``d_updates="alternating"``).

        Returns:
            ``(loss_real, loss_fake, real_logits, fake_logits, gradient_norm)``:
            D's loss in its two halves (penalties aside), its logits before the
            update and the norm of its gradient.
        """
        real_images, fake_images = self.d_view(real_images, real=True), self.d_view(fake_images)
        targets = self.targets(tf.shape(real_images)[0])
        if self.options.d_updates == "alternating":
            return self._alternating_discriminator_step(real_images, fake_images, targets, labels)
        critic = functools.partial(self.critic, labels=labels)
        with tf.GradientTape() as tape:
            (real_logits, real_classes), (fake_logits, fake_classes) = self._d_scores(
                real_images, fake_images, labels
            )
            loss_real, loss_fake = self.game.d_loss(real_logits, fake_logits, targets)
            if real_classes is not None:  # AC-GAN: D also names the class of real and fake images
                weight = self.options.class_loss_weight
                loss_real += _conditioning.class_loss(labels, real_classes, weight)
                loss_fake += _conditioning.class_loss(labels, fake_classes, weight)
            penalties = [penalty(critic, real_images, fake_images) for penalty in self.d_penalties]
            scaled = _distribute.scale_loss(self.d_optimizer, sum(penalties, loss_real + loss_fake))
        variables = self.discriminator.trainable_variables
        gradients = tape.gradient(scaled, variables)
        norm = _distribute.gradient_norm(self.d_optimizer, gradients)
        self.d_optimizer.apply(gradients, variables)
        if self.d_clip is not None:  # WGAN keeps its critic Lipschitz by clipping
            _stabilizers.clip_weights(self.discriminator, self.d_clip)
        return loss_real, loss_fake, real_logits, fake_logits, norm

    def generator_loss(self, real_images, fake_images, labels=None):
        """G's loss on ``fake_images`` (made inside the caller's tape), through D as it is now."""
        fake_images = self.d_view(fake_images)
        if self.options.feature_matching:  # match D's features on real images instead
            real_features = self.feature_model(self.d_view(real_images, real=True), training=True)
            fake_features = self.feature_model(fake_images, training=True)
            return _stabilizers.feature_matching_loss(real_features, fake_features)
        real_logits = None
        if self.game.pairs:  # G's loss pairs each fake with a real image
            real_logits, _ = self.score(self.d_view(real_images, real=True), labels)
        fake_logits, fake_classes = self.score(fake_images, labels)
        loss = self.game.g_loss(fake_logits, real_logits)
        if fake_classes is not None:  # AC-GAN: fakes classified as the label they were asked for
            loss += _conditioning.class_loss(labels, fake_classes, self.options.class_loss_weight)
        return loss

    # -- The step's plumbing and its other shapes --------------------------------

    def _unpack(self, data):
        """A batch's real images (in the networks' range), labels or None, latents or None."""
        parts = list(data) if isinstance(data, (tuple, list)) else [data]
        labels = None
        if self.options.num_classes is not None:
            if len(parts) < 2:
                raise ValueError(
                    "a conditional GAN (num_classes set) trains on (images, labels) batches; "
                    "pass labels= to ganutils.train.make_dataset"
                )
            labels = tf.cast(parts.pop(1), tf.int32)
        real_images = parts[0]
        if self.options.image_range == "unit":
            real_images = (real_images + 1.0) / 2.0
        return real_images, labels, parts[1] if len(parts) > 1 else None

    def _d_scores(self, real_images, fake_images, labels=None):
        """``score`` of the real and of the fake images, as ``d_updates`` asks."""
        if self.options.d_updates != "mixed":
            return self.score(real_images, labels), self.score(fake_images, labels)
        # One forward pass over real and fake together: batch normalisation
        # computes its statistics over the mix (order within a batch is irrelevant).
        n = tf.shape(real_images)[0]
        both = None if labels is None else tf.concat([labels, labels], 0)
        logits, classes = self.score(tf.concat([real_images, fake_images], 0), both)
        if classes is None:
            return (logits[:n], None), (logits[n:], None)
        return (logits[:n], classes[:n]), (logits[n:], classes[n:])

    def _alternating_discriminator_step(self, real_images, fake_images, targets, labels):
        """``d_updates="alternating"``: one D update on the real images, then one on the fakes."""
        critic = functools.partial(self.critic, labels=labels)
        variables, weight = self.discriminator.trainable_variables, self.options.class_loss_weight
        sides = []
        for images, side_targets, real in (
            (real_images, targets[0], True),
            (fake_images, targets[1], False),
        ):
            with tf.GradientTape() as tape:
                logits, classes = self.score(images, labels)
                loss = _stabilizers.cross_entropy(side_targets, logits)
                if classes is not None:
                    loss += _conditioning.class_loss(labels, classes, weight)
                # Each update records its loss with its R1 or R2 term, weight penalties aside.
                seen = (images, None) if real else (None, images)
                weights = [p for p in self.d_penalties if isinstance(p, _stabilizers.WeightPenalty)]
                for penalty in self.d_penalties:
                    if penalty not in weights:
                        loss += penalty(critic, *seen)
                total = sum([penalty() for penalty in weights], loss)
                scaled = _distribute.scale_loss(self.d_optimizer, total)
            gradients = tape.gradient(scaled, variables)
            sides.append((loss, logits, _distribute.gradient_norm(self.d_optimizer, gradients)))
            self.d_optimizer.apply(gradients, variables)
            if self.d_clip is not None:
                _stabilizers.clip_weights(self.discriminator, self.d_clip)
        (loss_real, real_logits, norm_real), (loss_fake, fake_logits, norm_fake) = sides
        return loss_real, loss_fake, real_logits, fake_logits, tf.sqrt(norm_real**2 + norm_fake**2)

    def _simultaneous_step(self, real_images, latents=None):
        """Both updates from one forward pass, as the TensorFlow DCGAN tutorial does."""
        n = tf.shape(real_images)[0]
        targets = self.targets(n)
        latents = self.sample_latent(n, latents)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = self.generator(latents, training=True)
            (real_logits, _), (fake_logits, _) = self._d_scores(real_images, fake_images)
            loss_real, loss_fake = self.game.d_loss(real_logits, fake_logits, targets)
            g_loss = self.game.g_loss(fake_logits, None)
            d_total = sum([p(None, None, None) for p in self.d_penalties], loss_real + loss_fake)
            g_total = sum([p(None, None, None) for p in self.g_penalties], g_loss)
            d_scaled = _distribute.scale_loss(self.d_optimizer, d_total)
            g_scaled = _distribute.scale_loss(self.g_optimizer, g_total)
        d_variables = self.discriminator.trainable_variables
        g_variables = self.generator.trainable_variables
        d_gradients = d_tape.gradient(d_scaled, d_variables)
        g_gradients = g_tape.gradient(g_scaled, g_variables)
        d_norm = _distribute.gradient_norm(self.d_optimizer, d_gradients)
        g_norm = _distribute.gradient_norm(self.g_optimizer, g_gradients)
        self.d_optimizer.apply(d_gradients, d_variables)
        self.g_optimizer.apply(g_gradients, g_variables)
        if self.ema_generator is not None:
            self._update_ema()
        return self._log((loss_real, loss_fake, real_logits, fake_logits, d_norm), g_loss, g_norm)

    def _log(self, d_out, g_loss, g_norm):
        """Add the step's values to the running means; return the logs ``fit`` reports."""
        real, fake, real_logits, fake_logits, d_norm = d_out
        d_real, d_fake = (tf.reduce_mean(tf.sigmoid(x)) for x in (real_logits, fake_logits))
        # In the trackers' order: d_loss, d_loss_real, d_loss_fake, g_loss, d_real, d_fake, norms.
        values = (real + fake, real, fake, g_loss, d_real, d_fake, d_norm, g_norm)
        for tracker, value in zip(self.trackers.values(), values, strict=True):
            tracker.update_state(value)
        return _distribute.step_logs({name: t.result() for name, t in self.trackers.items()})


def _weight_penalties(network) -> list:
    """``network``'s weight-penalty piece, if it has weight penalties (L1/L2 on its kernels)."""
    return [_stabilizers.WeightPenalty(network)] if network.losses else []
