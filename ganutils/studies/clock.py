"""One clock for the timed studies: the seconds of several sessions, made comparable.

A run with a 60-second budget is measured in the seconds of its session. The
same CPU model ran the book's recipe at 45 ms per step on one day and 32 ms
on another, so the faster session trains more steps within its budget and
reaches good digits sooner in seconds. A comparison whose runs come from more
than one session therefore puts them on one clock first (:func:`on_one_clock`):

- each row's session (:func:`find_sessions`): the boot id a row records
  (``session``), or, for rows written before rows recorded it, a run of rows
  of one CPU model with no gap longer than :data:`SESSION_GAP` between them;
- each session's clock: the median step time of the book's recipe in that
  session (the ``recipe_step_ms`` a timed row records, else the step time of
  the recipe's own runs there);
- every time of a run is rescaled to the reference session's clock (its
  seconds times the reference recipe step over its own session's recipe
  step), and every run is cut at the smallest budget that gives, so no session
  buys more training than another. Final FD, classes and time to good are then
  read off the run's curves at that cut.

The scaling assumes a session that runs the recipe x% faster runs every
variant x% faster; each variant's own step time, rescaled, shows how far that
holds.
"""

from __future__ import annotations

__all__ = [
    "SESSION_GAP",
    "Session",
    "find_sessions",
    "is_recipe",
    "on_one_clock",
    "session_of",
    "timed",
]

import dataclasses
import datetime
import functools
import statistics
from collections.abc import Iterable, Mapping, Sequence

from .. import metrics as _metrics
from .. import train as _train

#: Rows of one CPU model with no longer gap between them count as one session
#: (only for rows that do not record their ``session``).
SESSION_GAP = datetime.timedelta(hours=1)

#: Config fields that do not change what one training step costs.
_NOT_COST = frozenset({"seed", "epochs", "max_digits"})


@dataclasses.dataclass(frozen=True)
class Session:
    """One session of one machine, and its clock.

    Attributes:
        cpu: The CPU model.
        start, end: The dates (ISO) of its first and last row.
        key: The boot id its rows record, or ``""`` for a session found by dates.
        recipe_ms: The median step of the book's recipe in it, in ms (``None``
            when the recipe's step was not timed in it).
    """

    cpu: str
    start: str
    end: str
    key: str
    recipe_ms: float | None

    @property
    def label(self) -> str:
        """``"AMD EPYC, 2026-12-02 14:27"``: the CPU and when the session's first row landed."""
        return f"{self.cpu}, {self.start[:10]} {self.start[11:16]}"


def timed(row: Mapping) -> bool:
    """Whether ``row`` is a timed MNIST run: a time budget and the seconds of its checks.

    Every measure of such a run depends on the clock it ran on.
    """
    return bool(row.get("budget_seconds")) and "seconds_curve" in row


@functools.cache
def _recipe_fields(profile: str) -> dict:
    return _train.TrainConfig.for_profile(profile).to_dict()


def is_recipe(row: Mapping) -> bool:
    """Whether ``row`` trained the book's recipe (``TrainConfig`` of its profile) as it costs.

    Seed, epochs and digit count aside, every field the row records must
    match; a field added to ``TrainConfig`` after the row was written is
    left out.
    """
    config, profile = row.get("config"), row.get("profile")
    if not isinstance(config, Mapping) or not profile:
        return False
    recipe = _recipe_fields(profile)
    return all(recipe[k] == v for k, v in config.items() if k in recipe and k not in _NOT_COST)


def _cpu(row: Mapping) -> str:
    return (row.get("machine") or {}).get("cpu", "")


def _date(row: Mapping) -> datetime.datetime:
    return datetime.datetime.fromisoformat(row["date"])


def _same_session(last: Mapping, row: Mapping) -> bool:
    if _cpu(last) != _cpu(row) or last.get("session") != row.get("session"):
        return False
    return row.get("session") is not None or _date(row) - _date(last) <= SESSION_GAP


def _session(rows: Sequence[Mapping]) -> Session:
    steps = [r["recipe_step_ms"] for r in rows if r.get("recipe_step_ms")]
    steps = steps or [r["step_ms"] for r in rows if is_recipe(r) and r.get("step_ms")]
    return Session(
        cpu=_cpu(rows[0]),
        start=rows[0]["date"],
        end=rows[-1]["date"],
        key=rows[0].get("session") or "",
        recipe_ms=float(statistics.median(steps)) if steps else None,
    )


def find_sessions(rows: Iterable[Mapping]) -> tuple[Session, ...]:
    """The sessions the timed runs among ``rows`` (every row there is) were measured in.

    Rows that are not :func:`timed`, or lack ``machine`` or ``date`` (live
    runs), are skipped.
    """
    dated = [r for r in rows if timed(r) and _cpu(r) and r.get("date")]
    dated.sort(key=lambda r: (_cpu(r), r.get("session") or "", _date(r)))
    groups: list[list[Mapping]] = []
    for row in dated:
        if not groups or not _same_session(groups[-1][-1], row):
            groups.append([])
        groups[-1].append(row)
    return tuple(_session(group) for group in groups)


def session_of(row: Mapping, sessions: Sequence[Session]) -> Session:
    """The one of ``sessions`` that ``row`` was measured in.

    Raises:
        ValueError: None of them holds it (a row missing from the rows the
            sessions were found in).
    """
    for session in sessions:
        if session.cpu != _cpu(row) or session.key != (row.get("session") or ""):
            continue
        if session.key or session.start <= row.get("date", "") <= session.end:
            return session
    raise ValueError(
        f"row {row.get('variant')!r} of {row.get('date')!r} on {_cpu(row)!r} lies in none of "
        "the sessions given: find them in every row there is (studies.known_sessions)"
    )


def _scales(own: Sequence[Session], reference: Session) -> list[float]:
    """Each run's factor to the reference clock, from its own session's (``own``)."""
    if len(set(own) | {reference}) == 1:
        return [1.0] * len(own)
    untimed = sorted({s.label for s in (*own, reference) if s.recipe_ms is None})
    if untimed:
        raise ValueError(
            f"the rows come from more than one session, and the recipe's step was not timed "
            f"in {', '.join(untimed)}: their seconds cannot be put on one clock"
        )
    return [reference.recipe_ms / s.recipe_ms for s in own]


def on_one_clock(
    groups: Mapping[str, Sequence[Mapping]],
    sessions: Sequence[Session],
    *,
    reference: Session | None = None,
) -> dict[str, list[dict]]:
    """The timed runs of ``groups`` on the clock of one session, cut at one budget.

    Args:
        groups: Arm name -> its runs (results rows with a ``budget_seconds``,
            ``seconds_curve``, ``fd_curve``, ``classes_curve`` and ``bar_fd``).
        sessions: Every session (:func:`find_sessions` of every row there is).
        reference: The session whose seconds the result is in; default: the
            session of the first run of the first arm.

    Returns:
        The same arms, each run a copy in the reference session's seconds
        (``seconds_curve``, ``step_ms``, ``time_to_good``), cut at the smallest
        budget of all runs on that clock (``budget_seconds``; ``final_fd``,
        ``final_classes``, ``collapsed``, ``epochs_trained`` at the cut), with
        ``clock`` (the reference's label), ``session_label`` and
        ``session_recipe_ms`` (its own session's label and recipe step).
        Runs of one session come back unchanged but for those two fields.

    Raises:
        ValueError: A run is not :func:`timed` or is already on a clock, or
            the runs span sessions and one of them has no recipe step time.
    """
    rows = [row for runs in groups.values() for row in runs]
    if not rows or not all(timed(row) for row in rows):
        raise ValueError("groups must hold timed runs only (each with a budget_seconds)")
    if any("clock" in row for row in rows):
        raise ValueError("groups hold runs already on a clock: put the committed rows on one")
    own = [session_of(row, sessions) for row in rows]
    reference = reference or own[0]
    scales = _scales(own, reference)
    budget = min(row["budget_seconds"] * scale for row, scale in zip(rows, scales, strict=True))
    moved = iter(
        _on_clock(row, scale, budget, reference, session)
        for row, scale, session in zip(rows, scales, own, strict=True)
    )
    return {name: [next(moved) for _ in runs] for name, runs in groups.items()}


def _on_clock(row: Mapping, scale: float, budget: float, reference: Session, own: Session) -> dict:
    """``row`` with its times times ``scale``, cut at the first check that reaches ``budget``."""
    seconds = [s * scale for s in row["seconds_curve"]]
    kept = next((i + 1 for i, s in enumerate(seconds) if s >= budget), len(seconds))
    fd, classes = row["fd_curve"][:kept], row["classes_curve"][:kept]
    bar = row["bar_fd"]
    good = [
        f is not None and f <= bar and c >= _metrics.GOOD_MIN_CLASSES
        for f, c in zip(fd, classes, strict=True)
    ]
    cut = {}
    if kept < len(row["seconds_curve"]):  # read the end of the run at the cut
        epochs = row.get("epoch_curve") or list(range(1, len(seconds) + 1))
        cut = {
            "epoch_curve": epochs[:kept],
            "epochs_trained": int(epochs[kept - 1]),
            "final_fd": fd[-1],
            "final_classes": classes[-1],
            "final_classifier_score": None,  # scored at the end of the run only
            "collapsed": classes[-1] <= 3,
        }
    step = row.get("step_ms")
    return {
        **row,
        "seconds_curve": seconds[:kept],
        "fd_curve": fd,
        "classes_curve": classes,
        "time_to_good": _metrics.time_to_good(seconds[:kept], good),
        **cut,
        "budget_seconds": budget,
        "step_ms": step * scale if step else step,
        "clock": reference.label,
        "session_label": own.label,
        "session_recipe_ms": own.recipe_ms,
    }
