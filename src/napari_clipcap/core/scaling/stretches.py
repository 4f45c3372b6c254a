"""Stretches: monotonic maps of ``[0, 1]`` onto ``[0, 1]``, astropy.visualization's.

Each class subclasses its :mod:`astropy.visualization` namesake (formulas, defaults
and ``inverse`` are astropy's: ``LogStretch(a=1000)``, ``AsinhStretch(a=0.1)``, ...).
What they add: the work is done in float32 and never modifies the input (unless it is
passed as ``out``), bad parameters raise
:class:`~napari_clipcap.core.errors.InvalidInputError`, and :class:`HistEqStretch`
may fit the values it is called on.

``stretch + interval`` (or ``stretch + stretch``) builds a :class:`Pipeline`; as in
astropy the right operand is applied first::

    >>> to_unit = AsinhStretch() + ZScaleInterval()     # doctest: +SKIP
    >>> to_unit(image)                                   # doctest: +SKIP
"""

from __future__ import annotations

import copy

import numpy as np
from astropy import visualization as av

from ..errors import InvalidInputError
from .pipeline import Composable, Pipeline
from .sampling import finite_values

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


class BaseStretch(Composable, av.BaseStretch):
    """astropy's base stretch, computing in a float32 copy of the input.

    Subclasses list the astropy class after this one; its ``__call__`` then works in
    place on that copy.
    """

    def __call__(
        self, values: np.ndarray, clip: bool = True, out: np.ndarray | None = None, **kwargs
    ) -> np.ndarray:
        """Return the stretched values: a new float32 array, or ``out`` when given.

        Parameters
        ----------
        values : array-like
            Values, normally in ``[0, 1]``.
        clip : bool
            Clip to ``[0, 1]`` before and after stretching.
        out : ndarray, optional
            Float array to write into (may be ``values`` itself).
        **kwargs
            Passed to astropy (``invalid=`` of the sqrt, power and log stretches).

        Returns
        -------
        ndarray
            The stretched values; NaN stays NaN.
        """
        if out is None:
            values = out = np.array(values, dtype=np.float32, copy=True)
        if out.ndim == 0:  # astropy assigns to ``out[:]``
            self(np.reshape(values, 1), clip=clip, out=out.reshape(1), **kwargs)
            return out
        fast = self._in_dtype(out.dtype)
        return super(BaseStretch, fast).__call__(values, clip=clip, out=out, **kwargs)

    def _in_dtype(self, dtype: np.dtype) -> BaseStretch:
        """This stretch with its parameter ``a`` in ``dtype``.

        astropy derives constants from ``a`` (``asinh(1 / a)``, ``log(a + 1)``); as
        Python floats they are float64 scalars that make numpy work on a float32 array
        in float64, which doubles the cost of those stretches.
        """
        if np.dtype(dtype) != np.float32 or not isinstance(getattr(self, "a", None), (int, float)):
            return self
        twin = copy.copy(self)
        twin.a = np.float32(self.a)
        return twin

    def __repr__(self) -> str:
        hidden = {"data", "values"}
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k not in hidden)
        return f"{type(self).__name__}({params})"


def _check(name: str, a: float, ok: bool, rule: str) -> float:
    if not ok:
        raise InvalidInputError(f"{name} needs {rule}, got {a}")
    return a


class LinearStretch(BaseStretch, av.LinearStretch):
    """``y = slope * x + intercept``."""


class SqrtStretch(BaseStretch, av.SqrtStretch):
    """``y = sqrt(x)``."""


class PowerStretch(BaseStretch, av.PowerStretch):
    """``y = x ** a`` with ``a > 0``."""

    def __init__(self, a: float = 2.0):
        super().__init__(_check("PowerStretch", a, a > 0, "a > 0"))


class LogStretch(BaseStretch, av.LogStretch):
    """``y = log(a x + 1) / log(a + 1)``; brings up faint structure."""

    def __init__(self, a: float = 1000.0):
        super().__init__(_check("LogStretch", a, a > 0, "a > 0"))


class AsinhStretch(BaseStretch, av.AsinhStretch):
    """``y = asinh(x / a) / asinh(1 / a)``: linear near 0, logarithmic above ``a``."""

    def __init__(self, a: float = 0.1):
        super().__init__(_check("AsinhStretch", a, 0 < a <= 1, "0 < a <= 1"))


class HistEqStretch(BaseStretch, av.HistEqStretch):
    """Histogram equalisation: each value maps to its rank among the reference values.

    Parameters
    ----------
    data : array-like, optional
        Reference data (as in astropy, normalised by its own min/max). When omitted,
        the values the stretch is called on are their own reference, so the stretch
        fits whatever image it is given.
    n_samples : int, optional
        Use at most this many reference values (at a regular stride); keeps large
        images fast. ``None`` uses all of them.
    """

    def __init__(self, data: np.ndarray | None = None, n_samples: int | None = 100_000):
        self.n_samples = n_samples
        self.data = self.values = None
        if data is None:
            return
        ref = np.sort(finite_values(data, n_samples))
        if ref.size and ref[-1] > ref[0]:
            av.HistEqStretch.__init__(self, ref)
        else:  # constant or empty reference: astropy would divide by zero
            self.data, self.values = np.zeros_like(ref), np.linspace(0.0, 1.0, ref.size)

    @classmethod
    def _fitted(cls, ref: np.ndarray) -> HistEqStretch:
        """The stretch for sorted reference values ``ref``, used as they are."""
        fitted = cls(n_samples=None)
        fitted.data, fitted.values = ref, np.linspace(0.0, 1.0, ref.size)
        return fitted

    def __call__(self, values, clip=True, out=None):
        if self.data is not None and self.data.size >= 2:
            return super().__call__(values, clip=clip, out=out)
        if out is None:
            values = out = np.array(values, dtype=np.float32, copy=True)
        elif out is not values:
            out[...] = values
        if clip:
            np.clip(out, 0.0, 1.0, out=out)
        if self.data is None:  # the values are their own reference
            ref = np.sort(finite_values(out, self.n_samples))
            if ref.size >= 2:
                return self._fitted(ref)(out, clip=clip, out=out)
        return out
