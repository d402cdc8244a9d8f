"""Chapter 7's study: every stabiliser at its authors' settings, on two footings.

A stabiliser is meant either to *rescue* a run that fails or to leave a
healthy run at least as good. So each one is measured twice:

- the **rescue** footing: the toy ring with DCGAN's Adam momentum
  (``beta_1=0.5``), which hops between a few modes (the failure chapter);
- the **healthy** footings: the same ring and the 5 x 5 grid without that
  momentum (``beta_1=0``, which covers every mode), and the book's MNIST
  recipe, judged by time to good and final FD.

Each stabiliser runs at the settings its paper publishes (:data:`SETTINGS`
says which came from where). Those were tuned on other data, so the ones
that bring their own optimiser also run at 4 and 16 times the paper's
learning rate (:data:`SWEEP`), and the chapter reports the best of the three
beside the paper's. A stabiliser that is an add-on with no optimiser of its
own runs at the footing's.

``python -m ganutils.footings --out ganutils/results/stabilisers`` runs the
study; it appends one JSON line per run and resumes where it stopped.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from . import config as _config
from . import data as _data
from . import metrics as _metrics
from . import stabilizers as _stabilizers
from . import studies as _studies
from . import toy as _toy

__all__ = [
    "FOOTINGS",
    "MNIST_BUDGET_SECONDS",
    "MNIST_SETTINGS",
    "POINTS_KEPT",
    "SETTINGS",
    "SOURCE_NAMES",
    "SWEEP",
    "TOY_STEPS",
    "Setting",
    "best_of_sweep",
    "main",
    "mnist_variants",
    "results_by_variant",
    "run_study",
    "settings_table",
    "toy_row",
    "toy_variants",
]

#: Generator steps of every toy run.
TOY_STEPS = 1500
#: Multiples of the paper's learning rate tried where the paper brings its own optimiser.
SWEEP = (1, 4, 16)
#: Final samples kept per toy row, for the chapter's scatter plots.
POINTS_KEPT = 256
#: Training seconds of each MNIST run (the ablation's budget, 3x the recipe's time to good).
MNIST_BUDGET_SECONDS = 60.0

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
        layer: A model rewrite: ``"spectral_norm"``, ``"minibatch_stddev"``,
            ``"layer_noise"`` or ``""``.
        sweep: Whether its learning rate is also tried at the :data:`SWEEP` multiples.
    """

    name: str
    target: str
    source: str = ""
    settings: str = "the footing's optimiser"
    optimizer: Mapping = dataclasses.field(default_factory=dict)
    options: Mapping = dataclasses.field(default_factory=dict)
    toy: Mapping = dataclasses.field(default_factory=dict)
    layer: str = ""
    sweep: bool = False

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

#: The stabilisers run on MNIST, by name, with their learning-rate multiples there.
MNIST_SETTINGS = {"WGAN (clipping)": (1,), "WGAN-GP": (1, 16), "spectral norm": (1, 16)}


def _by_name(name: str) -> Setting:
    for setting in SETTINGS:
        if setting.name == name:
            return setting
    raise ValueError(f"name must be one of {[s.name for s in SETTINGS]}; got {name!r}")


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


def toy_variants(settings: Sequence[Setting] = SETTINGS) -> list[_studies.Variant]:
    """The baseline and every setting as toy variants (swept ones at each multiple of SWEEP)."""
    variants = [_studies.Variant("baseline", "the footing itself")]
    for setting in _expanded(settings):
        variants.append(
            _studies.Variant(
                setting.name,
                setting.target,
                overrides={**setting.optimizer, **setting.toy},
                gan_options=dict(setting.options),
                **_toy_models(setting),
            )
        )
    return variants


def mnist_variants() -> list[_studies.Variant]:
    """The recipe and the :data:`MNIST_SETTINGS` stabilisers as MNIST variants."""
    variants = [_studies.Variant("baseline", "the book's recipe")]
    for name, multiples in MNIST_SETTINGS.items():
        for multiple in multiples:
            setting = _by_name(name).scaled(multiple)
            overrides = {**setting.optimizer, **setting.options}
            if setting.layer:
                overrides[setting.layer] = True
            variants.append(_studies.Variant(setting.name, setting.target, overrides=overrides))
    return variants


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
    result = _studies.run_toy(variant, base, seed)
    config = dataclasses.replace(base, seed=seed, **dict(variant.overrides))
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
    footings: Sequence[str] = (*FOOTINGS, "healthy-mnist"),
    seeds: Sequence[int] = (0, 1, 2),
    profile=None,
    toy_steps: int = TOY_STEPS,
    budget_seconds: float = MNIST_BUDGET_SECONDS,
    names: Sequence[str] | None = None,
    log=print,
) -> list[dict]:
    """Run every variant of every footing for every seed; append a row per run; resume.

    Rows already in ``out_dir/results.jsonl`` (same footing, variant, seed and
    profile) are skipped. Seeds run in the outer loop, so a study stopped
    early still covers every variant.

    Args:
        footings: Names of :data:`FOOTINGS` and ``"healthy-mnist"``.
        toy_steps: Generator steps of each toy run (the study: :data:`TOY_STEPS`).
        budget_seconds: Training seconds of each MNIST run.
        names: Run only these variants (default: all).

    Returns:
        All rows of the results file after the run.

    Raises:
        ValueError: An unknown footing or variant, or no seeds.
    """
    known = (*FOOTINGS, "healthy-mnist")
    unknown = sorted(set(footings) - set(known))
    if unknown:
        raise ValueError(f"footings must be among {known}; got {unknown}")
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    toy, mnist = toy_variants(), mnist_variants()
    every = {v.name for v in toy + mnist}
    if names is not None and set(names) - every:
        raise ValueError(f"names holds unknown variants {sorted(set(names) - every)}")
    if not isinstance(profile, _config.Profile):
        profile = _config.get_profile(profile)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.jsonl"
    done = {
        _key(r["footing"], r["variant"], r["seed"], r["profile"]) for r in _studies.read_rows(path)
    }
    images = scorer = bar = None
    for seed in seeds:
        for footing in footings:
            for variant in mnist if footing == "healthy-mnist" else toy:
                if names is not None and variant.name not in names:
                    continue
                if _key(footing, variant.name, seed, profile.name) in done:
                    continue
                start = time.perf_counter()
                if footing == "healthy-mnist":
                    if images is None:
                        digits = _data.load_mnist(limit=profile.max_digits)
                        images, summary = _data.scale_images(digits.images), digits.summary
                        scorer = _metrics.MnistScorer()
                        bar = scorer.good_bar()
                    row = _studies.run_mnist(
                        variant,
                        seed,
                        profile=profile,
                        images=images,
                        scorer=scorer,
                        bar=bar,
                        budget_seconds=budget_seconds,
                    )
                    row.update(floor_fd=float(bar.floor_fd), bar_fd=float(bar.fd))
                    data = f"{summary}; {len(images)} images"
                else:
                    row = toy_row(variant, footing, seed, toy_steps)
                    row.update(variant=variant.name, seed=int(seed), steps=toy_steps)
                    data = f"toy {FOOTINGS[footing]['mixture']}"
                row.update(footing=footing, target=variant.description)
                row.update(_studies.provenance(profile, data))
                _studies.append_row(path, row)
                log(f"{footing} {variant.name} seed {seed}: {time.perf_counter() - start:.0f} s")
    return _studies.read_rows(path)


def results_by_variant(rows: Sequence[Mapping], footing: str) -> dict[str, list[dict]]:
    """One footing's rows as ``{variant: [row per seed]}``.

    That is the shape of :func:`ganutils.studies.compare_toy`'s results.

    Variants keep the order of :func:`toy_variants` (or :func:`mnist_variants`).
    """
    order = [v.name for v in (mnist_variants() if footing == "healthy-mnist" else toy_variants())]
    chosen = [dict(r) for r in rows if r.get("footing") == footing]
    grouped = {name: [r for r in chosen if r["variant"] == name] for name in order}
    return {name: sorted(runs, key=lambda r: r["seed"]) for name, runs in grouped.items() if runs}


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
    "mescheder2018which": "Mescheder et al. 2018",
    "huang2024r3gan": "Huang et al. 2024",
}


def settings_table(settings: Sequence[Setting] = SETTINGS) -> str:
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
        origin = "the paper" if s.sweep else "the book"
        lines.append(f"| {s.name} | {s.target} | {source} | {s.settings}{swept} | {origin} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m ganutils.footings --out ganutils/results/stabilisers``."""
    parser = argparse.ArgumentParser(
        prog="python -m ganutils.footings",
        description="Every stabiliser at its authors' settings, on two footings; resumes.",
    )
    parser.add_argument("--out", required=True, help="folder of results.jsonl")
    parser.add_argument("--profile", choices=list(_config.PROFILES), default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--footings", nargs="+", default=[*FOOTINGS, "healthy-mnist"])
    parser.add_argument("--toy-steps", type=int, default=TOY_STEPS)
    parser.add_argument("--budget", type=float, default=MNIST_BUDGET_SECONDS)
    args = parser.parse_args(argv)
    profile = _config.setup(seed=0, profile=args.profile)
    print(profile, file=sys.stderr)
    run_study(
        args.out,
        footings=args.footings,
        seeds=args.seeds,
        profile=profile,
        toy_steps=args.toy_steps,
        budget_seconds=args.budget,
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
