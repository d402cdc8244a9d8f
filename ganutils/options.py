"""The options of the GAN engine: every trick as one validated field of :class:`GANOptions`.

:class:`ganutils.gan.GAN` plays the game these options describe; they live
on a floor of their own, below the engine, so that a bad value fails with a
``ValueError`` naming the option before any model is built. The names of
the choices (:data:`LOSSES`, :data:`D_UPDATES`, ...) are read from here and
from :mod:`ganutils.gan`, which re-exports them.
"""

from __future__ import annotations

__all__ = [
    "AUGMENT",
    "CONDITIONING",
    "D_UPDATES",
    "GENERATOR_LOSSES",
    "IMAGE_RANGES",
    "LABEL_SMOOTHING",
    "LATENT_DISTRIBUTIONS",
    "LOSSES",
    "OPTIMIZERS",
    "WGAN_CLIP",
    "GANOptions",
    "OptimizerOptions",
    "option_fields",
]

import dataclasses
import inspect
from collections.abc import Mapping, Sequence

import numpy as np

from . import stabilizers as _stabilizers

D_UPDATES = ("separate", "mixed", "alternating")
GENERATOR_LOSSES = ("non_saturating", "minimax")
LABEL_SMOOTHING = ("none", "two_sided", "one_sided")
LATENT_DISTRIBUTIONS = ("gaussian", "uniform")
LOSSES = tuple(_stabilizers.GAME_LOSSES)  # "gan", "wgan", "wgan_gp", "hinge", "relativistic"
AUGMENT = (None, "both", "real_only")
IMAGE_RANGES = ("signed", "unit")
CONDITIONING = ("channels", "auxiliary")
OPTIMIZERS = ("adam", "rmsprop", "sgd")
WGAN_CLIP = _stabilizers.WGAN_CLIP  # the WGAN paper's c


def _is_number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, np.number))


def _is_count(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer)) and value >= 1


@dataclasses.dataclass(frozen=True)
class GANOptions:
    """How :class:`ganutils.gan.GAN` plays the game: every trick as one validated option.

    ``GAN(generator, discriminator, **options)`` builds one of these, so a bad
    value fails before any model is touched, with a ``ValueError`` naming the
    option and what it expects.

    Attributes:
        latent_dim: Length of z.
        latent_distribution: ``"gaussian"`` (ganhacks #3) or ``"uniform"`` in [-1, 1].
        d_updates: How D sees a step's images. ``"separate"``: an all-real and
            an all-fake forward pass, one update (ganhacks #4, as the TensorFlow
            DCGAN tutorial does); ``"mixed"``: one forward pass over real and
            fake images together, so batch normalisation sees both at once;
            ``"alternating"``: two optimizer updates, first all-real then
            all-fake, as the Keras 2 ``train_on_batch`` loops of older tutorials do.
        label_smoothing: ``"none"``, ``"two_sided"`` (real targets uniform in
            [0.7, 1.2], fake in [0.0, 0.3], ganhacks #6) or ``"one_sided"`` (real
            targets 0.9, Salimans et al. 2016).
        label_noise: Share of D's targets flipped per batch (ganhacks #6); exactly
            ``round(label_noise * n)`` real and as many fake targets flip.
        generator_loss: ``"non_saturating"`` (maximise log D(G(z)), ganhacks #2)
            or ``"minimax"`` (minimise log(1 - D(G(z))), Goodfellow et al. 2014).
        d_steps: Discriminator updates per generator update (same real batch,
            fresh latents each time).
        simultaneous: Compute both updates from one forward pass (one batch of
            fakes, two gradient tapes), as the TensorFlow DCGAN tutorial does:
            the generator's gradient comes from the discriminator before its
            update. ``False`` alternates: D is updated first, then G is
            trained against the new D.
        fresh_fakes: Under alternation, where G's update gets its fakes.
            ``False`` (the PyTorch DCGAN tutorial's order): G is updated
            through the updated D on the very fakes D was just trained on, so
            the step runs the generator once. ``True``: G's update draws fresh
            latents and runs the generator a second time, as the Keras 2
            ``train_on_batch`` loops of older tutorials do.
        ema_decay: Keep an exponential moving average of the generator's
            weights with this decay (e.g. 0.99) and draw samples from it
            (:attr:`ganutils.gan.GAN.sampler`); ``None`` keeps none. Averaging the generator
            over recent steps smooths out the oscillation of the game (Yazici
            et al. 2019).
        loss: ``"gan"`` (the cross-entropy game above), ``"wgan"`` (Wasserstein
            critic with weight clipping, Arjovsky et al. 2017), ``"wgan_gp"``
            (Wasserstein with the gradient penalty, Gulrajani et al. 2017),
            ``"hinge"`` (Lim & Ye 2017, Miyato et al. 2018:
            :func:`ganutils.stabilizers.hinge_discriminator_losses`, G minimises
            ``-mean(D(G(z)))``) or ``"relativistic"`` (the relativistic pairing
            loss of R3GAN, Huang et al. 2024:
            :func:`ganutils.stabilizers.relativistic_losses`; each real image is
            paired with one fake, and its whole loss is recorded as
            ``d_loss_real``, with ``d_loss_fake`` 0). Every loss but ``"gan"``
            ignores the label options and ``generator_loss``; pair the
            Wasserstein ones with ``d_steps=5`` and a critic without batch
            normalisation.
        gp_weight: Weight of the gradient penalty (``loss="wgan_gp"``; paper: 10).
        r1_gamma: Add ``r1_gamma / 2`` times the R1 penalty (the squared
            gradient norm of D at real images,
            :func:`ganutils.stabilizers.r1_penalty`; Mescheder et al. 2018) to
            D's loss; ``None`` adds none. Any loss.
        r2_gamma: The same penalty at the generated images D is trained on
            (R2; Huang et al. 2024 pair it with R1); ``None`` adds none.
        gamma_end_share: With ``gamma_steps``: the gammas fall linearly from
            their value to this share of it over ``gamma_steps`` generator
            steps, then stay there (R3GAN decays its gamma over training).
        gamma_steps: The length of that schedule; ``None`` keeps the gammas fixed.
        clip_value: Clip every critic weight into [-clip_value, clip_value]
            after each update; ``None`` means 0.01 under ``loss="wgan"`` and no
            clipping otherwise (see :attr:`clip_bound`).
        instance_noise: Initial standard deviation of Gaussian noise added to
            every image D sees, real and fake; it falls linearly to 0 over
            ``instance_noise_steps`` generator steps
            (:func:`ganutils.stabilizers.instance_noise_std`). ``None`` adds none.
        instance_noise_steps: How many generator steps the noise anneals over;
            required with ``instance_noise``.
        augment: ``"both"`` applies :func:`ganutils.stabilizers.diff_augment`
            to real and fake images before D (Zhao et al. 2020);
            ``"real_only"`` to real images only, the unsafe variant whose
            augmentations leak into the samples; ``None`` augments nothing.
        augment_policy: The augmentations, e.g. ``"color,translation,cutout"``.
        feature_matching: Train G to match the mean of D's last hidden features
            on real images instead of fooling D (Salimans et al. 2016).
        image_range: ``"signed"``: the networks work on images in [-1, 1]
            (DCGAN, with a tanh generator); ``"unit"``: in [0, 1] (a sigmoid
            generator, the alternative chapter 8's ablation measures). Batches
            arrive in [-1, 1] either way and are mapped inside the step, and
            :attr:`ganutils.gan.GAN.sampler` always returns [-1, 1].
        num_classes: Train a class-conditional GAN on ``(images, labels)``
            batches (integer labels in ``[0, num_classes)``); ``None``:
            unconditional. The generator takes ``[latents, labels]`` (see
            :func:`ganutils.models.build_generator`) and each step's fakes are
            asked for the labels of the real batch beside them.
        conditioning: How D uses the labels. ``"channels"``: D takes
            ``[images, labels]``, the label as an extra image channel
            (ganhacks #16; Mirza & Osindero 2014). ``"auxiliary"``: the AC-GAN
            of Odena et al. 2017: D sees only the image and outputs
            ``1 + num_classes`` logits, the real-vs-fake one and the class
            ones; D adds the class cross-entropy on real and on fake images
            to its loss and G the one on its fakes, each times
            ``class_loss_weight`` (the paper weights them equally: 1).
        class_loss_weight: The weight of the AC-GAN class losses.
        seed: Seed of the step's random draws (latents, smoothing, flips).
    """

    latent_dim: int
    latent_distribution: str = "gaussian"
    d_updates: str = "separate"
    label_smoothing: str = "none"
    label_noise: float = 0.0
    generator_loss: str = "non_saturating"
    d_steps: int = 1
    simultaneous: bool = False
    fresh_fakes: bool = False
    ema_decay: float | None = None
    loss: str = "gan"
    gp_weight: float = 10.0
    r1_gamma: float | None = None
    r2_gamma: float | None = None
    gamma_end_share: float | None = None
    gamma_steps: int | None = None
    clip_value: float | None = None
    instance_noise: float | None = None
    instance_noise_steps: int | None = None
    augment: str | None = None
    augment_policy: str = "color,translation,cutout"
    feature_matching: bool = False
    image_range: str = "signed"
    num_classes: int | None = None
    conditioning: str = "channels"
    class_loss_weight: float = 1.0
    seed: int | None = None

    def __post_init__(self):
        self._check_choices()
        self._check_penalties()
        self._check_noise()
        self._check_flags_and_classes()
        self._check_combinations()
        self._to_plain_numbers()

    def _check_choices(self):
        """The latent size, the named choices, label noise, D's steps and the EMA decay."""
        if not _is_count(self.latent_dim):
            raise ValueError(f"latent_dim must be a positive integer; got {self.latent_dim!r}")
        for name, choices in (
            ("latent_distribution", LATENT_DISTRIBUTIONS),
            ("d_updates", D_UPDATES),
            ("label_smoothing", LABEL_SMOOTHING),
            ("generator_loss", GENERATOR_LOSSES),
            ("loss", LOSSES),
            ("augment", AUGMENT),
            ("image_range", IMAGE_RANGES),
            ("conditioning", CONDITIONING),
        ):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {choices}; got {getattr(self, name)!r}")
        if not _is_number(self.label_noise) or not 0.0 <= self.label_noise <= 1.0:
            raise ValueError(f"label_noise must lie in [0, 1]; got {self.label_noise!r}")
        if not _is_count(self.d_steps):
            raise ValueError(f"d_steps must be a positive integer; got {self.d_steps!r}")
        if self.ema_decay is not None and not (
            _is_number(self.ema_decay) and 0.0 < self.ema_decay < 1.0
        ):
            raise ValueError(f"ema_decay must lie in (0, 1) or be None; got {self.ema_decay!r}")

    def _check_penalties(self):
        """The gradient penalty's weight, R1 and R2 and their schedule."""
        if not _is_number(self.gp_weight) or not self.gp_weight > 0:
            raise ValueError(f"gp_weight must be a positive number; got {self.gp_weight!r}")
        for name in ("r1_gamma", "r2_gamma"):
            value = getattr(self, name)
            if value is not None and not (_is_number(value) and value > 0):
                raise ValueError(f"{name} must be a positive number or None; got {value!r}")
        share, steps = self.gamma_end_share, self.gamma_steps
        if (share is None) != (steps is None):
            raise ValueError(
                "gamma_end_share and gamma_steps go together (both None: fixed gammas); "
                f"got gamma_end_share={share!r}, gamma_steps={steps!r}"
            )
        if share is not None:
            if not (_is_number(share) and share >= 0):
                raise ValueError(f"gamma_end_share must be a number >= 0; got {share!r}")
            if not _is_count(steps):
                raise ValueError(f"gamma_steps must be a positive integer; got {steps!r}")
            if self.r1_gamma is None and self.r2_gamma is None:
                raise ValueError("gamma_end_share and gamma_steps need r1_gamma or r2_gamma")

    def _check_noise(self):
        """Weight clipping, instance noise and the augmentation policy."""
        clip = self.clip_value
        if clip is not None and not (_is_number(clip) and clip > 0):
            raise ValueError(
                f"clip_value must be a positive number or None; got {self.clip_value!r}"
            )
        if self.instance_noise is not None and not (
            _is_number(self.instance_noise) and self.instance_noise > 0
        ):
            raise ValueError(
                f"instance_noise must be a positive number or None; got {self.instance_noise!r}"
            )
        steps = self.instance_noise_steps
        if (steps is not None or self.instance_noise is not None) and not _is_count(steps):
            raise ValueError(
                "instance_noise_steps must be a positive integer when instance_noise is set; "
                f"got {steps!r}"
            )
        parts = self.augment_policy.split(",") if isinstance(self.augment_policy, str) else [None]
        if not all(part.strip() in _stabilizers.AUGMENT_POLICIES for part in parts if part != ""):
            raise ValueError(
                f"augment_policy must be comma-separated names from "
                f"{_stabilizers.AUGMENT_POLICIES}; got {self.augment_policy!r}"
            )

    def _check_flags_and_classes(self):
        """The True/False switches, the classes and their loss weight, the seed."""
        for name in ("simultaneous", "fresh_fakes", "feature_matching"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False; got {getattr(self, name)!r}")
        if self.num_classes is not None and not (
            _is_count(self.num_classes) and self.num_classes >= 2
        ):
            raise ValueError(
                f"num_classes must be an integer of at least 2, or None; got {self.num_classes!r}"
            )
        weight = self.class_loss_weight
        if not (_is_number(weight) and weight > 0):
            raise ValueError(f"class_loss_weight must be a positive number; got {weight!r}")
        seed = self.seed
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"seed must be an integer or None; got {self.seed!r}")

    def _to_plain_numbers(self):
        # Plain Python numbers (Keras' SeedGenerator refuses NumPy integers, and
        # JSON refuses NumPy floats), so the options reach Keras and print cleanly.
        kinds = {
            "latent_dim": int,
            "d_steps": int,
            "label_noise": float,
            "gp_weight": float,
            "r1_gamma": float,
            "r2_gamma": float,
            "gamma_end_share": float,
            "gamma_steps": int,
            "ema_decay": float,
            "clip_value": float,
            "instance_noise": float,
            "instance_noise_steps": int,
            "num_classes": int,
            "class_loss_weight": float,
            "seed": int,
        }
        for name, kind in kinds.items():
            if getattr(self, name) is not None:
                object.__setattr__(self, name, kind(getattr(self, name)))

    def _check_combinations(self):
        if self.simultaneous and (self.d_steps != 1 or self.d_updates == "alternating"):
            raise ValueError(
                "simultaneous=True computes both updates from one forward pass; it needs "
                f"d_steps=1 and d_updates 'separate' or 'mixed' (got d_steps={self.d_steps!r}, "
                f"d_updates={self.d_updates!r})"
            )
        if self.loss != "gan" and self.d_updates == "alternating":
            raise ValueError(
                f"loss={self.loss!r} needs real and fake scores in one update: d_updates must "
                f"be 'separate' or 'mixed'; got {self.d_updates!r}"
            )
        extras = {
            "r1_gamma": self.r1_gamma,
            "r2_gamma": self.r2_gamma,
            "clip_value": self.clip_value,
            "instance_noise": self.instance_noise,
            "augment": self.augment,
            "feature_matching": self.feature_matching,
        }
        if self.conditioning == "auxiliary" and self.num_classes is None:
            raise ValueError(
                "conditioning='auxiliary' (AC-GAN) needs num_classes: the number of class "
                "logits D adds"
            )
        if self.num_classes is not None and (self.simultaneous or self.feature_matching):
            raise ValueError(
                "num_classes (a conditional GAN) trains with alternating updates and D's "
                f"logits: simultaneous and feature_matching must be False; got "
                f"simultaneous={self.simultaneous!r}, feature_matching={self.feature_matching!r}"
            )
        if self.simultaneous and (self.loss != "gan" or any(extras.values())):
            given = ", ".join(f"{name}={value!r}" for name, value in extras.items())
            raise ValueError(
                "simultaneous=True supports only loss='gan' without r1_gamma, r2_gamma, "
                "clip_value, "
                f"instance_noise, augment or feature_matching; got loss={self.loss!r}, {given}"
            )

    @property
    def clip_bound(self) -> float | None:
        """The critic's weight-clipping bound in force: ``clip_value``, or 0.01 under WGAN."""
        if self.clip_value is not None:
            return float(self.clip_value)
        return _stabilizers.GAME_LOSSES[self.loss].clip

    def to_dict(self) -> dict:
        """The options as plain values (for ``get_config`` and JSON)."""
        return dataclasses.asdict(self)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The option names, in the order of the fields."""
        return tuple(field.name for field in dataclasses.fields(cls))

    @classmethod
    def of(cls, config, **changes) -> GANOptions:
        """The options a run's config carries (its fields of the same names), with ``changes``.

        The configs that carry them get them from :func:`option_fields`, so
        this is the one place a config becomes engine options.

        Raises:
            ValueError: An option the engine refuses, named.
        """
        return cls(**{**{name: getattr(config, name) for name in cls.names()}, **changes})


@dataclasses.dataclass(frozen=True)
class OptimizerOptions:
    """The two optimisers of a run, declared once for every run's config (toy and MNIST).

    :func:`option_fields` with ``source=OptimizerOptions`` adds them to a
    config, each config with its own defaults, and :meth:`of` checks a
    config's values.

    Attributes:
        learning_rate: G's learning rate, and D's unless ``d_learning_rate``.
        d_learning_rate: D's own learning rate (a two time-scale update), or
            ``None`` for ``learning_rate``.
        optimizer: One of :data:`OPTIMIZERS`, for both networks.
        beta_1, beta_2: Adam's decay rates of its moment estimates (DCGAN:
            ``beta_1=0.5``; RMSProp and SGD ignore them).
    """

    learning_rate: float = 2e-4
    d_learning_rate: float | None = None
    optimizer: str = "adam"
    beta_1: float = 0.5
    beta_2: float = 0.999

    def __post_init__(self):
        for name in ("learning_rate", "d_learning_rate"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive; got {value!r}")
        for name in ("beta_1", "beta_2"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must lie in [0, 1); got {getattr(self, name)!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}; got {self.optimizer!r}")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The field names, in order."""
        return tuple(field.name for field in dataclasses.fields(cls))

    @classmethod
    def of(cls, config) -> OptimizerOptions:
        """A config's optimiser fields, checked (``ValueError`` names a wrong one)."""
        return cls(**{name: getattr(config, name) for name in cls.names()})


def option_fields(
    defaults: Mapping[str, object] | None = None,
    *,
    types: Mapping[str, str] | None = None,
    after: Mapping[str, str] | None = None,
    source=None,
):
    """A class decorator: every field of :class:`GANOptions`, as fields of a run's config.

    A config such as :class:`ganutils.train.TrainConfig` carries the engine's
    options flat, under their own names, beside fields of its own. Put this
    under ``@dataclasses.dataclass``: it adds each option to the class's
    annotations with GANOptions' type and default, so an option is declared
    (and documented) once, in GANOptions, and reaches every config from there.

    Args:
        defaults: The config's default for an option where it differs from
            GANOptions' (an option without a default there, ``latent_dim``,
            needs one).
        types: A narrower annotation for an option, e.g. ``{"seed": "int"}``
            where the config always has one.
        after: Where the options stand among the config's fields: an option
            named here follows the field given (the config's own, or an option
            placed before it), every other one the option before it in
            GANOptions' order. Options before the first one named come after
            the config's own fields.
        source: The dataclass whose fields are added (default
            :class:`GANOptions`; :class:`OptimizerOptions` for the optimisers).

    Raises:
        TypeError: The class declares an option itself, ``after`` names an
            unknown field, or an option has no default.
    """
    source = source or GANOptions
    defaults, types, after = dict(defaults or {}), dict(types or {}), dict(after or {})
    names = tuple(field.name for field in dataclasses.fields(source))

    def decorate(cls):
        own = dict(inspect.get_annotations(cls))
        declared = sorted(set(own) & set(names))
        if declared:
            raise TypeError(
                f"{cls.__name__} declares {declared} itself; the engine's options come from "
                f"{source.__name__} (set a different default in option_fields' defaults)"
            )
        fields = {field.name: field for field in dataclasses.fields(source)}
        annotations = {}
        for name in _field_order(list(own), after, names):
            if name in own:
                annotations[name] = own[name]
            else:
                annotations[name] = types.get(name, fields[name].type)
                setattr(cls, name, _config_field(fields[name], defaults, source))
        cls.__annotations__ = annotations
        return cls

    unknown = sorted((set(defaults) | set(types)) - set(names))
    if unknown:
        raise TypeError(f"defaults and types name options of {source.__name__}; got {unknown}")
    return decorate


def _config_field(
    option: dataclasses.Field, defaults: Mapping[str, object], source
) -> dataclasses.Field:
    """The config's field for ``option``: its default from ``defaults``, else the source's."""
    if option.name in defaults:
        return dataclasses.field(default=defaults[option.name])
    if option.default is not dataclasses.MISSING:
        return dataclasses.field(default=option.default)
    if option.default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=option.default_factory)
    raise TypeError(
        f"{source.__name__}.{option.name} has no default: give the config one in defaults"
    )


def _field_order(own: list[str], after: Mapping[str, str], names: Sequence[str]) -> list[str]:
    """The config's own fields with the options among them, placed as ``after`` says."""
    wrong = sorted(
        f"{option} after {field}"
        for option, field in after.items()
        if option not in names or (field not in own and field not in names)
    )
    if wrong:
        raise TypeError(f"after places options after the config's fields; {wrong}")
    runs: dict[str | None, list[str]] = {}
    anchor = None
    for name in names:
        anchor = after.get(name, anchor)
        runs.setdefault(anchor, []).append(name)
    order: list[str] = []

    def place(name: str) -> None:
        order.append(name)
        for follower in runs.pop(name, []):
            place(follower)

    for name in [*own, *runs.pop(None, [])]:
        place(name)
    if runs:  # anchored on one another, never on a field of the config
        raise TypeError(f"after places options after no field of the config; {sorted(runs)}")
    return order
