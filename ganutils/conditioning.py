"""Class-conditional GANs: the label's way into both networks, and what to measure.

The pieces the conditional models, the engine and the "Use the labels"
chapter share:

- :func:`join_label_to_latent` and :func:`join_label_as_channel`: where the
  label enters the generator (an embedding joined to the latent) and the
  discriminator (an embedding shaped as one more image channel, ganhacks
  #16; Mirza & Osindero 2014), used by :mod:`ganutils.models`;
- :func:`class_loss`: AC-GAN's weighted class cross-entropy (Odena et al. 2017);
- :func:`check_labels`, :func:`class_grid` and :func:`asked_classes`: labels
  in, a grid of one row per class with one latent per column, every class in turn;
- :func:`class_accuracy`: does the generator draw the digit it is asked for
  (the per-class FD is :func:`ganutils.studies.conditional.class_fds`, two
  floors up).
"""

from __future__ import annotations

__all__ = [
    "asked_classes",
    "check_classes",
    "check_labels",
    "class_accuracy",
    "class_grid",
    "class_loss",
    "join_label_as_channel",
    "join_label_to_latent",
]

from typing import Any

import numpy as np

from . import config as _config

tf = _config.import_tensorflow()
import keras  # noqa: E402


def check_classes(name: str, value: Any) -> None:
    """Refuse a class count that is not ``None`` or an integer of at least 2."""
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 2
    ):
        raise ValueError(f"{name} must be an integer of at least 2, or None; got {value!r}")


def join_label_to_latent(latent, num_classes: int | None):
    """A label input, embedded as a vector as long as the latent and joined to it.

    Returns:
        ``(inputs, joined)``: ``[latent, label]`` (the label an ``(n,)`` int32
        ``keras.Input``) and the ``(n, 2 * latent_dim)`` tensor the generator's
        first layer reads; with ``num_classes=None``, ``(latent, latent)``.
    """
    if num_classes is None:
        return latent, latent
    label = keras.Input((), dtype="int32", name="label")
    embedded = keras.layers.Embedding(num_classes, latent.shape[-1], name="label_embedding")(label)
    return [latent, label], keras.layers.Concatenate(name="latent_and_label")([latent, embedded])


def join_label_as_channel(image, num_classes: int | None):
    """A label input, embedded as one image-sized plane and joined to the image as a channel.

    Returns:
        ``(inputs, joined)``: ``[image, label]`` and the ``(n, h, w, channels + 1)``
        tensor the discriminator's first layer reads; with ``num_classes=None``,
        ``(image, image)``.
    """
    if num_classes is None:
        return image, image
    height, width = image.shape[1], image.shape[2]
    label = keras.Input((), dtype="int32", name="label")
    plane = keras.layers.Embedding(num_classes, height * width, name="label_embedding")(label)
    plane = keras.layers.Reshape((height, width, 1), name="label_plane")(plane)
    return [image, label], keras.layers.Concatenate(name="image_and_label")([image, plane])


def class_loss(labels, class_logits, weight: float):
    """AC-GAN's class loss: ``weight`` times the mean softmax cross-entropy of the labels."""
    entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=class_logits)
    return weight * tf.reduce_mean(entropy)


def check_labels(labels: Any, n: int, num_classes: int | None = None) -> np.ndarray:
    """``labels`` as ``(n,)`` int32, checked: one integer class per image, in range.

    Raises:
        ValueError: Not ``n`` integers, or one outside ``[0, num_classes)``.
    """
    array = np.asarray(labels)
    if array.shape != (n,) or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"labels must be {n} integers, one per image; got {array.dtype} {array.shape}"
        )
    if num_classes is not None and n and not 0 <= array.min() <= array.max() < num_classes:
        raise ValueError(f"labels must lie in [0, {num_classes}); got {np.unique(array)}")
    return array.astype(np.int32)


def class_grid(latents: Any, num_classes: int) -> list[np.ndarray]:
    """``[latents, labels]`` for a grid of one row per class and one latent per column.

    Row ``k`` asks every column for class ``k``; column ``j`` uses latent ``j``
    in every row, so reading down a column shows one style drawn as each class.

    Args:
        latents: ``(columns, latent_dim)``, one per column.
        num_classes: The rows.
    """
    latents = np.asarray(latents, np.float32)
    check_classes("num_classes", num_classes)
    labels = np.repeat(np.arange(num_classes, dtype=np.int32), len(latents))
    return [np.tile(latents, (num_classes, 1)), labels]


def asked_classes(n: int, num_classes: int) -> np.ndarray:
    """Every class in turn, ``0, 1, ..., num_classes - 1, 0, 1, ...``: ``(n,)`` int32."""
    return np.arange(n, dtype=np.int32) % num_classes


def _check_probabilities_and_asked(probabilities, asked):
    array = np.asarray(probabilities, np.float64)
    if array.ndim != 2 or array.shape[1] < 2:
        raise ValueError(f"probabilities must have shape (n, classes); got {array.shape}")
    labels = np.asarray(asked)
    if labels.shape != (len(array),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"asked must be {len(array)} integer classes, one per sample; got {labels.dtype} "
            f"{labels.shape}"
        )
    if len(labels) and not 0 <= labels.min() <= labels.max() < array.shape[1]:
        raise ValueError(f"asked must lie in [0, {array.shape[1]}); got {np.unique(labels)}")
    return array, labels


def class_accuracy(probabilities: Any, asked: Any) -> np.ndarray:
    """Per class ``k``: the share of samples asked to be ``k`` that the classifier reads as ``k``.

    Args:
        probabilities: ``(n, classes)`` softmax outputs of the classifier.
        asked: ``(n,)`` the class each sample was generated for.

    Returns:
        ``(classes,)`` floats in [0, 1]; NaN for a class no sample was asked for.

    Raises:
        ValueError: Bad ``probabilities``, or ``asked`` not ``n`` integers in range.
    """
    array, labels = _check_probabilities_and_asked(probabilities, asked)
    read = array.argmax(axis=1)
    accuracy = np.full(array.shape[1], np.nan)
    for k in range(array.shape[1]):
        if (labels == k).any():
            accuracy[k] = float(np.mean(read[labels == k] == k))
    return accuracy
