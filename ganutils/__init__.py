"""Shared helpers for the *Stable GANs* book.

Each idea lives in its own module (``config``, ``data``, ``viz``, ...). Modules
load on first use, so ``import ganutils`` is instant and does not start
TensorFlow: call :func:`ganutils.config.setup` first in a notebook so that
TensorFlow starts quietly, then use ``ganutils.data.load_mnist()`` and friends
by their qualified names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_SUBMODULES = (
    "config",
    "data",
    "viz",
    "latent",
    "labels",
    "models",
    "train",
    "callbacks",
    "metrics",
    "toy",
    "diagnostics",
    "stabilizers",
    "distribute",
    "ablate",
)

__all__ = ["__version__", *_SUBMODULES]

if TYPE_CHECKING:  # pragma: no cover - for editors and type checkers only
    from . import callbacks, config, data, labels, latent, metrics, models, train, viz  # noqa: F401


def __getattr__(name: str):
    """Import a submodule the first time it is used (PEP 562)."""
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
