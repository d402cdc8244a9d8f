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
in the step the values turn non-finite, and :class:`ganutils.checkpoint.Checkpoint`
refuses to write non-finite weights.

The book's troubleshooting page (``book/troubleshooting.md``) is rendered from
:data:`TROUBLESHOOTING`, whose rows also give the monitor its advice, so the
page and the monitor cannot disagree. Each row's fixes carry what the book
measured about them (:class:`Fix`, :class:`Evidence`): the verdict of the
book's comparison rule on the committed results, which
``tests/test_troubleshooting.py`` recomputes, and the fixes are listed in the
order of those verdicts (:func:`render_fixes`). After editing a row,
regenerate the page:
``python -m ganutils.diagnostics --write-troubleshooting book/troubleshooting.md``.
"""

from __future__ import annotations

__all__ = [
    "PAGE_BEGIN",
    "PAGE_END",
    "SIGNATURES",
    "TROUBLESHOOTING",
    "VERDICTS",
    "Event",
    "Evidence",
    "Fix",
    "TrainingMonitor",
    "Trouble",
    "render_fixes",
    "sample_diversity",
    "troubleshooting_markdown",
    "troubleshooting_page",
    "write_troubleshooting",
]

import argparse
import dataclasses
import inspect
import math
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import config as _config

tf = _config.import_tensorflow()
import keras  # noqa: E402

from .callbacks import StepValues  # noqa: E402
from .checkpoint import RUNTIME_OPTIONS  # noqa: E402

SIGNATURES = (
    "discriminator_wins",
    "vanishing_gradient",
    "exploding_gradient",
    "collapse",
    "non_finite",
)


#: The verdicts of the book's comparison rule (``ganutils.studies.compare``) a fix can carry.
VERDICTS = ("helps", "no measurable effect", "hurts")


@dataclasses.dataclass(frozen=True)
class Evidence:
    """What the book measured about a fix: its verdict, and the committed comparisons behind it.

    Plain data: this module sits below the studies and does not read their
    results. ``tests/test_troubleshooting.py`` recomputes every comparison
    from the committed rows (``ganutils.studies.committed_results``) by the
    book's comparison rule and fails when one disagrees with ``verdict``.

    Attributes:
        verdict: One of :data:`VERDICTS`: the fix's verdict in every
            comparison (where the variant removes the fix from the recipe, the
            opposite of the variant's own, as ``ganutils.studies.ablate.verdicts`` reads it).
        summary: Where or what was measured, in a few words ("on the MNIST
            collapse"): the text of the link to ``section``.
        section: The MyST label of the section that measured it.
        comparisons: ``(study, footing, variant, measure)`` of each comparison
            with the footing's baseline: a study of
            ``ganutils.studies.COMMITTED_STUDIES``; its footing (a footing of
            chapter 7's study, or ``"recipe"``: the ablation's leave-one-out
            half); the variant's name in the results; the measure
            (``"final_fd"``, ``"time_to_good"``, ``"modes_covered"``, ...).

    Raises:
        ValueError: An unknown verdict, or no comparison.
    """

    verdict: str
    summary: str
    section: str
    comparisons: tuple[tuple[str, str, str, str], ...]

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}; got {self.verdict!r}")
        if not self.comparisons or any(len(c) != 4 for c in self.comparisons):
            raise ValueError("comparisons must hold (study, footing, variant, measure) tuples")


@dataclasses.dataclass(frozen=True)
class Fix:
    """One fix of a troubleshooting row: what to try, and what the book measured about it.

    Attributes:
        text: The fix in words, starting in lower case, without a final full stop.
        evidence: The book's measurement on the footing that matches the
            row's symptom; ``None`` for advice the book did not measure there.
    """

    text: str
    evidence: Evidence | None = None

    @property
    def verdict(self) -> str | None:
        """The measured verdict, or ``None`` for unmeasured advice."""
        return None if self.evidence is None else self.evidence.verdict


#: The order of the fixes in a row, and the words that open each group: measured to
#: help first, then advice the book did not measure, then the rest, labelled.
_FIX_GROUPS = (
    ("helps", "Try first, measured to help: "),
    (None, "Then: "),
    ("no measurable effect", "No measurable effect in the book: "),
    ("hurts", "Measured to hurt, so avoid: "),
)
_RANK = {verdict: rank for rank, (verdict, _) in enumerate(_FIX_GROUPS)}


def render_fixes(fixes: Sequence[Fix], *, links: bool = False) -> str:
    """A row's fixes as sentences, grouped by verdict in the order of the page.

    Fixes measured to help come first ("Try first"), then unmeasured advice
    (without a heading when it opens the text), then those with no
    measurable effect, then those measured to hurt. A measured fix ends with
    its evidence's summary in brackets; with ``links`` (the page) the summary
    is a ``{ref}`` link to the section that measured it, so the page reads
    word for word what the monitor prints.

    Args:
        fixes: A row's fixes.
        links: Link each summary to its section, in MyST Markdown.
    """
    sentences = []
    for verdict, opening in _FIX_GROUPS:
        parts = []
        for fix in fixes:
            if fix.verdict != verdict:
                continue
            if fix.evidence is None:
                parts.append(fix.text)
            elif links:
                evidence = fix.evidence
                parts.append(f"{fix.text} ({{ref}}`{evidence.summary} <{evidence.section}>`)")
            else:
                parts.append(f"{fix.text} ({fix.evidence.summary})")
        if not parts:
            continue
        text = "; ".join(parts)
        if sentences or verdict is not None:
            sentences.append(f"{opening}{text}.")
        else:
            sentences.append(f"{text[:1].upper()}{text[1:]}.")
    return " ".join(sentences)


@dataclasses.dataclass(frozen=True)
class Trouble:
    """One row of the troubleshooting page (``book/troubleshooting.md``).

    The page's table is rendered from :data:`TROUBLESHOOTING` by
    :func:`troubleshooting_markdown`, and :class:`TrainingMonitor` prints the
    ``fixes`` of a signature's row (:func:`render_fixes`) as its advice, so the
    page and the monitor say the same thing.

    Attributes:
        symptom: What a reader sees, in their words.
        signature: The entry of :data:`SIGNATURES` that names it, or ``None``
            for a symptom the monitor cannot see.
        causes: The likely causes, most likely first.
        check: How to confirm it: which plot, metric or message.
        fixes: What to try, as :class:`Fix` entries in the order of
            :func:`render_fixes`: measured to help, unmeasured advice, no
            measurable effect, measured to hurt. For a row with a signature,
            :func:`render_fixes` of them is word for word the advice the monitor prints.
        sections: MyST labels of the chapter sections that reproduce or treat it.

    Raises:
        ValueError: No fix, or fixes out of that order.
    """

    symptom: str
    signature: str | None
    causes: str
    check: str
    fixes: tuple[Fix, ...]
    sections: tuple[str, ...]

    def __post_init__(self):
        ranks = [_RANK[fix.verdict] for fix in self.fixes]
        if not ranks or ranks != sorted(ranks):
            raise ValueError(
                f"{self.symptom!r}: fixes must be non-empty and ordered helps, unmeasured, "
                f"no measurable effect, hurts; got {[fix.verdict for fix in self.fixes]}"
            )


def _names(names) -> str:
    return ", ".join(f"`{name}`" for name in names)


#: Chapter 7's footings where instance noise ran: the two rings and MNIST's collapse (the
#: grid's baseline never learned its modes, so the chapter counts no verdict there).
_INSTANCE_NOISE_RUNS = (
    ("stabilisers", "rescue-ring", "instance noise", "modes_covered"),
    ("stabilisers", "healthy-ring", "instance noise", "modes_covered"),
    ("stabilisers", "rescue-mnist", "instance noise", "final_fd"),
)

#: The papers' critics (no batch norm in D) on MNIST's collapse, chapter 7's later runs.
_BN_FREE_SN = "spectral norm + BN-free D (lr x16)"
_BN_FREE_GP = "WGAN-GP + BN-free D (lr x16)"

#: The troubleshooting page's rows: the monitor's five signatures first, then
#: the symptoms only a plot, a metric or an error message shows. Each measured
#: fix carries the verdict on the footing nearest its symptom (D winning: the
#: ablation's recipe, by time to good, and chapter 7's footings; one digit
#: only: MNIST's collapse; quality that peaks: 500 and 1,000 digits).
TROUBLESHOOTING = (
    Trouble(
        symptom="D's loss heads to zero",
        signature="discriminator_wins",
        causes=(
            "D learns much faster than G: more D steps per G step (`d_steps`), a higher D "
            "learning rate (`d_learning_rate`), a larger D; hard 0/1 targets that reward ever "
            "more confident logits."
        ),
        check=(
            "The loss curves (`ganutils.viz.plot_losses`): D's loss slides towards 0 while G's "
            "climbs; D(x) near 1 and D(G(z)) near 0 (`d_real`, `d_fake` in the history)."
        ),
        fixes=(
            Fix("keep G learning with the non-saturating G loss"),
            Fix(
                "weaken or slow D: one D step per G step, a lower D learning rate (not so low "
                "that G outruns it: see the row on one digit only)"
            ),
            Fix(
                "one-sided label smoothing",
                Evidence(
                    "no measurable effect",
                    "left out of the recipe",
                    "ablation-verdicts",
                    (("ablation", "recipe", "without:ganhacks-label-smoothing", "time_to_good"),),
                ),
            ),
            Fix(
                "instance noise",
                Evidence(
                    "no measurable effect",
                    "on every footing it ran on",
                    "stabilisers-noise",
                    _INSTANCE_NOISE_RUNS,
                ),
            ),
            Fix(
                "label noise, flipping some of D's labels",
                Evidence(
                    "hurts",
                    "it slowed the recipe to good digits",
                    "ablation-verdicts",
                    (("ablation", "recipe", "without:ganhacks-noisy-labels", "time_to_good"),),
                ),
            ),
        ),
        sections=(
            "failure-vanishing",
            "mnist-loss-curves",
            "ganhacks-label-smoothing",
            "stabilisers-noise",
        ),
    ),
    Trouble(
        symptom="G's gradient vanishes: G stops changing",
        signature="vanishing_gradient",
        causes=(
            "The saturating minimax G loss, `log(1 - D(G(z)))`, against a D that has won: its "
            "gradient goes to 0 with D(G(z))."
        ),
        check=(
            "G's gradient norm per step (`g_grad_norm` in the history, on a log scale) sinking "
            "towards 0, usually while D's loss is near 0."
        ),
        fixes=(
            Fix(
                'use the non-saturating G loss (`generator_loss="non_saturating"`, the book\'s '
                "default), then check whether D has won (its loss near 0) and weaken it"
            ),
        ),
        sections=("failure-vanishing",),
    ),
    Trouble(
        symptom="Gradient norms spike and the losses swing",
        signature="exploding_gradient",
        causes=(
            "Too large a learning rate, or a schedule that raises it; momentum that carries "
            "updates past the turn of the game; D's weights growing without bound."
        ),
        check=(
            "`d_grad_norm` and `g_grad_norm` at every step (`ganutils.callbacks.read_steps`): "
            "spikes; the spread of the losses over training."
        ),
        fixes=(
            Fix("lower the learning rate"),
            Fix("clip gradients (`clipnorm` or `clipvalue` on the optimizer)"),
            Fix("penalise D's weights (an L2 penalty)"),
        ),
        sections=("failure-oscillation",),
    ),
    Trouble(
        symptom="A loss or gradient turns NaN or infinite",
        signature="non_finite",
        causes=(
            "An explosion left to run (the row above); float16 overflow or underflow without "
            "loss scaling."
        ),
        check=(
            "The steps before it (`ganutils.callbacks.read_steps`): gradient norms that grew "
            "first; `ganutils.callbacks.Checkpoint` refuses to save non-finite weights and lists "
            "the epochs it skipped in `skipped`."
        ),
        fixes=(
            Fix(
                "the run was stopped and the last good checkpoint kept: resume from it with a "
                "lower learning rate or gradient clipping, and keep loss scaling on under float16"
            ),
        ),
        sections=("failure-oscillation", "bigger-mixed-precision"),
    ),
    Trouble(
        symptom="One digit only, or a few digits",
        signature="collapse",
        causes=(
            "G outruns D and sends every latent to the few outputs that fool it: D learning far "
            "more slowly than G, or Adam's momentum chasing from mode to mode; samples from the "
            "raw G."
        ),
        check=(
            "The sample grid from fixed latents (`ganutils.viz.plot_image_grid`); classes "
            "covered and class KL (`ganutils.callbacks.QualityCheck`); `diversity` in the "
            "history."
        ),
        fixes=(
            Fix(
                "one learning rate for D and G, as spectral norm (`spectral_norm=True`) or "
                'WGAN-GP (`loss="wgan_gp"`) with their papers\' Adam at 16 times its rate set it, '
                "with the book's D or their papers' critic (`d_batch_norm=False`)",
                Evidence(
                    "helps",
                    "rescued the MNIST collapse, with either D",
                    "stabilisers-mnist-rescue",
                    (
                        ("stabilisers", "rescue-mnist", "spectral norm (lr x16)", "final_fd"),
                        ("stabilisers", "rescue-mnist", "WGAN-GP (lr x16)", "final_fd"),
                        ("stabilisers", "rescue-mnist-critics", _BN_FREE_SN, "final_fd"),
                        ("stabilisers", "rescue-mnist-critics", _BN_FREE_GP, "final_fd"),
                    ),
                ),
            ),
            Fix(
                "feature matching (`feature_matching=True`), even with D still slow",
                Evidence(
                    "helps",
                    "rescued the MNIST collapse",
                    "stabilisers-mnist-rescue",
                    (("stabilisers", "rescue-mnist", "feature matching", "final_fd"),),
                ),
            ),
            Fix("a lower learning rate or less momentum (Adam's `beta_1`)"),
            Fix(
                "minibatch statistics in D, `minibatch_stddev=True`",
                Evidence(
                    "no measurable effect",
                    "on the MNIST collapse",
                    "stabilisers-mnist-rescue",
                    (("stabilisers", "rescue-mnist", "minibatch stddev", "final_fd"),),
                ),
            ),
            Fix(
                "a moving average of G, `ema_decay`",
                Evidence(
                    "no measurable effect",
                    "on the MNIST collapse",
                    "stabilisers-mnist-rescue",
                    (("stabilisers", "rescue-mnist", "generator EMA", "final_fd"),),
                ),
            ),
        ),
        sections=(
            "failure-collapse",
            "losses-collapse",
            "stabilisers-salimans",
            "stabilisers-mnist-rescue",
        ),
    ),
    Trouble(
        symptom="Quality oscillates: the samples change character from epoch to epoch",
        signature=None,
        causes=(
            "Too large a learning rate; Adam's default momentum (`beta_1=0.9`); samples drawn "
            "from the raw G, which jitters with every step."
        ),
        check=(
            "FD and classes covered per epoch (`ganutils.viz.plot_quality`): a saw-tooth, not "
            "a curve that settles; the training GIF."
        ),
        fixes=(
            Fix(
                "Adam's `beta_1` at DCGAN's 0.5, not Keras' default 0.9",
                Evidence(
                    "helps",
                    "0.9 slowed the recipe to good digits",
                    "ablation-verdicts",
                    (("ablation", "recipe", "adam-beta1-0.9", "time_to_good"),),
                ),
            ),
            Fix("lower the learning rate"),
            Fix("sample from a moving average of G (`ema_decay`)"),
            Fix("a larger D learning rate (`d_learning_rate`) instead of extra D steps"),
        ),
        sections=("failure-oscillation", "dcgan-adam", "mnist-recipe"),
    ),
    Trouble(
        symptom="The losses look fine, the samples are bad",
        signature=None,
        causes=(
            "The losses score a game against a moving opponent, not the pictures: a collapse "
            "onto whatever fools a slow D lowers G's loss, and a D too weak to teach sits at "
            "chance from the start."
        ),
        check=(
            "Score the samples beside the losses (`ganutils.callbacks.QualityCheck`, "
            "`ganutils.viz.plot_quality`): FD far above the bar, few classes covered. Losses "
            "pinned at chance (D's at 2 ln 2, D(x) = D(G(z)) = 0.5) from the first steps mean "
            "a weak D; the monitor's `collapse` catches the collapsed case."
        ),
        fixes=(
            Fix("judge a run by a metric and its samples, never by its losses"),
            Fix("give a weak D more capacity"),
            Fix("treat a collapse as in the row on one digit only"),
        ),
        sections=("losses-lie", "failure-losses-fine", "failure-weak-d"),
    ),
    Trouble(
        symptom="Quality peaks, then declines",
        signature=None,
        causes=(
            "D memorises a small training set and stops teaching G anything general "
            "(D overfitting); a run trained long past its best."
        ),
        check=(
            "FD per epoch passes a minimum and rises (`ganutils.viz.plot_quality`); the gap "
            "between D's r_t on training and on held-out digits (`ganutils.callbacks."
            "OverfitCheck`: `rt_train`, `rt_heldout`) widens."
        ),
        fixes=(
            Fix(
                "stop near the best epoch, scoring the run as it trains "
                "(`ganutils.callbacks.QualityCheck`)"
            ),
            Fix("more data"),
            Fix(
                'augmentation, even DiffAugment of both branches (`augment="both"`), which '
                "targets a D that memorises",
                Evidence(
                    "hurts",
                    "worse final FD on 500 and 1,000 digits",
                    "stabilisers-small-data",
                    (
                        ("stabilisers", "small-500", "DiffAugment", "final_fd"),
                        ("stabilisers", "small-1000", "DiffAugment", "final_fd"),
                    ),
                ),
            ),
            Fix(
                'augmenting the real images only (`augment="real_only"`), which G learns to copy',
                Evidence(
                    "hurts",
                    "worse final FD on 500 digits",
                    "stabilisers-small-data",
                    (("stabilisers", "small-500", "augment real only", "final_fd"),),
                ),
            ),
        ),
        sections=("mnist-overfitting", "losses-every-epoch", "stabilisers-small-data"),
    ),
    Trouble(
        symptom="A checkpoint will not resume",
        signature=None,
        causes=(
            "The run's configuration differs from the saved one (in any field but `epochs` and "
            f"the runtime options {_names(RUNTIME_OPTIONS)}); models of another shape; a file "
            "cut short or corrupted; `lr_decay` with another number of `epochs`."
        ),
        check=(
            "The `ValueError` of `ganutils.callbacks.Checkpoint.restore`: it names every "
            "setting that differs, saved and now, or says that the file is corrupt."
        ),
        fixes=(
            Fix("resume with the saved configuration, or train into another folder"),
            Fix(
                "change the runtime options freely (a run saved on two replicas resumes on one "
                "device)"
            ),
            Fix("move a corrupt checkpoint away"),
        ),
        sections=("mnist-resume", "bigger-resume"),
    ),
    Trouble(
        symptom="Results differ between runs",
        signature=None,
        causes=(
            "Another seed (one run is one draw, and a GAN is sensitive to it); another profile "
            "(digits, epochs); randomness outside the seeded generators; sums in another order "
            "on other hardware or several devices; batch norm not synchronised across replicas."
        ),
        check=(
            "The profile and seed the run printed (`ganutils.config.setup`, `TrainConfig.seed`); "
            "the same comparison over several seeds (`ganutils.studies.compare`): a difference "
            "inside its interval is noise."
        ),
        fixes=(
            Fix(
                "call `ganutils.config.setup(seed=...)` before TensorFlow starts and pass seeds "
                "explicitly"
            ),
            Fix(
                "compare over several seeds with the book's comparison rule, not one run against "
                "one"
            ),
            Fix("keep `sync_batch_norm=True` on several devices"),
        ),
        sections=("setup-run", "comparison-rule", "ablation-verdicts", "bigger-one-step"),
    ),
    Trouble(
        symptom="Nothing trains: the samples stay noise or grey blobs",
        signature=None,
        causes=(
            "Learning rates outside the narrow good region; real images not scaled to [-1, 1] "
            "for G's `tanh`; batch norm in inference mode while training."
        ),
        check=(
            "A small grid of the two learning rates (`ganutils.studies.sweep` on the toy GAN); "
            "the range of the real images beside that of G's outputs; D(x) against D(G(z)) per "
            "epoch."
        ),
        fixes=(
            Fix(
                "Adam at DCGAN's settings, not plain SGD",
                Evidence(
                    "helps",
                    "SGD slowed the recipe to good digits",
                    "ablation-verdicts",
                    (("ablation", "recipe", "without:dcgan-adam", "time_to_good"),),
                ),
            ),
            Fix("tune the two learning rates"),
            Fix("scale the images to G's `tanh` range with `ganutils.data.scale_images`"),
            Fix("call the models with `training=True` inside the training step"),
        ),
        sections=("failure-sensitivity", "dcgan-scale-tanh", "dcgan-adam", "dcgan-batch-norm"),
    ),
)

# The monitor's advice is the fixes of its signature's row (see TROUBLESHOOTING).
_ADVICE = {
    row.signature: render_fixes(row.fixes) for row in TROUBLESHOOTING if row.signature is not None
}

#: When each signature fires, in words; ``{name}`` fields are the monitor's
#: arguments, filled in with their defaults on the troubleshooting page.
_FIRES_WHEN = {
    "discriminator_wins": "D's loss averaged over an epoch falls below {d_loss_floor:g}",
    "vanishing_gradient": "G's gradient norm averaged over an epoch falls below {min_grad_norm:g}",
    "exploding_gradient": "one step's D or G gradient norm exceeds {max_grad_norm:g}",
    "collapse": "the samples' diversity falls below {diversity_floor:.0%} of the real data's",
    "non_finite": "a loss or gradient norm is NaN or infinite; the run stops",
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
            f"{detail}. {_ADVICE[signature]}"
        )
        self.events.append(Event(signature, self._step, self._epoch, float(value), message))
        if self.verbose:  # wrapped to the book's 88-character text column
            print(textwrap.fill(message, width=88, subsequent_indent="    "))

    def _check_below(self, signature: str, value, floor: float, detail: str) -> None:
        """:meth:`_check` ``signature`` for an epoch mean below ``floor``; skip a NaN one.

        ``detail`` formats the value (``"D's loss averaged {:.4f}"``); the floor follows it.
        """
        value = float(value)
        if math.isfinite(value):
            self._check(
                signature, value < floor, value, f"{detail.format(value)} (below {floor:g})"
            )

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
        self._check_below(
            "discriminator_wins",
            logs.get("d_loss", math.nan),
            self.d_loss_floor,
            "D's loss averaged {:.4f} this epoch",
        )
        self._check_below(
            "vanishing_gradient",
            logs.get("g_grad_norm", math.nan),
            self.min_grad_norm,
            "G's gradient norm averaged {:.2e}",
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


# -- The troubleshooting page ---------------------------------------------------

#: The two lines that frame the generated tables in ``book/troubleshooting.md``.
PAGE_BEGIN = (
    "<!-- Generated from ganutils.diagnostics.TROUBLESHOOTING: edit the rows there, then run "
    "python -m ganutils.diagnostics --write-troubleshooting book/troubleshooting.md -->"
)
PAGE_END = "<!-- End of the generated tables. -->"

_COLUMNS = ("symptom", "likely causes", "how to check", "fixes", "where in the book")
_GROUPS = (
    ("Signs the monitor names", True),
    ("Signs only a plot, a metric or an error shows", False),
)


def _monitor_defaults() -> dict:
    """:class:`TrainingMonitor`'s arguments and their defaults (its thresholds among them)."""
    parameters = inspect.signature(TrainingMonitor.__init__).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def _row_cells(row: Trouble) -> list[str]:
    check = row.check
    if row.signature is not None:
        fires = _FIRES_WHEN[row.signature].format(**_monitor_defaults())
        check = f"{check} Monitor: `{row.signature}`, when {fires}."
    links = ", ".join(f"{{ref}}`{label}`" for label in row.sections)
    return [f"**{row.symptom}**", row.causes, check, render_fixes(row.fixes, links=True), links]


def troubleshooting_markdown() -> str:
    """The troubleshooting page's tables, as MyST Markdown, rendered from :data:`TROUBLESHOOTING`.

    Two tables, each under a level-2 heading: the symptoms the monitor names
    (with their signature and when it fires, from :class:`TrainingMonitor`'s
    default thresholds), then the symptoms it cannot see. The last column
    links, by ``{ref}``, the sections that reproduce or treat each symptom.

    Raises:
        ValueError: A field holds a ``|`` or a line break, which would break the table.
    """
    blocks = []
    for title, named in _GROUPS:
        lines = [f"## {title}", "", f"| {' | '.join(_COLUMNS)} |", "|" + "---|" * len(_COLUMNS)]
        for row in TROUBLESHOOTING:
            if (row.signature is not None) is not named:
                continue
            cells = _row_cells(row)
            if any("|" in cell or "\n" in cell for cell in cells):
                raise ValueError(f"a field of the row {row.symptom!r} holds a '|' or a line break")
            lines.append(f"| {' | '.join(cells)} |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def troubleshooting_page(text: str) -> str:
    """The page ``text`` with its tables, between :data:`PAGE_BEGIN` and :data:`PAGE_END`, redone.

    Raises:
        ValueError: The page lacks the two marker lines, or has them out of order.
    """
    start, end = text.find(PAGE_BEGIN), text.find(PAGE_END)
    if start < 0 or end < start:
        raise ValueError("the page must hold PAGE_BEGIN and, after it, PAGE_END")
    return f"{text[: start + len(PAGE_BEGIN)]}\n\n{troubleshooting_markdown()}\n{text[end:]}"


def write_troubleshooting(path) -> bool:
    """Regenerate the tables of the page at ``path`` in place; ``True`` when the file changed."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    updated = troubleshooting_page(text)
    if updated != text:
        path.write_text(updated, encoding="utf-8")
    return updated != text


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m ganutils.diagnostics --write-troubleshooting PATH``."""
    parser = argparse.ArgumentParser(
        prog="python -m ganutils.diagnostics",
        description="Regenerate the troubleshooting page's tables from TROUBLESHOOTING.",
    )
    parser.add_argument(
        "--write-troubleshooting",
        metavar="PATH",
        required=True,
        help="the page to update in place, e.g. book/troubleshooting.md",
    )
    args = parser.parse_args(argv)
    changed = write_troubleshooting(args.write_troubleshooting)
    print(f"{args.write_troubleshooting}: {'updated' if changed else 'already up to date'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
