"""Shared helpers for the *Stable GANs* book.

Each idea lives in its own module, on one of four floors; a module imports
only from its own floor or below (``ganutils/README.md`` draws the plan, and
``tests/test_layout.py`` holds the package to it):

1. no TensorFlow at import: ``config``, ``latent``, ``labels``, ``data``, ``book``,
   ``dirac``;
2. Keras pieces: ``distribute``, ``pipeline``, ``stabilizers``, ``models``,
   ``judge``, ``metrics``, ``viz``, ``stacked``;
3. the engine and recipes: ``gan``, ``checkpoint``, ``callbacks``, ``diagnostics``,
   ``train``, ``toy``;
4. the study harnesses behind the committed results, a subpackage:
   ``studies`` (``studies.stats``, ``studies.common``, ``studies.runner``,
   ``studies.race``, ``studies.ablate``, ``studies.footings``,
   ``studies.modern``, ``studies.conditional``; see
   :data:`ganutils.studies.MODULES`).

Modules load on first use, so ``import ganutils`` is instant and does not
start TensorFlow: call :func:`ganutils.config.setup` first in a notebook so
that TensorFlow starts quietly, then use ``ganutils.data.load_mnist()`` and
friends by their qualified names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: The modules, floor by floor (see the docstring above); the fourth floor is
#: the subpackage :mod:`ganutils.studies`.
FLOORS = (
    ("config", "latent", "labels", "data", "book", "dirac"),
    (
        "distribute",
        "pipeline",
        "stabilizers",
        "options",
        "models",
        "judge",
        "metrics",
        "viz",
        "stacked",
        "conditioning",
    ),
    ("gan", "checkpoint", "callbacks", "diagnostics", "train", "toy"),
    ("studies",),  # a subpackage: its modules are ganutils.studies.MODULES
)
_SUBMODULES = tuple(name for floor in FLOORS for name in floor)

__all__ = ["FLOORS", "__version__", *_SUBMODULES]

if TYPE_CHECKING:  # pragma: no cover - for editors and type checkers only
    from . import (  # noqa: F401
        book,
        callbacks,
        checkpoint,
        conditioning,
        config,
        data,
        diagnostics,
        dirac,
        distribute,
        gan,
        judge,
        labels,
        latent,
        metrics,
        models,
        options,
        pipeline,
        stabilizers,
        stacked,
        studies,
        toy,
        train,
        viz,
    )


def __getattr__(name: str):
    """Import a submodule the first time it is used (PEP 562)."""
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
