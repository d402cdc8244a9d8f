"""Run by tests/test_distribute.py in a fresh process: two logical CPUs need a fresh TensorFlow.

Prints one JSON object: the largest weight differences between one training
step under MirroredStrategy (2 replicas) and on one device, and the outcome of
a checkpoint written under the 2-replica strategy and resumed on one device.
"""

import json
import sys
import tempfile

import numpy as np

import ganutils

ganutils.config.setup(seed=0, profile="smoke", logical_cpus=2)

from ganutils import callbacks, config, data, studies, train  # noqa: E402

BATCH = 8  # the global batch: 4 images per replica
TINY = {"g_filters": 8, "d_filters": 8, "latent_dim": 16, "grid_size": 4, "ema_decay": None}

images = data.scale_images(data.load_mnist(limit=64).images)
batch = images[:BATCH]
latents = np.random.default_rng(0).standard_normal((BATCH, 16)).astype(np.float32)
result = {"devices": config.use_logical_cpus(2)}

for name, options in (
    ("no_batch_norm", {"batch_norm": False}),
    ("sync_batch_norm", {"batch_norm": True}),
    ("unsynced_batch_norm", {"batch_norm": True, "sync_batch_norm": False}),
    ("hinge", {"batch_norm": False, "loss": "hinge"}),
    (
        "relativistic_r1_r2",
        {"batch_norm": False, "loss": "relativistic", "r1_gamma": 1.0, "r2_gamma": 1.0},
    ),
):
    config = train.TrainConfig(**TINY, **options, batch_size=BATCH)
    one = studies.one_step_weights(config, batch, latents)
    two = studies.one_step_weights(
        train.TrainConfig(**TINY, **options, batch_size=BATCH, strategy="mirrored"),
        batch,
        latents,
    )
    skip = studies.biases_before_batch_norm(one)
    result[name] = studies.max_difference(one, two, skip=skip)
    result[name + "_skipped"] = studies.max_difference(one, two) if skip else 0.0

# A checkpoint written under two replicas resumes on one device.
with tempfile.TemporaryDirectory() as out:
    config = train.TrainConfig(**TINY, batch_size=BATCH, epochs=2, strategy="mirrored")
    train.train_mnist(
        config,
        out,
        images=images[:16],
        progress=False,
        extra_callbacks=[callbacks.StopAfterEpoch(1)],
    )
    resumed = train.TrainConfig(**TINY, batch_size=BATCH, epochs=2)
    gan = train.build_gan(resumed)
    epoch = callbacks.Checkpoint(out, config=resumed.to_dict()).restore(gan)
    with np.load(f"{out}/{callbacks.CHECKPOINT_FILE}") as stored:
        saved = [stored[f"generator/{i}"] for i in range(len(gan.generator.variables))]
    result["restored_epoch"] = epoch
    result["restored_max_difference"] = max(
        float(np.max(np.abs(v.numpy() - s)))
        for v, s in zip(gan.generator.variables, saved, strict=True)
    )
    _, history = train.train_mnist(resumed, out, images=images[:16], progress=False)
    result["history_epochs"] = history["epoch"]
    result["final_d_loss"] = history["d_loss"][-1]

json.dump(result, sys.stdout)
