"""The input pipeline: real images as a ``tf.data`` dataset, one seeded order per epoch.

:func:`make_dataset` batches the real images (with their labels, for a
conditional GAN, and fixed latents, for exact comparisons) in an order drawn
from the seed and the epoch alone, so a resumed run sees the batches the
uninterrupted run saw. :mod:`ganutils.train` re-exports it: the chapters call
``ganutils.train.make_dataset``.
"""

from __future__ import annotations

__all__ = ["make_dataset"]

import numpy as np

from . import config

tf = config.import_tensorflow()

from . import conditioning as _conditioning  # noqa: E402


def make_dataset(
    images: np.ndarray,
    *,
    batch_size: int,
    seed: int = 0,
    shuffle: bool = True,
    latents: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    first_epoch: int = 0,
    epochs: int | None = 1,
) -> tf.data.Dataset:
    """A ``tf.data`` pipeline of real images: one shuffled order per epoch, batched, prefetched.

    Epoch ``e`` (counted from 0) is a permutation drawn from ``seed`` and ``e``
    alone, so its batches do not depend on how the run got there: a run
    resumed after epoch 15 (``first_epoch=15``) sees the same batches in its
    epoch 16 as the run that was never interrupted. Under a distribution
    strategy ``fit`` splits each batch over the replicas (and, across machines,
    shards the batches by worker).

    Args:
        images: ``(n, 28, 28, 1)`` float32 in [-1, 1] (see
            :func:`ganutils.data.scale_images`).
        batch_size: Images per batch (the global batch under a strategy); the
            last partial batch of each epoch is dropped so every step sees the
            same batch size (batch statistics stay comparable).
        seed: Shuffle seed: epoch ``e`` is a permutation drawn from the pair
            ``(seed, e)`` by a stateless random op.
        shuffle: Whether to shuffle.
        latents: ``(n, latent_dim)`` float32, one per image: batches become
            ``(images, latents)`` and each step uses these latents instead of
            drawing its own (exact comparisons across strategies; tests).
        labels: ``(n,)`` integer class labels, one per image, for a
            conditional GAN: batches become ``(images, labels)`` (or
            ``(images, labels, latents)``).
        first_epoch: The epoch the pipeline starts at (a resumed run's
            ``initial_epoch``).
        epochs: How many epochs it yields, one after the other; ``None``
            repeats forever, for ``fit(..., steps_per_epoch=n // batch_size)``.
            Iterating the dataset again starts again at ``first_epoch``.

    Raises:
        ValueError: Images of the wrong dtype or shape, fewer images than one
            batch, or a negative ``first_epoch`` or non-positive ``epochs``.
    """
    array = np.asarray(images)
    if array.ndim != 4 or array.dtype != np.float32:
        raise ValueError(
            f"images must be float32 of shape (n, h, w, c); got {array.dtype} {array.shape}. "
            "Use ganutils.data.scale_images first."
        )
    _check_epochs(batch_size, len(array), first_epoch, epochs)
    tensors = tf.nest.map_structure(tf.convert_to_tensor, _slices(array, latents, labels))
    steps = len(array) // batch_size

    def one_epoch(epoch):  # the batches of image indices of epoch `epoch`
        order = tf.range(len(array))
        if shuffle:
            keys = tf.random.stateless_uniform([len(array)], seed=tf.stack([seed, epoch]))
            order = tf.argsort(keys)
        return tf.data.Dataset.from_tensor_slices(
            tf.reshape(order[: steps * batch_size], [steps, -1])
        )

    def gather(indices):
        return tf.nest.map_structure(lambda tensor: tf.gather(tensor, indices), tensors)

    if epochs is None:
        numbers = tf.data.Dataset.counter(first_epoch)
    else:
        numbers = tf.data.Dataset.range(first_epoch, first_epoch + epochs)
    # Several machines: each takes every n-th batch (in-memory data has no files to shard).
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = numbers.flat_map(one_epoch).map(gather).with_options(options)
    if epochs is not None:  # tell fit how many batches there are (flat_map hides it)
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(steps * epochs))
    return dataset.prefetch(tf.data.AUTOTUNE)


def _check_epochs(batch_size, images: int, first_epoch, epochs) -> None:
    """Raise ``ValueError`` unless the batch fits the data and the epochs are whole numbers."""

    def whole(value, minimum: int) -> bool:
        return not isinstance(value, bool) and isinstance(value, int) and value >= minimum

    if not whole(batch_size, 1):
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    if images < batch_size:
        raise ValueError(f"batch_size ({batch_size}) exceeds the number of images ({images})")
    if not whole(first_epoch, 0):
        raise ValueError(f"first_epoch must be a non-negative integer; got {first_epoch!r}")
    if epochs is not None and not whole(epochs, 1):
        raise ValueError(f"epochs must be a positive integer or None; got {epochs!r}")


def _slices(array: np.ndarray, latents, labels):
    """The tensors one example is sliced from: images, then labels and latents when given."""
    if latents is not None:
        latents = np.asarray(latents, dtype=np.float32)
        if latents.ndim != 2 or len(latents) != len(array):
            raise ValueError(
                f"latents must have shape ({len(array)}, latent_dim); got {latents.shape}"
            )
    if labels is not None:
        labels = _conditioning.check_labels(labels, len(array))
    parts = [array] + [extra for extra in (labels, latents) if extra is not None]
    return parts[0] if len(parts) == 1 else tuple(parts)
