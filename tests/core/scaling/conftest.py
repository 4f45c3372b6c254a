"""Shared fixtures of the scaling tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def sky():
    """A 100 x 100 sky-like image: noise, a few bright stars, NaN and inf pixels."""
    rng = np.random.default_rng(0)
    img = rng.normal(100.0, 5.0, (100, 100))
    img[rng.integers(0, 100, 20), rng.integers(0, 100, 20)] += rng.uniform(1e3, 1e5, 20)
    return img
