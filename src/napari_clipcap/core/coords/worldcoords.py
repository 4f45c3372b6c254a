"""World coordinates of a pixel, as text for napari's status bar.

:func:`format_world` tries each registered formatter in turn and returns the first
text. Two are built in and registered here, explicitly, before any other: celestial WCS
(``metadata["wcs"]``), giving ``RA 10h12m13.12s Dec +12°03'04.1"``, and map coordinates
(``metadata["crs"]`` and ``metadata["transform"]``, from
:func:`~napari_clipcap.core.coords.georef.format_geo`). Other code adds its own::

    from napari_clipcap.core.coords.worldcoords import register_formatter

    @register_formatter("crs")
    def format_map(metadata, row, col):
        if "crs" not in metadata:
            return None
        ...
        return f"lon {lon:.5f}° lat {lat:.5f}°"
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

__all__ = [
    "celestial_part",
    "format_celestial",
    "format_dec",
    "format_ra",
    "format_world",
    "formatters",
    "register_formatter",
    "world_metadata",
]

#: ``formatter(metadata, row, col) -> str | None``; ``None`` means "not mine".
WorldFormatter = Callable[[Mapping[str, Any], float, float], "str | None"]
_FORMATTERS: dict[str, WorldFormatter] = {}
_KEYS: dict[str, tuple[str, ...]] = {}
_BUILTINS_DONE = False


def register_formatter(
    name: str, func: WorldFormatter | None = None, *, keys: tuple[str, ...] | None = None
) -> WorldFormatter | Callable[[WorldFormatter], WorldFormatter]:
    """Register ``func(metadata, row, col) -> str | None`` under ``name``.

    Usable as a decorator. Registering a name again replaces the earlier formatter.
    Formatters are tried in registration order. ``keys`` are the metadata keys the
    formatter reads (default: ``(name,)``); :func:`world_metadata` copies them onto
    result layers so those show the same world coordinates.
    """

    def add(f: WorldFormatter) -> WorldFormatter:
        _FORMATTERS[name] = f
        _KEYS[name] = tuple(keys) if keys is not None else (name,)
        return f

    return add if func is None else add(func)


def formatters() -> dict[str, WorldFormatter]:
    """The registered formatters, by name, in the order they are tried."""
    _register_builtins()
    return dict(_FORMATTERS)


def _register_builtins() -> None:
    """Register the celestial and map formatters first, once."""
    global _BUILTINS_DONE
    if _BUILTINS_DONE:
        return
    _BUILTINS_DONE = True
    from .georef import GEO_KEYS, format_geo

    builtins = {"wcs": (format_celestial, ("wcs",)), "crs": (format_geo, GEO_KEYS)}
    others = {name: (f, _KEYS[name]) for name, f in _FORMATTERS.items() if name not in builtins}
    _FORMATTERS.clear()
    _KEYS.clear()
    for name, (f, keys) in {**builtins, **others}.items():
        register_formatter(name, f, keys=keys)


def world_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """The part of ``metadata`` that any registered formatter reads (WCS, CRS, ...).

    A result layer laid pixel for pixel over a source layer (a heatmap of the displayed
    plane) gets these in its own metadata, so the status bar shows the same RA/Dec or
    map coordinates over it and exporters can write it on the source's grid.
    """
    if not metadata:
        return {}
    _register_builtins()
    wanted = {k for keys in _KEYS.values() for k in keys}
    return {k: v for k, v in metadata.items() if k in wanted}


def format_world(metadata: Mapping[str, Any] | None, row: float, col: float) -> str | None:
    """Return the world coordinates of pixel ``(row, col)`` as text, or ``None``.

    Parameters
    ----------
    metadata : mapping
        A layer's metadata (``wcs``, ``crs``/``transform``, ...).
    row, col : float
        Data (array) coordinates; integers are pixel centres.

    Returns
    -------
    str or None
        Text from the first formatter that understands the metadata; ``None`` when
        none does or the coordinates have no finite world position. A failing
        formatter is skipped: the status bar must never raise.
    """
    if not metadata:
        return None
    _register_builtins()
    for func in list(_FORMATTERS.values()):
        try:
            text = func(metadata, float(row), float(col))
        except Exception:  # a failing formatter is skipped: the status bar never raises
            logger.debug("world-coordinate formatter %r failed", func, exc_info=True)
            continue
        if text:
            return text
    return None


def _sexagesimal(value: float, decimals: int) -> tuple[int, int, float]:
    """Split a non-negative value into (units, minutes, seconds) rounded at ``decimals``."""
    scale = 10**decimals
    total = round(value * 3600 * scale)  # in 1/scale seconds, so rounding carries
    units, rest = divmod(total, 3600 * scale)
    minutes, seconds = divmod(rest, 60 * scale)
    return int(units), int(minutes), seconds / scale


def format_ra(ra_deg: float, decimals: int = 2) -> str:
    """Right ascension in hours: ``10h12m13.12s``."""
    h, m, s = _sexagesimal((ra_deg % 360.0) / 15.0, decimals)
    h %= 24
    width = 3 + decimals if decimals else 2
    return f"{h:02d}h{m:02d}m{s:0{width}.{decimals}f}s"


def format_dec(dec_deg: float, decimals: int = 1) -> str:
    """Declination with sign: ``+12°03'04.1"``."""
    sign = "-" if dec_deg < 0 else "+"
    d, m, s = _sexagesimal(abs(dec_deg), decimals)
    width = 3 + decimals if decimals else 2
    return f"{sign}{d:02d}°{m:02d}'{s:0{width}.{decimals}f}\""


def celestial_part(wcs: Any) -> Any:
    """The 2D celestial part of a WCS whose celestial axes are the image's x and y;
    None for any other WCS (or none)."""
    inner = getattr(wcs, "wcs", None)
    if inner is None or not getattr(wcs, "has_celestial", False):
        return None
    if {inner.lng, inner.lat} != {0, 1}:
        return None  # celestial axes are not the displayed image plane
    return wcs.celestial if wcs.naxis > 2 else wcs


def format_celestial(metadata: Mapping[str, Any], row: float, col: float) -> str | None:
    """RA/Dec (or galactic/ecliptic longitude and latitude) from ``metadata["wcs"]``."""
    celestial = celestial_part(metadata.get("wcs"))
    if celestial is None:
        return None
    world = celestial.all_pix2world(np.array([[col, row]]), 0)[0]  # with SIP/distortion
    lon, lat = float(world[celestial.wcs.lng]), float(world[celestial.wcs.lat])
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    ctype = celestial.wcs.ctype[celestial.wcs.lng].upper()
    if ctype.startswith("RA"):
        return f"RA {format_ra(lon)} Dec {format_dec(lat)}"
    if ctype.startswith("GLON"):
        return f"l {lon % 360:.5f}° b {lat:+.5f}°"
    if ctype.startswith("ELON"):
        return f"λ {lon % 360:.5f}° β {lat:+.5f}°"
    lng_name = ctype.split("-")[0] or "lon"
    lat_name = celestial.wcs.ctype[celestial.wcs.lat].split("-")[0] or "lat"
    return f"{lng_name} {lon:.5f}° {lat_name} {lat:+.5f}°"
