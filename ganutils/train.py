"""The GAN training engine, the MNIST run, and its command line.

:class:`GAN` is a ``keras.Model`` whose ``train_step`` updates the
discriminator and then the generator, each with its own optimizer, in one
compiled TensorFlow function: no Python loop of ``train_on_batch`` calls. Each
ganhacks trick is an option, so the same engine trains the book's baseline and
every variant of the ablation.

:func:`train_mnist` wires the engine to MNIST, the callbacks of
:mod:`ganutils.callbacks` (sample grids, loss history, GIF, checkpoints) and an
output folder, and resumes from that folder's last checkpoint. From a shell::

    python -m ganutils.train --profile gpu --out runs/mnist
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import threading
import time
from pathlib import Path

import numpy as np

from . import config as _config
from . import data as _data

# TensorFlow and Keras load through ganutils.config so their start-up lines stay quiet.
tf = _config._import_tensorflow()
import keras  # noqa: E402

from . import callbacks as _callbacks  # noqa: E402
from . import distribute as _distribute  # noqa: E402
from . import models as _models  # noqa: E402
from . import stabilizers as _stabilizers  # noqa: E402

__all__ = [
    "D_UPDATES",
    "GAN",
    "GENERATOR_LOSSES",
    "LABEL_SMOOTHING",
    "TrainConfig",
    "build_gan",
    "fixed_latents",
    "main",
    "make_dataset",
    "train_mnist",
]

D_UPDATES = ("separate", "mixed", "alternating")
GENERATOR_LOSSES = ("non_saturating", "minimax")
LABEL_SMOOTHING = ("none", "two_sided", "one_sided")
LATENT_DISTRIBUTIONS = ("gaussian", "uniform")

# Latents a batch brings along (see GAN.sample_latent), per thread: MirroredStrategy
# traces its replicas' steps concurrently, one thread each.
_STEP = threading.local()
LOSSES = ("gan", "wgan", "wgan_gp")
AUGMENT = (None, "both", "real_only")
OPTIMIZERS = ("adam", "rmsprop", "sgd")
IMAGE_RANGES = ("signed", "unit")


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
    (``(n, 28, 28, 1)`` float32 in [-1, 1]). Each step:

    1. ``d_steps`` discriminator updates on real images and fresh fakes, with
       the label tricks applied to the targets;
    2. one generator update through the discriminator.

    Args:
        generator: Maps ``(n, latent_dim)`` to images.
        discriminator: Maps images to ``(n, 1)`` logits.
        latent_dim: Length of z.
        latent_distribution: ``"gaussian"`` (ganhacks #3) or ``"uniform"`` in [-1, 1].
        d_updates: How D sees a step's images. ``"separate"``: an all-real and
            an all-fake forward pass, one update (ganhacks #4, as the TensorFlow
            DCGAN tutorial does); ``"mixed"``: one forward pass over real and
            fake images together, so batch normalisation sees both at once; ``"alternating"``:
            two optimizer updates, first all-real then all-fake, as the Keras 2
            ``train_on_batch`` loops of older tutorials do.
        label_smoothing: ``"none"``, ``"two_sided"`` (real targets uniform in
            [0.7, 1.2], fake in [0.0, 0.3], ganhacks #6) or ``"one_sided"`` (real
            targets 0.9, Salimans et al. 2016).
        label_noise: Share of D's targets flipped per batch (ganhacks #6); exactly
            ``round(label_noise * n)`` real and as many fake targets flip.
        generator_loss: ``"non_saturating"`` (maximise log D(G(z)), ganhacks #2)
            or ``"minimax"`` (minimise log(1 - D(G(z))), Goodfellow et al. 2014).
        d_steps: Discriminator updates per generator update (same real batch,
            fresh latents each time).
        ema_decay: Keep an exponential moving average of the generator's
            weights with this decay (e.g. 0.99) in ``ema_generator`` and draw
            samples from it (:attr:`sampler`); ``None`` keeps none. Averaging
            the generator over recent steps smooths out the oscillation of
            the game (Yazici et al. 2019).
        simultaneous: Compute both updates from one forward pass (one batch of
            fakes, two gradient tapes), as the TensorFlow DCGAN tutorial does:
            about a third less compute per step, but the generator's gradient
            comes from the discriminator before its update. ``False``
            alternates: D is updated first, then G is trained against the new D
            on fresh latents.
        loss: ``"gan"`` (the cross-entropy game above), ``"wgan"`` (Wasserstein
            critic with weight clipping, Arjovsky et al. 2017) or ``"wgan_gp"``
            (Wasserstein with the gradient penalty, Gulrajani et al. 2017). The
            Wasserstein losses ignore the label options and ``generator_loss``;
            pair them with ``d_steps=5`` and a critic without batch normalisation.
        gp_weight: Weight of the gradient penalty (``loss="wgan_gp"``; paper: 10).
        clip_value: Clip every critic weight into [-clip_value, clip_value]
            after each update; ``None`` means 0.01 under ``loss="wgan"`` and no
            clipping otherwise.
        instance_noise: ``(initial_std, anneal_steps)``: add Gaussian noise to
            every image D sees, real and fake, with a standard deviation falling
            linearly to 0 over ``anneal_steps`` generator steps
            (:func:`ganutils.stabilizers.instance_noise_std`); ``None`` adds none.
        augment: ``"both"`` applies :func:`ganutils.stabilizers.diff_augment`
            to real and fake images before D (Zhao et al. 2020);
            ``"real_only"`` to real images only, the unsafe variant whose
            augmentations leak into the samples; ``None`` augments nothing.
        augment_policy: The augmentations, e.g. ``"color,translation,cutout"``.
        feature_matching: Train G to match the mean of D's last hidden features
            on real images instead of fooling D (Salimans et al. 2016).
        image_range: ``"signed"``: the networks work on images in [-1, 1]
            (DCGAN, with a tanh generator); ``"unit"``: in [0, 1] (a sigmoid
            generator, the alternative Part VI's ablation measures). Batches
            arrive in [-1, 1] either way and are mapped inside the step, and
            :attr:`sampler` always returns [-1, 1].
        seed: Seed of the step's random draws (latents, smoothing, flips).
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        *,
        latent_dim: int,
        latent_distribution: str = "gaussian",
        d_updates: str = "separate",
        label_smoothing: str = "none",
        label_noise: float = 0.0,
        generator_loss: str = "non_saturating",
        d_steps: int = 1,
        simultaneous: bool = False,
        ema_decay: float | None = None,
        loss: str = "gan",
        gp_weight: float = 10.0,
        clip_value: float | None = None,
        instance_noise: tuple[float, int] | None = None,
        augment: str | None = None,
        augment_policy: str = "color,translation,cutout",
        feature_matching: bool = False,
        image_range: str = "signed",
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_options(
            latent_dim=latent_dim,
            latent_distribution=latent_distribution,
            d_updates=d_updates,
            label_smoothing=label_smoothing,
            label_noise=label_noise,
            generator_loss=generator_loss,
            d_steps=d_steps,
            simultaneous=simultaneous,
            ema_decay=ema_decay,
            loss=loss,
            gp_weight=gp_weight,
            clip_value=clip_value,
            instance_noise=instance_noise,
            augment=augment,
            augment_policy=augment_policy,
            feature_matching=feature_matching,
        )
        self.loss = loss
        self.gp_weight = float(gp_weight)
        if clip_value is None and loss == "wgan":
            clip_value = 0.01  # the WGAN paper's c
        self.clip_value = None if clip_value is None else float(clip_value)
        self.instance_noise = (
            None if instance_noise is None else (float(instance_noise[0]), int(instance_noise[1]))
        )
        self.augment = augment
        self.augment_policy = augment_policy
        self.feature_matching = bool(feature_matching)
        self.feature_model = (
            _stabilizers.feature_extractor(discriminator) if feature_matching else None
        )
        if image_range not in IMAGE_RANGES:
            raise ValueError(f"image_range must be one of {IMAGE_RANGES}; got {image_range!r}")
        self.image_range = image_range
        self._signed_views: dict = {}
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.latent_distribution = latent_distribution
        self.d_updates = d_updates
        self.label_smoothing = label_smoothing
        self.label_noise = float(label_noise)
        self.generator_loss = generator_loss
        self.d_steps = int(d_steps)
        self.simultaneous = bool(simultaneous)
        self.ema_decay = ema_decay
        self.ema_generator = None
        if ema_decay is not None:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
            self.ema_generator.trainable = False  # updated by averaging, never by gradients
            self.ema_updates = keras.Variable(0, dtype="int64", trainable=False, name="ema_updates")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="gan_seed")
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
        if self.image_range == "signed":
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
        decay = tf.minimum(self.ema_decay, (1.0 + steps) / (10.0 + steps))
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
        return {
            "latent_dim": self.latent_dim,
            "latent_distribution": self.latent_distribution,
            "d_updates": self.d_updates,
            "label_smoothing": self.label_smoothing,
            "label_noise": self.label_noise,
            "generator_loss": self.generator_loss,
            "d_steps": self.d_steps,
            "simultaneous": self.simultaneous,
            "ema_decay": self.ema_decay,
            "loss": self.loss,
            "gp_weight": self.gp_weight,
            "clip_value": self.clip_value,
            "instance_noise": None if self.instance_noise is None else list(self.instance_noise),
            "augment": self.augment,
            "augment_policy": self.augment_policy,
            "feature_matching": self.feature_matching,
            "image_range": self.image_range,
            "seed": self.seed,
        }

    # -- The tricks, in graph -------------------------------------------------

    def sample_latent(self, n):
        """Draw ``(n, latent_dim)`` latents from the configured distribution.

        Each replica of a distribution strategy draws its own latents. When the
        dataset yields ``(images, latents)`` (see :func:`make_dataset`), every
        draw of that step returns those latents instead: exact comparisons
        (one device against several) need the same latents on both sides.
        """
        given = getattr(_STEP, "latents", None)
        if given is not None:
            return given
        shape = (n, self.latent_dim)
        seed = _distribute.replica_seed(self.seed_generator.next())
        if self.latent_distribution == "gaussian":
            return tf.random.stateless_normal(shape, seed=seed)
        return tf.random.stateless_uniform(shape, seed=seed, minval=-1.0, maxval=1.0)

    def _flip(self, hard):
        """Flip exactly ``round(label_noise * n)`` of the 0/1 targets in ``hard``."""
        if self.label_noise <= 0.0:
            return hard
        n = tf.shape(hard)[0]
        count = tf.cast(tf.round(self.label_noise * tf.cast(n, tf.float32)), tf.int32)
        order = tf.argsort(keras.random.uniform((n,), seed=self.seed_generator))
        flip = tf.scatter_nd(order[:count, None], tf.ones((count,), hard.dtype), (n,))
        return tf.abs(hard - flip[:, None])

    def _targets(self, hard):
        """Turn hard 0/1 targets into (possibly smoothed) training targets."""
        if self.label_smoothing == "two_sided":
            shape = tf.shape(hard)
            real = keras.random.uniform(shape, 0.7, 1.2, seed=self.seed_generator)
            fake = keras.random.uniform(shape, 0.0, 0.3, seed=self.seed_generator)
            return hard * real + (1.0 - hard) * fake
        if self.label_smoothing == "one_sided":
            return hard * 0.9
        return hard

    def _d_targets(self, n):
        real = self._targets(self._flip(tf.ones((n, 1))))
        fake = self._targets(self._flip(tf.zeros((n, 1))))
        return real, fake

    # -- The step ---------------------------------------------------------------

    def _d_losses(self, real_images, fake_images, real_targets, fake_targets):
        if self.d_updates == "mixed":
            # One forward pass over real and fake together: batch normalisation
            # computes its statistics over the mix (order within a batch is irrelevant).
            n = tf.shape(real_images)[0]
            logits = self.discriminator(tf.concat([real_images, fake_images], 0), training=True)
            real_logits, fake_logits = logits[:n], logits[n:]
        else:
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(fake_images, training=True)
        if self.loss != "gan":
            # The critic's Wasserstein loss, mean D(fake) - mean D(real), split in two.
            loss_real = -tf.reduce_mean(real_logits)
            loss_fake = tf.reduce_mean(fake_logits)
            return loss_real, loss_fake, real_logits, fake_logits
        return (
            _bce(real_targets, real_logits),
            _bce(fake_targets, fake_logits),
            real_logits,
            fake_logits,
        )

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
        if network is self.discriminator and self.clip_value is not None:
            _stabilizers.clip_weights(self.discriminator, self.clip_value)
        return outputs, norm

    def _discriminator_step(self, real_images):
        n = tf.shape(real_images)[0]
        fake_images = self.generator(self.sample_latent(n), training=True)
        real_images, fake_images = self._d_view(real_images, True), self._d_view(fake_images)
        real_targets, fake_targets = self._d_targets(n)
        variables = self.discriminator.trainable_variables
        if self.d_updates == "alternating":
            (loss_real, real_logits), norm_real = self._apply(
                self.d_optimizer,
                lambda: self._one_side(real_images, real_targets),
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
            if self.loss == "wgan_gp":
                loss += self.gp_weight * _stabilizers.gradient_penalty(
                    self.discriminator, real_images, fake_images, seed=self.seed_generator
                )
            return loss, loss_real, loss_fake, real_logits, fake_logits

        (_, loss_real, loss_fake, real_logits, fake_logits), norm = self._apply(
            self.d_optimizer, loss_fn, variables, self.discriminator
        )
        return loss_real, loss_fake, real_logits, fake_logits, norm

    def _one_side(self, images, targets):
        logits = self.discriminator(images, training=True)
        return _bce(targets, logits), logits

    def _d_view(self, images, real=False):
        """The images as D sees them: augmented and noised as the options ask."""
        if self.augment == "both" or (self.augment == "real_only" and real):
            images = _stabilizers.diff_augment(
                images, self.augment_policy, seed=self.seed_generator
            )
        if self.instance_noise is not None:
            std = _stabilizers.instance_noise_std(self.g_optimizer.iterations, *self.instance_noise)
            images = _stabilizers.add_instance_noise(images, std, seed=self.seed_generator)
        return images

    def _g_loss(self, fake_logits):
        if self.loss != "gan":
            return -tf.reduce_mean(fake_logits)  # Wasserstein: raise the critic's fake scores
        if self.generator_loss == "non_saturating":
            return _bce(tf.ones_like(fake_logits), fake_logits)
        return -_bce(tf.zeros_like(fake_logits), fake_logits)

    def _generator_step(self, n, real_images=None):
        latents = self.sample_latent(n)

        def loss_fn():
            fake_images = self._d_view(self.generator(latents, training=True))
            if self.feature_matching:
                real_features = self.feature_model(self._d_view(real_images, True), training=True)
                fake_features = self.feature_model(fake_images, training=True)
                return (_stabilizers.feature_matching_loss(real_features, fake_features),)
            fake_logits = self.discriminator(fake_images, training=True)
            return (self._g_loss(fake_logits),)

        (g_loss,), norm = self._apply(
            self.g_optimizer, loss_fn, self.generator.trainable_variables, self.generator
        )
        return g_loss, norm

    def _simultaneous_step(self, real_images):
        """Both updates from one forward pass, as the TensorFlow DCGAN tutorial does."""
        n = tf.shape(real_images)[0]
        real_targets, fake_targets = self._d_targets(n)
        latents = self.sample_latent(n)
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
        real_images = data[0] if isinstance(data, (tuple, list)) else data
        if self.image_range == "unit":
            real_images = (real_images + 1.0) / 2.0
        # Batches of (images, latents) fix the step's latents (see sample_latent).
        _STEP.latents = data[1] if isinstance(data, (tuple, list)) and len(data) > 1 else None
        n = tf.shape(real_images)[0]
        if self.simultaneous:
            d_out, (g_loss, g_norm) = self._simultaneous_step(real_images)
            loss_real, loss_fake, real_logits, fake_logits, d_norm = d_out
        else:
            for _ in range(self.d_steps):
                loss_real, loss_fake, real_logits, fake_logits, d_norm = self._discriminator_step(
                    real_images
                )
            g_loss, g_norm = self._generator_step(n, real_images)
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
        _STEP.latents = None
        return _distribute.step_logs({name: t.result() for name, t in self.trackers.items()})


def _check_options(
    *,
    latent_dim,
    latent_distribution,
    d_updates,
    label_smoothing,
    label_noise,
    generator_loss,
    d_steps,
    simultaneous=False,
    ema_decay=None,
    loss="gan",
    gp_weight=10.0,
    clip_value=None,
    instance_noise=None,
    augment=None,
    augment_policy="color,translation,cutout",
    feature_matching=False,
):
    """Validate the GAN's options; a ValueError names the argument and what it expects."""
    if (
        isinstance(latent_dim, bool)
        or not isinstance(latent_dim, (int, np.integer))
        or latent_dim < 1
    ):
        raise ValueError(f"latent_dim must be a positive integer; got {latent_dim!r}")
    for name, value, choices in (
        ("latent_distribution", latent_distribution, LATENT_DISTRIBUTIONS),
        ("d_updates", d_updates, D_UPDATES),
        ("label_smoothing", label_smoothing, LABEL_SMOOTHING),
        ("generator_loss", generator_loss, GENERATOR_LOSSES),
    ):
        if value not in choices:
            raise ValueError(f"{name} must be one of {choices}; got {value!r}")
    if not 0.0 <= float(label_noise) <= 1.0:
        raise ValueError(f"label_noise must lie in [0, 1]; got {label_noise!r}")
    if isinstance(d_steps, bool) or not isinstance(d_steps, (int, np.integer)) or d_steps < 1:
        raise ValueError(f"d_steps must be a positive integer; got {d_steps!r}")
    if simultaneous and (d_steps != 1 or d_updates == "alternating"):
        raise ValueError(
            "simultaneous=True computes both updates from one forward pass; it needs "
            f"d_steps=1 and d_updates 'separate' or 'mixed' (got d_steps={d_steps!r}, "
            f"d_updates={d_updates!r})"
        )
    if ema_decay is not None and not 0.0 < ema_decay < 1.0:
        raise ValueError(f"ema_decay must lie in (0, 1) or be None; got {ema_decay!r}")
    _check_stabilizers(
        d_updates=d_updates,
        simultaneous=simultaneous,
        loss=loss,
        gp_weight=gp_weight,
        clip_value=clip_value,
        instance_noise=instance_noise,
        augment=augment,
        augment_policy=augment_policy,
        feature_matching=feature_matching,
    )


def _is_number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, np.number))


def _check_stabilizers(
    *,
    d_updates,
    simultaneous,
    loss,
    gp_weight,
    clip_value,
    instance_noise,
    augment,
    augment_policy,
    feature_matching,
):
    """The Part V options' share of :func:`_check_options`."""
    for name, value, choices in (("loss", loss, LOSSES), ("augment", augment, AUGMENT)):
        if value not in choices:
            raise ValueError(f"{name} must be one of {choices}; got {value!r}")
    if not _is_number(gp_weight) or not gp_weight > 0:
        raise ValueError(f"gp_weight must be a positive number; got {gp_weight!r}")
    if clip_value is not None and (not _is_number(clip_value) or not clip_value > 0):
        raise ValueError(f"clip_value must be a positive number or None; got {clip_value!r}")
    if instance_noise is not None:
        try:
            std, steps = instance_noise
        except (TypeError, ValueError):
            std, steps = None, None
        if not (_is_number(std) and std > 0 and _is_number(steps) and int(steps) == steps > 0):
            raise ValueError(
                "instance_noise must be None or (initial_std > 0, anneal_steps >= 1); "
                f"got {instance_noise!r}"
            )
    parts = augment_policy.split(",") if isinstance(augment_policy, str) else [None]
    if not all(part.strip() in _stabilizers.AUGMENT_POLICIES for part in parts if part != ""):
        raise ValueError(
            f"augment_policy must be comma-separated names from "
            f"{_stabilizers.AUGMENT_POLICIES}; got {augment_policy!r}"
        )
    if not isinstance(feature_matching, (bool, np.bool_)):
        raise ValueError(f"feature_matching must be True or False; got {feature_matching!r}")
    if loss != "gan" and d_updates == "alternating":
        raise ValueError(
            f"loss={loss!r} needs real and fake scores in one update: d_updates must be "
            f"'separate' or 'mixed'; got {d_updates!r}"
        )
    if simultaneous and (
        loss != "gan" or clip_value is not None or instance_noise or augment or feature_matching
    ):
        raise ValueError(
            "simultaneous=True supports only loss='gan' without clip_value, instance_noise, "
            f"augment or feature_matching; got loss={loss!r}, clip_value={clip_value!r}, "
            f"instance_noise={instance_noise!r}, augment={augment!r}, "
            f"feature_matching={feature_matching!r}"
        )


# -- The book's recipe ----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
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
    """

    epochs: int = 15
    batch_size: int = 64
    max_digits: int | None = None
    latent_dim: int = 100
    g_filters: int = 64
    d_filters: int = 64
    kernel_size: int = 5
    learning_rate: float = 5e-3
    d_learning_rate: float | None = None
    beta_1: float = 0.5
    beta_2: float = 0.999
    lr_decay: float | None = None
    latent_distribution: str = "gaussian"
    d_updates: str = "separate"
    label_smoothing: str = "one_sided"
    label_noise: float = 0.0
    generator_loss: str = "non_saturating"
    d_steps: int = 1
    simultaneous: bool = False
    ema_decay: float | None = 0.99
    batch_norm: bool = True
    seed: int = 42
    grid_size: int = 64
    # Part V's stabilisers, all off by default (see GAN, ganutils.models and
    # ganutils.stabilizers). instance_noise is the initial std; it falls to 0
    # over instance_noise_steps generator steps (default: the whole run).
    loss: str = "gan"
    gp_weight: float = 10.0
    clip_value: float | None = None
    instance_noise: float | None = None
    instance_noise_steps: int | None = None
    augment: str | None = None
    augment_policy: str = "color,translation,cutout"
    feature_matching: bool = False
    optimizer: str = "adam"
    # The alternatives to the DCGAN practices that Part VI's ablation measures.
    downsample: str = "strided"
    upsample: str = "transposed"
    d_activation: str = "leaky_relu"
    kernel_initializer: str = "dcgan"
    image_range: str = "signed"
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
        for name in ("epochs", "batch_size", "g_filters", "d_filters", "kernel_size", "grid_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if self.max_digits is not None and (
            not isinstance(self.max_digits, int) or self.max_digits < 1
        ):
            raise ValueError(
                f"max_digits must be a positive integer or None; got {self.max_digits!r}"
            )
        for name in ("learning_rate", "d_learning_rate"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive; got {value!r}")
        if self.lr_decay is not None and not 0.0 <= self.lr_decay <= 1.0:
            raise ValueError(f"lr_decay must lie in [0, 1] or be None; got {self.lr_decay!r}")
        for name in ("beta_1", "beta_2"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must lie in [0, 1); got {getattr(self, name)!r}")
        _distribute.check_options(strategy=self.strategy, precision=self.precision)
        _check_options(
            latent_dim=self.latent_dim,
            latent_distribution=self.latent_distribution,
            d_updates=self.d_updates,
            label_smoothing=self.label_smoothing,
            label_noise=self.label_noise,
            generator_loss=self.generator_loss,
            d_steps=self.d_steps,
            simultaneous=self.simultaneous,
            ema_decay=self.ema_decay,
            loss=self.loss,
            gp_weight=self.gp_weight,
            clip_value=self.clip_value,
            instance_noise=(
                None
                if self.instance_noise is None
                else (self.instance_noise, self.instance_noise_steps or 1)
            ),
            augment=self.augment,
            augment_policy=self.augment_policy,
            feature_matching=self.feature_matching,
        )
        for name, value, choices in (
            ("downsample", self.downsample, _models.DOWNSAMPLE),
            ("upsample", self.upsample, _models.UPSAMPLE),
            ("d_activation", self.d_activation, ("leaky_relu", "relu")),
            (
                "kernel_initializer",
                self.kernel_initializer,
                ("dcgan", "glorot_uniform", "he_normal"),
            ),
            ("image_range", self.image_range, IMAGE_RANGES),
        ):
            if value not in choices:
                raise ValueError(f"{name} must be one of {choices}; got {value!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}; got {self.optimizer!r}")
        if self.instance_noise_steps is not None and (
            isinstance(self.instance_noise_steps, bool)
            or not isinstance(self.instance_noise_steps, int)
            or self.instance_noise_steps < 1
        ):
            raise ValueError(
                "instance_noise_steps must be a positive integer or None; "
                f"got {self.instance_noise_steps!r}"
            )
        for name in ("d_dropout", "g_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must lie in [0, 1); got {getattr(self, name)!r}")
        for name in ("g_noise", "l1", "l2"):
            if not getattr(self, name) >= 0.0:
                raise ValueError(f"{name} must be non-negative; got {getattr(self, name)!r}")

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


def build_gan(config: TrainConfig, *, steps_per_epoch: int | None = None) -> GAN:
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
            f"batch_size ({config.batch_size}) is the global batch; it must be a multiple of "
            f"the {replicas} replicas of strategy {config.strategy!r}"
        )
    with strategy.scope(), _distribute.precision_policy(config.precision):
        return _build_gan(config, steps_per_epoch=steps_per_epoch, replicas=replicas)


def _build_gan(config: TrainConfig, *, steps_per_epoch: int | None, replicas: int) -> GAN:
    generator = _models.build_generator(
        config.latent_dim,
        filters=config.g_filters,
        kernel_size=config.kernel_size,
        batch_norm=config.batch_norm,
        upsample=config.upsample,
        kernel_initializer=config.kernel_initializer,
        output_activation="sigmoid" if config.image_range == "unit" else "tanh",
        dropout=config.g_dropout,
        noise=config.g_noise,
        l1=config.l1,
        l2=config.l2,
        seed=config.seed,
    )
    discriminator = _models.build_discriminator(
        filters=config.d_filters,
        kernel_size=config.kernel_size,
        batch_norm=config.batch_norm,
        activation=config.d_activation,
        downsample=config.downsample,
        kernel_initializer=config.kernel_initializer,
        dropout=config.d_dropout,
        spectral_norm=config.spectral_norm,
        minibatch_stddev=config.minibatch_stddev,
        l1=config.l1,
        l2=config.l2,
        seed=config.seed + 100,
    )
    for network in (generator, discriminator):
        if replicas > 1 and config.sync_batch_norm:
            _distribute.synchronize_batch_norm(network)
        _distribute.float32_outputs(network)  # mixed precision: float32 images and logits
    gan = GAN(
        generator,
        discriminator,
        latent_dim=config.latent_dim,
        latent_distribution=config.latent_distribution,
        d_updates=config.d_updates,
        label_smoothing=config.label_smoothing,
        label_noise=config.label_noise,
        generator_loss=config.generator_loss,
        d_steps=config.d_steps,
        simultaneous=config.simultaneous,
        ema_decay=config.ema_decay,
        loss=config.loss,
        gp_weight=config.gp_weight,
        clip_value=config.clip_value,
        instance_noise=_instance_noise(config, steps_per_epoch),
        augment=config.augment,
        augment_policy=config.augment_policy,
        feature_matching=config.feature_matching,
        image_range=config.image_range,
        seed=config.seed,
    )

    def rate(initial):
        if config.lr_decay is None or steps_per_epoch is None:
            return initial
        # Cosine decay from the initial rate to lr_decay times it over the run.
        return keras.optimizers.schedules.CosineDecay(
            initial, decay_steps=config.epochs * steps_per_epoch, alpha=config.lr_decay
        )

    def optimizer(learning_rate):
        if config.optimizer == "rmsprop":  # beta_1/beta_2 are Adam's; RMSProp keeps its rho
            return keras.optimizers.RMSprop(learning_rate=learning_rate)
        if config.optimizer == "sgd":  # plain SGD: no momentum
            return keras.optimizers.SGD(learning_rate=learning_rate)
        return keras.optimizers.Adam(
            learning_rate=learning_rate, beta_1=config.beta_1, beta_2=config.beta_2
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
    return gan


def _instance_noise(config: TrainConfig, steps_per_epoch: int | None):
    """``(std, anneal_steps)`` for ``GAN(instance_noise=...)``, or ``None``."""
    if config.instance_noise is None:
        return None
    steps = config.instance_noise_steps
    if steps is None:
        if steps_per_epoch is None:
            raise ValueError(
                "instance_noise_steps must be set when build_gan gets no steps_per_epoch "
                "(the default anneals over the whole run)"
            )
        steps = config.epochs * steps_per_epoch
    return (config.instance_noise, steps)


def fixed_latents(config: TrainConfig) -> np.ndarray:
    """The run's fixed latent batch for sample grids: ``(grid_size, latent_dim)`` float32.

    Drawn from ``config.seed`` and ``config.latent_distribution``, so the same
    config always shows the same latent vectors, on resume too.
    """
    from . import latent

    return latent.sample_latent(
        config.grid_size,
        config.latent_dim,
        distribution=config.latent_distribution,
        rng=np.random.default_rng(config.seed),
    )


def make_dataset(
    images: np.ndarray,
    *,
    batch_size: int,
    seed: int = 0,
    shuffle: bool = True,
    latents: np.ndarray | None = None,
) -> tf.data.Dataset:
    """A ``tf.data`` pipeline of real images: cache, shuffle, batch, prefetch.

    Under a distribution strategy ``fit`` splits each batch over the replicas
    (and, across machines, shards the batches by worker).

    Args:
        images: ``(n, 28, 28, 1)`` float32 in [-1, 1] (see
            :func:`ganutils.data.scale_images`).
        batch_size: Images per batch (the global batch under a strategy); the
            last partial batch is dropped so every step sees the same batch
            size (batch statistics stay comparable).
        seed: Shuffle seed (reshuffled every epoch).
        shuffle: Whether to shuffle.
        latents: ``(n, latent_dim)`` float32, one per image: batches become
            ``(images, latents)`` and each step uses these latents instead of
            drawing its own (exact comparisons across strategies; tests).

    Raises:
        ValueError: Images of the wrong dtype or shape, or fewer images than one batch.
    """
    array = np.asarray(images)
    if array.ndim != 4 or array.dtype != np.float32:
        raise ValueError(
            f"images must be float32 of shape (n, h, w, c); got {array.dtype} {array.shape}. "
            "Use ganutils.data.scale_images first."
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    if len(array) < batch_size:
        raise ValueError(f"batch_size ({batch_size}) exceeds the number of images ({len(array)})")
    if latents is not None:
        latents = np.asarray(latents, dtype=np.float32)
        if latents.ndim != 2 or len(latents) != len(array):
            raise ValueError(
                f"latents must have shape ({len(array)}, latent_dim); got {latents.shape}"
            )
    slices = array if latents is None else (array, latents)
    dataset = tf.data.Dataset.from_tensor_slices(slices).cache()
    if shuffle:
        dataset = dataset.shuffle(len(array), seed=seed, reshuffle_each_iteration=True)
    # Several machines: each takes every n-th batch (in-memory data has no files to shard).
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = dataset.with_options(options)
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def train_mnist(
    config: TrainConfig,
    out_dir: str | os.PathLike | None = None,
    *,
    images: np.ndarray | None = None,
    extra_callbacks: list | None = None,
    progress: bool = True,
    stop_after_epoch: int | None = None,
) -> tuple[GAN, dict]:
    """Train the book's DCGAN on MNIST, resuming from ``out_dir`` when it holds a checkpoint.

    Writes into ``out_dir``: ``samples/epoch_NNN.png`` grids from one fixed
    latent batch, ``history/<name>.npy`` and ``history.csv`` (per epoch),
    ``steps/<name>.npy`` (per step), ``training.gif`` and ``checkpoint.npz``
    (both models, both optimizers, the generator average, the epoch and the
    step's random state). A resumed run continues with the same weights and
    optimizer state; the ``tf.data`` shuffle order restarts, so it is not
    bit-identical to an uninterrupted one.

    Args:
        config: The run's :class:`TrainConfig`.
        out_dir: Output folder; ``None`` trains without writing anything.
        images: ``(n, 28, 28, 1)`` float32 in [-1, 1]; default: MNIST from
            :func:`ganutils.data.load_mnist` limited to ``config.max_digits``.
        extra_callbacks: More Keras callbacks (for example a metric callback).
        progress: Show a progress bar.
        stop_after_epoch: Stop after this epoch, as an interruption would (tests).

    Returns:
        The trained :class:`GAN` and the epoch history (name -> list of floats).

    Raises:
        ValueError: ``out_dir`` holds a checkpoint of a different configuration,
            or a corrupt one.
    """
    if images is None:
        images = _data.scale_images(_data.load_mnist(limit=config.max_digits).images)
    _config.seed_everything(config.seed)
    gan = build_gan(config, steps_per_epoch=len(images) // config.batch_size)
    dataset = make_dataset(images, batch_size=config.batch_size, seed=config.seed)

    callbacks: list = []
    initial_epoch = 0
    if out_dir is not None:
        out = Path(out_dir)
        if not _distribute.is_chief():  # the other machines of a multi-worker run write aside
            out = out / f"worker_{_distribute.worker_index()}"
        out.mkdir(parents=True, exist_ok=True)
        checkpoint = _callbacks.Checkpoint(out, config=config.to_dict())
        initial_epoch = checkpoint.restore(gan)
        if initial_epoch:
            previous = _callbacks.read_history(out)
            for callback in extra_callbacks or []:
                if isinstance(callback, _callbacks.QualityCheck):
                    callback.resume_from(previous, initial_epoch=initial_epoch)
        callbacks += [
            _callbacks.SampleGrid(out / "samples", fixed_latents(config)),
            *(extra_callbacks or []),  # before LossHistory, so their logs are recorded
            _callbacks.LossHistory(out, initial_epoch=initial_epoch),
            _callbacks.TrainingGif(out / "samples", out / "training.gif"),
            checkpoint,  # last: everything the epoch wrote is in place before it is marked done
        ]
    else:
        callbacks += list(extra_callbacks or [])
    if progress:
        callbacks.insert(0, _callbacks.ProgressBar())
    if stop_after_epoch is not None:
        callbacks.append(_callbacks.StopAfterEpoch(stop_after_epoch))
    if initial_epoch >= config.epochs:
        return gan, _callbacks.read_history(out_dir) if out_dir is not None else {}
    history = gan.fit(
        dataset,
        epochs=config.epochs,
        initial_epoch=initial_epoch,
        callbacks=callbacks,
        verbose=0,
        shuffle=False,  # the tf.data pipeline shuffles
    )
    if out_dir is not None:
        return gan, _callbacks.read_history(out_dir)
    return gan, history.history


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m ganutils.train --profile cpu --out runs/mnist``."""
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
    parser.add_argument("--epochs", type=int, default=None, help="override the profile's epochs")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--batch-size", type=int, default=None, help="global batch (default: the profile's)"
    )
    parser.add_argument(
        "--strategy",
        choices=_distribute.STRATEGIES,
        default="default",
        help="one device, several GPUs (mirrored), a TPU, or several machines (TF_CONFIG)",
    )
    parser.add_argument("--precision", choices=_distribute.PRECISIONS, default="float32")
    parser.add_argument("--jit", action="store_true", help="compile the step with XLA")
    args = parser.parse_args(argv)
    profile = _config.setup(seed=args.seed, profile=args.profile)
    _distribute.make_strategy(args.strategy)  # before TensorFlow runs anything else
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
    config = TrainConfig.for_profile(profile, **overrides)
    mnist = _data.load_mnist(limit=config.max_digits)
    print(profile)
    print(mnist.summary)
    start = time.perf_counter()
    _, history = train_mnist(config, args.out, images=_data.scale_images(mnist.images))
    seconds = time.perf_counter() - start
    print(
        f"trained {len(history.get('epoch', []))} epochs in {seconds:.0f} s; outputs in {args.out}"
    )
    print(json.dumps({k: v[-1] for k, v in history.items() if v}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
