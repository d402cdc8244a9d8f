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
from ganutils.studies.race import tutorial_models, tutorial_train_step  # noqa: E402

LATENT_DIM = 100


def make_models(kind: str):
    if kind == "tutorial":
        return tutorial_models()
    return (
        ganutils.models.build_generator(LATENT_DIM),
        ganutils.models.build_discriminator(),
    )


def adam():
    return engine.make_optimizer("adam", 2e-4, beta_1=0.5)


class _Clock(keras.callbacks.Callback):
    """The time at the end of every batch of a ``fit``: steps are timed, fit's set-up is not."""

    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())


def ours(kind, images, batch_size, *, jit=False, recipe=False, **options):
    """A timer (``run(steps) -> seconds``) of our engine's step under ``fit``.

    ``recipe=True`` builds :class:`ganutils.train.TrainConfig`'s GAN (one-sided
    smoothing, the EMA generator, learning rate 5e-3) instead of the engine's
    default options with the tutorial's Adam(2e-4, 0.5).
    """
    if recipe:
        config = train.TrainConfig(batch_size=batch_size, seed=0, jit_compile=jit, **options)
        gan = train.build_gan(config)
    else:
        generator, discriminator = make_models(kind)
        gan = engine.GAN(generator, discriminator, latent_dim=LATENT_DIM, seed=0, **options)
        gan.compile(d_optimizer=adam(), g_optimizer=adam(), jit_compile=jit)
    dataset = train.make_dataset(images, batch_size=batch_size).repeat()

    def run(steps):
        clock = _Clock()
        # One step more than timed: the end of the first batch starts the clock.
        gan.fit(
            dataset,
            epochs=1,
            steps_per_epoch=steps + 1,
            verbose=0,
            callbacks=[clock],
            shuffle=False,
        )
        return clock.times[-1] - clock.times[0]

    return run


def tutorial(kind, images, batch_size):
    """A timer of the tutorial's loop: a Python ``for`` over its ``tf.function`` step."""
    generator, discriminator = make_models(kind)
    train_step = tutorial_train_step(generator, discriminator, adam(), adam())
    iterator = iter(train.make_dataset(images, batch_size=batch_size).repeat())

    def run(steps):
        float(train_step(next(iterator))[0])  # as for ours: the clock starts after one step
        start = time.perf_counter()
        for _ in range(steps):
            losses = train_step(next(iterator))
        float(losses[0])  # wait for the last step
        return time.perf_counter() - start

    return run


def keras2_loop(kind, images, batch_size):
    """A timer of the Keras 2 loop: ``predict``, two ``train_on_batch`` for D, one for G."""
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
    done = [0]

    def step():
        start = (done[0] * batch_size) % (len(images) - batch_size)
        done[0] += 1
        real = images[start : start + batch_size]
        noise = rng.standard_normal((batch_size, LATENT_DIM)).astype(np.float32)
        fake = generator.predict(noise, verbose=0)
        discriminator.train_on_batch(real, ones)
        discriminator.train_on_batch(fake, zeros)
        noise = rng.standard_normal((batch_size, LATENT_DIM)).astype(np.float32)
        combined.train_on_batch(noise, ones)

    def run(steps):
        step()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        return time.perf_counter() - start

    return run


def interleaved(timers: dict, steps: int, repeats: int) -> dict[str, list[float]]:
    """Seconds of ``repeats`` windows of ``steps`` steps per method, timed in rounds.

    Every timer first runs untimed (tracing, compilation, warm caches). Each
    round then times one window of every method in turn, so a slow spell of
    the machine lands on all the methods of a round, and the ratios within a
    round cancel most of it.
    """
    for run in timers.values():
        run(5)
    seconds = {name: [] for name in timers}
    for _ in range(repeats):
        for name, run in timers.items():
            seconds[name].append(run(steps))
    return seconds


def spread(ratios) -> str:
    """``median [min, max]`` of the per-round ratios."""
    ratios = np.asarray(ratios)
    return f"{np.median(ratios):.2f}x [{ratios.min():.2f}, {ratios.max():.2f}]"


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
    parser.add_argument("--steps", type=int, default=40, help="timed steps per window")
    parser.add_argument("--repeats", type=int, default=5, help="timed windows per method")
    parser.add_argument(
        "--skip-keras2", action="store_true", help="leave out the slow Keras 2 loop"
    )
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
    reference = "tf-tutorial"
    header = f"{'batch':>5}  {'method':<16}{'images/s':>9}{'ms/step':>9}   vs tutorial"
    print(header)
    print("-" * (len(header) + 16))
    for batch_size in args.batch_sizes:
        timers = {
            "ganutils": ours(args.models, images, batch_size),
            "ganutils-fresh": ours(args.models, images, batch_size, fresh_fakes=True),
            "ganutils-simul": ours(args.models, images, batch_size, simultaneous=True),
        }
        if args.models == "book":
            timers["ganutils-recipe"] = ours(args.models, images, batch_size, recipe=True)
        if args.jit:
            timers["ganutils+xla"] = ours(args.models, images, batch_size, jit=True)
        timers[reference] = tutorial(args.models, images, batch_size)
        if not args.skip_keras2:
            timers["keras2-loop"] = keras2_loop(args.models, images, batch_size)
        seconds = interleaved(timers, args.steps, args.repeats)
        for method, windows in seconds.items():
            windows = np.asarray(windows)
            median = float(np.median(windows))
            ratios = np.asarray(seconds[reference]) / windows  # per round; above 1 is faster
            print(
                f"{batch_size:>5}  {method:<16}{batch_size * args.steps / median:>9.0f}"
                f"{1000 * median / args.steps:>9.1f}   {spread(ratios)}"
            )
        print()
    print(
        f"'vs tutorial': images/s over the tutorial step's in the same round, median "
        f"[min, max] of {args.repeats} rounds of {args.steps} timed steps; above 1 is faster."
    )
    print(
        "ganutils: the engine's default step (alternating: G is updated through the updated D "
        "on D's fakes);\n-fresh: G's update draws fresh fakes (a second generator pass); "
        "-simul: the tutorial's simultaneous order;\n-recipe: the book's TrainConfig "
        "(one-sided smoothing, EMA generator, learning rate 5e-3)."
    )


if __name__ == "__main__":
    main()
