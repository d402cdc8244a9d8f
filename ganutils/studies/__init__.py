"""The studies: the research harnesses behind the book's committed results.

Not teaching code: each module here runs a study over seeds, appends one row
per run to a results file and resumes where it stopped; the chapters read the
rows the package ships (:func:`committed_results`). The subpackage is the
package's fourth floor (``ganutils.FLOORS``): its modules import from any
floor below and from each other, never the other way round.

- :mod:`~ganutils.studies.stats`: the book's one comparison rule
  (:func:`estimate`, :func:`compare`, :data:`VERDICT_RULE`); no TensorFlow;
- :mod:`~ganutils.studies.clock`: the sessions rows were measured in, and
  :func:`~ganutils.studies.clock.on_one_clock`, which puts the seconds of
  several sessions on one clock;
- :mod:`~ganutils.studies.common`: variants over seeds, summaries and tables,
  results files, the machine guard (:func:`one_machine`: seconds compare only
  between rows of one CPU model and one clock), the one-step equivalence check;
- :mod:`~ganutils.studies.runner`: the resumable loop of the four studies
  below and the flags their command lines share;
- :mod:`~ganutils.studies.race`: time to good digits against the TensorFlow
  tutorial (``benchmarks/time_to_quality.py`` runs it);
- :mod:`~ganutils.studies.ablate`, :mod:`~ganutils.studies.footings`,
  :mod:`~ganutils.studies.modern`, :mod:`~ganutils.studies.conditional`: the
  studies of chapters 8, 7, 9 and 11, each with its command line
  (``python -m ganutils.studies.ablate --help``).

The public names of :mod:`~ganutils.studies.common` (and through it of
:mod:`~ganutils.studies.stats`) are re-exported here, so a chapter calls
``ganutils.studies.compare(...)``. Modules load on first use, as in
:mod:`ganutils`: ``import ganutils.studies.stats`` starts no TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

#: The subpackage's modules; each imports only those before it.
MODULES = (
    "stats",
    "clock",
    "common",
    "runner",
    "race",
    "ablate",
    "footings",
    "modern",
    "conditional",
)

__all__ = ["MODULES", *MODULES]

if TYPE_CHECKING:  # pragma: no cover - for editors and type checkers only
    from . import (  # noqa: F401
        ablate,
        clock,
        common,
        conditional,
        footings,
        modern,
        race,
        runner,
        stats,
    )
    from .common import *  # noqa: F403


def __getattr__(name: str):
    """Load a module, or a public name of :mod:`~ganutils.studies.common`, on first use.

    (PEP 562.) Any other name that does not start with ``_`` is looked up in
    ``common`` (its ``__all__`` lists what it offers); a name it lacks raises
    ``AttributeError`` as usual.
    """
    if name in MODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    elif not name.startswith("_"):  # raises AttributeError when common lacks it too
        value = getattr(importlib.import_module(f"{__name__}.common"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value
