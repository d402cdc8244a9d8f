"""Keras callbacks that record a GAN run and let it resume.

Used together by :func:`ganutils.train.train_mnist`, in this order:

- :class:`ProgressBar`: one live line per run (in place in notebooks).
- :class:`SampleGrid`: a PNG grid from one fixed latent batch per epoch.
- :class:`LossHistory`: per-epoch and per-step values as ``.npy`` arrays and CSV.
- :class:`TrainingGif`: the grids as a looping animated GIF.
- :class:`Checkpoint`: both models, both optimizers, the epoch and the random
  state, written atomically, so an interrupted run resumes where it stopped
  (its format lives in :mod:`ganutils.checkpoint`; re-exported here).
- :class:`SaveGenerator`: the generator to sample from (the moving average,
  when there is one) as a ``.keras`` file that plain Keras loads.

:class:`QualityCheck` adds quality scores to the history, and
:class:`StepValues` recovers each step's own value from the running means
Keras reports (:mod:`ganutils.diagnostics` uses it too).
"""

from __future__ import annotations

__all__ = [
    "CHECKPOINT_FILE",  # from ganutils.checkpoint, where the format lives
    "GENERATOR_FILE",
    "RUNTIME_OPTIONS",  # from ganutils.checkpoint
    "SCORES",
    "Checkpoint",  # from ganutils.checkpoint
    "LossHistory",
    "OverfitCheck",
    "ProgressBar",
    "QualityCheck",
    "SampleGrid",
    "SaveGenerator",
    "StepValues",
    "StopAfterEpoch",
    "TrainingGif",
    "discriminator_logits",
    "read_history",
    "read_steps",
]

import csv
import io
import math
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image, ImageDraw
from tqdm import tqdm  # the terminal bar: in a notebook ProgressBar updates a display

from . import config as _config

tf = _config.import_tensorflow()
import keras  # noqa: E402

from . import metrics as _metrics  # noqa: E402
from . import stabilizers as _stabilizers  # noqa: E402
from .checkpoint import CHECKPOINT_FILE, RUNTIME_OPTIONS, Checkpoint  # noqa: E402
from .viz import grid_array  # noqa: E402


class StepValues:
    """Each step's own values, recovered from the running means Keras reports.

    Keras hands ``on_train_batch_end`` the running mean of each metric since
    the epoch began; the step's own value follows from two consecutive means,
    ``x_k = k * mean_k - (k - 1) * mean_(k-1)``, exact up to float32 round-off
    (which grows with k: about 1e-4 relative after 1,000 steps). Call
    :meth:`reset` at the start of every epoch.
    """

    def __init__(self):
        self._previous: dict[str, float] = {}

    def reset(self) -> None:
        self._previous = {}

    def update(self, batch: int, logs) -> dict[str, float]:
        """The values of step ``batch`` (0-based within the epoch) from its ``logs``."""
        count = batch + 1
        values = {}
        for name, mean in (logs or {}).items():
            mean = float(mean)
            values[name] = count * mean - (count - 1) * self._previous.get(name, 0.0)
            self._previous[name] = mean
        return values


# -- Sample grids and the GIF ------------------------------------------------------


def _labelled_frame(images: np.ndarray, label: str, *, ncols: int) -> np.ndarray:
    """A grid of generated images with ``label`` drawn in a strip above it."""
    grid = grid_array(images, ncols=ncols)
    strip = 14
    canvas = Image.new("L", (grid.shape[1], grid.shape[0] + strip), color=0)
    canvas.paste(Image.fromarray(grid), (0, strip))
    ImageDraw.Draw(canvas).text((3, 1), label, fill=255)
    return np.asarray(canvas)


class SampleGrid(keras.callbacks.Callback):
    """Save a grid of samples from one fixed latent batch at the end of every epoch.

    The same latents every epoch make the grids comparable: each cell shows how
    one z evolves. Files: ``out_dir/epoch_001.png``, ... (uint8 PNG, the epoch
    number drawn on top).

    Args:
        out_dir: Folder for the PNGs.
        latents: ``(n, latent_dim)`` float32 fixed latent batch, or for a
            conditional GAN ``[latents, labels]`` (see
            :func:`ganutils.train.class_grid_inputs`).
        ncols: Images per row (default: a square grid).
    """

    def __init__(self, out_dir, latents, *, ncols: int | None = None):
        super().__init__()
        self.out_dir = Path(out_dir)
        labels = None
        if isinstance(latents, (list, tuple)):
            if len(latents) != 2:
                raise ValueError(
                    f"latents must be an array or [latents, labels]; got {len(latents)} parts"
                )
            latents, labels = latents
        self.latents = np.asarray(latents, dtype=np.float32)
        if self.latents.ndim != 2 or len(self.latents) < 1:
            raise ValueError(f"latents must have shape (n, latent_dim); got {self.latents.shape}")
        self.labels = None
        if labels is not None:
            self.labels = np.asarray(labels, dtype=np.int32)
            if self.labels.shape != (len(self.latents),):
                raise ValueError(
                    f"labels must have shape ({len(self.latents)},); got {self.labels.shape}"
                )
        self.ncols = ncols or math.ceil(math.sqrt(len(self.latents)))

    @staticmethod
    def path_for(out_dir, epoch: int) -> Path:
        """The PNG of 1-based ``epoch``."""
        return Path(out_dir) / f"epoch_{epoch:03d}.png"

    def on_epoch_end(self, epoch, logs=None):
        inputs = self.latents if self.labels is None else [self.latents, self.labels]
        images = np.asarray(self.model.sampler(inputs, training=False))
        label = f"epoch {epoch + 1}"
        if not np.isfinite(images).all():  # keep the run (and its GIF) going; say so
            images, label = np.nan_to_num(images, nan=-1.0).clip(-1, 1), label + " (non-finite)"
        frame = _labelled_frame(images, label, ncols=self.ncols)
        path = self.path_for(self.out_dir, epoch + 1)
        _config.write_atomic(path, iio.imwrite("<bytes>", frame, extension=".png"))


class TrainingGif(keras.callbacks.Callback):
    """Turn the epoch grids into a looping animated GIF (rewritten every epoch).

    Args:
        samples_dir: Where :class:`SampleGrid` writes ``epoch_NNN.png``.
        path: The GIF to write.
        duration_ms: How long each frame shows, in milliseconds.
        hold_last_ms: How long the last frame shows before the loop restarts.
    """

    def __init__(self, samples_dir, path, *, duration_ms: int = 300, hold_last_ms: int = 1500):
        super().__init__()
        self.samples_dir = Path(samples_dir)
        self.path = Path(path)
        self.duration_ms = duration_ms
        self.hold_last_ms = hold_last_ms

    def on_epoch_end(self, epoch, logs=None):
        write_gif(
            self.samples_dir,
            self.path,
            last_epoch=epoch + 1,
            duration_ms=self.duration_ms,
            hold_last_ms=self.hold_last_ms,
        )


def write_gif(
    samples_dir, path, *, last_epoch: int, duration_ms: int = 300, hold_last_ms: int = 1500
):
    """Write epochs 1..``last_epoch`` of ``samples_dir`` as a looping GIF.

    Returns:
        The number of frames written.
    """
    frames = [
        iio.imread(SampleGrid.path_for(samples_dir, epoch))
        for epoch in range(1, last_epoch + 1)
        if SampleGrid.path_for(samples_dir, epoch).exists()
    ]
    if not frames:
        return 0
    durations = [duration_ms] * (len(frames) - 1) + [max(duration_ms, hold_last_ms)]
    if len(frames) == 1:  # Pillow takes a list of durations only for several frames
        durations = durations[0]
    # loop=0 loops forever; without it the GIF plays once. Durations are in ms.
    data = iio.imwrite("<bytes>", np.stack(frames), extension=".gif", duration=durations, loop=0)
    _config.write_atomic(Path(path), data)
    return len(frames)


# -- History ------------------------------------------------------------------------


def _read_arrays(folder: Path) -> dict[str, np.ndarray]:
    if not folder.is_dir():
        return {}
    # Hidden files are never arrays of the run (a temporary file left by a kill, say).
    arrays = sorted(p for p in folder.glob("*.npy") if not p.name.startswith("."))
    return {path.stem: np.load(path) for path in arrays}


def read_history(out_dir) -> dict[str, list[float]]:
    """Per-epoch history of a run folder: name -> values, with ``epoch`` 1-based."""
    return {
        name: values.tolist() for name, values in _read_arrays(Path(out_dir) / "history").items()
    }


def read_steps(out_dir) -> dict[str, np.ndarray]:
    """Per-step values of a run folder: name -> array, with ``step`` and ``epoch``."""
    return _read_arrays(Path(out_dir) / "steps")


class LossHistory(keras.callbacks.Callback):
    """Record every step and every epoch, and save them as ``.npy`` arrays and CSV.

    Files (all readable with ``np.load``): ``history/<name>.npy`` holds one
    value per epoch (the epoch mean, plus anything other callbacks added to the
    epoch's logs, such as metrics), ``steps/<name>.npy`` one value per training
    step, and ``history.csv`` the epoch table. On resume the arrays are read
    back and cut to the epochs the checkpoint covers.

    Per-step values come from :class:`StepValues`.

    Args:
        out_dir: The run folder.
        initial_epoch: Epochs already done (0 for a fresh run).
    """

    def __init__(self, out_dir, *, initial_epoch: int = 0):
        super().__init__()
        self.out_dir = Path(out_dir)
        self.epochs = self._kept(_read_arrays(self.out_dir / "history"), initial_epoch)
        self.steps = self._kept(_read_arrays(self.out_dir / "steps"), initial_epoch)
        self._values = StepValues()
        self._epoch = initial_epoch

    @staticmethod
    def _kept(table: dict[str, np.ndarray], initial_epoch: int) -> dict[str, list]:
        """The rows of epochs up to ``initial_epoch``, cutting every array on its own.

        Arrays are saved one by one, so a run killed mid-save can leave some a
        row longer than others; each is cut (or padded with NaN) to the rows
        its ``epoch`` array assigns to finished epochs.
        """
        if "epoch" not in table:
            return {}
        count = int(np.sum(table["epoch"] <= initial_epoch))
        kept = {}
        for name, values in table.items():
            values = list(values[:count])
            kept[name] = values + [math.nan] * (count - len(values))
        return kept

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1
        self._values.reset()

    def on_train_batch_end(self, batch, logs=None):
        step = len(self.steps.get("step", [])) + 1
        self.steps.setdefault("step", []).append(step)
        self.steps.setdefault("epoch", []).append(self._epoch)
        for name, value in self._values.update(batch, logs).items():
            self.steps.setdefault(name, []).append(value)

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        length = len(self.epochs.get("epoch", []))
        for name, value in row.items():
            column = self.epochs.setdefault(name, [math.nan] * length)
            column.append(value)
        for column in self.epochs.values():  # a metric missing from this epoch
            if len(column) == length:
                column.append(math.nan)
        self._save()

    def _save(self):
        for kind, table in (("history", self.epochs), ("steps", self.steps)):
            folder = self.out_dir / kind
            folder.mkdir(parents=True, exist_ok=True)
            for name, values in table.items():
                dtype = np.int64 if name in ("epoch", "step") else np.float64
                buffer = io.BytesIO()
                np.save(buffer, np.asarray(values, dtype=dtype))
                _config.write_atomic(folder / f"{name}.npy", buffer.getvalue())
        names = ["epoch", *sorted(k for k in self.epochs if k != "epoch")]
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(names)
        for index in range(len(self.epochs["epoch"])):
            writer.writerow([self.epochs[name][index] for name in names])
        _config.write_atomic(self.out_dir / "history.csv", text.getvalue().encode())


#: What :class:`QualityCheck` adds to the logs of every epoch it scores.
SCORES = ("fd", "classes_covered", "class_kl", "classifier_score", "good")


class QualityCheck(keras.callbacks.Callback):
    """Score the generator every ``every`` epochs and add the scores to the history.

    Generates ``sample_size`` digits from a fixed latent batch, scores them with
    a :class:`ganutils.metrics.MnistScorer` and adds to the epoch's logs (and
    so to :class:`LossHistory`, which must come after this callback):
    ``fd`` (MNIST FD), ``classes_covered``, ``class_kl``, ``classifier_score``,
    ``good`` (1.0 when :func:`ganutils.metrics.is_good` holds against the
    quality bar). Every epoch also gets ``train_seconds``, the wall time
    spent training so far *excluding* the scoring itself, which is what "time
    to quality" counts. Epochs that are not scored get NaN scores, so every
    series of the history, saved or Keras's own, has one value per epoch. A
    generator whose output is not finite scores FD = inf.

    Args:
        scorer: The scorer; its ``good_bar()`` at the same sample size is
            computed once here unless ``bar`` is given.
        every: Score every this many epochs (and always after the last).
        sample_size: Generated digits per check (compare FDs at equal size).
        seed: Seed of the fixed latent batch.
        bar: A precomputed :class:`ganutils.metrics.QualityBar`.
        budget_seconds: Stop training after the first epoch whose
            ``train_seconds`` reach this (that epoch is scored): every run of
            a study then gets the same training time, whatever its step costs.

    Raises:
        ValueError: ``every`` is not a positive integer, or ``budget_seconds``
            is not a positive number.
    """

    def __init__(
        self,
        scorer,
        *,
        every: int = 1,
        sample_size: int = 1000,
        seed: int = 0,
        bar=None,
        budget_seconds: float | None = None,
    ):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer; got {every!r}")
        if budget_seconds is not None and (
            isinstance(budget_seconds, bool)
            or not isinstance(budget_seconds, (int, float))
            or not budget_seconds > 0
        ):
            raise ValueError(
                "budget_seconds must be a positive number of seconds or None; "
                f"got {budget_seconds!r}"
            )
        self.budget_seconds = budget_seconds
        self.scorer = scorer
        self.every = every
        self.sample_size = sample_size
        self.seed = seed
        self.bar = bar if bar is not None else scorer.good_bar(sample_size=sample_size)
        self._latents = None
        self.train_seconds = 0.0

    def resume_from(self, history: dict, *, initial_epoch: int) -> None:
        """Carry on counting ``train_seconds`` from the epochs a checkpoint covers."""
        epochs = history.get("epoch", [])
        seconds = [
            s
            for epoch, s in zip(epochs, history.get("train_seconds", []), strict=False)
            if epoch <= initial_epoch and not math.isnan(s)
        ]
        self.train_seconds = seconds[-1] if seconds else 0.0

    def on_train_begin(self, logs=None):
        self._latents = None
        self._since = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.train_seconds += time.perf_counter() - self._since
        if logs is not None:
            logs["train_seconds"] = self.train_seconds
        last = epoch + 1 >= self.params.get("epochs", epoch + 1)
        if self.budget_seconds is not None and self.train_seconds >= self.budget_seconds:
            last = True
            self.model.stop_training = True
        if logs is not None and not ((epoch + 1) % self.every == 0 or last):
            # NaN, not absent: Keras's History appends only the keys an epoch has,
            # so a missing score would shift every later score onto the wrong epoch.
            logs.update({name: math.nan for name in SCORES})
        elif logs is not None:
            if self._latents is None:
                rng = np.random.default_rng(self.seed)
                options = self.model.options
                shape = (self.sample_size, options.latent_dim)
                if options.latent_distribution == "uniform":
                    self._latents = rng.uniform(-1.0, 1.0, shape).astype(np.float32)
                else:
                    self._latents = rng.standard_normal(shape, dtype=np.float32)
                if options.num_classes is not None:  # a conditional GAN: every class equally
                    labels = np.arange(self.sample_size, dtype=np.int32) % options.num_classes
                    self._latents = [self._latents, labels]
            images = np.asarray(self.model.sampler.predict(self._latents, verbose=0))
            if not np.isfinite(images).all():  # a diverged generator is scored, not fatal
                logs.update(
                    fd=math.inf,
                    classes_covered=0.0,
                    class_kl=math.log(10),
                    classifier_score=1.0,
                    good=0.0,
                )
            else:
                score = self.scorer.score(images)
                logs.update(
                    fd=score.fd,
                    classes_covered=float(score.classes_covered),
                    class_kl=score.class_kl,
                    classifier_score=score.classifier_score,
                    good=float(_metrics.is_good(score, self.bar)),
                )
        self._since = time.perf_counter()


def discriminator_logits(discriminator, images: np.ndarray, *, batch_size: int = 64) -> np.ndarray:
    """D's logits for real ``images`` as D sees them in training, leaving D unchanged.

    The forward pass runs in training mode, in batches of ``batch_size``
    all-real images, as the separate real batches of a training step are:
    in inference mode batch normalisation would use moving statistics that
    mix real and fake batches, and the logits would swing from epoch to
    epoch with them. The moving statistics the pass updates are restored.

    Returns:
        ``(n,)`` float logits.
    """
    state = [variable.numpy() for variable in discriminator.non_trainable_variables]
    logits = [
        np.asarray(discriminator(images[start : start + batch_size], training=True)).reshape(-1)
        for start in range(0, len(images), batch_size)
    ]
    for variable, value in zip(discriminator.non_trainable_variables, state, strict=True):
        variable.assign(value)
    return np.concatenate(logits)


class OverfitCheck(keras.callbacks.Callback):
    """Track whether D is memorising its training digits: ``r_t`` on seen and unseen digits.

    After every ``every`` epochs it adds to the epoch's logs (so to
    :class:`LossHistory`, which must come after it) ``rt_train`` and
    ``rt_heldout``: :func:`ganutils.stabilizers.real_sign` of D's logits
    (:func:`discriminator_logits`) on a fixed sample of the digits it trains
    on and on real digits it never sees, and ``rt_gap``, their difference.
    A discriminator that generalises scores both alike; one that overfits
    the training set calls more of its training digits real than of the
    held-out ones (Karras et al. 2020), and the gap grows.

    Args:
        train_images, heldout_images: ``(n, 28, 28, 1)`` float32 in [-1, 1].
        every: Check every this many epochs (and always after the last).
        batch_size: Images per forward pass (use the run's batch size).
    """

    def __init__(self, train_images, heldout_images, *, every: int = 1, batch_size: int = 64):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer; got {every!r}")
        self.images = {"train": np.asarray(train_images), "heldout": np.asarray(heldout_images)}
        for name, array in self.images.items():
            if array.ndim != 4 or len(array) == 0:
                raise ValueError(
                    f"{name}_images must be (n, 28, 28, 1) images; got shape {array.shape}"
                )
        self.every = every
        self.batch_size = batch_size

    def on_epoch_end(self, epoch, logs=None):
        last = epoch + 1 >= self.params.get("epochs", epoch + 1)
        if logs is None:
            return
        if not ((epoch + 1) % self.every == 0 or last):  # NaN keeps the epochs aligned
            logs.update(rt_train=math.nan, rt_heldout=math.nan, rt_gap=math.nan)
            return
        for name, images in self.images.items():
            logits = discriminator_logits(
                self.model.discriminator, images, batch_size=self.batch_size
            )
            logs[f"rt_{name}"] = _stabilizers.real_sign(logits)
        logs["rt_gap"] = logs["rt_train"] - logs["rt_heldout"]


GENERATOR_FILE = "generator.keras"


class SaveGenerator(keras.callbacks.Callback):
    """Write the GAN's sampler to ``out_dir/generator.keras`` after every epoch.

    The sampler is the generator the book draws from: the exponential moving
    average when the run keeps one, with images in [-1, 1]. The file is a
    plain Keras model: ``keras.saving.load_model(path)`` loads it in a Python
    that never imports ``ganutils`` as long as the generator is built from
    Keras' own layers (the recipe's is; ``g_noise`` adds a custom layer and
    then needs ``import ganutils`` first). Written to a temporary file and
    renamed, so a crash mid-write leaves the previous file whole.
    """

    def __init__(self, out_dir):
        super().__init__()
        self.path = Path(out_dir) / GENERATOR_FILE

    def on_epoch_end(self, epoch, logs=None):
        partial = self.path.with_name(f".{self.path.stem}.partial.keras")
        self.model.sampler.save(partial)
        partial.replace(self.path)


class StopAfterEpoch(keras.callbacks.Callback):
    """Stop training after ``epochs`` epochs in total, as an interruption would."""

    def __init__(self, epochs: int):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= self.epochs:
            self.model.stop_training = True


# -- Progress -------------------------------------------------------------------------


class ProgressBar(keras.callbacks.Callback):
    """One progress line for the whole run, updated in place.

    In a notebook the line is a display that is updated in place (so the saved
    notebook, and the rendered book, keep only its final state); in a terminal
    it is a ``tqdm`` bar. It shows epochs and steps done, elapsed and remaining
    time, and the last epoch's losses and discriminator outputs.

    Args:
        interval: Seconds between updates within an epoch.
        show: Names from the logs to show after each epoch.
    """

    SHOW = ("d_loss", "g_loss", "d_real", "d_fake")

    def __init__(self, *, interval: float = 0.5, show: tuple[str, ...] = SHOW):
        super().__init__()
        self.interval = interval
        self.show = show

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self._last = 0.0
        self._epochs = self.params.get("epochs", 1)
        self._steps = self.params.get("steps") or 0
        self._epoch = 0
        self._first_epoch = None
        self._summary = ""
        self._handle = None
        self._bar = None
        if _config.in_notebook():
            from IPython.display import display  # a notebook has IPython; a terminal need not

            self._handle = display({"text/plain": "starting..."}, raw=True, display_id=True)
        else:
            self._bar = tqdm(total=self._epochs, unit="epoch", dynamic_ncols=True)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if self._first_epoch is None:
            self._first_epoch = epoch
            if self._bar is not None:
                self._bar.update(epoch)

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        if self._handle is not None and now - self._last >= self.interval:
            self._last = now
            self._render(self._epoch + (batch + 1) / max(self._steps, 1))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self._summary = "  ".join(f"{k} {float(logs[k]):.3f}" for k in self.show if k in logs)
        if self._bar is not None:
            self._bar.set_postfix_str(self._summary, refresh=False)
            self._bar.update(1)
        self._render(epoch + 1)

    def on_train_end(self, logs=None):
        if self._bar is not None:
            self._bar.close()
        else:
            self._render(self._epoch + 1, final=True)

    def _render(self, progress: float, final: bool = False):
        if self._handle is None:
            return
        elapsed = time.perf_counter() - self._start
        done = progress - (self._first_epoch or 0)
        remaining = (self._epochs - progress) * elapsed / done if done > 0 else float("nan")
        width = 30
        filled = round(width * progress / self._epochs)
        bar = "#" * filled + "." * (width - filled)
        eta = "" if final or math.isnan(remaining) else f", ~{remaining:.0f}s left"
        # Two short lines rather than one long one: the book's text column is 88 characters.
        text = (
            f"epoch {min(int(progress), self._epochs)}/{self._epochs} [{bar}] {elapsed:.0f}s{eta}"
        )
        text += f"\n{self._summary}" if self._summary else ""
        self._handle.update({"text/plain": text}, raw=True)
