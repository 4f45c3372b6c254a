"""Band composites: any three bands of a multispectral scene as R, G, B for the models.

Bands are chosen by index (0-based along the band axis), by name (``"B04"``, ``"B4"``,
``"SR_B4"`` and ``"red"`` all name Sentinel-2/Landsat red) or through a preset:

=================  ============================================  ====================
preset             what it shows                                 bands (R, G, B)
=================  ============================================  ====================
``s2-true``        Sentinel-2 true colour (4-3-2)                B04, B03, B02
``s2-false``       Sentinel-2 false colour, vegetation red       B08, B04, B03
``s2-swir``        Sentinel-2 short-wave infrared (12-8A-4)      B12, B8A, B04
``landsat-true``   Landsat 8/9 true colour (4-3-2)               B4, B3, B2
``landsat-false``  Landsat 8/9 false colour (5-4-3)              B5, B4, B3
=================  ============================================  ====================

When band names say nothing (``"band 1"`` ...), a preset falls back to its sensor's
standard band order if the band count fits it (13 or 12 bands for Sentinel-2 L1C/L2A,
EuroSAT's multispectral release included; 11 or 7 for Landsat 8/9 L1/L2).

Each band is stretched on its own between percentiles (2 and 98 by default) with the
intervals of :mod:`napari_clipcap.core.scaling.model_input`, as an analyst would display it; nodata
(NaN) is ignored when choosing limits and becomes 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .bands import (
    COMPOSITES,
    LANDSAT_ORDER,
    LANDSAT_SR_ORDER,
    S2_L2A_ORDER,
    S2_ORDER,
    CompositePreset,
    band_code,
    default_composite,
    resolve_band,
    resolve_rgb,
)
from .intervals import BaseInterval, PercentileInterval, normalize
from .model_input import BaseStretch, LinearStretch, make_stretch, to_model_input

__all__ = [
    "COMPOSITES",
    "LANDSAT_ORDER",
    "LANDSAT_SR_ORDER",
    "S2_L2A_ORDER",
    "S2_ORDER",
    "CompositePreset",
    "band_code",
    "band_limits",
    "composite",
    "default_composite",
    "lazy_composite",
    "resolve_band",
    "resolve_rgb",
]


def _percentiles(interval: BaseInterval | None) -> BaseInterval:
    if interval is None:
        return PercentileInterval(lower_percentile=2.0, upper_percentile=98.0, n_samples=200_000)
    return interval


def band_limits(
    bands: Any, indices: Sequence[int], interval: BaseInterval | None = None
) -> list[tuple[float, float]]:
    """Per-band ``(vmin, vmax)`` of ``bands[i]`` for each index, NaN ignored.

    Parameters
    ----------
    bands : array-like
        ``(bands, rows, cols)``; a coarse overview is a cheap, faithful sample.
    indices : sequence of int
        The bands to measure.
    interval : interval, optional
        Default: the 2nd and 98th percentiles.
    """
    interval = _percentiles(interval)
    return [interval.get_limits(np.asarray(bands[i])) for i in indices]


def composite(
    data: Any,
    rgb: str | Sequence[int | str] = "s2-true",
    *,
    band_names: Sequence[str] | None = None,
    interval: BaseInterval | None = None,
    stretch: str | BaseStretch | None = None,
    limits: Sequence[tuple[float, float]] | None = None,
) -> np.ndarray:
    """Three bands of a scene as the float32 ``H x W x 3`` image in ``[0, 1]`` models take.

    Parameters
    ----------
    data : array-like or GeoScene
        ``(bands, rows, cols)`` (NumPy or dask: only the three bands are read), or a
        :class:`~napari_clipcap.core.io.geotiff.GeoScene` (its full resolution level).
    rgb : str or sequence
        A preset key (see the module table) or three band indices or names.
    band_names : sequence of str, optional
        Names of the bands; taken from a GeoScene, else ``"band 1"`` ... .
    interval : interval, optional
        How each band's limits are chosen; default the 2nd and 98th percentiles, per band.
    stretch : str or stretch, optional
        Applied after the interval (linear by default).
    limits : sequence of (float, float), optional
        Fixed ``(vmin, vmax)`` for R, G and B (e.g. from :func:`band_limits` over the
        whole scene, so that crops look like the scene); overrides ``interval``.

    Returns
    -------
    ndarray
        Float32 ``(H, W, 3)`` in ``[0, 1]``; NaN (nodata) pixels are 0.
    """
    if hasattr(data, "levels") and hasattr(data, "band_names"):
        band_names = data.band_names if band_names is None else band_names
        data = data.data
    if getattr(data, "ndim", None) != 3:
        raise InvalidInputError(
            f"a composite needs bands x rows x cols, got shape {getattr(data, 'shape', None)}"
        )
    if band_names is None:
        band_names = [f"band {i + 1}" for i in range(data.shape[0])]
    if len(band_names) != data.shape[0]:
        raise InvalidInputError(f"{len(band_names)} band names for {data.shape[0]} bands")
    idx = resolve_rgb(rgb, band_names)
    if limits is None:
        return to_model_input(
            data,
            channels=idx,
            channel_axis=0,
            interval=_percentiles(interval),
            stretch=stretch,
            per_channel=True,
        )
    if len(limits) != 3:
        raise InvalidInputError(f"limits needs three (vmin, vmax) pairs, got {limits!r}")
    stretch = LinearStretch() if stretch is None else make_stretch(stretch)
    out = np.empty((*data.shape[1:], 3), np.float32)
    for c, (i, (lo, hi)) in enumerate(zip(idx, limits)):
        values = np.asarray(data[i])
        unit = stretch(normalize(values, lo, hi, clip=True), clip=True)
        unit[~np.isfinite(values)] = 0.0
        out[..., c] = unit
    return out


def _unit_block(block: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """One block of one band normalised to [0, 1], NaN -> 0 (for :func:`lazy_composite`)."""
    out = normalize(block, lo, hi, clip=True)
    out[~np.isfinite(block)] = 0.0
    return out


def lazy_composite(
    level: Any, indices: Sequence[int], limits: Sequence[tuple[float, float]]
) -> Any:
    """A dask ``(rows, cols, 3)`` float32 composite of one resolution level, for display.

    Nothing is read until a slice is computed, so napari reads only what it shows.
    """
    import dask.array as da

    planes = [
        da.map_blocks(_unit_block, level[i], lo, hi, dtype=np.float32)
        for i, (lo, hi) in zip(indices, limits)
    ]
    return da.stack(planes, axis=-1)
