"""Reading image files for the command line, and writing float maps.

:func:`read_image` turns a PNG, JPEG, TIFF or FITS file into the float32 ``H x W x 3``
array in ``[0, 1]`` that models take (through
:func:`~napari_clipcap.core.scaling.model_input.to_model_input`), keeping a FITS file's WCS so that
results can be written back on the same sky grid with :func:`write_map`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidInputError

MAP_SUFFIXES = (".npy", ".tif", ".tiff", ".fits", ".fit", ".fts")


@dataclass
class ImageFile:
    """An image read for a model.

    Attributes
    ----------
    path : Path
    data : ndarray or ModelInputView
        float32 ``H x W x 3`` in ``[0, 1]`` (a view scaled on slicing when read lazily).
    kind : str
        ``"fits"``, ``"tiff"`` or ``"raster"`` (anything Pillow reads).
    wcs : astropy.wcs.WCS or None
        The 2D celestial (or first two axes') WCS of a FITS image.
    hdu : str or None
        The FITS HDU the data came from.
    reduced_by : int
        The image was read with this stride (1: full size; above the pixel budget).
    plane : dict or None
        For a FITS cube, the plane read: ``{"axes": [{"axis", "pixel", "ctype",
        "value", "unit"}, ...]}`` (FITS axis numbers and 1-based pixels).
    valid : ndarray of bool, FiniteRows or None
        ``(H, W)``: where the file holds data (finite values), when ``valid_known``;
        None there means every pixel holds data. A plane read where sliced
        (``read_image(lazy=True)``) gets a :class:`~.filerows.FiniteRows`, computed for
        the slices taken (``np.asarray`` gives the whole mask).
    valid_known : bool
        Whether ``valid`` was taken from the pixels read (FITS), so that nothing needs
        to read the file again for it.
    """

    path: Path
    data: np.ndarray
    kind: str
    wcs: Any = None
    hdu: str | None = None
    reduced_by: int = 1
    plane: dict | None = None
    valid: Any = None
    valid_known: bool = False


def _two_d_wcs(wcs: Any, path: Any = "") -> Any:
    """The WCS of the image plane: the whole WCS of a 2D image (distortion lookup tables
    included), the celestial part of a cube whose first two axes are the sky.

    Raises
    ------
    InvalidInputError
        A cube whose sky axes are not the image's x and y (an RA x velocity plane): its
        results would claim a sky position they do not have.
    """
    if wcs is None:
        return None
    if getattr(wcs, "has_celestial", False):
        lng, lat = wcs.wcs.lng, wcs.wcs.lat
        if {lng, lat} != {0, 1}:
            ctypes = " x ".join(str(c).split("-")[0] or "?" for c in list(wcs.wcs.ctype)[:2])
            raise InvalidInputError(
                f"{path}: the image's x and y are {ctypes}, while its sky axes are FITS "
                f"axes {lng + 1} and {lat + 1}; reorder the cube so that the sky is axes 1 "
                "and 2 (or save that plane as its own FITS file)"
            )
        return wcs if wcs.naxis == 2 else wcs.celestial
    return wcs.sub([1, 2]) if wcs.naxis > 2 else wcs


def _plane_of(wcs: Any, shape: tuple[int, ...]) -> dict | None:
    """The first plane of a FITS cube (the one models read) and its world values."""
    if len(shape) <= 2:
        return None
    axes = []
    pixel = [0.0] * (wcs.naxis if wcs is not None else len(shape))
    world = None
    if wcs is not None:
        try:
            world = wcs.wcs_pix2world(np.array([pixel]), 0)[0]
        except Exception:  # an unusual axis (tabular, bad keywords): the index alone
            world = None
    for axis in range(3, len(shape) + 1):
        entry: dict = {"axis": axis, "pixel": 1}
        if wcs is not None and axis <= wcs.naxis:
            entry["ctype"] = str(wcs.wcs.ctype[axis - 1])
            entry["unit"] = str(wcs.wcs.cunit[axis - 1])
            if world is not None and np.isfinite(world[axis - 1]):
                entry["value"] = float(world[axis - 1])
        axes.append(entry)
    return {"axes": axes}


def read_image(
    path: str | Path,
    *,
    domain: str | None = None,
    interval: Any = None,
    stretch: Any = None,
    hdu: int | str | None = None,
    max_side: int | None = None,
    reduce: bool = False,
    max_pixels: int | None = None,
    lazy: bool = False,
) -> ImageFile:
    """Read an image file and scale it for a model.

    The pixels come from :func:`~napari_clipcap.core.io.reading.open_image`, the one
    reader of image files, so the pixel budget and its error messages apply.

    Parameters
    ----------
    path : str or Path
        PNG, JPEG, TIFF (incl. 16-bit and planar), or FITS (any HDU layout
        :func:`~napari_clipcap.core.io.fits.reader.read_fits` handles).
    domain : str, optional
        Scaling domain; ``"astronomy"`` by default for FITS, ``"photo"`` otherwise.
    interval, stretch : optional
        Passed to :func:`~napari_clipcap.core.scaling.model_input.to_model_input`.
    hdu : int or str, optional
        FITS HDU index or name (default: the first image HDU).
    max_side : int, optional
        For GeoTIFF scenes: read from the smallest overview whose longest side is at
        least this, instead of the full-resolution level.
    reduce : bool
        Read an image above the pixel budget reduced (see :attr:`ImageFile.reduced_by`)
        instead of refusing it.
    max_pixels : int, optional
        The pixel budget (default :func:`~napari_clipcap.core.io.budget.pixel_budget`).
    lazy : bool
        Give ``data`` as a :class:`~napari_clipcap.core.scaling.lazy_input.ModelInputView`
        that scales only the windows a task slices out of it (memory: the raw image and
        those windows) instead of the whole float32 array (12 bytes a pixel). A plain
        uncompressed grey TIFF whose scaling needs no statistics of its pixels (its
        type's range) is not even read whole: only the rows of the windows sliced.

    Returns
    -------
    ImageFile

    Raises
    ------
    FileFormatError
        Missing or unreadable file, or an image above the budget (unless ``reduce``).
    """
    from ..scaling.model_input import model_input_view, to_model_input
    from .reading import open_image, plane_array

    p = Path(path).expanduser()
    source = open_image(p, reduce=reduce, max_side=max_side, max_pixels=max_pixels, windows=lazy)
    picked = source.pick(hdu)
    fits, file_shape = picked.kind == "fits", picked.shape
    if fits and len(picked.shape) > 2:  # a cube: its first plane, only that one is read
        picked = replace(picked, data=picked.data[(0,) * (len(picked.shape) - 2)])
    image = plane_array(picked, reduce=reduce, max_pixels=max_pixels, path=p, windows=lazy)
    if domain is None:
        domain = "astronomy" if fits else "photo"
    plane_wcs = _two_d_wcs(image.wcs, p)
    plane = _plane_of(image.wcs, file_shape) if fits else None
    scale = model_input_view if lazy else to_model_input
    data = scale(  # FITS axes are never colour, whatever their length
        image.data, domain=domain, interval=interval, stretch=stretch, rgb=False if fits else None
    )
    valid = _finite_mask(image.data) if fits and image.data.dtype.kind in "fc" else None
    return ImageFile(
        p,
        data,
        image.kind,
        plane_wcs,
        image.name,
        image.reduced_by,
        plane,
        valid=valid,
        valid_known=fits,
    )


def _finite_mask(plane: Any, band_rows: int = 256) -> Any:
    """Where a float plane is finite, read a band of rows at a time (no full-size float
    temporary); None when every pixel is finite (nothing to mask). A 2D plane read where
    sliced gets a :class:`~.filerows.FiniteRows` (computed where sliced, never whole)."""
    if hasattr(plane, "rows") and plane.ndim == 2:
        from .filerows import FiniteRows

        steps = range(0, plane.shape[0], band_rows)
        finite = all(np.isfinite(plane.rows(r, r + band_rows)).all() for r in steps)
        return None if finite else FiniteRows(plane, band_rows)
    mask = None
    for r in range(0, plane.shape[0], band_rows):
        band = np.isfinite(np.asarray(plane[r : r + band_rows]))
        if mask is None and not band.all():
            mask = np.ones(plane.shape[:2], dtype=bool)
        if mask is not None:
            mask[r : r + band_rows] = band if band.ndim == 2 else band.all(axis=-1)
    return mask


def write_map(
    path: str | Path,
    data: np.ndarray,
    *,
    wcs: Any = None,
    meta: dict | None = None,
    geo: dict | None = None,
    provenance: dict | None = None,
    plane: dict | None = None,
    dtype: str = "float32",
):
    """Write a float32 map (``H x W`` or ``Q x H x W``) as ``.npy``, ``.tif`` or ``.fits``.

    A FITS file carries ``wcs`` whole (SIP, TPV and lookup-table distortions, RADESYS,
    EQUINOX, DATE-OBS, MJD-OBS: what defines its sky), the cube ``plane`` it was made
    from (see :attr:`ImageFile.plane`) and ``meta`` as HISTORY cards; a TIFF
    gets ``meta`` as its description (JSON), or is a GeoTIFF with the CRS and transform
    of ``geo`` (see :func:`~napari_clipcap.core.io.geoexport.geo_metadata_of`) and ``meta``
    as tags. ``provenance`` (:mod:`napari_clipcap.core.provenance`) goes into FITS
    HISTORY cards (its summary lines, the command among them), the TIFF description or
    GeoTIFF tags (as JSON), and for ``.npy`` into a side file ``NAME.npy.provenance.json``.
    ``dtype`` is the type written (``"int32"`` for label images).
    """
    import json

    if provenance is not None:
        meta = {**(meta or {}), "provenance": json.dumps(provenance, default=str)}

    p = Path(path).expanduser()
    suffix = p.suffix.lower()
    if suffix not in MAP_SUFFIXES:
        raise InvalidInputError(f"output {str(p)!r} must end in one of {', '.join(MAP_SUFFIXES)}")
    data = np.asarray(data, dtype=np.dtype(dtype))
    p.parent.mkdir(parents=True, exist_ok=True)
    if suffix in (".tif", ".tiff") and geo is not None:
        from .geoexport import write_geotiff

        write_geotiff(p, data, geo, tags=meta, dtype=data.dtype.name)  # atomic itself
        return p
    from .atomic import atomic_file

    with atomic_file(p) as f:  # a kill leaves the earlier file (or none), never a cut one
        if suffix == ".npy":
            np.save(f, data)
        elif suffix in (".tif", ".tiff"):
            import tifffile

            tifffile.imwrite(f, data, description=json.dumps(meta or {}, default=str))
        else:
            from astropy.io import fits

            extensions = []
            if wcs is not None:  # to_fits keeps SIP and lookup tables (to_header drops them)
                hdus = wcs.to_fits(relax=True)
                header, extensions = hdus[0].header, list(hdus[1:])
                for key in ("SIMPLE", "BITPIX", "NAXIS", "EXTEND"):
                    header.remove(key, ignore_missing=True)
                _frame_cards(header, wcs)
            else:
                header = fits.Header()
            _plane_cards(header, plane)
            for key, value in (meta or {}).items():
                if key != "provenance":
                    header.add_history(fits_text(f"napari-clipcap {key}: {value}"))
            if provenance is not None:
                from ..provenance import summary_lines

                for line in summary_lines(provenance):
                    header.add_history(fits_text(line))
                header.add_history(f"exact command (UTF-8): {provenance_path(p).name}")
            fits.HDUList([fits.PrimaryHDU(data=data, header=header), *extensions]).writeto(f)
    if suffix in (".npy", ".fits", ".fit", ".fts") and provenance is not None:
        from .atomic import write_json

        write_json(provenance_path(p), provenance, indent=2, default=str, ensure_ascii=False)
    return p


def _plane_cards(header: Any, plane: dict | None) -> None:
    """``PLANEn`` / ``PLNVALn`` / ``PLNTYPn`` cards: which plane of axis ``n`` a map of a
    cube was made from, and its world value."""
    for entry in (plane or {}).get("axes", ()):
        n = entry["axis"]
        header[f"PLANE{n}"] = (int(entry["pixel"]), f"source plane along FITS axis {n}")
        if "ctype" in entry:
            header[f"PLNTYP{n}"] = (entry["ctype"][:68], f"CTYPE{n} of the source")
        if "value" in entry:
            unit = entry.get("unit") or ""
            header[f"PLNVAL{n}"] = (entry["value"], f"world value of that plane {unit}".strip())


def _frame_cards(header: Any, wcs: Any) -> None:
    """RADESYS, EQUINOX, DATE-OBS and MJD-OBS as the input gave them, also where wcslib
    leaves one out (EQUINOX beside ICRS): DS9 and others read the frame from them."""
    import math

    inner = wcs.wcs
    values = {
        "RADESYS": str(inner.radesys or "").strip(),
        "EQUINOX": float(inner.equinox),
        "DATE-OBS": str(inner.dateobs or "").strip(),
        "MJD-OBS": float(inner.mjdobs),
    }
    for key, value in values.items():
        if (
            key in header
            or value in ("",)
            or (isinstance(value, float) and not math.isfinite(value))
        ):
            continue
        header[key] = value


def provenance_path(path: Path) -> Path:
    """The UTF-8 side record ``NAME.provenance.json`` of a map written to ``path``."""
    return path.with_name(path.name + ".provenance.json")


def fits_text(text: str) -> str:
    """``text`` as a FITS card may hold it: printable ASCII, anything else escaped.

    FITS headers hold only printable ASCII, so ``café`` becomes ``caf\\xe9`` (Python's
    ``backslashreplace``) and a tab ``\\t``; the exact text is kept in the side record
    (:func:`provenance_path`).
    """
    return "".join(
        c if " " <= c <= "~" else c.encode("unicode_escape").decode("ascii") for c in text
    )
