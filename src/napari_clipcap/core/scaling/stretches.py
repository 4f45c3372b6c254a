"""Stretches: monotonic maps of ``[0, 1]`` onto ``[0, 1]``, as in astropy.visualization.

Formulas and defaults match :mod:`astropy.visualization` (``LogStretch(a=1000)``,
``AsinhStretch(a=0.1)``, ...). Stretches work in float32 and never modify their input.

``stretch + interval`` (or ``stretch + stretch``) builds a :class:`Pipeline`; as in
astropy the right operand is applied first::

    >>> to_unit = AsinhStretch() + ZScaleInterval()     # doctest: +SKIP
    >>> to_unit(image)                                   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import InvalidInputError
from .intervals import finite_values

__all__ = [
    "AsinhStretch",
    "BaseStretch",
    "HistEqStretch",
    "LinearStretch",
    "LogStretch",
    "Pipeline",
    "PowerStretch",
    "SqrtStretch",
]


def _prepare(values: np.ndarray, clip: bool) -> np.ndarray:
    out = np.array(values, dtype=np.float32, copy=True)
    if clip:
        np.clip(out, 0.0, 1.0, out=out)
    return out


class BaseStretch:
    """Base class: subclasses implement :meth:`__call__` on values in ``[0, 1]``."""

    def __call__(self, values: np.ndarray, clip: bool = True) -> np.ndarray:
        """Return the stretched values as a new float32 array."""
        raise NotImplementedError

    def __add__(self, other: Callable[..., np.ndarray]) -> Pipeline:
        return Pipeline(other, self)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "data")
        return f"{type(self).__name__}({params})"


class Pipeline:
    """Transforms applied in order, first to last (built by ``stretch + other``).

    Parameters
    ----------
    *steps : callable
        Intervals and stretches; each maps an array to a float32 array.
    """

    def __init__(self, *steps: Callable[..., np.ndarray]):
        self.steps = steps

    def __call__(self, values: np.ndarray, clip: bool = True) -> np.ndarray:
        """Apply every step in turn."""
        for step in self.steps:
            values = step(values, clip=clip)
        return values

    def __add__(self, other: Callable[..., np.ndarray]) -> Pipeline:
        return Pipeline(other, self)

    def __repr__(self) -> str:
        return " + ".join(repr(s) for s in reversed(self.steps))


class LinearStretch(BaseStretch):
    """``y = slope * x + intercept``."""

    def __init__(self, slope: float = 1.0, intercept: float = 0.0):
        self.slope = slope
        self.intercept = intercept

    def __call__(self, values, clip=True):
        out = _prepare(values, clip)
        if self.slope != 1:
            out *= np.float32(self.slope)
        if self.intercept != 0:
            out += np.float32(self.intercept)
        if clip:
            np.clip(out, 0.0, 1.0, out=out)
        return out


class SqrtStretch(BaseStretch):
    """``y = sqrt(x)``."""

    def __call__(self, values, clip=True):
        out = _prepare(values, clip)
        with np.errstate(invalid="ignore"):
            np.sqrt(out, out=out)
        return out


class PowerStretch(BaseStretch):
    """``y = x ** a`` with ``a > 0``."""

    def __init__(self, a: float = 2.0):
        if a <= 0:
            raise InvalidInputError(f"PowerStretch needs a > 0, got {a}")
        self.a = a

    def __call__(self, values, clip=True):
        out = _prepare(values, clip)
        with np.errstate(invalid="ignore"):
            np.power(out, np.float32(self.a), out=out)
        return out


class LogStretch(BaseStretch):
    """``y = log(a x + 1) / log(a + 1)``; brings up faint structure."""

    def __init__(self, a: float = 1000.0):
        if a <= 0:
            raise InvalidInputError(f"LogStretch needs a > 0, got {a}")
        self.a = a

    def __call__(self, values, clip=True):
        out = _prepare(values, clip)
        with np.errstate(invalid="ignore", divide="ignore"):
            out *= np.float32(self.a)
            out += 1.0
            np.log(out, out=out)
            out /= np.float32(np.log(self.a + 1.0))
        return out


class AsinhStretch(BaseStretch):
    """``y = asinh(x / a) / asinh(1 / a)``: linear near 0, logarithmic above ``a``."""

    def __init__(self, a: float = 0.1):
        if not 0 < a <= 1:
            raise InvalidInputError(f"AsinhStretch needs 0 < a <= 1, got {a}")
        self.a = a

    def __call__(self, values, clip=True):
        out = _prepare(values, clip)
        out /= np.float32(self.a)
        np.arcsinh(out, out=out)
        out /= np.float32(np.arcsinh(1.0 / self.a))
        return out


class HistEqStretch(BaseStretch):
    """Histogram equalisation: each value maps to its rank among the reference values.

    Parameters
    ----------
    data : array-like, optional
        Reference data (as in astropy, normalised here by its own min/max). When
        omitted, the values the stretch is called on are their own reference, so the
        stretch fits whatever image it is given.
    n_samples : int, optional
        Use about this many reference values (at a regular stride); keeps large
        images fast. ``None`` uses all of them.
    """

    def __init__(self, data: np.ndarray | None = None, n_samples: int | None = 100_000):
        self.n_samples = n_samples
        self.data = None if data is None else self._reference(data, normalise=True)

    def _reference(self, data: np.ndarray, normalise: bool) -> np.ndarray:
        ref = finite_values(data)
        if self.n_samples is not None and ref.size > self.n_samples:
            ref = ref[:: ref.size // self.n_samples]
        ref = np.sort(ref)
        if normalise and ref.size:
            width = ref[-1] - ref[0]
            ref = (ref - ref[0]) / width if width > 0 else np.zeros_like(ref)
        return ref

    def __call__(self, values, clip=True):
        out = _prepare(values, clip)
        ref = self.data if self.data is not None else self._reference(out, normalise=False)
        if ref.size < 2:
            return out
        ranks = np.linspace(0.0, 1.0, ref.size)
        finite = np.isfinite(out)
        out[finite] = np.interp(out[finite], ref, ranks)
        return out
