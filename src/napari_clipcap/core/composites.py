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
intervals of :mod:`napari_clipcap.core.scaling`, as an analyst would display it; nodata
(NaN) is ignored when choosing limits and becomes 0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InvalidInputError
from .intervals import BaseInterval, PercentileInterval, normalize
from .scaling import BaseStretch, LinearStretch, make_stretch, to_model_input

S2_ORDER = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12")
S2_L2A_ORDER = tuple(b for b in S2_ORDER if b != "B10")
LANDSAT_ORDER = tuple(f"B{i}" for i in range(1, 12))
LANDSAT_SR_ORDER = LANDSAT_ORDER[:7]

_S2_ALIASES = {
    "COASTAL": "B1",
    "BLUE": "B2",
    "GREEN": "B3",
    "RED": "B4",
    "REDEDGE1": "B5",
    "REDEDGE2": "B6",
    "REDEDGE3": "B7",
    "NIR": "B8",
    "NIR08": "B8A",
    "NARROWNIR": "B8A",
    "WATERVAPOUR": "B9",
    "WATERVAPOR": "B9",
    "CIRRUS": "B10",
    "SWIR1": "B11",
    "SWIR16": "B11",
    "SWIR2": "B12",
    "SWIR22": "B12",
}
_LANDSAT_ALIASES = {
    "COASTAL": "B1",
    "BLUE": "B2",
    "GREEN": "B3",
    "RED": "B4",
    "NIR": "B5",
    "NIR08": "B5",
    "SWIR1": "B6",
    "SWIR16": "B6",
    "SWIR2": "B7",
    "SWIR22": "B7",
    "PAN": "B8",
    "CIRRUS": "B9",
    "TIRS1": "B10",
    "TIRS2": "B11",
}


@dataclass(frozen=True)
class Preset:
    """A named band composite for one sensor."""

    label: str
    bands: tuple[str, str, str]
    orders: tuple[tuple[str, ...], ...]
    aliases: dict[str, str]


PRESETS: dict[str, Preset] = {
    "s2-true": Preset(
        "Sentinel-2 true colour (B04, B03, B02)",
        ("B4", "B3", "B2"),
        (S2_ORDER, S2_L2A_ORDER),
        _S2_ALIASES,
    ),
    "s2-false": Preset(
        "Sentinel-2 false colour (B08, B04, B03)",
        ("B8", "B4", "B3"),
        (S2_ORDER, S2_L2A_ORDER),
        _S2_ALIASES,
    ),
    "s2-swir": Preset(
        "Sentinel-2 SWIR (B12, B8A, B04)",
        ("B12", "B8A", "B4"),
        (S2_ORDER, S2_L2A_ORDER),
        _S2_ALIASES,
    ),
    "landsat-true": Preset(
        "Landsat 8/9 true colour (B4, B3, B2)",
        ("B4", "B3", "B2"),
        (LANDSAT_ORDER, LANDSAT_SR_ORDER),
        _LANDSAT_ALIASES,
    ),
    "landsat-false": Preset(
        "Landsat 8/9 false colour (B5, B4, B3)",
        ("B5", "B4", "B3"),
        (LANDSAT_ORDER, LANDSAT_SR_ORDER),
        _LANDSAT_ALIASES,
    ),
}

_CODE = re.compile(r"^(?:[A-Z0-9]+_)?B(?:AND)?_?0*(\d{1,2}A?)$")
_GENERIC = re.compile(r"^(band\s*\d+(\s*\(\d+\))?)?$", re.IGNORECASE)


def band_code(name: str, aliases: dict[str, str] | None = None) -> str | None:
    """Canonical band code of a band name: ``"B04"``, ``"SR_B4"``, ``"B4"`` -> ``"B4"``.

    Generic names (``"band 4"``, empty) give None: they say where a band sits in the
    file, not which band of a sensor it is. ``aliases`` maps words such as ``"RED"``.
    """
    if _GENERIC.match(name.strip()):
        return None
    key = re.sub(r"[\s\-]", "", name.strip().upper())
    match = _CODE.match(key)
    if match:
        return "B" + match.group(1)
    return (aliases or {}).get(re.sub(r"[_.]", "", key))


def resolve_band(
    spec: int | str, band_names: Sequence[str], aliases: dict[str, str] | None = None
) -> int:
    """Index (0-based) of the band named or numbered by ``spec``.

    Parameters
    ----------
    spec : int or str
        A 0-based index, or a band name (exact, case-insensitive, or as a band code).
    band_names : sequence of str
        Names of the bands in order.
    aliases : dict, optional
        Words that name band codes (``{"RED": "B4"}``).

    Returns
    -------
    int

    Raises
    ------
    InvalidInputError
        When no band matches.
    """
    n = len(band_names)
    if isinstance(spec, (int, np.integer)):
        if not -n <= int(spec) < n:
            raise InvalidInputError(f"band index {spec} outside the {n} bands")
        return int(spec) % n
    lowered = [b.strip().lower() for b in band_names]
    if spec.strip().lower() in lowered:
        return lowered.index(spec.strip().lower())
    want = band_code(spec, aliases)
    if want is not None:
        codes = [band_code(b, aliases) for b in band_names]
        if want in codes:
            return codes.index(want)
    raise InvalidInputError(f"no band {spec!r} among {list(band_names)}")


def resolve_rgb(rgb: str | Sequence[int | str], band_names: Sequence[str]) -> tuple[int, int, int]:
    """Band indices ``(r, g, b)`` for a preset key or three band specs.

    Raises
    ------
    InvalidInputError
        For an unknown preset, a band that does not exist, or not three bands.
    """
    if isinstance(rgb, str):
        preset = PRESETS.get(rgb.strip().lower())
        if preset is None:
            raise InvalidInputError(f"unknown composite {rgb!r}; presets: {', '.join(PRESETS)}")
        try:
            return tuple(resolve_band(b, band_names, preset.aliases) for b in preset.bands)
        except InvalidInputError:
            if all(band_code(b) is None for b in band_names):
                for order in preset.orders:
                    if len(order) == len(band_names):
                        return tuple(order.index(b) for b in preset.bands)
            raise InvalidInputError(
                f"{preset.label} needs bands {preset.bands}; this scene has {list(band_names)}"
            ) from None
    specs = list(rgb)
    if len(specs) != 3:
        raise InvalidInputError(f"a composite takes three bands (R, G, B), got {specs!r}")
    return tuple(resolve_band(s, band_names) for s in specs)


def default_composite(band_names: Sequence[str]) -> str | None:
    """The true-colour preset that fits these bands, or None (fewer than 3 bands, ...)."""
    n = len(band_names)
    candidates = ("landsat-true", "s2-true") if n in (7, 11) else ("s2-true", "landsat-true")
    for key in candidates:
        try:
            resolve_rgb(key, band_names)
        except InvalidInputError:
            continue
        return key
    return None


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
        :class:`~napari_clipcap.core.geotiff.GeoScene` (its full resolution level).
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
