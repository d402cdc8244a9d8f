"""Time one GAN training step three ways, on the same models and machine.

    python benchmarks/step_benchmark.py [--batch-sizes 64 256] [--steps 60]
    python benchmarks/step_benchmark.py --scaling [--batch-sizes 64 256] [--steps 20]

1. ``ganutils``: our ``GAN.train_step``, compiled by Keras ``fit``.
2. ``tf-tutorial``: the step of the official TensorFlow DCGAN tutorial: one
   ``tf.function`` that generates once and records two gradient tapes.
3. ``keras2-loop``: the loop of older Keras tutorials (and this book's source
   articles): ``generator.predict``, then ``discriminator.train_on_batch`` on
   real and on fake images, then ``combined.train_on_batch`` for the generator.

Batch semantics are the same for all three: per step, ``B`` real images and
``B`` generated images for the discriminator, and ``B`` latents for the
generator. Throughput is reported in real images per second (``B`` per step)
after a warm-up that absorbs tracing and compilation, and as a ratio to ours.
The models are the book's MNIST generator and discriminator, or, with
``--models tutorial``, the TensorFlow tutorial's larger ones.

``--scaling`` times instead the book's recipe (``TrainConfig``) on one device
and on two logical CPU devices under ``MirroredStrategy``, in float32 and in
``mixed_bfloat16``, without and with XLA: images per second of the global
batch, each as a ratio to one device in float32 without XLA in the same run.
The two logical devices share the same cores, so this measures the overhead
of the strategy, not a speed-up.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

import ganutils

ganutils.config.setup(seed=0, profile="cpu")
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from ganutils import gan as engine  # noqa: E402
from ganutils import train  # noqa: E402

LATENT_DIM = 100


def tutorial_models():
    """The generator and discriminator of the TensorFlow DCGAN tutorial."""
    layers = keras.layers
    generator = keras.Sequential(
        [
            keras.Input((LATENT_DIM,)),
            layers.Dense(7 * 7 * 256, use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Reshape((7, 7, 256)),
            layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False),
            layers.Activation("tanh"),
        ]
    )
    discriminator = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(64, 5, strides=2, padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Conv2D(128, 5, strides=2, padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Flatten(),
            layers.Dense(1),
        ]
    )
    return generator, discriminator


def make_models(kind: str):
    if kind == "tutorial":
        return tutorial_models()
    return (
        ganutils.models.build_generator(LATENT_DIM),
        ganutils.models.build_discriminator(),
    )


def adam():
    return engine.make_optimizer("adam", 2e-4, beta_1=0.5)


def time_ours(kind, images, batch_size, steps, jit=False, simultaneous=False):
    generator, discriminator = make_models(kind)
    gan = engine.GAN(
        generator, discriminator, latent_dim=LATENT_DIM, simultaneous=simultaneous, seed=0
    )
    gan.compile(d_optimizer=adam(), g_optimizer=adam(), jit_compile=jit)
    dataset = train.make_dataset(images, batch_size=batch_size).repeat()
    gan.fit(dataset, epochs=1, steps_per_epoch=5, verbose=0)  # trace and warm up
    start = time.perf_counter()
    gan.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    return time.perf_counter() - start


def tutorial_train_step(generator, discriminator, g_opt, d_opt):
    """The TensorFlow DCGAN tutorial's step: one generation, two tapes, simultaneous updates."""
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def train_step(real):
        noise = tf.random.normal([tf.shape(real)[0], LATENT_DIM])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            fake = generator(noise, training=True)
            real_output = discriminator(real, training=True)
            fake_output = discriminator(fake, training=True)
            gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = cross_entropy(tf.ones_like(real_output), real_output) + cross_entropy(
                tf.zeros_like(fake_output), fake_output
            )
        g_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        d_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables, strict=True))
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables, strict=True))
        return gen_loss, disc_loss

    return train_step


def time_tutorial(kind, images, batch_size, steps):
    generator, discriminator = make_models(kind)
    train_step = tutorial_train_step(generator, discriminator, adam(), adam())

    iterator = iter(train.make_dataset(images, batch_size=batch_size).repeat())
    for _ in range(5):
        train_step(next(iterator))
    start = time.perf_counter()
    for _ in range(steps):
        losses = train_step(next(iterator))
    float(losses[0])  # wait for the last step
    return time.perf_counter() - start


def time_keras2_loop(kind, images, batch_size, steps):
    generator, discriminator = make_models(kind)
    loss = keras.losses.BinaryCrossentropy(from_logits=True)
    discriminator.compile(optimizer=adam(), loss=loss)
    discriminator.trainable = False
    latent = keras.Input((LATENT_DIM,))
    combined = keras.Model(latent, discriminator(generator(latent)))
    combined.compile(optimizer=adam(), loss=loss)
    discriminator.trainable = True
    rng = np.random.default_rng(0)
    ones, zeros = np.ones((batch_size, 1)), np.zeros((batch_size, 1))

    def step(index):
        start = (index * batch_size) % (len(images) - batch_size)
        real = images[start : start + batch_size]
        noise = rng.standard_normal((batch_size, LATENT_DIM)).astype(np.float32)
        fake = generator.predict(noise, verbose=0)
        discriminator.train_on_batch(real, ones)
        discriminator.train_on_batch(fake, zeros)
        noise = rng.standard_normal((batch_size, LATENT_DIM)).astype(np.float32)
        combined.train_on_batch(noise, ones)

    for index in range(5):
        step(index)
    start = time.perf_counter()
    for index in range(steps):
        step(index)
    return time.perf_counter() - start


SCALING = [
    (strategy, precision, jit)
    for strategy in ("default", "mirrored")
    for precision in ("float32", "mixed_bfloat16")
    for jit in (False, True)
]


def time_config(images, batch_size, steps, *, strategy, precision, jit):
    """Seconds for ``steps`` steps of the book's recipe run as asked (after a warm-up)."""
    config = train.TrainConfig(
        batch_size=batch_size, strategy=strategy, precision=precision, jit_compile=jit, seed=0
    )
    gan = train.build_gan(config)
    dataset = train.make_dataset(images, batch_size=batch_size).repeat()
    gan.fit(dataset, epochs=1, steps_per_epoch=5, verbose=0, shuffle=False)  # trace, compile
    start = time.perf_counter()
    gan.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    return time.perf_counter() - start


def scaling_table(images, batch_sizes, steps):
    """Print images/s for every (strategy, precision, XLA) of SCALING, vs the first row."""
    header = (
        f"{'batch':>5}  {'devices':<9}{'precision':<16}{'XLA':<5}{'images/s':>10}{'vs ours':>9}"
    )
    print(header)
    print("-" * len(header))
    for batch_size in batch_sizes:
        ours = None
        for strategy, precision, jit in SCALING:
            devices = "1" if strategy == "default" else "2 (CPU)"
            row = f"{batch_size:>5}  {devices:<9}{precision:<16}{'on' if jit else 'off':<5}"
            try:
                seconds = time_config(
                    images, batch_size, steps, strategy=strategy, precision=precision, jit=jit
                )
            except tf.errors.InvalidArgumentError as error:
                xla = "xla" in str(error).lower()
                reason = "XLA: variable on another device" if xla else type(error).__name__
                print(f"{row}{'n/a':>10}  ({reason})")
                continue
            ours = ours or seconds  # the first row: one device, float32, no XLA
            print(f"{row}{batch_size * steps / seconds:>10.0f}{ours / seconds:>8.2f}x")
        print()
    print("'vs ours' is the throughput divided by one device in float32 without XLA.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--models", choices=["book", "tutorial"], default="book")
    parser.add_argument("--jit", action="store_true", help="also time ours with XLA")
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="time 1 vs 2 logical CPU devices, float32 vs mixed_bfloat16, without/with XLA",
    )
    args = parser.parse_args(argv)
    if args.scaling:
        # Before TensorFlow runs anything: MirroredStrategy gets 2 replicas.
        ganutils.config.use_logical_cpus(2)

    mnist = ganutils.data.load_mnist()
    images = ganutils.data.scale_images(mnist.images)
    gpus = tf.config.list_physical_devices("GPU")
    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"{'GPU ' + gpus[0].name if gpus else 'CPU only'}; TF {tf.__version__}, "
        f"Keras {keras.__version__}"
    )
    print(f"models: {args.models}; data: {mnist.summary}")
    print(f"per step: B real + B fake images for D, B latents for G; {args.steps} timed steps\n")
    if args.scaling:
        scaling_table(images, args.batch_sizes, args.steps)
        return
    header = f"{'batch':>5}  {'method':<14}{'images/s':>10}{'ms/step':>10}{'vs ours':>9}"
    print(header)
    print("-" * len(header))
    for batch_size in args.batch_sizes:
        timings = {
            "ganutils": time_ours(args.models, images, batch_size, args.steps),
            "ganutils-simul": time_ours(
                args.models, images, batch_size, args.steps, simultaneous=True
            ),
        }
        if args.jit:
            timings["ganutils+xla"] = time_ours(args.models, images, batch_size, args.steps, True)
        timings["tf-tutorial"] = time_tutorial(args.models, images, batch_size, args.steps)
        timings["keras2-loop"] = time_keras2_loop(args.models, images, batch_size, args.steps)
        ours = timings["ganutils"]
        for method, seconds in timings.items():
            rate = batch_size * args.steps / seconds
            print(
                f"{batch_size:>5}  {method:<14}{rate:>10.0f}{1000 * seconds / args.steps:>10.1f}"
                f"{ours / seconds:>8.2f}x"
            )
        print()
    print("'vs ours' is the method's throughput divided by ours: above 1 means faster than ours.")


if __name__ == "__main__":
    main()
