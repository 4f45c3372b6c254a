"""Intervals: choose the data limits ``(vmin, vmax)`` that map to 0 and 1.

The classes are :mod:`astropy.visualization`'s (they subclass them: same names,
parameters and maths, ``isinstance(ZScaleInterval(), astropy.visualization.BaseInterval)``
holds). What they add:

- the values are taken by :meth:`BaseInterval.sample` first: finite and unmasked, and
  for :class:`PercentileInterval` with ``n_samples`` at a regular stride (astropy draws
  at random; a stride keeps results reproducible). :class:`ZScaleInterval` finds
  exactly astropy's samples without copying every finite value of a huge image;
- limits are plain Python floats, and no finite value at all gives ``(0.0, 0.0)``;
- calling an interval normalises to ``[0, 1]`` in float32 (float64 for 64-bit and
  32-bit integer data), with a zero-width interval giving 0::

    >>> ZScaleInterval()(image)            # doctest: +SKIP

Combine with a stretch as in astropy, ``AsinhStretch() + ZScaleInterval()``: the right
operand is applied first (see :mod:`napari_clipcap.core.scaling.pipeline`).
"""

from __future__ import annotations

import numpy as np
from astropy import visualization as av

from ..errors import InvalidInputError
from .pipeline import Composable
from .sampling import finite_values, stride_sample

__all__ = [
    "BaseInterval",
    "DtypeInterval",
    "ManualInterval",
    "MinMaxInterval",
    "PercentileInterval",
    "ZScaleInterval",
    "finite_values",
    "normalize",
]


def normalize(values: np.ndarray, vmin: float, vmax: float, clip: bool = True) -> np.ndarray:
    """Map ``vmin -> 0`` and ``vmax -> 1`` in float32; a zero-width interval gives 0."""
    values = np.asarray(values)
    wide = values.dtype.itemsize > 4 or (values.dtype.kind in "iu" and values.dtype.itemsize > 2)
    out = values.astype(np.float64 if wide else np.float32, copy=True)
    width = float(vmax) - float(vmin)
    out -= out.dtype.type(vmin)
    if width > 0:
        out /= out.dtype.type(width)
    else:
        out *= 0
    if clip:
        np.clip(out, 0.0, 1.0, out=out)
    return out.astype(np.float32, copy=False)


class BaseInterval(Composable, av.BaseInterval):
    """astropy's base interval, on finite values, with float limits and float32 output.

    Subclasses list the astropy class after this one; its ``get_limits`` then runs on
    the output of :meth:`sample`.
    """

    def sample(self, values: np.ndarray) -> np.ndarray:
        """Return the values the limits are computed from: finite, unmasked, 1D."""
        return finite_values(values)

    @staticmethod
    def _process_values(values: np.ndarray) -> np.ndarray:
        # astropy's own filtering step; ``values`` come from ``sample`` already.
        return np.asarray(values).ravel()

    def get_limits(self, values: np.ndarray) -> tuple[float, float]:
        """Return ``(vmin, vmax)`` for ``values``, ignoring NaN, inf and masked values.

        Parameters
        ----------
        values : array-like
            Any numeric array.

        Returns
        -------
        tuple of float
            The limits; ``(0.0, 0.0)`` when no value is finite.
        """
        samples = self.sample(values)
        if samples.size == 0:
            return 0.0, 0.0
        vmin, vmax = super().get_limits(samples)
        return float(vmin), float(vmax)

    def __call__(
        self, values: np.ndarray, clip: bool = True, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Normalise ``values`` to ``[0, 1]`` (float32) with this interval's limits."""
        vmin, vmax = self.get_limits(values)
        result = normalize(values, vmin, vmax, clip=clip)
        if out is None:
            return result
        out[...] = result
        return out

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


class ManualInterval(BaseInterval, av.ManualInterval):
    """Fixed limits; a limit left as ``None`` is the data's finite min or max."""

    def get_limits(self, values):
        if self.vmin is not None and self.vmax is not None:
            return float(self.vmin), float(self.vmax)
        return super().get_limits(values)


class MinMaxInterval(BaseInterval, av.MinMaxInterval):
    """The smallest and largest finite value."""


class PercentileInterval(BaseInterval, av.PercentileInterval):
    """Keep the central ``percentile`` per cent of the finite values.

    Parameters
    ----------
    percentile : float
        Per cent of values kept, e.g. ``99.5`` clips 0.25 % at each end.
    lower_percentile, upper_percentile : float, optional
        Asymmetric limits instead (astropy's ``AsymmetricPercentileInterval``).
    n_samples : int, optional
        Estimate from at most this many values taken at a regular stride (astropy draws
        them at random; a stride keeps results reproducible).
    """

    def __init__(
        self,
        percentile: float = 99.5,
        *,
        lower_percentile: float | None = None,
        upper_percentile: float | None = None,
        n_samples: int | None = None,
    ):
        if not 0 < percentile <= 100:
            raise InvalidInputError(f"percentile must be in (0, 100], got {percentile}")
        self.percentile = percentile
        av.PercentileInterval.__init__(self, percentile, n_samples=n_samples)
        if lower_percentile is not None:
            self.lower_percentile = lower_percentile
        if upper_percentile is not None:
            self.upper_percentile = upper_percentile

    def sample(self, values):
        """The finite values, at most ``n_samples`` of them at a regular stride."""
        return finite_values(values, self.n_samples)


class ZScaleInterval(BaseInterval, av.ZScaleInterval):
    """IRAF's zscale: limits around the median from a line fit to sorted samples.

    :class:`astropy.visualization.ZScaleInterval` with the same parameters and the same
    samples (every ``stride``-th finite value); only the way the samples are found
    differs, so that a huge image is not copied.

    Parameters
    ----------
    n_samples : int
        Number of values sampled at a regular stride.
    contrast : float
        Divides the fitted slope; smaller is wider.
    max_reject : float
        Largest fraction of samples that may be rejected.
    min_npixels : int
        Fewest samples left after rejection for the fit to be used.
    krej : float
        Rejection threshold in standard deviations.
    max_iterations : int
        Most rejection rounds.
    """

    def sample(self, values):
        """Exactly the values astropy's ``ZScaleInterval`` samples."""
        return stride_sample(values, self.n_samples)

    def get_limits(self, values):
        if self.max_iterations < 1:  # astropy would use a fit it never made
            samples = self.sample(values)
            if samples.size == 0:
                return 0.0, 0.0
            return float(samples.min()), float(samples.max())
        return super().get_limits(values)


class DtypeInterval(BaseInterval):
    """The "unchanged" interval: ``value / 255`` for 8-bit, ``/ 65535`` for 16-bit.

    Floats and booleans are taken as already in ``[0, 1]`` (and clipped). Other
    integer types (int16, int32, ...) have no natural range, so their finite min/max
    is used.
    """

    def get_limits(self, values):
        dtype = getattr(values, "dtype", None)
        dtype = np.asarray(values).dtype if dtype is None else np.dtype(dtype)
        if dtype == np.uint8:
            return 0.0, 255.0
        if dtype == np.uint16:
            return 0.0, 65535.0
        if dtype.kind in "fb":
            return 0.0, 1.0
        return MinMaxInterval().get_limits(values)
