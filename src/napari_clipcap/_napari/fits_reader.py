"""npe2 reader: FITS files -> napari image layers (one per image HDU).

The manifest gives this reader the pattern ``*`` so that FITS files with any name are
found; :func:`get_fits_reader` therefore answers ``None`` fast (one 80-byte read) for
everything that is neither named nor shaped like FITS.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core.coords.orientation import north_up_default, north_up_placement, sky_directions
from ..core.errors import ClipcapError, FileFormatError
from ..core.io.fits.reader import FITS_SUFFIXES, has_fits_suffix, is_fits
from ..core.io.reading import Pixels, open_image
from ..core.scaling.intervals import ZScaleInterval

LayerData = tuple[Any, ...]
PathOrPaths = str | Sequence[str]

#: Contrast limits are estimated from at most about this many pixels of one plane.
CONTRAST_SAMPLE = 512 * 512


def get_fits_reader(path: PathOrPaths) -> Callable[[PathOrPaths], list[LayerData]] | None:
    """Return :func:`read_fits_layers` when ``path`` is (or is named like) FITS.

    Files named ``*.fits`` (and the other FITS suffixes) are claimed even when broken,
    so that the user learns what is wrong with them; other names are claimed only when
    the file starts with the FITS signature.
    """
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    if not paths:
        return None
    for p in paths:
        if os.path.isdir(p) or not (has_fits_suffix(p) or is_fits(p)):
            return None
    return read_fits_layers


def _increasing(lo: float, hi: float) -> tuple[float, float]:
    """``(lo, hi)`` with ``hi > lo`` as floats, even where 1 is below float spacing.

    Values near 2**63 (uint64 data) are 2048 apart as float64: ``lo + 1.0 == lo``
    there, and napari refuses limits that do not increase.
    """
    lo, hi = float(lo), float(hi)
    if not hi > lo:
        hi = lo + 1.0
    if not hi > lo:
        hi = float(np.nextafter(lo, np.inf))
    return lo, hi


def _limits(image: Pixels) -> tuple[tuple[float, float], tuple[float, float]]:
    """ZScale limits and the finite range of a strided sample of the middle plane.

    The middle plane is the one napari shows first; the sample has at most about
    :data:`CONTRAST_SAMPLE` pixels. Of a lazy 2D image split into bands of rows only
    the middle band is read, so a huge image is never read whole for this.
    """
    data = image.data
    plane = data[tuple(n // 2 for n in data.shape[:-2])]
    row_chunks = getattr(plane, "chunks", ((),))[0]
    if len(row_chunks) > 1:
        start = sum(row_chunks[: len(row_chunks) // 2])
        plane = plane[start : start + row_chunks[len(row_chunks) // 2]]
    step = max(1, math.ceil(math.sqrt(plane.shape[0] * plane.shape[1] / CONTRAST_SAMPLE)))
    sample = np.asarray(plane[::step, ::step])
    finite = sample[np.isfinite(sample)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    vmin, vmax = ZScaleInterval().get_limits(finite)
    if not vmax > vmin:
        vmin, vmax = lo, hi
    vmin, vmax = _increasing(vmin, vmax)
    return (vmin, vmax), _increasing(min(lo, vmin), max(hi, vmax))


def _stem(path: Path) -> str:
    name = path.name
    for suffix in sorted(FITS_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _header_dict(header: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in header.items():
        if key in ("COMMENT", "HISTORY", ""):
            out.setdefault(key or "BLANK_CARDS", []).append(str(value))
        else:
            out[key] = value
    return out


def layer_data(path: Path, image: Pixels) -> LayerData:
    """The napari ``(data, kwargs, "image")`` tuple for one FITS image.

    Raises
    ------
    FileFormatError
        When the pixels sampled for the contrast limits cannot be read (a lazy,
        corrupt tile-compressed HDU).
    """
    try:
        limits, data_range = _limits(image)
    except ClipcapError:
        raise
    except Exception as exc:  # a lazy read failing late, inside astropy or dask
        why = " ".join(str(exc).split()) or type(exc).__name__
        raise FileFormatError(f"{path}: HDU {image.index} {image.name!r}: {why}") from exc
    metadata = {
        "header": _header_dict(image.header),
        "fits_header": image.header,
        "wcs": image.wcs,
        "fits_path": str(path),
        "fits_hdu": image.index,
        "domain": "astronomy",
        # napari takes no slider range from layer data; _status widens it to this
        "contrast_range": data_range,
    }
    kwargs = {
        "name": f"{_stem(path)} [{image.name}]",
        "metadata": metadata,
        "contrast_limits": limits,
        "axis_labels": image.axis_labels,
        "rgb": False,
        "colormap": "gray",
    }
    if north_up_default() and sky_directions(image.wcs, image.data.shape) is not None:
        # as DS9 shows it: row 0 at the bottom (north up for a standard WCS); the data,
        # pixel coordinates, regions and exports are unchanged
        kwargs.update(north_up_placement(image.data.shape))
        metadata["north_up"] = True
    return (image.data, kwargs, "image")


def read_fits_layers(path: PathOrPaths) -> list[LayerData]:
    """Read FITS file(s) into napari layer data.

    The files are read by :func:`~napari_clipcap.core.io.reading.open_image`; headers
    with cards astropy cannot parse are repaired with a warning. A broken file raises
    :class:`FileFormatError` with one line naming the file and the problem. Inside a
    running napari window the message is shown as one error
    notification instead, and no layer is added; a file with no image gives a
    warning notification.
    """
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    layers: list[LayerData] = []
    for p in map(Path, paths):
        try:
            images = open_image(p)
            if not images:
                what = "; ".join(images.skipped) or "no HDU"
                message = f"{p}: holds no image ({what})"
                if not _notify_in_gui(message, error=False):
                    warnings.warn(message, UserWarning, stacklevel=2)
            layers.extend([layer_data(p, image) for image in images])
        except ClipcapError as exc:
            if not _notify_in_gui(str(exc), error=True):
                raise
            continue
    if layers:
        _install_status()
    # npe2's "accepted, nothing to add" value: napari then tries no other reader
    return layers or [(None,)]


def _notify_in_gui(message: str, *, error: bool) -> bool:
    """Show ``message`` as a napari notification when a napari window is open."""
    viewer = _current_viewer()
    if viewer is None:
        return False
    from napari.utils.notifications import show_error, show_warning

    (show_error if error else show_warning)(message)
    return True


def _current_viewer() -> Any:
    try:
        from napari import current_viewer
    except ImportError:  # pragma: no cover - napari is a dependency
        return None
    return current_viewer()


def _install_status() -> None:
    viewer = _current_viewer()
    if viewer is not None:
        from .status import install_world_status

        install_world_status(viewer)
