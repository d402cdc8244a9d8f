"""Going bigger: distribution strategies, mixed precision and the pieces the GAN step needs.

The book's GAN (:class:`ganutils.gan.GAN`) runs unchanged under any
``tf.distribute`` strategy. One option picks it (``TrainConfig.strategy`` or
``--strategy`` on the command line), and :func:`make_strategy` builds it:

``"default"``
    One device (the CPU, or the first GPU).
``"mirrored"``
    ``MirroredStrategy``: one replica per GPU of this machine; without GPUs,
    one per logical CPU device (see :func:`ganutils.config.use_logical_cpus`).
``"tpu"``
    ``TPUStrategy`` on the TPU this process can reach (Colab, Cloud TPU VM).
``"multi_worker"``
    ``MultiWorkerMirroredStrategy``: several machines, each a copy of the same
    command, told apart by the ``TF_CONFIG`` environment variable.

Every replica computes its losses as a mean over its own share of the batch,
and the strategy **sums** the replicas' gradients. The GAN's step divides a
replica's loss by the number of replicas (``GAN.replicas``), so the summed
gradient is the gradient of the mean over the global batch, the same as on
one device (Goyal et al. 2017 discuss what this means for the learning rate).

Mixed precision (``TrainConfig.precision``, ``--precision``) builds the models
under a Keras dtype policy (:func:`precision_policy`) with each network's last
layer in float32 (:func:`float32_outputs`), so logits and losses stay float32;
XLA is ``TrainConfig.jit_compile`` (``--jit``).
"""

from __future__ import annotations

__all__ = [
    "PRECISIONS",
    "STRATEGIES",
    "check_options",
    "float32_outputs",
    "is_chief",
    "log_shape",
    "make_strategy",
    "precision_policy",
    "replica_seed",
    "synchronize_batch_norm",
    "worker_index",
]

import contextlib
import json
import os
from collections.abc import Iterator

from . import config

tf = config.import_tensorflow()
import keras  # noqa: E402

STRATEGIES = ("default", "mirrored", "tpu", "multi_worker")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")

_STRATEGIES: dict[str, tf.distribute.Strategy] = {}


def check_options(*, strategy: str = "default", precision: str = "float32") -> None:
    """Validate a strategy name and a precision; a ValueError names the argument."""
    for name, value, choices in (
        ("strategy", strategy, STRATEGIES),
        ("precision", precision, PRECISIONS),
    ):
        if value not in choices:
            raise ValueError(f"{name} must be one of {choices}; got {value!r}")


def make_strategy(name: str = "default", *, tpu: str = "") -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy called ``name`` (one of :data:`STRATEGIES`).

    Strategies are built once per process and reused (a TPU system or a
    multi-worker cluster may be initialised only once).

    Args:
        name: ``"default"``, ``"mirrored"``, ``"tpu"`` or ``"multi_worker"``.
        tpu: The TPU's address for ``"tpu"``; ``""`` finds Colab's or the
            TPU VM's own.

    Raises:
        ValueError: Unknown ``name``.
    """
    check_options(strategy=name)
    if name == "default":
        return tf.distribute.get_strategy()
    if name not in _STRATEGIES:
        if name == "mirrored":
            gpus = tf.config.list_logical_devices("GPU")
            # Without GPUs MirroredStrategy() would take CPU:0 alone;
            # name every CPU device.
            devices = [d.name for d in gpus or tf.config.list_logical_devices("CPU")]
            _STRATEGIES[name] = tf.distribute.MirroredStrategy(devices)
        elif name == "tpu":
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
            _STRATEGIES[name] = tf.distribute.TPUStrategy(resolver)
        else:
            _STRATEGIES[name] = tf.distribute.MultiWorkerMirroredStrategy()
    return _STRATEGIES[name]


def worker_index() -> int:
    """This process's task index in ``TF_CONFIG`` (0 without one)."""
    task = json.loads(os.environ.get("TF_CONFIG") or "{}").get("task", {})
    return int(task.get("index", 0))


def is_chief() -> bool:
    """Whether this process writes the run's outputs, as ``TF_CONFIG`` says.

    Under ``MultiWorkerMirroredStrategy`` every worker runs the same script;
    the task of type ``chief``, or worker 0 when the cluster has none, writes
    the checkpoints and figures, and the others write theirs into a side
    folder so that nobody overwrites them. Without ``TF_CONFIG``: ``True``.
    """
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = tf_config.get("task", {})
    if not task:
        return True
    if task.get("type") == "chief":
        return True
    has_chief = bool(tf_config.get("cluster", {}).get("chief"))
    return task.get("type") == "worker" and worker_index() == 0 and not has_chief


# -- Mixed precision ------------------------------------------------------------------


@contextlib.contextmanager
def precision_policy(precision: str = "float32") -> Iterator[str]:
    """Build Keras layers under ``precision`` inside the block, then restore the previous policy.

    ``"mixed_float16"`` and ``"mixed_bfloat16"`` keep every weight in float32
    and compute in 16 bits (Micikevicius et al. 2018); float16 is the GPU
    format and needs loss scaling, bfloat16 (CPU, TPU, recent GPUs) has
    float32's range and does not.
    """
    check_options(precision=precision)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield precision
    finally:
        keras.config.set_dtype_policy(previous)


def _last_layer(model):
    layer = model
    while getattr(layer, "layers", None):
        layer = layer.layers[-1]
    return layer


def float32_outputs(model: keras.Model) -> keras.Model:
    """Compute ``model``'s last layer in float32, so its outputs are float32 (in place).

    Under mixed precision the discriminator's logits and the generator's
    images would otherwise come out in 16 bits: sigmoid cross-entropy on
    float16 logits loses the tails that drive a GAN's gradients, and a
    float16 logit overflows past 65,504. One float32 layer at the end costs
    nothing. Returns ``model`` for chaining.
    """
    if model.compute_dtype != "float32":
        _last_layer(model).dtype_policy = "float32"
    return model


# -- Inside the training step ---------------------------------------------------------


def replica_seed(seed):
    """Fold the replica's index into a ``(2,)`` int32 stateless seed (unchanged on one replica).

    Every replica reads the same mirrored random state, so without this each
    replica would draw the *same* latents: the global batch would hold each
    fake digit ``replicas`` times.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return seed
    return tf.random.experimental.stateless_fold_in(seed, context.replica_id_in_sync_group)


def _workers() -> int:
    cluster = json.loads(os.environ.get("TF_CONFIG") or "{}").get("cluster", {})
    return sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))


def log_shape() -> tuple:
    """The shape a ``train_step`` gives its logs so ``fit`` can reduce them under this strategy.

    Keras 3 averages a multi-worker run's per-step logs with
    ``strategy.reduce("MEAN", value, axis=0)``, which fails on the scalars
    every ``train_step`` returns ("Invalid reduction dimension 0 for input
    with 0 dimensions", tensorflow/tensorflow#72388). Under
    ``MultiWorkerMirroredStrategy`` on several machines each value becomes a
    one-element vector, ``(1,)``, which that call reduces to the scalar mean;
    elsewhere the logs stay scalars, ``()``.
    """
    strategy = tf.distribute.get_strategy()
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and _workers() > 1:
        return (1,)
    return ()


def synchronize_batch_norm(model: keras.Model, synchronized: bool = True) -> int:
    """Make every ``BatchNormalization`` in ``model`` compute its statistics across replicas.

    With ``synchronized=True`` (TensorFlow backend) a batch-norm layer
    all-reduces its sums over the replicas, so the statistics are those of the
    global batch, as on one device; without it each replica normalises with
    the statistics of its own slice. Returns the number of layers changed.
    """
    count = 0
    stack = [model]
    while stack:
        layer = stack.pop()
        stack.extend(getattr(layer, "layers", []))
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = bool(synchronized)
            count += 1
    return count
