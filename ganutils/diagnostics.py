"""A training-health monitor: the signatures of a failing GAN, named while it trains.

:class:`TrainingMonitor` is a Keras callback for :class:`ganutils.gan.GAN`
runs. It reads the losses and gradient norms the GAN reports every step, draws
samples at the end of every epoch, and says in plain words when a run shows
the signature of a known failure (chapter 6 of the book, "Why GANs fail"):

========================  ==================================================
signature                 fires when
========================  ==================================================
``discriminator_wins``    D's epoch-mean loss falls below ``d_loss_floor``
``vanishing_gradient``    G's epoch-mean gradient norm falls below ``min_grad_norm``
``exploding_gradient``    a step's D or G gradient norm exceeds ``max_grad_norm``
``collapse``              sample diversity falls below ``diversity_floor``
``non_finite``            a loss or gradient norm is NaN or infinite: the run stops
========================  ==================================================

Each warning is printed once when its condition starts and again only after it
has cleared, so a long run does not drown the page. Every warning is also kept
in :attr:`TrainingMonitor.events` for plots and tests.

A run stopped on NaN keeps its last good checkpoint: the monitor stops the run
in the step the values turn non-finite, and :class:`ganutils.callbacks.Checkpoint`
refuses to write non-finite weights.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import config as _config

tf = _config.import_tensorflow()
import keras  # noqa: E402

from .callbacks import StepValues  # noqa: E402

__all__ = ["SIGNATURES", "Event", "TrainingMonitor", "sample_diversity"]

SIGNATURES = (
    "discriminator_wins",
    "vanishing_gradient",
    "exploding_gradient",
    "collapse",
    "non_finite",
)

_ADVICE = {
    "discriminator_wins": (
        "D tells real from fake almost perfectly, so G's gradient is about to vanish. "
        "Try the non-saturating G loss, label smoothing or noise, a weaker or slower D."
    ),
    "vanishing_gradient": (
        "G is barely learning: its gradient carries almost no signal. Check whether D has "
        "won (its loss near 0) and whether G uses the saturating minimax loss."
    ),
    "exploding_gradient": (
        "updates are exploding. Try gradient clipping (clipnorm), a lower learning rate "
        "or weight regularisation."
    ),
    "collapse": (
        "G may be collapsing onto a few modes. Look at the samples; try minibatch "
        "statistics in D, a lower learning rate or a moving average of G."
    ),
    "non_finite": (
        "training diverged and was stopped; the last checkpoint written before this epoch is kept."
    ),
}


@dataclasses.dataclass(frozen=True)
class Event:
    """One warning: which signature, when, the value that tripped it, and the message."""

    signature: str
    step: int
    epoch: int
    value: float
    message: str


def sample_diversity(samples: np.ndarray, *, max_pairs: int = 256) -> float:
    """Mean Euclidean distance between pairs of samples (flattened), on up to ``max_pairs`` samples.

    A collapsed generator, whose samples are near-copies, scores close to 0.
    Compare it with the same measure on real data (the monitor's ``reference``).

    Raises:
        ValueError: Fewer than two samples.
    """
    flat = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)[:max_pairs]
    if len(flat) < 2:
        raise ValueError(f"samples must hold at least 2 items; got {len(flat)}")
    squared = np.sum(flat**2, axis=1)
    distances = np.sqrt(np.maximum(squared[:, None] + squared[None] - 2 * flat @ flat.T, 0.0))
    n = len(flat)
    return float(distances.sum() / (n * (n - 1)))


class TrainingMonitor(keras.callbacks.Callback):
    """Watch a GAN's run and warn, in words, when it shows a failure's signature.

    Args:
        d_loss_floor: Warn when D's mean loss over an epoch falls below this
            (default 0.05: the real-vs-fake cross-entropy of a D that is about
            97.5% sure on both sides).
        min_grad_norm: Warn when G's mean gradient norm over an epoch falls
            below this (default 1e-3).
        max_grad_norm: Warn when one step's D or G gradient norm exceeds this
            (default 100, the threshold ganhacks suggests).
        diversity_floor: Warn when the samples' diversity falls below this
            share of the reference (default 0.3).
        latents: ``(n, latent_dim)`` fixed latents to draw samples from at the
            end of every epoch (``n >= 2``); ``None`` skips the collapse check.
        reference: Real samples whose :func:`sample_diversity` is the
            reference; ``None`` uses the highest diversity seen so far in the run.
        stop_on_non_finite: Stop the run at the first NaN or infinite value.
        verbose: Print each warning as it fires.

    Raises:
        ValueError: A threshold that is not positive, or ``diversity_floor``
            outside (0, 1).
    """

    def __init__(
        self,
        *,
        d_loss_floor: float = 0.05,
        min_grad_norm: float = 1e-3,
        max_grad_norm: float = 100.0,
        diversity_floor: float = 0.3,
        latents: np.ndarray | None = None,
        reference: np.ndarray | None = None,
        stop_on_non_finite: bool = True,
        verbose: bool = True,
    ):
        super().__init__()
        for name, value in (
            ("d_loss_floor", d_loss_floor),
            ("min_grad_norm", min_grad_norm),
            ("max_grad_norm", max_grad_norm),
        ):
            if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number; got {value!r}")
        if not 0.0 < diversity_floor < 1.0:
            raise ValueError(f"diversity_floor must lie in (0, 1); got {diversity_floor!r}")
        if latents is not None and (np.ndim(latents) != 2 or len(latents) < 2):
            raise ValueError(
                f"latents must have shape (n, latent_dim) with n >= 2; got {np.shape(latents)}"
            )
        self.d_loss_floor = float(d_loss_floor)
        self.min_grad_norm = float(min_grad_norm)
        self.max_grad_norm = float(max_grad_norm)
        self.diversity_floor = float(diversity_floor)
        self.latents = None if latents is None else np.asarray(latents, dtype=np.float32)
        self.reference = None if reference is None else sample_diversity(reference)
        self.stop_on_non_finite = bool(stop_on_non_finite)
        self.verbose = bool(verbose)
        self.events: list[Event] = []
        self.diversity: list[float] = []
        self.stopped_at: int | None = None
        self._active: set[str] = set()
        self._values = StepValues()
        self._step = 0
        self._epoch = 0

    # -- Bookkeeping ----------------------------------------------------------

    def fired(self, signature: str | None = None) -> list[Event]:
        """The events so far, all or of one signature."""
        return [e for e in self.events if signature is None or e.signature == signature]

    def _check(self, signature: str, condition: bool, value: float, detail: str) -> None:
        """Record ``signature`` when ``condition`` starts; re-arm it once it clears."""
        if not condition:
            self._active.discard(signature)
            return
        if signature in self._active:
            return
        self._active.add(signature)
        message = (
            f"[epoch {self._epoch}, step {self._step}] {signature.replace('_', ' ')}: "
            f"{detail}; {_ADVICE[signature]}"
        )
        self.events.append(Event(signature, self._step, self._epoch, float(value), message))
        if self.verbose:
            print(message)

    # -- Keras hooks ------------------------------------------------------------

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1
        self._values.reset()

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        values = self._values.update(batch, logs)  # Keras reports running means
        bad = [name for name, value in values.items() if not math.isfinite(value)]
        self._check(
            "non_finite",
            bool(bad),
            math.nan,
            f"{', '.join(bad)} became NaN or infinite" if bad else "",
        )
        if bad:
            if self.stop_on_non_finite and self.model is not None:
                self.model.stop_training = True
                if self.stopped_at is None:
                    self.stopped_at = self._step
            return
        for name, network in (("d_grad_norm", "D"), ("g_grad_norm", "G")):
            if name in values:
                value = values[name]
                self._check(
                    "exploding_gradient",
                    value > self.max_grad_norm,
                    value,
                    f"{network}'s gradient norm is {value:.3g} (above {self.max_grad_norm:g})",
                )
                if value > self.max_grad_norm:
                    break

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.stopped_at is not None:
            return
        d_loss = float(logs.get("d_loss", math.nan))
        if math.isfinite(d_loss):
            self._check(
                "discriminator_wins",
                d_loss < self.d_loss_floor,
                d_loss,
                f"D's loss averaged {d_loss:.4f} this epoch (below {self.d_loss_floor:g})",
            )
        g_norm = float(logs.get("g_grad_norm", math.nan))
        if math.isfinite(g_norm):
            self._check(
                "vanishing_gradient",
                g_norm < self.min_grad_norm,
                g_norm,
                f"G's gradient norm averaged {g_norm:.2e} (below {self.min_grad_norm:g})",
            )
        if self.latents is not None and self.model is not None:
            samples = np.asarray(self.model.sampler(self.latents, training=False))
            diversity = sample_diversity(samples)
            self.diversity.append(diversity)
            reference = self.reference if self.reference is not None else max(self.diversity)
            ratio = diversity / reference if reference > 0 else 1.0
            logs["diversity"] = ratio
            self._check(
                "collapse",
                ratio < self.diversity_floor,
                ratio,
                f"sample diversity is {ratio:.0%} of "
                + ("the real data's" if self.reference is not None else "its peak")
                + f" (below {self.diversity_floor:.0%})",
            )
