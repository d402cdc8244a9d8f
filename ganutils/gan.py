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

__all__ = ["CONDITIONING", "GAN", "OPTIMIZERS", "GANOptions", "make_optimizer"]

import dataclasses
import functools

from . import config

tf = config.import_tensorflow()
import keras  # noqa: E402

from . import conditioning as _conditioning  # noqa: E402
from . import distribute as _distribute  # noqa: E402
from . import stabilizers as _stabilizers  # noqa: E402
from .options import (  # noqa: E402  (re-exported: the options and two choices callers name)
    CONDITIONING,
    OPTIMIZERS,
    GANOptions,
)


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
            self._make_ema(generator)
        self.seed_generator = keras.random.SeedGenerator(options.seed, name="gan_seed")
        # Under tf.distribute each replica's loss is a mean over its share of the batch.
        self.replicas = tf.distribute.get_strategy().num_replicas_in_sync
        # The pieces the step calls: the loss (a pair of functions) and each network's penalties.
        self.game = _stabilizers.game_loss(options.loss, options.generator_loss)
        self.d_penalties = self._d_penalties()
        self.g_penalties = _weight_penalties(generator)
        self.d_clip = options.clip_bound  # clip D's weights after each update, or None
        self.real_target = 0.9 if options.label_smoothing == "one_sided" else 1.0
        self.draw_latents = _latent_draw(options.latent_distribution, self.replicas)
        # D updates on fakes of their own before the one on G's fakes (all, with fresh_fakes).
        self.extra_d_steps = options.d_steps - (0 if options.fresh_fakes else 1)
        self.log_shape = _distribute.log_shape()
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
                "steps_per_execution must be 1: ganutils.callbacks.LossHistory "
                f"records every step; got {kwargs['steps_per_execution']!r}"
            )
        # optimizer=None: the two networks bring their own; Keras must not build a third.
        super().compile(optimizer=None, **kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)
        # What scale_loss multiplies by: 1, or mixed_float16's dynamic loss scale.
        self.d_loss_scale = getattr(d_optimizer, "dynamic_scale", 1.0)
        self.g_loss_scale = getattr(g_optimizer, "dynamic_scale", 1.0)

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

    def _make_ema(self, generator):
        """A copy of ``generator`` to hold the moving average, and the pairs of variables to update.

        Trainable weights are averaged; batch-norm statistics are copied (they
        describe the current weights' activations); integer seed states are
        left alone.
        """
        self.ema_generator = keras.models.clone_model(generator)
        self.ema_generator.set_weights(generator.get_weights())
        self.ema_generator.trainable = False  # updated by averaging, never by gradients
        self.ema_updates = keras.Variable(0, dtype="int64", trainable=False, name="ema_updates")
        pairs = list(zip(self.ema_generator.variables, generator.variables, strict=True))
        self.ema_averaged = [(a, v) for a, v in pairs if v.trainable]
        self.ema_copied = [(a, v) for a, v in pairs if not v.trainable and "float" in str(v.dtype)]

    def update_ema(self):
        """``ema = d * ema + (1 - d) * weights``, with ``d`` warmed up as ``(1 + t) / (10 + t)``."""
        steps = tf.cast(self.ema_updates.assign_add(1), tf.float32)
        decay = tf.minimum(self.options.ema_decay, (1.0 + steps) / (10.0 + steps))
        for average, variable in self.ema_averaged:
            average.assign(decay * average + (1.0 - decay) * variable)
        for average, variable in self.ema_copied:
            average.assign(variable)

    def get_config(self):
        return self.options.to_dict()

    # -- The pieces the step calls ---------------------------------------------

    def generator_input(self, n, latents=None, labels=None):
        """G's input for ``n`` fakes: fresh ``(n, latent_dim)`` latents, with ``labels`` if given.

        The latents come from the configured distribution, each replica of a
        distribution strategy drawing its own. ``latents`` (the ones a batch
        brought along, see :func:`ganutils.pipeline.make_dataset`) are used
        instead: exact comparisons (one device against several) need the same
        latents on both sides.
        """
        if latents is None:
            latents = self.draw_latents((n, self.options.latent_dim), seed=self.seed_generator)
        return latents if labels is None else [latents, labels]

    def sample_latent(self, n, given=None):
        """``n`` latents from the configured distribution (``given``, if not None)."""
        return self.generator_input(n, given)

    def targets(self, n):
        """D's cross-entropy targets ``(real, fake)``, ``(n, 1)`` each: 1 and 0, then the tricks.

        The real target is :attr:`real_target`: 1, or 0.9 under one-sided
        smoothing (Salimans et al. 2016). The random tricks are
        :meth:`noisy_targets`. The losses other than ``"gan"`` ignore the targets.
        """
        if self.options.label_noise > 0.0 or self.options.label_smoothing == "two_sided":
            return self.noisy_targets(n)
        return tf.fill((n, 1), self.real_target), tf.zeros((n, 1))

    def noisy_targets(self, n):
        """The targets with flips and two-sided smoothing, each side drawn in turn.

        Exactly ``round(label_noise * n)`` targets of each side flip (ganhacks
        #6), then ``label_smoothing`` softens them.
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
        if self.options.augment == "both" or (self.options.augment == "real_only" and real):
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
        (:meth:`discriminator_step`); update G through the updated D; update
        the moving average of G; log. G's tape records only the generator's
        forward pass and G's loss: D's update in between runs with the tape
        paused, so its gradient never reaches G and G's update never touches
        D's weights.

        A conditional GAN (``num_classes``) takes ``(images, labels)`` or
        ``(images, labels, latents)``.

        Raises:
            ValueError: A conditional GAN gets batches without labels.
        """
        real_images, n, labels, latents = self._unpack(data)
        if self.options.simultaneous:  # both updates from one forward pass
            return self._simultaneous_step(real_images, latents)
        for _ in range(self.extra_d_steps):  # d_steps > 1, or fresh_fakes: D's own fakes
            fakes = self.generator(self.generator_input(n, latents, labels), training=True)
            d_logs = self.discriminator_step(real_images, fakes, labels)
        with tf.GradientTape() as tape:
            fake_images = self.generator(self.generator_input(n, latents, labels), training=True)
            if not self.options.fresh_fakes:  # D's update on these very fakes, unrecorded
                with tape.stop_recording():
                    d_logs = self.discriminator_step(real_images, fake_images, labels)
            g_loss = self.generator_loss(real_images, fake_images, labels)
            loss = sum([penalty() for penalty in self.g_penalties], g_loss) / self.replicas
            # / replicas: each replica's share of the mean; scale_loss: mixed_float16's
            scaled = self.g_optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, self.generator.trainable_variables)
        g_norm = tf.linalg.global_norm(gradients) * self.replicas / self.g_loss_scale
        self.g_optimizer.apply(gradients, self.generator.trainable_variables)
        if self.ema_generator is not None:
            self.update_ema()
        return self._log(*d_logs, g_loss, g_norm)

    def discriminator_step(self, real, fake, labels=None):
        """One update of D on real and fake images (two under ``d_updates="alternating"``).

        Returns:
            ``(loss_real, loss_fake, real_logits, fake_logits, gradient_norm)``:
            D's loss in its two halves (penalties aside), its logits before the
            update and the norm of its gradient.
        """
        real, fake = self.d_view(real, real=True), self.d_view(fake)
        if self.options.d_updates == "alternating":
            return self._alternating_discriminator_step(real, fake, labels)
        critic = functools.partial(self.critic, labels=labels)
        with tf.GradientTape() as tape:
            if self.options.d_updates == "mixed":  # one forward pass over real and fake together
                scores = self._mixed_scores(real, fake, labels)
            else:
                scores = self.score(real, labels), self.score(fake, labels)
            (real_logits, real_classes), (fake_logits, fake_classes) = scores
            targets = self.targets(tf.shape(real)[0])
            loss_real, loss_fake = self.game.d_loss(real_logits, fake_logits, targets)
            if real_classes is not None:  # AC-GAN: D also names the class of real and fake images
                weight = self.options.class_loss_weight
                loss_real += _conditioning.class_loss(labels, real_classes, weight)
                loss_fake += _conditioning.class_loss(labels, fake_classes, weight)
            loss = sum([p(critic, real, fake) for p in self.d_penalties], loss_real + loss_fake)
            scaled = self.d_optimizer.scale_loss(loss / self.replicas)
        gradients = tape.gradient(scaled, self.discriminator.trainable_variables)
        norm = tf.linalg.global_norm(gradients) * self.replicas / self.d_loss_scale
        self.d_optimizer.apply(gradients, self.discriminator.trainable_variables)
        if self.d_clip is not None:  # WGAN keeps its critic Lipschitz by clipping
            _stabilizers.clip_weights(self.discriminator, self.d_clip)
        return loss_real, loss_fake, real_logits, fake_logits, norm

    def generator_loss(self, real, fake, labels=None):
        """G's loss on the ``fake`` images (made inside the caller's tape), through D as it is."""
        if self.options.feature_matching:  # match D's features on real images instead
            return self._feature_matching_loss(real, fake)
        fake = self.d_view(fake)  # (before the real images': the views draw in this order)
        # Some losses (game.pairs) pair each fake with a real image.
        real_logits = self.critic(self.d_view(real, real=True), labels) if self.game.pairs else None
        fake_logits, fake_classes = self.score(fake, labels)
        loss = self.game.g_loss(fake_logits, real_logits)
        if fake_classes is not None:  # AC-GAN: fakes classified as the label they were asked for
            loss += _conditioning.class_loss(labels, fake_classes, self.options.class_loss_weight)
        return loss

    # -- The step's plumbing and its other shapes --------------------------------

    def _unpack(self, data):
        """A batch's real images (in the networks' range), their number, labels, latents.

        Labels and latents are None where the batch has none.
        """
        parts = list(data) if isinstance(data, (tuple, list)) else [data]
        labels = self._labels(parts) if self.options.num_classes is not None else None
        images = parts[0] if self.options.image_range == "signed" else (parts[0] + 1.0) / 2.0
        return images, tf.shape(images)[0], labels, parts[1] if len(parts) > 1 else None

    def _labels(self, parts):
        """A conditional batch's labels, taken out of ``parts`` (images, labels[, latents])."""
        if len(parts) < 2:
            raise ValueError(
                "a conditional GAN (num_classes set) trains on (images, labels) batches; "
                "pass labels= to ganutils.train.make_dataset"
            )
        return tf.cast(parts.pop(1), tf.int32)

    def _feature_matching_loss(self, real_images, fake_images):
        """Feature matching (Salimans et al. 2016): G matches D's mean features on real images."""
        fake_images = self.d_view(fake_images)  # (fakes first: the views draw in this order)
        real_features = self.feature_model(self.d_view(real_images, real=True), training=True)
        fake_features = self.feature_model(fake_images, training=True)
        return _stabilizers.feature_matching_loss(real_features, fake_features)

    def _mixed_scores(self, real_images, fake_images, labels=None):
        """``d_updates="mixed"``: one forward pass over real and fake together.

        Batch normalisation then computes its statistics over the mix (order
        within a batch is irrelevant).
        """
        n = tf.shape(real_images)[0]
        both = None if labels is None else tf.concat([labels, labels], 0)
        logits, classes = self.score(tf.concat([real_images, fake_images], 0), both)
        if classes is None:
            return (logits[:n], None), (logits[n:], None)
        return (logits[:n], classes[:n]), (logits[n:], classes[n:])

    def _alternating_discriminator_step(self, real_images, fake_images, labels):
        """``d_updates="alternating"``: one D update on the real images, then one on the fakes."""
        targets = self.targets(tf.shape(real_images)[0])
        sides = [
            self._one_side_update(real_images, targets[0], labels, real=True),
            self._one_side_update(fake_images, targets[1], labels, real=False),
        ]
        (loss_real, real_logits, norm_real), (loss_fake, fake_logits, norm_fake) = sides
        return loss_real, loss_fake, real_logits, fake_logits, tf.sqrt(norm_real**2 + norm_fake**2)

    def _one_side_update(self, images, targets, labels, *, real):
        """One D update on one side's images: its cross-entropy, its R1 or R2 term, its weights."""
        critic = functools.partial(self.critic, labels=labels)
        with tf.GradientTape() as tape:
            logits, classes = self.score(images, labels)
            loss = _stabilizers.cross_entropy(targets, logits)
            if classes is not None:
                loss += _conditioning.class_loss(labels, classes, self.options.class_loss_weight)
            # The update records its loss with its R1 or R2 term, weight penalties aside.
            seen = (images, None) if real else (None, images)
            weights = [p for p in self.d_penalties if isinstance(p, _stabilizers.WeightPenalty)]
            for penalty in self.d_penalties:
                if penalty not in weights:
                    loss += penalty(critic, *seen)
            total = sum([penalty() for penalty in weights], loss)
            scaled = self.d_optimizer.scale_loss(total / self.replicas)
        gradients = tape.gradient(scaled, self.discriminator.trainable_variables)
        norm = tf.linalg.global_norm(gradients) * self.replicas / self.d_loss_scale
        self.d_optimizer.apply(gradients, self.discriminator.trainable_variables)
        if self.d_clip is not None:
            _stabilizers.clip_weights(self.discriminator, self.d_clip)
        return loss, logits, norm

    def _simultaneous_step(self, real_images, latents=None):
        """Both updates from one forward pass, as the TensorFlow DCGAN tutorial does."""
        n = tf.shape(real_images)[0]
        targets = self.targets(n)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = self.generator(self.generator_input(n, latents), training=True)
            (real_logits, _), (fake_logits, _) = (
                self._mixed_scores(real_images, fake_images)
                if self.options.d_updates == "mixed"
                else (self.score(real_images), self.score(fake_images))
            )
            loss_real, loss_fake = self.game.d_loss(real_logits, fake_logits, targets)
            g_loss = self.game.g_loss(fake_logits, None)
            d_total = sum([penalty() for penalty in self.d_penalties], loss_real + loss_fake)
            g_total = sum([penalty() for penalty in self.g_penalties], g_loss)
            d_scaled = self.d_optimizer.scale_loss(d_total / self.replicas)
            g_scaled = self.g_optimizer.scale_loss(g_total / self.replicas)
        norms = []
        for tape, scaled, optimizer, network, loss_scale in (
            (d_tape, d_scaled, self.d_optimizer, self.discriminator, self.d_loss_scale),
            (g_tape, g_scaled, self.g_optimizer, self.generator, self.g_loss_scale),
        ):
            gradients = tape.gradient(scaled, network.trainable_variables)
            norms.append(tf.linalg.global_norm(gradients) * self.replicas / loss_scale)
            optimizer.apply(gradients, network.trainable_variables)
        if self.ema_generator is not None:
            self.update_ema()
        return self._log(loss_real, loss_fake, real_logits, fake_logits, norms[0], g_loss, norms[1])

    def _log(self, loss_real, loss_fake, real_logits, fake_logits, d_norm, g_loss, g_norm):
        """Add the step's values to the running means; return the logs ``fit`` reports."""
        d_real, d_fake = (tf.reduce_mean(tf.sigmoid(x)) for x in (real_logits, fake_logits))
        # In the trackers' order: d_loss, d_loss_real, d_loss_fake, g_loss, d_real, d_fake, norms.
        values = (loss_real + loss_fake, loss_real, loss_fake, g_loss, d_real, d_fake)
        for tracker, value in zip(self.trackers.values(), (*values, d_norm, g_norm), strict=True):
            tracker.update_state(value)
        # log_shape is (1,) on a multi-worker cluster: see ganutils.distribute.log_shape.
        return {name: tf.reshape(t.result(), self.log_shape) for name, t in self.trackers.items()}


#: Each latent distribution's draw of a sample: Keras' own, and a stateless one for replicas.
_LATENT_DRAWS = {
    "gaussian": (keras.random.normal, tf.random.stateless_normal),
    "uniform": (
        functools.partial(keras.random.uniform, minval=-1.0, maxval=1.0),
        functools.partial(tf.random.stateless_uniform, minval=-1.0, maxval=1.0),
    ),
}


def _latent_draw(distribution: str, replicas: int):
    """``draw(shape, seed=seed_generator)`` for ``distribution``: Keras' own on one replica.

    On several, each replica folds its index into the seed
    (:func:`ganutils.distribute.replica_seed`), or every replica of a
    distribution strategy would read the same mirrored seed and draw the same
    latents. The seed is brought into int32 first, as Keras brings its own
    (XLA needs int32 seeds).
    """
    draw, stateless = _LATENT_DRAWS[distribution]
    if replicas == 1:
        return draw

    def folded(shape, seed):
        seed = tf.cast(tf.math.floormod(seed.next(), tf.int32.max - 1), tf.int32)
        return stateless(shape, seed=_distribute.replica_seed(seed))

    return folded


def _weight_penalties(network) -> list:
    """``network``'s weight-penalty piece, if it has weight penalties (L1/L2 on its kernels)."""
    return [_stabilizers.WeightPenalty(network)] if network.losses else []
