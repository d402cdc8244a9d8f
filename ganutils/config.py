"""Run profiles, seeding, and a quiet TensorFlow start for notebooks.

Every notebook starts with::

    profile = ganutils.config.setup(seed=42)

which picks the run profile, starts TensorFlow without its start-up log lines,
and seeds Python, NumPy and Keras from one number.

Profiles (chosen by the ``GANUTILS_PROFILE`` environment variable):

``smoke``
    CI: a few hundred digits and a couple of epochs, seconds per notebook.
``cpu``
    The default without a GPU: real results on a laptop in minutes.
``gpu``
    The default when TensorFlow sees a GPU: the full 60,000-digit MNIST run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import sys
import tempfile
from collections.abc import Iterator

import numpy as np

__all__ = [
    "PROFILES",
    "PROFILE_ENV_VAR",
    "Profile",
    "get_profile",
    "gpu_available",
    "quiet_tensorflow",
    "seed_everything",
    "setup",
]

PROFILE_ENV_VAR = "GANUTILS_PROFILE"


@dataclasses.dataclass(frozen=True)
class Profile:
    """How big a run is: how many digits, how many epochs, what batch size.

    Attributes:
        name: ``"smoke"``, ``"cpu"`` or ``"gpu"``.
        description: One line for the reader.
        max_digits: Training digits to use; ``None`` means all that were loaded.
        epochs: Epochs of the full MNIST GAN.
        batch_size: Images per batch for the full MNIST GAN.
    """

    name: str
    description: str
    max_digits: int | None
    epochs: int
    batch_size: int

    def __str__(self) -> str:
        digits = "all available" if self.max_digits is None else f"{self.max_digits:,}"
        return (
            f"profile {self.name!r}: {self.description} "
            f"({digits} digits, {self.epochs} epochs, batch {self.batch_size})"
        )


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        description="CI smoke test, seconds per notebook",
        max_digits=512,
        epochs=2,
        batch_size=64,
    ),
    "cpu": Profile(
        name="cpu",
        description="CPU run, real results in minutes",
        max_digits=None,
        epochs=30,
        batch_size=64,
    ),
    "gpu": Profile(
        name="gpu",
        description="GPU run on the full 60,000-digit MNIST",
        max_digits=None,
        epochs=20,
        batch_size=64,
    ),
}


def get_profile(name: str | None = None) -> Profile:
    """Return the run profile named ``name``, or the one the environment asks for.

    Args:
        name: ``"smoke"``, ``"cpu"`` or ``"gpu"`` (any case). When ``None``, the
            ``GANUTILS_PROFILE`` environment variable decides; when that is
            unset or empty, ``"gpu"`` if TensorFlow sees a GPU, else ``"cpu"``.

    Raises:
        ValueError: ``name`` (or the environment variable) is not a known profile.
    """
    source = "name"
    if name is None:
        name = os.environ.get(PROFILE_ENV_VAR, "").strip()
        source = PROFILE_ENV_VAR
        if not name:
            return PROFILES["gpu" if gpu_available() else "cpu"]
    key = str(name).strip().lower()
    if key not in PROFILES:
        valid = ", ".join(repr(p) for p in PROFILES)
        raise ValueError(f"{source} must be one of {valid}; got {name!r}")
    return PROFILES[key]


@contextlib.contextmanager
def quiet_tensorflow() -> Iterator[list[str]]:
    """Silence TensorFlow's C++ start-up lines while the body runs.

    TensorFlow 2.20+ writes its oneDNN notice, CUDA probing and absl
    initialisation lines straight to file descriptor 2 before any Python
    logging is configured, so neither ``TF_CPP_MIN_LOG_LEVEL`` nor
    ``warnings`` can hide them. This context manager points descriptor 2 at a
    temporary file for the duration of the block and restores it afterwards;
    the captured lines are appended to the yielded list so nothing is lost.
    """
    captured: list[str] = []
    stderr_fd = 2  # C++ code writes to the descriptor, whatever sys.stderr is now
    sys.stderr.flush()
    saved_fd = os.dup(stderr_fd)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), stderr_fd)
        try:
            yield captured
        finally:
            sys.stderr.flush()
            os.dup2(saved_fd, stderr_fd)
            os.close(saved_fd)
            sink.seek(0)
            captured.extend(sink.read().decode("utf-8", "replace").splitlines())


_STARTUP_LOG: list[str] = []


def _import_tensorflow():
    """Import TensorFlow once, quietly, with Python-side logging at ERROR."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with quiet_tensorflow() as lines:
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")  # CUDA probing happens here
    _STARTUP_LOG.extend(lines)
    tf.get_logger().setLevel("ERROR")
    with contextlib.suppress(ImportError):
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    return tf


def gpu_available() -> bool:
    """Whether TensorFlow sees at least one GPU."""
    tf = _import_tensorflow()
    return bool(tf.config.list_physical_devices("GPU"))


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global state and Keras/TensorFlow.

    Library code in ``ganutils`` takes explicit ``numpy.random.Generator``
    objects; this call makes the rest (weight initialisers, ``tf.data``
    shuffling, Keras dropout) repeatable too.

    Raises:
        ValueError: ``seed`` is not a non-negative integer.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    _import_tensorflow()
    import keras

    random.seed(int(seed))
    np.random.seed(int(seed))  # noqa: NPY002 - third-party code may use the global state
    keras.utils.set_random_seed(int(seed))


def setup(
    seed: int = 42, *, profile: str | None = None, logical_cpus: int | None = None
) -> Profile:
    """Prepare a notebook or script: quiet TensorFlow, seeds, and the profile.

    Args:
        seed: One seed for Python, NumPy and Keras.
        profile: Profile name; ``None`` reads ``GANUTILS_PROFILE`` (see
            :func:`get_profile`).
        logical_cpus: Split the CPU into this many logical devices (see
            :func:`ganutils.distribute.use_logical_cpus`), so that a
            ``MirroredStrategy`` has several replicas on a machine without
            GPUs. Only before TensorFlow has run anything: first thing in a
            fresh process or kernel.

    Returns:
        The :class:`Profile` in force.

    Raises:
        ValueError: Unknown profile name or a bad seed.
        RuntimeError: ``logical_cpus`` asked for after TensorFlow started.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # A GPU must not grab all its memory at start-up when several notebooks run.
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    chosen = get_profile(profile)
    if logical_cpus is not None:
        from . import distribute

        distribute.use_logical_cpus(logical_cpus)
    seed_everything(seed)
    _inline_figures()
    return chosen


def _inline_figures() -> None:
    """In a notebook, show returned Matplotlib figures as images.

    ``ganutils.viz`` returns ``Figure`` objects without touching pyplot. IPython
    renders them as PNG only once the inline backend is active, which recent
    IPython versions no longer switch on by themselves; without it a figure
    shows as the text ``<Figure size ...>``.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and "IPKernelApp" in getattr(shell, "config", {}):
        shell.run_line_magic("matplotlib", "inline")
