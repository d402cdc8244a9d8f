"""Chapter 7's study: every stabiliser at its authors' settings, on two footings.

A stabiliser is meant either to *rescue* a run that fails or to leave a
healthy run at least as good. So each one is measured twice:

- the **rescue** footing: the toy ring with DCGAN's Adam momentum
  (``beta_1=0.5``), which hops between a few modes (the failure chapter);
- the **healthy** footings: the same ring and the 5 x 5 grid without that
  momentum (``beta_1=0``, which covers every mode), and the book's MNIST
  recipe, judged by time to good and final FD.

On MNIST (:data:`MNIST_FOOTINGS`) the rescue footing is the collapse of the
failure chapter (D learning 500 times more slowly than G, no moving average),
and augmentation is measured where it is meant to matter: the recipe on its
first 500 and 1,000 digits, trained four times longer.

Each stabiliser runs at the settings its paper publishes (:data:`SETTINGS`
says which came from where). Those were tuned on other data, so the ones
that bring their own optimiser also run at 4 and 16 times the paper's
learning rate (:data:`SWEEP`), and the chapter reports the best of the three
beside the paper's. A stabiliser that is an add-on with no optimiser of its
own runs at the footing's.

``python -m ganutils.studies.footings --out ganutils/results/stabilisers``
runs the study; it appends one JSON line per run and resumes where it stopped.
"""

from __future__ import annotations

__all__ = [
    "CRITIC_SETTINGS",
    "FOOTINGS",
    "HELDOUT_DIGITS",
    "IMAGE_SETTINGS",
    "MNIST_BUDGET_SECONDS",
    "MNIST_FOOTINGS",
    "MNIST_NOISE_STEPS",
    "MNIST_SETTINGS",
    "PAPER_CRITIC",
    "POINTS_KEPT",
    "SETTINGS",
    "SOURCE_NAMES",
    "SWEEP",
    "TOY_STEPS",
    "MnistFooting",
    "Setting",
    "best_of_sweep",
    "main",
    "mnist_variant",
    "mnist_variants",
    "paper_critic",
    "results_by_variant",
    "run_study",
    "settings_table",
    "toy_row",
    "toy_variants",
    "variants_of",
]

import dataclasses
import functools
from collections.abc import Mapping, Sequence

import numpy as np

from .. import callbacks as _callbacks
from .. import data as _data
from .. import metrics as _metrics
from .. import stabilizers as _stabilizers
from .. import toy as _toy
from . import common as _common
from . import runner as _runner

#: Generator steps of every toy run.
TOY_STEPS = 1500
#: Multiples of the paper's learning rate tried where the paper brings its own optimiser.
SWEEP = (1, 4, 16)
#: Final samples kept per toy row, for the chapter's scatter plots.
POINTS_KEPT = 256
#: Training seconds of each MNIST run (the ablation's budget, 3x the recipe's time to good
#: on the CPU model of the committed ablation; a slower CPU trains fewer steps in it).
MNIST_BUDGET_SECONDS = 60.0
#: Generator steps over which instance noise fades on MNIST: about half of a 60 s run.
MNIST_NOISE_STEPS = 600

_TOY_BASE = {"steps": TOY_STEPS, "check_every": TOY_STEPS // 4, "batch_size": 128}
#: The toy footings: a name and its :class:`ganutils.toy.ToyConfig` fields.
FOOTINGS = {
    "rescue-ring": {"mixture": "ring", "beta_1": 0.5, **_TOY_BASE},
    "healthy-ring": {"mixture": "ring", "beta_1": 0.0, **_TOY_BASE},
    "healthy-grid": {"mixture": "grid", "beta_1": 0.0, **_TOY_BASE},
}


@dataclasses.dataclass(frozen=True)
class Setting:
    """One stabiliser at one set of settings.

    Attributes:
        name: The row label.
        target: The failure it targets, in words.
        source: The bibliography key of the paper its settings come from, or
            ``""`` where the book chose them (an add-on with no settings of its own).
        settings: The settings in words, for the chapter's table.
        optimizer: Optimiser fields shared by :class:`ganutils.toy.ToyConfig`
            and :class:`ganutils.train.TrainConfig` (``optimizer``,
            ``learning_rate``, ``beta_1``, ``beta_2``); empty: the footing's.
        options: :class:`ganutils.gan.GANOptions` fields (``loss``, ``d_steps``, ...).
        toy: Other :class:`ganutils.toy.ToyConfig` fields (``d_dropout``, ``d_l2``).
        image: Other :class:`ganutils.train.TrainConfig` fields, on MNIST only
            (``d_batch_norm``: see :func:`paper_critic`).
        layer: A model rewrite: ``"spectral_norm"``, ``"minibatch_stddev"``,
            ``"layer_noise"`` or ``""``.
        sweep: Whether its learning rate is also tried at the :data:`SWEEP` multiples.
        published: Whether its settings are its paper's (always so for a ``sweep``).
    """

    name: str
    target: str
    source: str = ""
    settings: str = "the footing's optimiser"
    optimizer: Mapping = dataclasses.field(default_factory=dict)
    options: Mapping = dataclasses.field(default_factory=dict)
    toy: Mapping = dataclasses.field(default_factory=dict)
    image: Mapping = dataclasses.field(default_factory=dict)
    layer: str = ""
    sweep: bool = False
    published: bool = False

    def __post_init__(self):
        if self.layer not in ("", "spectral_norm", "minibatch_stddev", "layer_noise"):
            raise ValueError(f"layer must be a known model rewrite; got {self.layer!r}")
        if self.sweep and "learning_rate" not in self.optimizer:
            raise ValueError(f"{self.name}: sweep needs the paper's learning_rate in optimizer")

    def scaled(self, multiple: float) -> Setting:
        """The same setting at ``multiple`` times the paper's learning rate."""
        if multiple == 1:
            return self
        rate = self.optimizer["learning_rate"] * multiple
        return dataclasses.replace(
            self,
            name=f"{self.name} (lr x{multiple:g})",
            optimizer={**self.optimizer, "learning_rate": rate},
            settings=f"{self.settings}, learning rate x{multiple:g} ({rate:g})",
            sweep=False,
        )


#: Every stabiliser of chapter 7, the first three at their papers' published settings.
SETTINGS = (
    Setting(
        "WGAN (clipping)",
        "vanishing gradients, collapse",
        source="arjovsky2017wgan",
        settings="RMSProp 5e-5, clip 0.01, 5 critic steps (Algorithm 1)",
        optimizer={"optimizer": "rmsprop", "learning_rate": 5e-5},
        options={"loss": "wgan", "d_steps": 5, "clip_value": 0.01},
        sweep=True,
    ),
    Setting(
        "WGAN-GP",
        "vanishing gradients, collapse",
        source="gulrajani2017wgangp",
        settings="Adam 1e-4, beta (0, 0.9), 5 critic steps, lambda 10 (Algorithm 1)",
        optimizer={"optimizer": "adam", "learning_rate": 1e-4, "beta_1": 0.0, "beta_2": 0.9},
        options={"loss": "wgan_gp", "d_steps": 5, "gp_weight": 10.0},
        sweep=True,
    ),
    Setting(
        "spectral norm",
        "a too-sharp discriminator",
        source="miyato2018spectral",
        settings="Adam 2e-4, beta (0.5, 0.999), 1 D step (DCGAN's, one of the paper's six)",
        optimizer={"optimizer": "adam", "learning_rate": 2e-4, "beta_1": 0.5, "beta_2": 0.999},
        layer="spectral_norm",
        sweep=True,
    ),
    Setting(
        "instance noise",
        "disjoint supports",
        source="sonderby2017amortised",
        settings="std 0.5 on D's inputs, fading linearly to 0 over half the run",
        options={"instance_noise": 0.5, "instance_noise_steps": TOY_STEPS // 2},
    ),
    Setting(
        "noise in G layers",
        "collapse",
        settings="std 0.1 after each hidden layer",
        layer="layer_noise",
    ),
    Setting(
        "feature matching",
        "overtraining on D, collapse",
        source="salimans2016improved",
        settings="G matches the mean of D's last hidden features",
        options={"feature_matching": True},
    ),
    Setting(
        "minibatch stddev",
        "mode collapse",
        source="karras2018progressive",
        settings="one batch-spread feature before D's output",
        layer="minibatch_stddev",
    ),
    Setting("generator EMA", "oscillation", settings="decay 0.99", options={"ema_decay": 0.99}),
    Setting(
        "dropout 0.5 in D",
        "D overfitting",
        settings="dropout 0.5 after each D layer",
        toy={"d_dropout": 0.5},
    ),
    Setting(
        "RMSProp",
        "momentum-driven oscillation",
        settings="RMSProp at the footing's rate",
        optimizer={"optimizer": "rmsprop"},
    ),
    Setting(
        "TTUR (D lr x4)",
        "imbalance",
        source="heusel2017ttur",
        settings="D's learning rate 4x G's",
        toy={"d_learning_rate": 4e-3},
    ),
    Setting(
        "L2 on D (1e-3)", "exploding weights", settings="L2 1e-3 on D's kernels", toy={"d_l2": 1e-3}
    ),
)

#: What marks a setting run with its paper's critic (see :func:`paper_critic`).
PAPER_CRITIC = " + BN-free D"


def paper_critic(setting: Setting) -> Setting:
    """``setting`` with the critic of its paper on images: D without batch normalisation.

    The papers of WGAN-GP, spectral norm, R1 and R3GAN train critics that
    normalise no batch (a batch-normalised critic couples each image's score,
    and its gradient, to the rest of its batch); the book's recipe normalises
    D's second block. This variant keeps the recipe's generator and takes the
    batch norm out of D alone (``d_batch_norm=False``).
    """
    return dataclasses.replace(
        setting,
        name=setting.name + PAPER_CRITIC,
        settings=f"{setting.settings}; no batch norm in D",
        image={**setting.image, "d_batch_norm": False},
    )


#: WGAN-GP and spectral norm with their papers' critics (MNIST only: the toy D has no BN).
CRITIC_SETTINGS = tuple(paper_critic(s) for s in SETTINGS if s.name in ("WGAN-GP", "spectral norm"))

#: The stabilisers run on MNIST, by name, with their learning-rate multiples there.
MNIST_SETTINGS = {
    "WGAN (clipping)": (1,),
    "WGAN-GP": (1, 16),
    "spectral norm": (1, 16),
    **{s.name: (1, 16) for s in CRITIC_SETTINGS},
}

#: Stabilisers that exist only for images: differentiable augmentation, and the unsafe variant.
IMAGE_SETTINGS = (
    Setting(
        "DiffAugment",
        "D memorising a small data set",
        source="zhao2020diffaugment",
        settings="colour, translation (1/8 of the side) and cutout (1/2) on real and fake "
        "images before D, the paper's policy for small data; the recipe's optimiser",
        options={"augment": "both"},
        published=True,
    ),
    Setting(
        "augment real only",
        "(the unsafe variant)",
        settings="the same augmentations on the real images only",
        options={"augment": "real_only"},
    ),
)


@dataclasses.dataclass(frozen=True)
class MnistFooting:
    """One MNIST footing: the book's recipe with a few fields changed, and what runs on it.

    Attributes:
        description: What the footing is, in words.
        overrides: :class:`ganutils.train.TrainConfig` fields that make the footing.
        variants: Names of the settings run on it (``"WGAN-GP (lr x16)"`` for a
            sweep multiple), after the footing's own ``"baseline"``.
        digits: Train on the first ``digits`` digits of the profile's set (``None``: all).
        budget_seconds: Training seconds per run.
        check_every: Epochs between quality checks.
    """

    description: str
    variants: tuple[str, ...]
    overrides: Mapping = dataclasses.field(default_factory=dict)
    digits: int | None = None
    budget_seconds: float = MNIST_BUDGET_SECONDS
    check_every: int = 1


_SMALL_VARIANTS = ("DiffAugment", "augment real only")
#: The MNIST footings of chapter 7.
MNIST_FOOTINGS = {
    "healthy-mnist": MnistFooting(
        "the book's recipe",
        variants=tuple(
            f"{name} (lr x{m})" if m != 1 else name
            for name, multiples in MNIST_SETTINGS.items()
            for m in multiples
        ),
    ),
    "rescue-mnist": MnistFooting(
        "the failure chapter's collapse: D learns 500 times more slowly than G "
        "(d_learning_rate 1e-5), no moving average",
        variants=(
            "WGAN-GP (lr x16)",
            "spectral norm (lr x16)",
            "instance noise",
            "feature matching",
            "minibatch stddev",
            "generator EMA",
        ),
        overrides={"d_learning_rate": 1e-5, "ema_decay": None},
    ),
    "healthy-mnist-again": MnistFooting(
        "the book's recipe again, in the later session of the BN-free critics on the "
        "same CPU model: how far a second of that session is a second of the first",
        variants=(),
    ),
    "rescue-mnist-critics": MnistFooting(
        "the failure chapter's collapse again, rescued by the papers' critics (no batch norm in D)",
        variants=tuple(f"{s.name} (lr x16)" for s in CRITIC_SETTINGS),
        overrides={"d_learning_rate": 1e-5, "ema_decay": None},
    ),
    "small-500": MnistFooting(
        "the recipe on its first 500 digits, for four times the budget",
        variants=_SMALL_VARIANTS,
        digits=500,
        budget_seconds=4 * MNIST_BUDGET_SECONDS,
        check_every=10,
    ),
    "small-1000": MnistFooting(
        "the recipe on its first 1,000 digits, for four times the budget",
        variants=_SMALL_VARIANTS[:1],
        digits=1000,
        budget_seconds=4 * MNIST_BUDGET_SECONDS,
        check_every=5,
    ),
}
#: Real digits held out of every MNIST footing, for D's r_t on digits it never saw.
HELDOUT_DIGITS = 1000


def _by_name(name: str) -> Setting:
    """The setting called ``name``; a sweep multiple (``"WGAN-GP (lr x16)"``) is scaled."""
    for setting in (*SETTINGS, *CRITIC_SETTINGS, *IMAGE_SETTINGS):
        for multiple in SWEEP if setting.sweep else (1,):
            if setting.scaled(multiple).name == name:
                return setting.scaled(multiple)
    known = [s.name for s in _expanded((*SETTINGS, *CRITIC_SETTINGS, *IMAGE_SETTINGS))]
    raise ValueError(f"name must be one of {known}; got {name!r}")


def _expanded(settings: Sequence[Setting]) -> list[Setting]:
    rows = []
    for setting in settings:
        rows.extend(setting.scaled(m) for m in (SWEEP if setting.sweep else (1,)))
    return rows


def _toy_models(setting: Setting) -> dict:
    def discriminator(config):
        model = _toy.build_discriminator(
            hidden=config.d_hidden,
            depth=config.depth,
            dropout=config.d_dropout,
            l2=config.d_l2,
            seed=config.seed + 1000,
        )
        if setting.layer == "spectral_norm":
            return _stabilizers.spectral_normalize(model)
        return _stabilizers.add_minibatch_stddev(model, seed=config.seed)

    def generator(config):
        model = _toy.build_generator(
            config.latent_dim, hidden=config.g_hidden, depth=config.depth, seed=config.seed
        )
        return _stabilizers.add_layer_noise(model, 0.1, seed=config.seed)

    if setting.layer in ("spectral_norm", "minibatch_stddev"):
        return {"discriminator": discriminator}
    if setting.layer == "layer_noise":
        return {"generator": generator}
    return {}


def toy_variants(settings: Sequence[Setting] = SETTINGS) -> list[_common.Variant]:
    """The baseline and every setting as toy variants (swept ones at each multiple of SWEEP)."""
    variants = [_common.Variant("baseline", "the footing itself")]
    for setting in _expanded(settings):
        variants.append(
            _common.Variant(
                setting.name,
                setting.target,
                overrides={**setting.optimizer, **setting.toy},
                gan_options=dict(setting.options),
                **_toy_models(setting),
            )
        )
    return variants


def mnist_variant(
    setting: Setting, *, footing: str = "healthy-mnist", kind: str = "", practice: str = ""
) -> _common.Variant:
    """``setting`` as a variant of the MNIST recipe on ``footing``.

    Its optimiser and options become :class:`ganutils.train.TrainConfig`
    fields; a model rewrite becomes its builder flag (layer noise: ``g_noise``
    0.1); instance noise fades over :data:`MNIST_NOISE_STEPS`. A setting with
    its own optimiser sets both networks' rates, so it replaces a footing's
    ``d_learning_rate``.
    """
    chosen = _mnist_footing(footing)
    overrides = {**setting.optimizer, **setting.options, **setting.image}
    if "instance_noise_steps" in overrides:
        overrides["instance_noise_steps"] = MNIST_NOISE_STEPS
    if "d_dropout" in setting.toy:
        overrides["d_dropout"] = setting.toy["d_dropout"]
    if setting.layer == "layer_noise":
        overrides["g_noise"] = 0.1
    elif setting.layer:
        overrides[setting.layer] = True
    if "learning_rate" in setting.optimizer and "d_learning_rate" in chosen.overrides:
        overrides["d_learning_rate"] = None
    return _common.Variant(
        setting.name, setting.target, overrides=overrides, kind=kind, practice=practice
    )


def _mnist_footing(footing: str) -> MnistFooting:
    if footing not in MNIST_FOOTINGS:
        raise ValueError(f"footing must be one of {tuple(MNIST_FOOTINGS)}; got {footing!r}")
    return MNIST_FOOTINGS[footing]


def mnist_variants(footing: str = "healthy-mnist") -> list[_common.Variant]:
    """The footing's baseline and its stabilisers as MNIST variants."""
    chosen = _mnist_footing(footing)
    baseline = _common.Variant("baseline", chosen.description)
    return [baseline, *(mnist_variant(_by_name(n), footing=footing) for n in chosen.variants)]


def variants_of(footing: str) -> list[_common.Variant]:
    """The variants run on ``footing``, a toy footing or an MNIST one, in table order."""
    if footing in FOOTINGS:
        return toy_variants()
    return mnist_variants(footing)


def _key(footing: str, variant: str, seed: int, profile: str) -> tuple:
    return (footing, variant, int(seed), profile)


def toy_row(variant, footing: str, seed: int, steps: int = TOY_STEPS) -> dict:
    """Train one toy variant on one footing with one seed: its results row (256 points kept)."""
    fields = {**FOOTINGS[footing], "steps": steps, "check_every": max(1, steps // 4)}
    base = _toy.ToyConfig(**fields)
    if "instance_noise_steps" in variant.gan_options:
        variant = dataclasses.replace(
            variant, gan_options={**variant.gan_options, "instance_noise_steps": steps // 2}
        )
    result = _common.run_toy(variant, base, seed)
    # The row's config holds the run's engine options too (ToyConfig carries them).
    config = dataclasses.replace(
        base, seed=seed, **dict(variant.overrides), **dict(variant.gan_options)
    )
    points = np.round(np.asarray(result.pop("points"))[:POINTS_KEPT], 3)
    return {
        **result,
        "config": config.to_dict(),
        "gan_options": dict(variant.gan_options),
        "points": points.tolist(),
    }


def run_study(
    out_dir,
    *,
    footings: Sequence[str] = (*FOOTINGS, *MNIST_FOOTINGS),
    seeds: Sequence[int] = (0, 1, 2),
    profile=None,
    toy_steps: int = TOY_STEPS,
    budget_seconds: float | None = None,
    names: Sequence[str] | None = None,
    log=print,
) -> list[dict]:
    """Run every variant of every footing for every seed; append a row per run; resume.

    Rows already in ``out_dir/results.jsonl`` (same footing, variant, seed and
    profile) are skipped. Seeds run in the outer loop, so a study stopped
    early still covers every variant.

    Args:
        footings: Names of :data:`FOOTINGS` and :data:`MNIST_FOOTINGS`.
        toy_steps: Generator steps of each toy run (the study: :data:`TOY_STEPS`).
        budget_seconds: Training seconds of each MNIST run (default: the footing's).
        names: Run only these variants (default: all).

    Returns:
        All rows of the results file after the run.

    Raises:
        ValueError: An unknown footing or variant, or no seeds.
    """
    variants = _check_footings(footings, names)
    _runner.check_seeds(seeds)
    profile = _runner.get_profile(profile)
    path = _runner.results_file(out_dir)
    mnist: dict = {}  # the digits, scorer and bar, set up for the first MNIST run

    def train(variant, footing: str, seed: int) -> dict:
        if footing in MNIST_FOOTINGS:
            if not mnist:
                mnist.update(_mnist_setup(profile))
            row, data = _mnist_row(variant, footing, seed, profile, mnist, budget_seconds)
        else:
            row = toy_row(variant, footing, seed, toy_steps)
            row.update(variant=variant.name, seed=int(seed), steps=toy_steps)
            data = f"toy {FOOTINGS[footing]['mixture']}"
        row.update(footing=footing, target=variant.description)
        row.update(_common.provenance(profile, data))
        return row

    # Seeds in the outer loop: a study stopped early still covers every variant.
    runs = (
        _runner.Run(
            _key(footing, variant.name, seed, profile.name),
            functools.partial(train, variant, footing, seed),
        )
        for seed in seeds
        for footing in footings
        for variant in variants[footing]
        if names is None or variant.name in names
    )
    return _runner.run_resumable(path, runs, key=_row_key, log=log, describe=_describe)


def _check_footings(footings: Sequence[str], names) -> dict[str, list[_common.Variant]]:
    """The variants of each footing, after checking the footings and the variant names."""
    known = (*FOOTINGS, *MNIST_FOOTINGS)
    unknown = sorted(set(footings) - set(known))
    if unknown:
        raise ValueError(f"footings must be among {known}; got {unknown}")
    variants = {footing: variants_of(footing) for footing in footings}
    every = {v.name for chosen in variants.values() for v in chosen}
    if names is not None and set(names) - every:
        raise ValueError(f"names holds unknown variants {sorted(set(names) - every)}")
    return variants


def _row_key(row: Mapping) -> tuple:
    return _key(row["footing"], row["variant"], row["seed"], row["profile"])


def _describe(row: Mapping, seconds: float) -> str:
    return f"{row['footing']} {row['variant']} seed {row['seed']}: {seconds:.0f} s"


def _mnist_setup(profile) -> dict:
    """The profile's digits (the last :data:`HELDOUT_DIGITS` held out), the scorer and its bar."""
    digits = _data.load_mnist(limit=profile.max_digits)
    images = _data.scale_images(digits.images)
    heldout = min(HELDOUT_DIGITS, len(images) // 5)
    scorer = _metrics.MnistScorer()
    return {
        "images": images,
        "train": images[:-heldout],
        "heldout": images[-heldout:],
        "summary": digits.summary,
        "scorer": scorer,
        "bar": scorer.good_bar(),
    }


def _mnist_row(variant, footing: str, seed: int, profile, setup: Mapping, budget) -> tuple:
    """Train one MNIST variant on one footing: its row, and the data it trained on in words."""
    chosen = MNIST_FOOTINGS[footing]
    # The healthy footing trains on every digit, as the ablation does; the others keep some out.
    images = setup["images"] if chosen.digits is None else setup["train"][: chosen.digits]
    overrides = {**chosen.overrides, **variant.overrides}
    variant = dataclasses.replace(variant, overrides=overrides)

    def overfitting(gan, config):
        """D's r_t on (up to 1,000 of) its training digits and on held-out ones."""
        fields = {}
        parts = (("train", images[:HELDOUT_DIGITS]), ("heldout", setup["heldout"]))
        for part, part_images in parts:
            logits = _callbacks.discriminator_logits(
                gan.discriminator, part_images, batch_size=config.batch_size
            )
            fields[f"rt_{part}"] = _stabilizers.real_sign(logits)
        return fields

    row = _common.run_mnist(
        variant,
        seed,
        profile=profile,
        images=images,
        scorer=setup["scorer"],
        bar=setup["bar"],
        check_every=chosen.check_every,
        budget_seconds=chosen.budget_seconds if budget is None else budget,
        final=overfitting if chosen.digits is not None else None,
    )
    bar = setup["bar"]
    row.update(floor_fd=float(bar.floor_fd), bar_fd=float(bar.fd))
    return row, f"{setup['summary']}; {len(images)} images"


def results_by_variant(rows: Sequence[Mapping], footing: str) -> dict[str, list[dict]]:
    """One footing's rows as ``{variant: [row per seed]}``.

    That is the shape of :func:`ganutils.studies.compare_toy`'s results.

    Variants keep the order of :func:`toy_variants` (or :func:`mnist_variants`).

    The timed runs of an MNIST footing may come from more than one session:
    they are put on the clock of the session of the baseline's first run
    (:func:`ganutils.studies.on_one_clock`).

    Raises:
        ValueError: The footing's rows come from more than one CPU model
            (:func:`ganutils.studies.one_machine`): its verdicts and step
            times compare rows of one machine only.
    """
    order = [v.name for v in variants_of(footing)]
    chosen = [dict(r) for r in rows if r.get("footing") == footing]
    grouped = {name: [r for r in chosen if r["variant"] == name] for name in order}
    grouped = {n: sorted(runs, key=lambda r: r["seed"]) for n, runs in grouped.items() if runs}
    return _common.comparable(grouped)


def best_of_sweep(
    results: Mapping[str, Sequence[Mapping]], name: str, *, metric: str = "modes_covered"
) -> str:
    """The row of ``name``'s learning-rate sweep with the best mean ``metric`` (higher: better)."""
    setting = _by_name(name)
    candidates = [s.name for s in _expanded([setting]) if s.name in results]
    if not candidates:
        raise ValueError(f"results hold no run of {name!r}")
    return max(candidates, key=lambda n: np.mean([r[metric] for r in results[n]]))


#: How the chapter's table names each source (the prose beside it cites them).
SOURCE_NAMES = {
    "arjovsky2017wgan": "Arjovsky et al. 2017",
    "gulrajani2017wgangp": "Gulrajani et al. 2017",
    "miyato2018spectral": "Miyato et al. 2018",
    "sonderby2017amortised": "Sønderby et al. 2017",
    "salimans2016improved": "Salimans et al. 2016",
    "karras2018progressive": "Karras et al. 2018",
    "heusel2017ttur": "Heusel et al. 2017",
    "zhao2020diffaugment": "Zhao et al. 2020",
    "mescheder2018which": "Mescheder et al. 2018",
    "huang2024r3gan": "Huang et al. 2024",
}


def settings_table(settings: Sequence[Setting] = (*SETTINGS, *IMAGE_SETTINGS)) -> str:
    """Every stabiliser as a Markdown table: its method's paper, its settings and their origin.

    A setting with its own optimiser (``sweep``) is the paper's; the others are
    add-ons whose papers publish no setting for these models, so the book chose.
    """
    lines = [
        "| stabiliser | targets | method from | settings | settings from |",
        "|---|---|---|---|---|",
    ]
    for s in settings:
        source = SOURCE_NAMES[s.source] if s.source else "(folklore)"
        swept = f"; also x{', x'.join(str(m) for m in SWEEP[1:])}" if s.sweep else ""
        origin = "the paper" if s.sweep or s.published else "the book"
        lines.append(f"| {s.name} | {s.target} | {source} | {s.settings}{swept} | {origin} |")
    return "\n".join(lines)


#: The command line: ``python -m ganutils.studies.footings --out ganutils/results/stabilisers``.
main = _runner.command_line(
    run_study,
    prog="python -m ganutils.studies.footings",
    description="Every stabiliser at its authors' settings, on two footings; resumes.",
    flags={
        "--footings": {"nargs": "+", "default": [*FOOTINGS, *MNIST_FOOTINGS]},
        "--toy-steps": {"type": int, "default": TOY_STEPS},
        "--budget": _runner.budget_flag(
            None, help="MNIST training seconds (default: the footing's)"
        ),
    },
)


if __name__ == "__main__":
    raise SystemExit(main())
