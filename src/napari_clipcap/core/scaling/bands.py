"""Band names of multispectral sensors and the composite presets built on them.

A band is named by a 0-based index along the band axis, or by a name: ``"B04"``,
``"B4"``, ``"SR_B4"`` and (through a sensor's aliases) ``"red"`` all name
Sentinel-2/Landsat red. :data:`COMPOSITES` lists the common composites; see
:mod:`napari_clipcap.core.scaling.composites` for the table and for making them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError

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
class CompositePreset:
    """A named band composite for one sensor."""

    label: str
    bands: tuple[str, str, str]
    orders: tuple[tuple[str, ...], ...]
    aliases: dict[str, str]


COMPOSITES: dict[str, CompositePreset] = {
    "s2-true": CompositePreset(
        "Sentinel-2 true colour (B04, B03, B02)",
        ("B4", "B3", "B2"),
        (S2_ORDER, S2_L2A_ORDER),
        _S2_ALIASES,
    ),
    "s2-false": CompositePreset(
        "Sentinel-2 false colour (B08, B04, B03)",
        ("B8", "B4", "B3"),
        (S2_ORDER, S2_L2A_ORDER),
        _S2_ALIASES,
    ),
    "s2-swir": CompositePreset(
        "Sentinel-2 SWIR (B12, B8A, B04)",
        ("B12", "B8A", "B4"),
        (S2_ORDER, S2_L2A_ORDER),
        _S2_ALIASES,
    ),
    "landsat-true": CompositePreset(
        "Landsat 8/9 true colour (B4, B3, B2)",
        ("B4", "B3", "B2"),
        (LANDSAT_ORDER, LANDSAT_SR_ORDER),
        _LANDSAT_ALIASES,
    ),
    "landsat-false": CompositePreset(
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
        preset = COMPOSITES.get(rgb.strip().lower())
        if preset is None:
            raise InvalidInputError(f"unknown composite {rgb!r}; presets: {', '.join(COMPOSITES)}")
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
