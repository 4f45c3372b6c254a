"""Composition of intervals and stretches: ``stretch + interval`` builds a :class:`Pipeline`.

As in :mod:`astropy.visualization` the right operand is applied first. The pipeline is
an :class:`astropy.visualization.BaseTransform` with any number of steps, and keeps the
float32 output of this package's intervals and stretches.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from astropy.visualization import BaseTransform

__all__ = ["Composable", "Pipeline"]


class Composable:
    """Mixin: ``self + other`` is ``Pipeline(other, self)`` (``other`` runs first)."""

    def __add__(self, other: Callable[..., np.ndarray]) -> Pipeline:
        return Pipeline(other, self)


class Pipeline(Composable, BaseTransform):
    """Transforms applied in order, first to last (built by ``stretch + other``).

    Parameters
    ----------
    *steps : callable
        Intervals and stretches; each maps an array to an array, taking ``clip=``.
    """

    def __init__(self, *steps: Callable[..., np.ndarray]):
        super().__init__()
        self.steps = steps

    def __call__(
        self, values: np.ndarray, clip: bool = True, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Apply every step in turn; ``out``, when given, receives the result."""
        for step in self.steps:
            values = step(values, clip=clip)
        if out is None:
            return values
        out[...] = values
        return out

    def __repr__(self) -> str:
        return " + ".join(repr(s) for s in reversed(self.steps))
