"""Run profiles, seeding, and a quiet TensorFlow start for notebooks.

Every notebook starts with::

    profile = ganutils.config.setup(seed=42)

which picks the run profile, starts TensorFlow without its start-up log lines,
and seeds Python, NumPy and Keras from one number.

This module is on the package's lowest floor: importing it does not start
TensorFlow. :func:`import_tensorflow` does, quietly, and every module that
needs TensorFlow gets it from there. The small helpers every floor shares live
here too: :func:`use_logical_cpus`, :func:`in_notebook` and
:func:`atomic_path`.

Profiles (chosen by the ``GANUTILS_PROFILE`` environment variable):

``smoke``
    CI: a few hundred digits and a couple of epochs, seconds per notebook.
``cpu``
    The default without a GPU: real results on a laptop in minutes.
``gpu``
    The default when TensorFlow sees a GPU: the full 60,000-digit MNIST run.
"""

from __future__ import annotations

__all__ = [
    "PROFILES",
    "PROFILE_ENV_VAR",
    "Profile",
    "atomic_path",
    "check_seed",
    "get_profile",
    "gpu_available",
    "import_tensorflow",
    "in_notebook",
    "quiet_tensorflow",
    "seed_everything",
    "setup",
    "use_logical_cpus",
    "write_atomic",
]

import contextlib
import dataclasses
import os
import random
import secrets
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

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
        # "all", not "all available": the line fits the book's 88-character column.
        digits = "all" if self.max_digits is None else f"{self.max_digits:,}"
        return (
            f"profile {self.name!r}: {self.description} "
            f"({digits} digits, {self.epochs} epochs, batch {self.batch_size})"
        )


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile("smoke", "CI smoke test, seconds per notebook", 512, 2, 64),
        Profile("cpu", "CPU run, real results in minutes", None, 30, 64),
        Profile("gpu", "GPU run on the full 60,000-digit MNIST", None, 20, 64),
    )
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

#: TensorFlow's C++ log level unless ``TF_CPP_MIN_LOG_LEVEL`` says otherwise: 3
#: keeps its C++ ERROR lines out of the pages too. While training, grappler
#: logs "remapper failed" and oneDNN "supports DT_HALF only on platforms with
#: AVX-512" at ERROR level, but both are notices (TensorFlow falls back and
#: carries on); a real failure raises a Python exception whatever this level.
#: Set ``TF_CPP_MIN_LOG_LEVEL=0`` before starting Python to see every line.
CPP_LOG_LEVEL = "3"


def import_tensorflow():
    """Import TensorFlow once, quietly, with Python-side logging at ERROR; return it.

    Every ``ganutils`` module that needs TensorFlow or Keras calls this first
    (``tf = config.import_tensorflow()`` at the top of the module), so the
    start-up lines are caught whichever module a notebook imports first.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", CPP_LOG_LEVEL)
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
    tf = import_tensorflow()
    return bool(tf.config.list_physical_devices("GPU"))


def check_seed(seed, name: str = "seed") -> int:
    """``seed`` as an ``int``; a ValueError naming ``name`` unless it is a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{name} must be a non-negative integer; got {seed!r}")
    return int(seed)


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global state and Keras/TensorFlow.

    Library code in ``ganutils`` takes explicit ``numpy.random.Generator``
    objects; this call makes the rest (weight initialisers, ``tf.data``
    shuffling, Keras dropout) repeatable too.

    Raises:
        ValueError: ``seed`` is not a non-negative integer.
    """
    seed = check_seed(seed)
    import_tensorflow()
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
            :func:`use_logical_cpus`), so that a
            ``MirroredStrategy`` has several replicas on a machine without
            GPUs. Only before TensorFlow has run anything: first thing in a
            fresh process or kernel.

    Returns:
        The :class:`Profile` in force.

    Raises:
        ValueError: Unknown profile name or a bad seed.
        RuntimeError: ``logical_cpus`` asked for after TensorFlow started.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", CPP_LOG_LEVEL)
    # A GPU must not grab all its memory at start-up when several notebooks run.
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    chosen = get_profile(profile)
    if logical_cpus is not None:
        use_logical_cpus(logical_cpus)
    seed_everything(seed)
    _inline_figures()
    return chosen


def use_logical_cpus(count: int) -> list[str]:
    """Split the CPU into ``count`` logical devices, so one machine can test ``"mirrored"``.

    Must run before TensorFlow executes its first operation (call it right
    after :func:`setup`, or pass ``logical_cpus=`` to it). The devices share
    the same cores: this shows that the code is correct under several
    replicas (see :mod:`ganutils.distribute`), not that it is faster.

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
    tf = import_tensorflow()
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


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (not a terminal or a plain script).

    Reads IPython only if something already imported it, so scripts never load it.
    """
    module = sys.modules.get("IPython")
    shell = module.get_ipython() if module is not None else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, keep_suffix: bool = False) -> Iterator[Path]:
    """Write a file through a temporary one beside it, renamed into place at the end.

    The body writes to the yielded path, a hidden name in the same folder
    ending in ``.tmp`` (so a leftover of a killed process never matches a
    pattern such as ``*.npy``); with ``keep_suffix=True`` it ends in
    ``.tmp`` plus the file's own suffix instead, for writers that insist on
    it (``model.save`` wants ``.keras``). On success it replaces ``path`` in
    one rename, so a reader or a crash never sees half a file; on an
    exception the temporary file is removed and ``path`` is left as it was::

        with atomic_path(out / "history.csv") as temporary:
            temporary.write_text(text)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ending = f".tmp{path.suffix}" if keep_suffix else ".tmp"
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}{ending}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so a crash never leaves half a file (:func:`atomic_path`)."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)


def _inline_figures() -> None:
    """In a notebook, show returned Matplotlib figures as images.

    ``ganutils.viz`` returns ``Figure`` objects without touching pyplot. IPython
    renders them as PNG only once the inline backend is active, which recent
    IPython versions no longer switch on by themselves; without it a figure
    shows as the text ``<Figure size ...>``.
    """
    if in_notebook():
        sys.modules["IPython"].get_ipython().run_line_magic("matplotlib", "inline")
