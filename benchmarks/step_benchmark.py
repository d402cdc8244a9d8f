"""Time one GAN training step three ways, on the same models and machine.

    python benchmarks/step_benchmark.py [--batch-sizes 64 256] [--steps 60]

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
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)


def time_ours(kind, images, batch_size, steps, jit=False, simultaneous=False):
    generator, discriminator = make_models(kind)
    gan = train.GAN(
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--models", choices=["book", "tutorial"], default="book")
    parser.add_argument("--jit", action="store_true", help="also time ours with XLA")
    args = parser.parse_args(argv)

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
