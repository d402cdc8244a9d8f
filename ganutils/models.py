"""The book's networks: DCGAN blocks, the MNIST generator and discriminator.

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

The MNIST classifier behind the quality metrics, the judge rather than a
player, lives in :mod:`ganutils.judge`.

The discriminator returns **logits** (no sigmoid): the losses in
:mod:`ganutils.gan` apply the sigmoid inside the cross-entropy, which is
numerically safer.
"""

from __future__ import annotations

__all__ = [
    "ACTIVATIONS",
    "DOWNSAMPLE",
    "UPSAMPLE",
    "build_discriminator",
    "build_generator",
    "dcgan_initializer",
    "down_block",
    "up_block",
]

from . import config

config.import_tensorflow()  # before Keras, so TensorFlow starts quietly
import keras  # noqa: E402
from keras import layers  # noqa: E402

from . import conditioning as _conditioning  # noqa: E402
from . import stabilizers as _stabilizers  # noqa: E402

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


def _after_weights(batch_norm, activation, negative_slope, dropout, noise=0.0) -> list:
    """What follows a weight layer: [BatchNorm] -> [activation] -> [GaussianNoise] -> [Dropout]."""
    stack = [layers.BatchNormalization()] if batch_norm else []
    act = _activation(activation, negative_slope, None)
    if act is not None:
        stack.append(act)
    if noise:
        stack.append(layers.GaussianNoise(noise))
    if dropout:
        stack.append(layers.Dropout(dropout))
    return stack


def _finish_block(block, batch_norm, activation, negative_slope, dropout, name, noise=0.0):
    """``block``'s layers, then those of :func:`_after_weights`, as one ``keras.Sequential``."""
    after = _after_weights(batch_norm, activation, negative_slope, dropout, noise)
    return keras.Sequential([*block, *after], name=name)


def _offset(seed: int | None, offset: int) -> int | None:
    """The seed of a network's ``offset``-th initialiser: ``seed + offset`` (``None`` stays)."""
    return None if seed is None else seed + offset


def _check_network(filters, activation) -> None:
    """The checks G and D share: at least 2 filters (halved once) and a hidden activation."""
    _check_positive("filters", filters)
    if filters < 2:
        raise ValueError(f"filters must be at least 2; got {filters}")
    _check_choice("activation", activation, ("leaky_relu", "relu"))


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
    _check_network(filters, activation)
    _check_positive("channels", channels)
    _conditioning.check_classes("num_classes", num_classes)
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
    both = {  # the options both blocks share
        "kernel_size": kernel_size,
        "upsample": upsample,
        "kernel_initializer": kernel_initializer,
        "kernel_regularizer": regularizer,
    }
    x = up_block(
        filters // 2,
        batch_norm=batch_norm,
        activation=activation,
        dropout=dropout,
        noise=noise,
        seed=_offset(seed, 1),
        name="up_14x14",
        **both,
    )(x)
    # The output layer: no batch normalisation, no activation but the output's (DCGAN).
    x = up_block(
        channels, batch_norm=False, activation=None, seed=_offset(seed, 2), name="up_28x28", **both
    )(x)
    image = layers.Activation(output_activation, name=output_activation)(x)
    return keras.Model(inputs, image, name=name)


def _dense_to_7x7(x, filters, init, regularizer, batch_norm, activation, dropout, noise):
    """The generator's first layer: dense to 7 x 7 x ``filters``, normalised and activated."""
    dense = layers.Dense(
        7 * 7 * filters,
        use_bias=not batch_norm,
        kernel_initializer=init,
        kernel_regularizer=regularizer,
    )
    after = _after_weights(batch_norm, activation, 0.2, dropout, noise)
    for layer in (dense, *after, layers.Reshape((7, 7, filters))):
        x = layer(x)
    return x


def _check_discriminator(filters, activation, num_classes, auxiliary_classes) -> None:
    _check_network(filters, activation)
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
    both = {  # the options both blocks share
        "kernel_size": kernel_size,
        "activation": activation,
        "dropout": dropout,
        "downsample": downsample,
        "kernel_initializer": kernel_initializer,
        "kernel_regularizer": regularizer,
        "spectral_norm": spectral_norm,
    }
    # No batch normalisation on the input layer (DCGAN).
    x = down_block(filters // 2, batch_norm=False, seed=seed, name="down_14x14", **both)(x)
    x = down_block(
        filters,
        batch_norm=batch_norm,
        seed=_offset(seed, 1),
        name="down_7x7",
        **both,
    )(x)
    if minibatch_stddev:
        x = _stabilizers.MinibatchStddev(name="minibatch_stddev")(x)
    x = layers.Flatten()(x)
    dense = {
        "kernel_initializer": _initializer(kernel_initializer, _offset(seed, 2)),
        "kernel_regularizer": regularizer,
    }
    logit = _logit_layer(1 + (auxiliary_classes or 0), spectral_norm=spectral_norm, **dense)(x)
    return keras.Model(inputs, logit, name=name)


def _logit_layer(units: int, *, spectral_norm: bool, **dense):
    """D's last layer, named ``logit``: a ``Dense`` of ``units``, spectrally normalised or not."""
    logit = layers.Dense(units, name=None if spectral_norm else "logit", **dense)
    return layers.SpectralNormalization(logit, name="logit") if spectral_norm else logit
