"""Chapter 9's study: the modern baseline (R1, R2, the relativistic loss) against the folklore.

Five setups, each at the settings its paper publishes (:data:`SETUPS` says
which came from where), measured with the book's comparison rule over seeds:

- the book's **DCGAN recipe** (the baseline of chapters 4 and 8);
- **hinge + spectral norm** (Miyato et al. 2018);
- **WGAN-GP** (Gulrajani et al. 2017);
- **R1 only**: the non-saturating loss with a zero-centred penalty at the
  real images (Mescheder et al. 2018);
- **relativistic + R1 + R2**: the loss of R3GAN (Huang et al. 2024).

They run on the toy ring and grid (modes covered, high-quality share), on
MNIST (time to good, final FD, the ablation's 60 s budget) and on
StackedMNIST (modes covered and KL from uniform, over
:data:`STACKED_SAMPLES` samples, beside what a perfect generator scores).
Then the R3GAN question: under the relativistic + R1 + R2 loss, which of the
DCGAN practices still matter (:data:`REMOVALS`, left out one at a time).

The toy rows of the recipe and WGAN-GP and their MNIST rows are the runs of
chapter 7's study (:mod:`ganutils.studies.footings`: the same footings,
seeds, steps and budget in seconds), so :func:`combined` reads them from
there instead of running them twice. Seconds are the same budget only on one
machine in one session: :func:`combined` refuses to merge MNIST rows of two
CPU models, and puts the rows of several sessions on one clock
(:func:`ganutils.studies.on_one_clock`).

``python -m ganutils.studies.modern --out ganutils/results/modern`` runs the
study; it appends one JSON line per run and resumes where it stopped.
"""

from __future__ import annotations

__all__ = [
    "ABLATION_MULTIPLE",
    "CRITIC_SETUPS",
    "IMAGE_SETUPS",
    "MNIST_MULTIPLES",
    "PAPER_STACKED",
    "PARTS",
    "RECIPE",
    "REMOVALS",
    "REUSED",
    "SETTINGS_FROM",
    "SETUPS",
    "STACKED_MULTIPLES",
    "STACKED_SAMPLES",
    "STACKED_STACKS",
    "STACKED_STEPS",
    "TIMED_PARTS",
    "TOY_FOOTINGS",
    "ablation_variants",
    "best_of_sweep",
    "combined",
    "main",
    "mnist_variants",
    "run_stacked",
    "run_study",
    "setup_of",
    "setups_table",
    "stacked_variants",
    "toy_variants",
]

import dataclasses
import functools
import time
from collections.abc import Mapping, Sequence

import numpy as np

from .. import config as _config
from .. import data as _data
from .. import diagnostics as _diagnostics
from .. import judge as _judge
from .. import metrics as _metrics
from .. import stacked as _stacked
from .. import train as _train
from . import common as _common
from . import footings as _footings
from . import runner as _runner

tf = _config.import_tensorflow()
import keras  # noqa: E402
from keras import ops  # noqa: E402

#: The name of the book's recipe in every table (``"baseline"`` in the results files).
RECIPE = "DCGAN recipe"


def _chapter7(name: str) -> _footings.Setting:
    """The setting ``name`` of chapter 7's study (:data:`ganutils.studies.footings.SETTINGS`)."""
    return next(s for s in _footings.SETTINGS if s.name == name)


#: The four setups beside the recipe, each at its paper's published settings.
SETUPS = (
    # Miyato et al.'s spectral norm as chapter 7 runs it (target, paper, Adam, sweep), with
    # the paper's hinge loss.
    dataclasses.replace(
        _chapter7("spectral norm"),
        name="hinge + spectral norm",
        settings="hinge loss, spectral norm in D, Adam 2e-4, beta (0.5, 0.999), 1 D step",
        options={"loss": "hinge"},
    ),
    _chapter7("WGAN-GP"),
    _footings.Setting(
        "R1",
        "no convergence near the equilibrium",
        source="mescheder2018which",
        settings="non-saturating loss, R1 gamma 10, RMSProp 1e-4, hard labels",
        optimizer={"optimizer": "rmsprop", "learning_rate": 1e-4},
        options={"loss": "gan", "r1_gamma": 10.0, "label_smoothing": "none"},
        sweep=True,
    ),
    _footings.Setting(
        "relativistic + R1 + R2",
        "no convergence, and the tricks it needs",
        source="huang2024r3gan",
        settings="relativistic pairing loss, R1 and R2 gamma 10, Adam 2e-4, beta (0, 0.99)",
        optimizer={"optimizer": "adam", "learning_rate": 2e-4, "beta_1": 0.0, "beta_2": 0.99},
        options={"loss": "relativistic", "r1_gamma": 10.0, "r2_gamma": 10.0},
        sweep=True,
    ),
)

#: The setups again with their papers' critics (D without batch normalisation), on MNIST and
#: StackedMNIST only (:func:`ganutils.studies.footings.paper_critic`).
CRITIC_SETUPS = tuple(_footings.paper_critic(s) for s in SETUPS)
#: Every setup, each followed by its version with the paper's critic: the tables' order.
IMAGE_SETUPS = tuple(s for setup in zip(SETUPS, CRITIC_SETUPS, strict=True) for s in setup)

#: The toy footings of the comparison: chapter 7's healthy ring and grid (1,500 steps, batch 128).
TOY_FOOTINGS = ("healthy-ring", "healthy-grid")
#: Rows of chapter 7's study that are this study's runs too (same footing, seed, steps and
#: budget in seconds; another CPU model, see :func:`combined`).
REUSED = (
    "baseline",
    "WGAN-GP",
    "WGAN-GP (lr x4)",
    "WGAN-GP (lr x16)",
    "WGAN-GP + BN-free D",
    "WGAN-GP + BN-free D (lr x16)",
)
#: Multiples of each paper's learning rate run on MNIST (those of chapter 7's MNIST runs).
MNIST_MULTIPLES = (1, 16)

#: StackedMNIST: stacks drawn from the digits, generator steps per run, samples scored.
STACKED_STACKS = 19_200
STACKED_STEPS = 600
STACKED_SAMPLES = 26_000
#: Each setup's learning-rate multiple on StackedMNIST: its best on MNIST by mean final FD
#: (tests/test_modern.py checks it against the committed MNIST runs).
STACKED_MULTIPLES = {
    "hinge + spectral norm": 16,
    "WGAN-GP": 16,
    "R1": 16,
    "relativistic + R1 + R2": 16,
    "hinge + spectral norm + BN-free D": 16,
    "WGAN-GP + BN-free D": 16,
    "R1 + BN-free D": 16,
    "relativistic + R1 + R2 + BN-free D": 16,
}
#: The learning-rate multiple of the relativistic + R1 + R2 base of the ablation (as above).
ABLATION_MULTIPLE = 16

#: The DCGAN practices (and the book's generator average) left out one at a time under the
#: relativistic + R1 + R2 loss: name -> (what replaces it, TrainConfig fields).
REMOVALS: dict[str, tuple[str, dict]] = {
    "without:dcgan-batch-norm": ("no batch normalisation", {"batch_norm": False}),
    "without:dcgan-gaussian-init": (
        "Keras' Glorot uniform initialiser instead of N(0, 0.02)",
        {"kernel_initializer": "glorot_uniform"},
    ),
    "without:dcgan-leaky-relu": ("ReLU instead of LeakyReLU in D", {"d_activation": "relu"}),
    "without:dcgan-strided-downsampling": ("max pooling in D", {"downsample": "maxpool"}),
    "without:dcgan-scale-tanh": ("images in [0, 1], sigmoid output", {"image_range": "unit"}),
    "without:ganhacks-gaussian-latent": ("a uniform latent", {"latent_distribution": "uniform"}),
    "without:generator-ema": ("sampling the raw generator (no average)", {"ema_decay": None}),
}

#: What the parts of the study are called on the command line.
PARTS = ("toy", "mnist", "stacked", "ablation")

#: StackedMNIST rows as Huang et al. 2024 (R3GAN) tabulate them, with much larger models
#: and runs: (method, modes covered, KL, citation key of the method's own paper). Only the
#: R3GAN row is its authors' run; the DCGAN and WGAN-GP figures are later re-runs that
#: R3GAN's table collects, so the figures are cited to huang2024r3gan.
PAPER_STACKED = (
    ("DCGAN", 99, 3.40, "radford2015dcgan"),
    ("WGAN-GP", 959, 0.73, "gulrajani2017wgangp"),
    ("PacGAN", 992, 0.28, "lin2018pacgan"),
    ("R3GAN (config E)", 1000, 0.029, "huang2024r3gan"),
)


def setup_of(name: str) -> _footings.Setting:
    """The setting behind a row name (``"R1 (lr x16)"`` -> the R1 setting at x16)."""
    for setting in (*SETUPS, *CRITIC_SETUPS):
        for multiple in _footings.SWEEP:
            if setting.scaled(multiple).name == name:
                return setting.scaled(multiple)
    raise ValueError(f"name must be a setup of SETUPS (at a multiple of SWEEP); got {name!r}")


def toy_variants() -> list[_common.Variant]:
    """The toy variants this study runs itself: every setup not in :data:`REUSED`."""
    return [v for v in _footings.toy_variants(SETUPS) if v.name not in REUSED]


def mnist_variants() -> list[_common.Variant]:
    """The MNIST variants this study runs itself: each setup not in :data:`REUSED`."""
    variants = []
    for setting in IMAGE_SETUPS:
        for multiple in MNIST_MULTIPLES:
            scaled = setting.scaled(multiple)
            if scaled.name not in REUSED:
                variants.append(_footings.mnist_variant(scaled))
    return variants


def stacked_variants() -> list[_common.Variant]:
    """The recipe and every setup at its :data:`STACKED_MULTIPLES` multiple."""
    variants = [_common.Variant("baseline", "the book's recipe")]
    for setting in IMAGE_SETUPS:
        variants.append(_footings.mnist_variant(setting.scaled(STACKED_MULTIPLES[setting.name])))
    return variants


def ablation_variants() -> list[_common.Variant]:
    """The relativistic + R1 + R2 base (at :data:`ABLATION_MULTIPLE`) and each removal."""
    base = _footings.mnist_variant(setup_of("relativistic + R1 + R2").scaled(ABLATION_MULTIPLE))
    variants = [dataclasses.replace(base, name="r3-baseline", kind="baseline")]
    for name, (description, overrides) in REMOVALS.items():
        variants.append(
            _common.Variant(
                name,
                description,
                overrides={**base.overrides, **overrides},
                kind="leave_one_out",
                practice=name.split(":", 1)[1],
            )
        )
    return variants


def run_stacked(
    variant: _common.Variant,
    seed: int,
    *,
    profile,
    stacks: np.ndarray,
    classifier,
    steps: int = STACKED_STEPS,
    samples: int = STACKED_SAMPLES,
    keep: int = 8,
) -> dict:
    """Train ``variant`` on StackedMNIST for ``steps`` generator steps; score its modes.

    Args:
        stacks: ``(n, 28, 28, 3)`` float32 in [-1, 1] (:func:`ganutils.stacked.stack_digits`
            of scaled digits); ``n`` must be a whole number of batches per epoch times
            the epochs that ``steps`` needs.
        classifier: The book's classifier (:func:`ganutils.judge.load_classifier`).
        steps: Generator steps; a whole number of epochs over ``stacks``.
        samples: Generated stacks scored (26,000 in the PacGAN and R3GAN papers).
        keep: Generated stacks kept in the row (uint8), for the chapter's grid.

    Returns:
        ``modes_covered``, ``kl``, ``n`` (see :func:`ganutils.stacked.coverage`),
        ``train_seconds``, ``step_ms``, ``diverged``, ``config`` and ``samples``.

    Raises:
        ValueError: ``stacks`` of the wrong shape, or ``steps`` not a whole
            number of epochs over them.
    """
    array, per_epoch = _checked_stacks(stacks, batch=profile.batch_size, steps=steps)
    config = _train.TrainConfig.for_profile(
        profile, **variant.overrides, seed=int(seed), channels=3, epochs=steps // per_epoch
    )
    timer = _common.StepTimer()
    monitor = _diagnostics.TrainingMonitor(verbose=False)
    start = time.perf_counter()
    gan, _ = _train.train_mnist(
        config, images=array, extra_callbacks=[timer, monitor], progress=False
    )
    seconds = time.perf_counter() - start
    generated = _generated(gan, samples, latent_dim=config.latent_dim, seed=seed)
    diverged = monitor.stopped_at is not None or not np.all(np.isfinite(generated))
    if config.image_range == "unit":  # the classifier reads [-1, 1]
        generated = generated * 2.0 - 1.0
    score = (
        {"modes_covered": 0, "kl": None, "n": samples}
        if diverged
        else _stacked.coverage(_stacked.read_modes(classifier, np.clip(generated, -1.0, 1.0)))
    )
    kept = np.round((np.clip(generated[:keep], -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    return {
        **score,
        "variant": variant.name,
        "seed": int(seed),
        "steps": int(steps),
        "train_seconds": seconds,
        "step_ms": timer.median_ms(),
        "diverged": bool(diverged),
        "config": config.to_dict(),
        "samples": kept.tolist(),
    }


def _checked_stacks(stacks, *, batch: int, steps: int) -> tuple[np.ndarray, int]:
    """``(stacks as an array, batches per epoch)``, or a ``ValueError`` naming the misfit."""
    array = np.asarray(stacks)
    if array.ndim != 4 or array.shape[1:] != (28, 28, 3) or array.dtype != np.float32:
        raise ValueError(f"stacks must be float32 (n, 28, 28, 3); got {array.dtype} {array.shape}")
    per_epoch = len(array) // batch
    if per_epoch < 1 or steps % per_epoch:
        raise ValueError(
            f"steps ({steps}) must be a positive multiple of the {per_epoch} batches of "
            f"{batch} in one epoch over the {len(array)} stacks"
        )
    return array, per_epoch


def _generated(gan, samples: int, *, latent_dim: int, seed: int) -> np.ndarray:
    """``samples`` stacks from the sampler, from latents drawn with ``seed``, 1000 at a time."""
    latents = keras.random.normal((samples, latent_dim), seed=int(seed))
    return np.concatenate(
        [
            ops.convert_to_numpy(gan.sampler(latents[i : i + 1000], training=False))
            for i in range(0, samples, 1000)
        ]
    )


def _key(part: str, variant: str, seed: int, profile: str) -> tuple:
    return (part, variant, int(seed), profile)


def run_study(
    out_dir,
    *,
    parts: Sequence[str] = PARTS,
    seeds: Sequence[int] = (0, 1, 2),
    profile=None,
    toy_steps: int = _footings.TOY_STEPS,
    budget_seconds: float = _footings.MNIST_BUDGET_SECONDS,
    stacked_steps: int = STACKED_STEPS,
    stacked_samples: int = STACKED_SAMPLES,
    stacked_stacks: int = STACKED_STACKS,
    log=print,
) -> list[dict]:
    """Run every part's variants for every seed; append a row per run; resume.

    Rows already in ``out_dir/results.jsonl`` (same part, variant, seed and
    profile) are skipped. Parts run in the order given, seeds inside each part.

    Args:
        parts: Among :data:`PARTS`: ``"toy"`` (:func:`toy_variants` on
            :data:`TOY_FOOTINGS`), ``"mnist"`` (:func:`mnist_variants`),
            ``"stacked"`` (:func:`stacked_variants`) and ``"ablation"``
            (:func:`ablation_variants`, on MNIST).
        toy_steps: Generator steps of each toy run.
        budget_seconds: Training seconds of each MNIST run.
        stacked_steps, stacked_samples: See :func:`run_stacked`.
        stacked_stacks: StackedMNIST images drawn from the digits (seed 0).

    Returns:
        All rows of the results file after the run.

    Raises:
        ValueError: An unknown part, or no seeds.
    """
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise ValueError(f"parts must be among {PARTS}; got {unknown}")
    _runner.check_seeds(seeds)
    profile = _runner.get_profile(profile)
    path = _runner.results_file(out_dir)
    trainer = _Trainer(
        profile,
        toy_steps=toy_steps,
        budget_seconds=budget_seconds,
        stacked_steps=stacked_steps,
        stacked_samples=stacked_samples,
        stacked_stacks=stacked_stacks,
    )
    return _runner.run_resumable(
        path, _runs(parts, seeds, profile, trainer), key=_row_key, log=log, describe=_describe
    )


def _runs(parts: Sequence[str], seeds: Sequence[int], profile, trainer: _Trainer):
    """Every run of the study: parts in the order given, seeds inside each part."""
    for part in parts:
        variants = {
            "toy": toy_variants,
            "mnist": mnist_variants,
            "stacked": stacked_variants,
            "ablation": ablation_variants,
        }[part]()
        for seed in seeds:
            for footing in TOY_FOOTINGS if part == "toy" else (None,):
                for variant in variants:
                    # The key holds the footing; the row keeps the plain variant name.
                    name = variant.name if footing is None else f"{footing}/{variant.name}"
                    yield _runner.Run(
                        _key(part, name, seed, profile.name),
                        functools.partial(trainer.train, part, variant, seed, footing),
                    )


class _Trainer:
    """One run of any part of the study: its row, provenance included.

    The digits, the scorer and its bar, and the StackedMNIST stacks with the
    classifier that reads them are made for the first run that needs them.
    """

    def __init__(self, profile, **settings):
        self.profile = profile
        self.settings = settings

    @functools.cached_property
    def digits(self):
        return _data.load_mnist(limit=self.profile.max_digits)

    @functools.cached_property
    def images(self) -> np.ndarray:
        return _data.scale_images(self.digits.images)

    @functools.cached_property
    def scorer(self):
        return _metrics.MnistScorer()

    @functools.cached_property
    def bar(self):
        return self.scorer.good_bar()

    @functools.cached_property
    def stacks(self) -> np.ndarray:
        stacks, _ = _stacked.stack_digits(
            self.images, self.digits.labels, self.settings["stacked_stacks"], seed=0
        )
        return stacks

    @functools.cached_property
    def classifier(self):
        return _judge.load_classifier()

    def train(self, part: str, variant: _common.Variant, seed: int, footing: str | None) -> dict:
        if part == "toy":
            row, data = self.toy(variant, seed, footing)
        elif part == "stacked":
            row, data = self.stacked(variant, seed)
        else:
            row, data = self.mnist(variant, seed)
        row.update(part=part)
        row.update(_common.provenance(self.profile, data))
        return row

    def toy(self, variant, seed: int, footing: str) -> tuple[dict, str]:
        steps = self.settings["toy_steps"]
        row = _footings.toy_row(variant, footing, seed, steps)
        row.update(footing=footing, steps=steps)
        row.update(variant=variant.name, seed=int(seed))
        return row, f"toy {_footings.FOOTINGS[footing]['mixture']}"

    def stacked(self, variant, seed: int) -> tuple[dict, str]:
        settings = self.settings
        row = run_stacked(
            variant,
            seed,
            profile=self.profile,
            stacks=self.stacks,
            classifier=self.classifier,
            steps=settings["stacked_steps"],
            samples=settings["stacked_samples"],
        )
        return row, f"StackedMNIST: {settings['stacked_stacks']} stacks drawn from {self.data}"

    def mnist(self, variant, seed: int) -> tuple[dict, str]:
        row = _common.run_mnist(
            variant,
            seed,
            profile=self.profile,
            images=self.images,
            scorer=self.scorer,
            bar=self.bar,
            budget_seconds=self.settings["budget_seconds"],
        )
        row.update(floor_fd=float(self.bar.floor_fd), bar_fd=float(self.bar.fd))
        return row, self.data

    @property
    def data(self) -> str:
        return f"{self.digits.summary}; {len(self.images)} images"


def _row_key(row: Mapping) -> tuple:
    return _key(row["part"], _row_name(row), row["seed"], row["profile"])


def _describe(row: Mapping, seconds: float) -> str:
    return (
        f"{row['part']} {row.get('footing', '')} {row['variant']} seed {row['seed']}: "
        f"{seconds:.0f} s"
    )


def _row_name(row: Mapping) -> str:
    return row["variant"] if row["part"] != "toy" else f"{row['footing']}/{row['variant']}"


#: The parts whose runs have a time budget: every measure of theirs depends on the CPU.
TIMED_PARTS = ("mnist", "ablation")


def combined(
    rows: Sequence[Mapping], stabiliser_rows: Sequence[Mapping], part: str, footing: str = ""
) -> dict[str, list[dict]]:
    """One part's runs as ``{row name: [row per seed]}``, the reused runs included.

    The recipe (named :data:`RECIPE`) comes first, then the setups in the
    order of :data:`SETUPS`. For ``"toy"`` (give ``footing``) and ``"mnist"``,
    the :data:`REUSED` rows come from chapter 7's study (``stabiliser_rows``,
    its footing ``footing`` or ``"healthy-mnist"``). For ``"ablation"`` the
    order is that of :func:`ablation_variants`. The runs of a part of
    :data:`TIMED_PARTS` may come from more than one session: they are put on
    the clock of the session of the recipe's first run
    (:func:`ganutils.studies.on_one_clock`).

    Raises:
        ValueError: An unknown part, or ``"toy"`` without one of
            :data:`TOY_FOOTINGS`; or, for a part of :data:`TIMED_PARTS`, rows
            of more than one CPU model (:func:`ganutils.studies.one_machine`).
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}; got {part!r}")
    if part == "toy" and footing not in TOY_FOOTINGS:
        raise ValueError(f"footing must be one of {TOY_FOOTINGS} for the toy part; got {footing!r}")
    own = [dict(r) for r in rows if r.get("part") == part]
    if part == "toy":
        own = [r for r in own if r["footing"] == footing]
    every = _reused(stabiliser_rows, part, footing) + own
    order = ["baseline"] + [s.scaled(m).name for s in IMAGE_SETUPS for m in _footings.SWEEP]
    if part == "ablation":
        order = [v.name for v in ablation_variants()]
    grouped = {}
    for name in order:
        runs = sorted((r for r in every if r["variant"] == name), key=lambda r: r["seed"])
        if runs:
            grouped[RECIPE if name == "baseline" else name] = runs
    return _common.comparable(grouped) if part in TIMED_PARTS else grouped


def _reused(stabiliser_rows: Sequence[Mapping], part: str, footing: str) -> list[dict]:
    """The :data:`REUSED` rows of chapter 7's study for this part (none but toy and MNIST)."""
    if part not in ("toy", "mnist"):
        return []
    where = footing if part == "toy" else "healthy-mnist"
    return [
        dict(r)
        for r in stabiliser_rows
        if r.get("footing") == where and r["variant"] in REUSED and r["seed"] in (0, 1, 2)
    ]


def best_of_sweep(
    results: Mapping[str, Sequence[Mapping]],
    name: str,
    *,
    metric: str = "modes_covered",
    lower_is_better: bool = False,
) -> str:
    """The row of setup ``name``'s learning-rate sweep with the best mean ``metric``.

    ``None`` values (a run that never got there, a diverged one) are left out.

    Raises:
        ValueError: ``name`` is not a setup of :data:`SETUPS`, or no row of its sweep is in
            ``results``.
    """
    setting = setup_of(name)
    candidates = [setting.scaled(m).name for m in _footings.SWEEP]
    candidates = [c for c in candidates if c in results]
    if not candidates:
        raise ValueError(f"results hold no run of {name!r}")

    def mean(candidate):
        values = [r[metric] for r in results[candidate] if r.get(metric) is not None]
        if not values:
            return np.inf
        return float(np.mean(values)) * (1 if lower_is_better else -1)

    return min(candidates, key=mean)


#: Where each setup's settings come from, in words (the chapter's table).
SETTINGS_FROM = {
    "hinge + spectral norm": "the paper (one of its six Adam settings)",
    "WGAN-GP": "the paper (Algorithm 1)",
    "R1": "the paper's experiments",
    "relativistic + R1 + R2": "Adam's betas: the paper; learning rate and gamma: the book",
}


def setups_table() -> str:
    """The recipe and every setup as a Markdown table: paper, settings, and their origin."""
    recipe = _train.TrainConfig()
    lines = [
        "| setup | method from | settings | settings from |",
        "|---|---|---|---|",
        f"| {RECIPE} | Radford et al. 2015, ganhacks | non-saturating loss, one-sided label "
        f"smoothing, Adam {recipe.learning_rate:g}, beta ({recipe.beta_1:g}, "
        f"{recipe.beta_2:g}) | the book ({{ref}}`mnist-dcgan`) |",
    ]
    for setting in SETUPS:
        swept = f"; also x{', x'.join(str(m) for m in _footings.SWEEP[1:])}"
        lines.append(
            f"| {setting.name} | {_footings.SOURCE_NAMES[setting.source]} | "
            f"{setting.settings}{swept} | {SETTINGS_FROM[setting.name]} |"
        )
    return "\n".join(lines)


#: The command line: ``python -m ganutils.studies.modern --out ganutils/results/modern``.
main = _runner.command_line(
    run_study,
    prog="python -m ganutils.studies.modern",
    description="The modern baseline against the folklore, on toy, MNIST and "
    "StackedMNIST; resumes.",
    flags={
        "--parts": {"nargs": "+", "choices": PARTS, "default": list(PARTS)},
        "--toy-steps": {"type": int, "default": _footings.TOY_STEPS},
        "--budget": _runner.budget_flag(_footings.MNIST_BUDGET_SECONDS),
        "--stacked-steps": {"type": int, "default": STACKED_STEPS},
        "--stacked-samples": {"type": int, "default": STACKED_SAMPLES},
        "--stacked-stacks": {"type": int, "default": STACKED_STACKS},
    },
)


if __name__ == "__main__":
    raise SystemExit(main())
