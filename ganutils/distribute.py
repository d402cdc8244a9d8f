"""Going bigger: distribution strategies, mixed precision and the pieces the GAN step needs.

The book's GAN (:class:`ganutils.train.GAN`) runs unchanged under any
``tf.distribute`` strategy. One option picks it (``TrainConfig.strategy`` or
``--strategy`` on the command line), and :func:`make_strategy` builds it:

``"default"``
    One device (the CPU, or the first GPU).
``"mirrored"``
    ``MirroredStrategy``: one replica per GPU of this machine; without GPUs,
    one per logical CPU device (see :func:`use_logical_cpus`).
``"tpu"``
    ``TPUStrategy`` on the TPU this process can reach (Colab, Cloud TPU VM).
``"multi_worker"``
    ``MultiWorkerMirroredStrategy``: several machines, each a copy of the same
    command, told apart by the ``TF_CONFIG`` environment variable.

Every replica computes its losses as a mean over its own share of the batch,
and the strategy **sums** the replicas' gradients. :func:`scale_loss` divides a
replica's loss by the number of replicas, so the summed gradient is the
gradient of the mean over the global batch, the same as on one device
(Goyal et al. 2017 discuss what this means for the learning rate).

Mixed precision (``TrainConfig.precision``, ``--precision``) builds the models
under a Keras dtype policy (:func:`precision_policy`) with each network's last
layer in float32 (:func:`float32_outputs`), so logits and losses stay float32;
XLA is ``TrainConfig.jit_compile`` (``--jit``).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator

import numpy as np

from . import config as _config

tf = _config._import_tensorflow()
import keras  # noqa: E402

__all__ = [
    "PRECISIONS",
    "STRATEGIES",
    "biases_before_batch_norm",
    "check_options",
    "differing_share",
    "float32_outputs",
    "gradient_norm",
    "is_chief",
    "make_strategy",
    "max_difference",
    "one_step_weights",
    "precision_policy",
    "replica_seed",
    "scale_loss",
    "step_logs",
    "synchronize_batch_norm",
    "use_logical_cpus",
    "worker_index",
]

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


def use_logical_cpus(count: int) -> list[str]:
    """Split the CPU into ``count`` logical devices, so one machine can test ``"mirrored"``.

    Must run before TensorFlow executes its first operation (call it right
    after :func:`ganutils.config.setup`, or pass ``logical_cpus=`` to it).
    The devices share the same cores: this shows that the code is correct
    under several replicas, not that it is faster.

    Args:
        count: Number of logical CPU devices (1 leaves the CPU whole).

    Returns:
        The logical CPU device names, e.g. ``["/device:CPU:0", "/device:CPU:1"]``.

    Raises:
        ValueError: ``count`` is not a positive integer.
        RuntimeError: TensorFlow already started with a different number of
            CPU devices (restart the kernel or process).
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive integer; got {count!r}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    configured = tf.config.get_logical_device_configuration(cpu)
    if (len(configured) if configured else 1) != count:
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
            )
        except RuntimeError as error:
            raise RuntimeError(
                f"cannot split the CPU into {count} logical devices: TensorFlow has already "
                "started. Call ganutils.config.setup(logical_cpus=...) first thing in a fresh "
                "process or kernel."
            ) from error
    return [device.name for device in tf.config.list_logical_devices("CPU")]


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
            # Without GPUs MirroredStrategy() would take CPU:0 alone; name every CPU device.
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


def _replicas() -> int:
    return tf.distribute.get_strategy().num_replicas_in_sync


def scale_loss(optimizer, loss):
    """A replica's share of ``loss`` for its gradient: ``loss / replicas``, then loss-scaled.

    Each replica's ``loss`` is a mean over its own ``B / replicas`` images and
    the strategy sums the replicas' gradients, so dividing by the number of
    replicas gives the gradient of the mean over the global batch of ``B``
    (what one device computes). Under ``mixed_float16`` the optimizer is a
    ``keras.optimizers.LossScaleOptimizer``, and its ``scale_loss`` multiplies
    by the dynamic loss scale (``optimizer.apply`` divides it out again); for
    other optimizers that is the identity.
    """
    return optimizer.scale_loss(loss / tf.cast(_replicas(), loss.dtype))


def gradient_norm(optimizer, gradients):
    """The global norm of a replica's gradients with :func:`scale_loss`'s factors undone.

    Under several replicas it is the norm of this replica's own gradient (its
    share of the batch), and ``fit`` reports the mean over replicas.
    """
    norm = tf.linalg.global_norm(gradients) * tf.cast(_replicas(), tf.float32)
    scale = getattr(optimizer, "dynamic_scale", None)
    return norm / tf.cast(scale, norm.dtype) if scale is not None else norm


def replica_seed(seed):
    """Fold the replica's index into a ``(2,)`` stateless seed (unchanged on one replica).

    Every replica reads the same mirrored random state, so without this each
    replica would draw the *same* latents: the global batch would hold each
    fake digit ``replicas`` times. The seed is first brought into int32 as
    Keras does (XLA needs int32 seeds), so on one device the draws are
    exactly those of ``keras.random`` with the same ``SeedGenerator``.
    """
    seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return seed
    return tf.random.experimental.stateless_fold_in(seed, context.replica_id_in_sync_group)


def _workers() -> int:
    cluster = json.loads(os.environ.get("TF_CONFIG") or "{}").get("cluster", {})
    return sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))


def step_logs(logs: dict) -> dict:
    """The step's logs as ``fit`` can reduce them under every strategy.

    Keras 3 averages a multi-worker run's per-step logs with
    ``strategy.reduce("MEAN", value, axis=0)``, which fails on the scalars
    every ``train_step`` returns ("Invalid reduction dimension 0 for input
    with 0 dimensions", tensorflow/tensorflow#72388). Under
    ``MultiWorkerMirroredStrategy`` on several machines each value becomes a
    one-element vector, which that call reduces to the scalar mean; elsewhere
    the logs are returned unchanged.
    """
    strategy = tf.distribute.get_strategy()
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and _workers() > 1:
        return {name: tf.reshape(value, (1,)) for name, value in logs.items()}
    return logs


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


# -- Checking a strategy against one device ---------------------------------------------


def one_step_weights(config, images, latents) -> dict[str, np.ndarray]:
    """Build ``config``'s GAN, take one ``fit`` step on one batch, return every weight.

    The batch is ``images`` with its ``latents`` (see
    :func:`ganutils.train.make_dataset`), so two strategies see exactly the
    same data and the same random draws.

    Args:
        config: A :class:`ganutils.train.TrainConfig`; ``batch_size`` must equal ``len(images)``.
        images: ``(batch_size, 28, 28, 1)`` float32 in [-1, 1].
        latents: ``(batch_size, latent_dim)`` float32.

    Returns:
        ``"generator/<path>"`` and ``"discriminator/<path>"`` -> float32 array,
        batch-norm statistics included.
    """
    from . import train

    gan = train.build_gan(config)
    dataset = train.make_dataset(
        images, batch_size=config.batch_size, latents=latents, shuffle=False
    )
    gan.fit(dataset, epochs=1, verbose=0, shuffle=False)
    return {
        f"{name}/{variable.path}": np.asarray(variable.numpy())
        for name, network in (("generator", gan.generator), ("discriminator", gan.discriminator))
        for variable in network.variables
    }


def max_difference(first: dict, second: dict, *, skip=()) -> float:
    """The largest absolute difference between two :func:`one_step_weights` results.

    Weights are matched by order (layer names differ between two builds); the
    paths of ``first`` listed in ``skip`` are left out.
    """
    return max(
        float(np.max(np.abs(a - b)))
        for (path, a), b in zip(first.items(), second.values(), strict=True)
        if path not in skip
    )


def differing_share(first: dict, second: dict, *, atol: float = 1e-5, skip=()) -> float:
    """The share of individual weights (0 to 1) that differ by more than ``atol``.

    Matched as in :func:`max_difference`. A few weights whose gradient is
    almost zero can differ by more than round-off after an Adam step (see
    :func:`biases_before_batch_norm`); a different step moves most of them.
    """
    pairs = [
        (a, b)
        for (path, a), b in zip(first.items(), second.values(), strict=True)
        if path not in skip
    ]
    differing = sum(int(np.sum(np.abs(a - b) > atol)) for a, b in pairs)
    return differing / sum(a.size for a, _ in pairs)


def biases_before_batch_norm(weights: dict) -> list[str]:
    """The paths of biases that feed a batch normalisation, and of its moving means.

    Batch normalisation subtracts the batch mean, so a bias just before it has
    a gradient of exactly zero; what the computation returns is round-off,
    about 1e-9, whose sign differs with the order of the sums. Adam divides
    every gradient by its own running size, so it turns that noise into a
    step of up to the learning rate in either direction (and the moving mean
    picks it up). These weights are excluded when two strategies are compared.
    """
    skipped = []
    for path in weights:
        block = path.rsplit("/", 2)[0]
        norm = [p for p in weights if p.startswith(f"{block}/batch_normalization")]
        if path.endswith("/bias") and norm:
            skipped += [path, *(p for p in norm if p.endswith("/moving_mean"))]
    return skipped
