"""The checkpoint format: one file that lets an interrupted GAN run resume.

:class:`Checkpoint` (a Keras callback, used by :func:`ganutils.train.train_mnist`
and :mod:`ganutils.toy`) writes both models, both optimizers, the epoch and the
random state to :data:`CHECKPOINT_FILE` in the run folder, atomically, and
restores them on start; a checkpoint of another configuration is refused, bar
the :data:`RUNTIME_OPTIONS`. :mod:`ganutils.callbacks` re-exports all three.
"""

from __future__ import annotations

__all__ = ["CHECKPOINT_FILE", "RUNTIME_OPTIONS", "Checkpoint"]

import io
import json
from pathlib import Path

import numpy as np

from . import config as _config

_config.import_tensorflow()
import keras  # noqa: E402

CHECKPOINT_FILE = "checkpoint.npz"
_CHECKPOINT_FORMAT = 1
# Configuration keys that may differ between the run that saved a checkpoint and the one
# that restores it: they change how the run executes, not what it learns.
RUNTIME_OPTIONS = ("strategy", "precision", "jit_compile", "sync_batch_norm")
# Options added after format 1, with the value every run had before they existed: a
# saved configuration without them was trained that way (the step drew fresh fakes
# for the generator's update, and no run had an R1 penalty).
_ADDED_OPTIONS = {
    "fresh_fakes": True,
    "r1_gamma": None,
    "r2_gamma": None,
    "gamma_end_share": None,
    "gamma_steps": None,
    "channels": 1,
    "num_classes": None,
    "conditioning": "channels",
    "class_loss_weight": 1.0,
    "d_batch_norm": None,
}


def _state_variables(gan) -> dict[str, list]:
    """Every variable a resumed run needs, grouped and in a stable order."""
    groups = {
        "generator": list(gan.generator.variables),
        "discriminator": list(gan.discriminator.variables),
        "g_optimizer": list(gan.g_optimizer.variables),
        "d_optimizer": list(gan.d_optimizer.variables),
        "random": [gan.seed_generator.state],
    }
    if gan.ema_generator is not None:
        groups["ema_generator"] = [*gan.ema_generator.variables, gan.ema_updates]
    return groups


class Checkpoint(keras.callbacks.Callback):
    """Save everything needed to resume after every epoch; restore it on start.

    One file, ``out_dir/checkpoint.npz``, holds the generator's and the
    discriminator's weights (batch-norm statistics included), both optimizers'
    state (step counts and moments), the random-number state of the training
    step and the number of finished epochs, plus the run's configuration. It is
    written through a temporary file and renamed, so a crash mid-write leaves
    the previous checkpoint intact.

    Args:
        out_dir: The run folder.
        config: The run's configuration (JSON-serialisable). A checkpoint
            written under a different configuration is refused on restore
            (``epochs`` may differ, so a finished run can be extended, and so
            may the :data:`RUNTIME_OPTIONS`: a run saved on several GPUs
            resumes on one CPU).
    """

    def __init__(self, out_dir, *, config: dict | None = None):
        super().__init__()
        self.path = Path(out_dir) / CHECKPOINT_FILE
        self.config = dict(config or {})
        self.skipped: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        try:
            self.save(self.model, epoch + 1)
        except ValueError:
            # A diverged epoch: the last good checkpoint stays on disk.
            self.skipped.append(epoch + 1)

    def save(self, gan, epoch: int) -> Path:
        """Write the checkpoint of ``gan`` after ``epoch`` finished epochs.

        Raises:
            ValueError: A weight or optimizer state is NaN or infinite (the
                run diverged); nothing is written, so the previous checkpoint
                survives. As a callback, the epoch is noted in ``skipped``.
        """
        arrays = {}
        signature = {}
        for group, variables in _state_variables(gan).items():
            signature[group] = [[v.path, list(v.shape)] for v in variables]
            for index, variable in enumerate(variables):
                value = np.asarray(variable.numpy())
                if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
                    raise ValueError(
                        f"refusing to checkpoint epoch {epoch}: {variable.path} "
                        "holds NaN or "
                        "infinite values (the run diverged)"
                    )
                arrays[f"{group}/{index}"] = value
        meta = {
            "format": _CHECKPOINT_FORMAT,
            "epoch": int(epoch),
            "config": self.config,
            "signature": signature,
        }
        arrays["meta"] = np.asarray(json.dumps(meta))
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        _config.write_atomic(self.path, buffer.getvalue())
        return self.path

    def read_meta(self) -> dict | None:
        """The checkpoint's metadata, or ``None`` when there is no checkpoint."""
        if not self.path.exists():
            return None
        try:
            with np.load(self.path, allow_pickle=False) as stored:
                return json.loads(str(stored["meta"]))
        except Exception as error:
            raise ValueError(
                f"checkpoint {self.path} is corrupt or unreadable ({type(error).__name__}: "
                f"{error}); move it away to start a fresh run"
            ) from error

    def restore(self, gan) -> int:
        """Load the checkpoint into ``gan``; returns the finished epochs (0 without one).

        Raises:
            ValueError: The file is corrupt, or was written for a different
                configuration or different models. Nothing is silently
                restarted: the message says what differs.
        """
        meta = self.read_meta()
        if meta is None:
            return 0
        if meta.get("format") != _CHECKPOINT_FORMAT:
            raise ValueError(
                f"checkpoint {self.path} has format {meta.get('format')!r}; "
                f"this version reads format {_CHECKPOINT_FORMAT}"
            )
        self._check_config(meta)
        groups = _state_variables(gan)
        self._check_shapes(meta, groups)
        values = self._read_values(groups)
        for group, variables in groups.items():
            for variable, value in zip(variables, values[group], strict=True):
                variable.assign(value)
        return int(meta["epoch"])

    def _check_config(self, meta: dict) -> None:
        """Refuse a checkpoint of a different configuration, naming what differs."""
        # A finished run may be extended by more epochs, unless a learning-rate
        # schedule spans the planned epochs (it would jump on resume). How a run
        # executes (strategy, precision, XLA) is free too: the weights are float32
        # and plain arrays under every strategy.
        free = set(RUNTIME_OPTIONS)
        if self.config.get("lr_decay") is None:
            free.add("epochs")
        added = {k: v for k, v in _ADDED_OPTIONS.items() if k in self.config}
        saved = {**added, **meta.get("config", {})}
        saved = {k: v for k, v in saved.items() if k not in free}
        wanted = {k: v for k, v in self.config.items() if k not in free}
        if saved != wanted:
            differs = sorted(k for k in set(saved) | set(wanted) if saved.get(k) != wanted.get(k))
            details = ", ".join(
                f"{k}: saved {saved.get(k)!r}, now {wanted.get(k)!r}" for k in differs
            )
            raise ValueError(
                f"checkpoint {self.path} was written by a different configuration ({details}); "
                "use another output folder or the saved configuration"
            )

    def _check_shapes(self, meta: dict, groups: dict) -> None:
        """Refuse a checkpoint whose variables do not fit the models', group by group."""
        for group, variables in groups.items():
            stored = meta["signature"].get(group, [])
            shapes = [list(v.shape) for v in variables]
            if [shape for _, shape in stored] != shapes:
                raise ValueError(
                    f"checkpoint {self.path} does not match the models: {group} has "
                    f"{len(stored)} variables of shapes {[s for _, s in stored]}, "
                    f"the model {len(shapes)} of shapes {shapes}"
                )

    def _read_values(self, groups: dict) -> dict:
        """The stored arrays, group by group; a corrupt file is a ``ValueError``."""
        try:
            with np.load(self.path, allow_pickle=False) as stored:
                return {
                    group: [stored[f"{group}/{i}"] for i in range(len(variables))]
                    for group, variables in groups.items()
                }
        except Exception as error:
            raise ValueError(
                f"checkpoint {self.path} is corrupt or unreadable ({type(error).__name__}: "
                f"{error}); move it away to start a fresh run"
            ) from error
