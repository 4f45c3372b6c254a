"""The values an interval is computed from: finite, unmasked, and sampled when large.

Two ways to sample:

- :func:`finite_values` with ``max_samples``: at most that many values at a regular
  stride (percentile intervals, histogram equalisation);
- :func:`stride_sample`: exactly the values astropy's ``ZScaleInterval`` samples (every
  ``stride``-th finite value, ``stride = n_finite // n_samples``), found by index
  arithmetic on the positions of the non-finite pixels instead of copying all finite
  values first, so a huge image costs one ``isfinite`` pass.
"""

from __future__ import annotations

import numpy as np
from astropy.utils.masked import get_data_and_mask

__all__ = ["finite_values", "stride_sample"]


def _flat(values: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Flat data (C order, no copy when contiguous) and flat mask or None."""
    data, mask = get_data_and_mask(np.asanyarray(values))
    flat = np.asarray(data).ravel()
    if mask is not None:
        mask = np.broadcast_to(np.asarray(mask, dtype=bool), np.shape(data)).ravel()
    return flat, mask


def finite_values(values: np.ndarray, max_samples: int | None = None) -> np.ndarray:
    """Return the finite values of ``values`` as a flat float64 array.

    Parameters
    ----------
    values : array-like
        Any numeric array; masked elements of a masked array are dropped too.
    max_samples : int, optional
        When given and the array is larger, at most ``max_samples`` values are taken at
        a regular stride first, so huge images cost little.

    Returns
    -------
    ndarray
        1D float64 array, possibly empty.
    """
    flat, mask = _flat(values)
    if mask is not None:
        flat = flat[~mask]
    if max_samples is not None and flat.size > max_samples:
        flat = flat[:: -(-flat.size // max(1, int(max_samples)))]
    flat = flat.astype(np.float64, copy=False)
    return flat[np.isfinite(flat)]


def stride_sample(values: np.ndarray, n_samples: int) -> np.ndarray:
    """Return astropy's zscale sample of ``values``: every ``stride``-th finite value.

    Equals ``finite[::stride][:n_samples]`` with ``finite`` the finite, unmasked values
    in C order and ``stride = int(max(1, finite.size / n_samples))``, as in
    :meth:`astropy.visualization.ZScaleInterval.get_limits`, without building
    ``finite``.

    Parameters
    ----------
    values : array-like
        Any numeric array, masked arrays included.
    n_samples : int
        Most values returned.

    Returns
    -------
    ndarray
        1D array of at most ``n_samples`` values, in the input's dtype, in image order.
    """
    if hasattr(values, "rows"):  # read where sliced: sampled a band of rows at a time
        return _banded_stride_sample(values, n_samples)
    flat, mask = _flat(values)
    bad = ~np.isfinite(flat) if flat.dtype.kind in "fc" else np.zeros(flat.shape, bool)
    if mask is not None:
        bad |= mask
    n_bad = int(np.count_nonzero(bad))
    n_good = flat.size - n_bad
    if n_good == 0:
        return flat[:0].copy()
    stride = int(max(1.0, n_good / n_samples))
    ranks = np.arange(0, n_good, stride)[:n_samples]  # which finite values, by rank
    if n_bad == 0:
        positions = ranks
    elif n_bad <= n_good:
        # The rank-j finite value sits at j + (number of bad pixels before it); bad
        # pixel i (at position b_i) comes before it when b_i - i <= j.
        bad_at = np.flatnonzero(bad)
        positions = ranks + np.searchsorted(bad_at - np.arange(n_bad), ranks, side="right")
    else:
        positions = np.flatnonzero(~bad)[ranks]
    return flat[positions]


def _banded_stride_sample(values, n_samples: int, band_rows: int = 256) -> np.ndarray:
    """:func:`stride_sample` of an array read a band of rows at a time (``values.rows``):
    one pass counts the finite values, a second takes every ``stride``-th of them."""
    bands = range(0, values.shape[0], band_rows)

    def finite_of(r: int) -> np.ndarray:
        flat = np.asarray(values.rows(r, r + band_rows)).ravel()
        return flat[np.isfinite(flat)] if flat.dtype.kind in "fc" else flat

    n_good = sum(finite_of(r).size for r in bands)
    if n_good == 0:
        return np.asarray(values.rows(0, 0)).ravel()
    stride = int(max(1.0, n_good / n_samples))
    last = min(n_good, n_samples * stride)  # ranks below this, every stride-th, are taken
    parts, rank = [], 0
    for r in bands:
        if rank >= last:
            break
        good = finite_of(r)
        first = -(-rank // stride) * stride  # first multiple of stride at or after rank
        # copied: a view would keep every band's finite values alive, the whole image
        parts.append(good[first - rank : min(good.size, last - rank) : stride].copy())
        rank += good.size
    return np.concatenate(parts)
