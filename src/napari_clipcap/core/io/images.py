"""Reading image files for the command line, and writing float maps.

:func:`read_image` turns a PNG, JPEG, TIFF or FITS file into the float32 ``H x W x 3``
array in ``[0, 1]`` that models take (through
:func:`~napari_clipcap.core.scaling.model_input.to_model_input`), keeping a FITS file's WCS so that
results can be written back on the same sky grid with :func:`write_map`.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    data : ndarray
        float32 ``H x W x 3`` in ``[0, 1]``.
    kind : str
        ``"fits"``, ``"tiff"`` or ``"raster"`` (anything Pillow reads).
    wcs : astropy.wcs.WCS or None
        The 2D celestial (or first two axes') WCS of a FITS image.
    hdu : str or None
        The FITS HDU the data came from.
    reduced_by : int
        The image was read with this stride (1: full size; above the pixel budget).
    """

    path: Path
    data: np.ndarray
    kind: str
    wcs: Any = None
    hdu: str | None = None
    reduced_by: int = 1


def _two_d_wcs(wcs: Any) -> Any:
    if wcs is None:
        return None
    if getattr(wcs, "has_celestial", False):
        return wcs.celestial
    return wcs.sub([1, 2]) if wcs.naxis > 2 else wcs


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

    Returns
    -------
    ImageFile

    Raises
    ------
    FileFormatError
        Missing or unreadable file, or an image above the budget (unless ``reduce``).
    """
    from ..scaling.model_input import to_model_input
    from .reading import open_image, plane_array

    p = Path(path).expanduser()
    source = open_image(p, reduce=reduce, max_side=max_side, max_pixels=max_pixels)
    image = plane_array(source.pick(hdu), reduce=reduce, max_pixels=max_pixels, path=p)
    if domain is None:
        domain = "astronomy" if image.kind == "fits" else "photo"
    data = to_model_input(image.data, domain=domain, interval=interval, stretch=stretch)
    return ImageFile(p, data, image.kind, _two_d_wcs(image.wcs), image.name, image.reduced_by)


def write_map(
    path: str | Path,
    data: np.ndarray,
    *,
    wcs: Any = None,
    meta: dict | None = None,
    geo: dict | None = None,
    provenance: dict | None = None,
):
    """Write a float32 map (``H x W`` or ``Q x H x W``) as ``.npy``, ``.tif`` or ``.fits``.

    A FITS file carries ``wcs`` (when given) and ``meta`` as HISTORY cards; a TIFF
    gets ``meta`` as its description (JSON), or is a GeoTIFF with the CRS and transform
    of ``geo`` (see :func:`~napari_clipcap.core.io.geoexport.geo_metadata_of`) and ``meta``
    as tags. ``provenance`` (:mod:`napari_clipcap.core.provenance`) goes into FITS
    HISTORY cards (its summary lines, the command among them), the TIFF description or
    GeoTIFF tags (as JSON), and for ``.npy`` into a side file ``NAME.npy.provenance.json``.
    """
    import json

    if provenance is not None:
        meta = {**(meta or {}), "provenance": json.dumps(provenance, default=str)}

    p = Path(path).expanduser()
    suffix = p.suffix.lower()
    if suffix not in MAP_SUFFIXES:
        raise InvalidInputError(f"output {str(p)!r} must end in one of {', '.join(MAP_SUFFIXES)}")
    data = np.asarray(data, dtype=np.float32)
    p.parent.mkdir(parents=True, exist_ok=True)
    if suffix in (".tif", ".tiff") and geo is not None:
        from .geoexport import write_geotiff

        write_geotiff(p, data, geo, tags=meta)  # atomic itself
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

            header = wcs.to_header() if wcs is not None else fits.Header()
            for key, value in (meta or {}).items():
                if key != "provenance":
                    header.add_history(f"napari-clipcap {key}: {value}")
            if provenance is not None:
                from ..provenance import summary_lines

                for line in summary_lines(provenance):
                    header.add_history(line)
            fits.PrimaryHDU(data=data, header=header).writeto(f)
    if suffix == ".npy" and provenance is not None:
        from .atomic import write_json

        write_json(p.with_name(p.name + ".provenance.json"), provenance, indent=2, default=str)
    return p
