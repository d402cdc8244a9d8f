"""The book's one comparison rule: estimates over seeds, and the verdict between two samples.

Every verdict in the chapters ("helps", "hurts", "no measurable effect")
comes from :func:`compare`, by the rule :data:`VERDICT_RULE` states in words;
:mod:`ganutils.studies` re-exports both. A clear verdict near the floor reads
"borderline" when shown (:attr:`Comparison.reading`). Plain NumPy and SciPy:
no model is involved, so ``import ganutils.studies.stats`` starts no
TensorFlow (the subpackage loads its modules on first use).
"""

from __future__ import annotations

__all__ = [
    "CONFIDENCE",
    "RELATIVE_FLOOR",
    "VERDICT_RULE",
    "Comparison",
    "Estimate",
    "compare",
    "estimate",
]

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import scipy.stats

#: The confidence level of every interval the book reports.
CONFIDENCE = 0.95

#: A difference smaller than this share of the reference mean is never an effect.
RELATIVE_FLOOR = 0.05

VERDICT_RULE = (
    "A variant **helps** when the 95% confidence interval of its difference from the "
    "reference (Welch's t interval over the seeds) lies wholly on the better side of zero "
    "and the difference is larger than 5% of the reference's mean; it **hurts** when the "
    "same holds on the worse side; otherwise it has **no measurable effect**. With fewer "
    "than two runs on either side there is no verdict. A chapter makes many comparisons, "
    "and at 95% about one comparison in twenty between two equal variants still gives an "
    "interval clear of zero by chance. The book does not correct the intervals for that; "
    "it marks a **helps** or **hurts** as **borderline** when the interval's edge nearer "
    "zero lies within that 5% floor of zero: a lead to re-test, not a finding. Seconds "
    "(a time to good, a budget) are compared only on one CPU model, and on one clock: "
    "runs from several sessions are first put on the clock of one of them, each run's "
    "seconds multiplied by the ratio of the book's recipe's step time in the two "
    "sessions, and every run cut at the shortest budget that gives."
)
"""The rule :func:`compare` applies, in words (chapters glue this text)."""


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A sample's mean with its sample standard deviation and a t interval for the mean.

    ``low`` and ``high`` are ``nan`` (and ``sd`` is ``nan``) with one value.
    """

    n: int
    mean: float
    sd: float
    low: float
    high: float

    def __str__(self) -> str:
        if self.n < 2:
            return f"{self.mean:.3g} (1 run)"
        return f"{self.mean:.3g} [{self.low:.3g}, {self.high:.3g}]"


def _values(values, name: str) -> np.ndarray:
    array = np.asarray(list(values), dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty sequence of numbers; got {values!r}")
    if not np.isfinite(array).all():
        raise ValueError(
            f"{name} must hold finite numbers (give a failed run a stated value, such as "
            f"the budget for a time to good never reached); got {array.tolist()}"
        )
    return array


def estimate(values: Sequence[float], *, confidence: float = CONFIDENCE) -> Estimate:
    """Mean, sample standard deviation (``ddof=1``) and t interval of the mean of ``values``.

    Raises:
        ValueError: ``values`` is empty or holds a non-finite number.
    """
    array = _values(values, "values")
    n = array.size
    mean = float(array.mean())
    if n < 2:
        return Estimate(1, mean, math.nan, math.nan, math.nan)
    sd = float(array.std(ddof=1))
    half = float(scipy.stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return Estimate(n, mean, sd, mean - half, mean + half)


@dataclasses.dataclass(frozen=True)
class Comparison:
    """A variant against a reference: both estimates, the difference and its interval, the verdict.

    ``difference`` is the variant's mean minus the reference's; ``low`` and
    ``high`` bound it (Welch's t interval). ``absolute_floor`` is the floor in
    the measure's own units (the share times ``|reference mean|``); it is
    ``nan`` when not given, and such a comparison is never borderline.
    """

    reference: Estimate
    variant: Estimate
    difference: float
    low: float
    high: float
    verdict: str
    absolute_floor: float = math.nan

    @property
    def borderline(self) -> bool:
        """Whether a "helps" or "hurts" has its interval's edge nearer zero within the floor.

        Such a verdict is a lead to re-test, not a finding (:data:`VERDICT_RULE`);
        "no measurable effect" and "too few runs" are never borderline.
        """
        if self.verdict not in ("helps", "hurts"):
            return False
        return min(abs(self.low), abs(self.high)) <= self.absolute_floor

    @property
    def reading(self) -> str:
        """The verdict as the reader sees it: ``"helps (borderline)"`` when borderline.

        Compare and key on :attr:`verdict`; show this.
        """
        return f"{self.verdict} (borderline)" if self.borderline else self.verdict


def compare(
    reference: Sequence[float],
    variant: Sequence[float],
    *,
    lower_is_better: bool = True,
    confidence: float = CONFIDENCE,
    floor: float = RELATIVE_FLOOR,
) -> Comparison:
    """The book's comparison rule (:data:`VERDICT_RULE`) for one measure over seeds.

    Args:
        reference: The reference's value per run (the baseline's FDs, say).
        variant: The variant's value per run.
        lower_is_better: Whether a lower value is the better one (FD, seconds).
        confidence: The interval's confidence level.
        floor: The smallest difference, as a share of ``|reference mean|``,
            that can count as an effect.

    Returns:
        A :class:`Comparison`; its ``verdict`` is ``"helps"``, ``"hurts"``,
        ``"no measurable effect"`` or ``"too few runs"``, and its ``reading``
        adds ``" (borderline)"`` to a verdict near the floor.

    Raises:
        ValueError: An empty sample or a non-finite value.
    """
    first, second = _values(reference, "reference"), _values(variant, "variant")
    ref, var = estimate(first, confidence=confidence), estimate(second, confidence=confidence)
    difference, least = var.mean - ref.mean, floor * abs(ref.mean)
    if ref.n < 2 or var.n < 2:
        return Comparison(ref, var, difference, math.nan, math.nan, "too few runs", least)
    a, b = ref.sd**2 / ref.n, var.sd**2 / var.n
    if a + b == 0.0:  # no spread on either side: the interval is the difference itself
        low = high = difference
    else:
        dof = (a + b) ** 2 / (a**2 / (ref.n - 1) + b**2 / (var.n - 1))
        half = float(scipy.stats.t.ppf(0.5 + confidence / 2, dof)) * math.sqrt(a + b)
        low, high = difference - half, difference + half
    large = abs(difference) > least
    better = high < 0 if lower_is_better else low > 0
    worse = low > 0 if lower_is_better else high < 0
    if large and better:
        verdict = "helps"
    elif large and worse:
        verdict = "hurts"
    else:
        verdict = "no measurable effect"
    return Comparison(ref, var, difference, low, high, verdict, least)
