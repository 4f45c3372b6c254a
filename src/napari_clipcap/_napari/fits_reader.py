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
from ..core.errors import ClipcapError, FileFormatError, error_line
from ..core.io.fits.reader import FITS_SUFFIXES, has_fits_suffix, is_fits
from ..core.io.reading import Pixels, open_image
from .plane_contrast import CONTRAST_SAMPLE, FOLLOW_KEY, finite_values, increasing, plane_limits

LayerData = tuple[Any, ...]
PathOrPaths = str | Sequence[str]

#: Planes of a lazy cube read for the contrast slider's range (evenly spread).
RANGE_PLANES = 5


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
        if os.path.isdir(p) or not (has_fits_suffix(p) or _lzw_fits(p) or is_fits(p)):
            return None
    return read_fits_layers


def _lzw_fits(path: PathOrPaths) -> bool:
    """A FITS file squeezed with Unix ``compress`` (``x.fits.Z``): claimed, so that the
    user learns what it needs instead of napari's bare "reader refused the file"."""
    name = str(path)
    return name.endswith(".Z") and has_fits_suffix(name[:-2])


def lzw_problem(path: Path) -> str:
    """Why an LZW-compressed (``.Z``) FITS file cannot be read here ('' when it can)."""
    import importlib.util

    if not _lzw_fits(path) or importlib.util.find_spec("uncompresspy") is not None:
        return ""
    return (
        f"{path}: an LZW-compressed (.Z) FITS file needs the optional package uncompresspy "
        "(pip install uncompresspy), or decompress it first (uncompress or gzip -d)"
    )


def _cube_range(data: Any) -> tuple[float, float] | None:
    """The finite range of a whole cube (in memory), or of :data:`RANGE_PLANES` planes
    spread over it (lazy: each plane read once, strided like the limits' sample)."""
    planes = data.reshape((-1, *data.shape[-2:])) if data.ndim > 2 else data[None]
    if isinstance(data, np.ndarray):
        chosen = planes
    else:
        picks = np.unique(np.linspace(0, len(planes) - 1, RANGE_PLANES).round().astype(int))
        step = max(1, math.ceil(math.sqrt(planes.shape[1] * planes.shape[2] / CONTRAST_SAMPLE)))
        chosen = [planes[int(i)][::step, ::step] for i in picks]
    lows, highs = [], []
    for plane in chosen:
        finite = finite_values(plane)
        if finite.size:
            lows.append(finite.min())
            highs.append(finite.max())
    return (float(min(lows)), float(max(highs))) if lows else None


def _limits(image: Pixels) -> tuple[tuple[float, float], tuple[float, float]]:
    """ZScale limits of the middle plane, and the finite range of the whole cube.

    The middle plane is the one napari shows first (the plane follower of
    :mod:`._plane_contrast` redoes the limits for whatever plane is on screen). Of a lazy
    2D image split into bands of rows only the middle band is read, so a huge image is
    never read whole for the limits; of a lazy cube a few planes give the range.
    """
    data = image.data
    plane = data[tuple(n // 2 for n in data.shape[:-2])]
    row_chunks = getattr(plane, "chunks", ((),))[0]
    if len(row_chunks) > 1:
        start = sum(row_chunks[: len(row_chunks) // 2])
        plane = plane[start : start + row_chunks[len(row_chunks) // 2]]
    step = max(1, math.ceil(math.sqrt(plane.shape[0] * plane.shape[1] / CONTRAST_SAMPLE)))
    sample = np.asarray(plane[::step, ::step])  # read once, for the limits and the range
    vmin, vmax = plane_limits(sample)
    if data.ndim > 2:
        cube = _cube_range(data)
    else:
        finite = finite_values(sample)
        cube = (float(finite.min()), float(finite.max())) if finite.size else None
    lo, hi = cube if cube is not None else (vmin, vmax)
    return (vmin, vmax), increasing(min(lo, vmin), max(hi, vmax))


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
        why = error_line(exc)
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
    if image.data.ndim > 2:
        metadata[FOLLOW_KEY] = True  # the limits follow the plane on screen
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
            if lzw_problem(p):
                raise FileFormatError(lzw_problem(p))
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
        from .compass import install_compass
        from .plane_contrast import install_plane_contrast
        from .status import install_world_status

        install_world_status(viewer)
        install_plane_contrast(viewer)
        install_compass(viewer)
