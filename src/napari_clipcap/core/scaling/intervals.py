"""Intervals: choose the data limits ``(vmin, vmax)`` that map to 0 and 1.

The classes follow :mod:`astropy.visualization` (same names, parameters and maths) so
users who know astropy know these. Two differences: non-finite values are ignored in
one place (:func:`finite_values`), and limits are always plain Python floats.

Calling an interval normalises an array to ``[0, 1]``::

    >>> ZScaleInterval()(image)            # doctest: +SKIP

Combine with a stretch as in astropy, ``AsinhStretch() + ZScaleInterval()``: the right
operand is applied first (see :mod:`napari_clipcap.core.scaling.stretches`).
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError

__all__ = [
    "BaseInterval",
    "DtypeInterval",
    "ManualInterval",
    "MinMaxInterval",
    "PercentileInterval",
    "ZScaleInterval",
    "finite_values",
]


#: Images larger than this many pixels are pre-sampled at a stride by ZScaleInterval.
PRESAMPLE = 1_000_000


def finite_values(values: np.ndarray, max_samples: int | None = None) -> np.ndarray:
    """Return the finite values of ``values`` as a flat float64 array.

    Parameters
    ----------
    values : array-like
        Any numeric array; masked elements of a masked array are dropped too.
    max_samples : int, optional
        When given and the array is larger, a regular stride picks about
        ``max_samples`` values first, so huge images cost little.

    Returns
    -------
    ndarray
        1D float64 array, possibly empty.
    """
    arr = np.ma.getdata(values)
    mask = np.ma.getmask(values)
    flat = np.asarray(arr).ravel()
    if mask is not np.ma.nomask:
        flat = flat[~np.asarray(mask).ravel()]
    if max_samples is not None and flat.size > max_samples:
        flat = flat[:: flat.size // max_samples]
    flat = flat.astype(np.float64, copy=False)
    return flat[np.isfinite(flat)]


class BaseInterval:
    """Base class: subclasses implement :meth:`get_limits`."""

    def get_limits(self, values: np.ndarray) -> tuple[float, float]:
        """Return ``(vmin, vmax)`` for ``values``, ignoring NaN and inf."""
        raise NotImplementedError

    def __call__(self, values: np.ndarray, clip: bool = True) -> np.ndarray:
        """Normalise ``values`` to ``[0, 1]`` (float32) with this interval's limits."""
        vmin, vmax = self.get_limits(values)
        return normalize(values, vmin, vmax, clip=clip)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


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


class ManualInterval(BaseInterval):
    """Fixed limits; a limit left as ``None`` is the data's min or max."""

    def __init__(self, vmin: float | None = None, vmax: float | None = None):
        self.vmin = vmin
        self.vmax = vmax

    def get_limits(self, values):
        if self.vmin is not None and self.vmax is not None:
            return float(self.vmin), float(self.vmax)
        lo, hi = MinMaxInterval().get_limits(values)
        return (lo if self.vmin is None else float(self.vmin)), (
            hi if self.vmax is None else float(self.vmax)
        )


class MinMaxInterval(BaseInterval):
    """The smallest and largest finite value."""

    def get_limits(self, values):
        finite = finite_values(values)
        if finite.size == 0:
            return 0.0, 0.0
        return float(finite.min()), float(finite.max())


class PercentileInterval(BaseInterval):
    """Keep the central ``percentile`` per cent of the finite values.

    Parameters
    ----------
    percentile : float
        Per cent of values kept, e.g. ``99.5`` clips 0.25 % at each end.
    lower_percentile, upper_percentile : float, optional
        Asymmetric limits instead (astropy's ``AsymmetricPercentileInterval``).
    n_samples : int, optional
        Estimate from about this many values taken at a regular stride (astropy draws
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
        self.lower_percentile = lower_percentile
        self.upper_percentile = upper_percentile
        self.n_samples = n_samples

    def get_limits(self, values):
        finite = finite_values(values, self.n_samples)
        if finite.size == 0:
            return 0.0, 0.0
        lo = self.lower_percentile
        hi = self.upper_percentile
        lo = (100.0 - self.percentile) / 2.0 if lo is None else lo
        hi = 100.0 - (100.0 - self.percentile) / 2.0 if hi is None else hi
        vmin, vmax = np.percentile(finite, [lo, hi])
        return float(vmin), float(vmax)


class ZScaleInterval(BaseInterval):
    """IRAF's zscale: limits around the median from a line fit to sorted samples.

    The algorithm and defaults are those of :class:`astropy.visualization.ZScaleInterval`.

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

    def __init__(
        self,
        n_samples: int = 1000,
        contrast: float = 0.25,
        max_reject: float = 0.5,
        min_npixels: int = 5,
        krej: float = 2.5,
        max_iterations: int = 5,
    ):
        self.n_samples = n_samples
        self.contrast = contrast
        self.max_reject = max_reject
        self.min_npixels = min_npixels
        self.krej = krej
        self.max_iterations = max_iterations

    def get_limits(self, values):
        # Exactly astropy's samples up to a million pixels; beyond, a cheap pre-stride.
        finite = finite_values(values, max(PRESAMPLE, self.n_samples))
        if finite.size == 0:
            return 0.0, 0.0
        stride = int(max(1.0, finite.size / self.n_samples))
        samples = np.sort(finite[::stride][: self.n_samples])
        npix = samples.size
        vmin, vmax = float(samples[0]), float(samples[-1])
        minpix = max(self.min_npixels, int(npix * self.max_reject))
        x = np.arange(npix)
        ngoodpix, last_ngoodpix = npix, npix + 1
        badpix = np.zeros(npix, dtype=bool)
        kernel = np.ones(max(1, int(npix * 0.01)), dtype=bool)
        fit = None
        for _ in range(self.max_iterations):
            if ngoodpix >= last_ngoodpix or ngoodpix < minpix:
                break
            fit = np.polyfit(x, samples, deg=1, w=(~badpix).astype(int))
            flat = samples - np.poly1d(fit)(x)
            threshold = self.krej * flat[~badpix].std()
            badpix[(flat < -threshold) | (flat > threshold)] = True
            badpix = np.convolve(badpix, kernel, mode="same")
            last_ngoodpix, ngoodpix = ngoodpix, int(np.sum(~badpix))
        if fit is not None and ngoodpix >= minpix:
            slope = fit[0] / self.contrast if self.contrast > 0 else fit[0]
            center = (npix - 1) // 2
            median = float(np.median(samples))
            vmin = max(vmin, median - (center - 1) * slope)
            vmax = min(vmax, median + (npix - center) * slope)
        return float(vmin), float(vmax)


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
