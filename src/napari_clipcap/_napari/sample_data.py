"""npe2 sample data: a sky image with a WCS and an overhead (aerial) scene, made offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.errors import ClipcapError, FileFormatError, error_line
from ..core.io.reading import Pixels, open_image
from ..core.samples.sky_overhead import bundled_sky, synthetic_overhead, synthetic_sky
from .fits_reader import _install_status, layer_data

#: Sample keys in napari.yaml, in the order ``napari-clipcap view`` opens them.
SAMPLE_NAMES: tuple[str, ...] = ("sky", "overhead")

LayerData = tuple[Any, ...]


def _sky_image() -> tuple[Pixels, Path, str]:
    path = bundled_sky()
    if path is not None:
        try:
            (image,) = open_image(path)
        except (ClipcapError, OSError, ValueError) as exc:  # a broken install: say so
            raise FileFormatError(
                f"the M13 sample image shipped with astropy ({path}) cannot be read "
                f"({error_line(exc)}); reinstall astropy"
            ) from exc
        return image, path, "M13 (DSS)"
    data, header = synthetic_sky()
    image = Pixels(
        data=data,
        kind="fits",
        name="PRIMARY",
        index=0,
        header=header,
        wcs=_wcs(header),
        axis_labels=("DEC", "RA"),
    )
    return image, Path("synthetic_sky.fits"), "Synthetic sky"


def _wcs(header: Any) -> Any:
    from astropy.wcs import WCS

    return WCS(header)


def sky_sample() -> list[LayerData]:
    """A sky image with a celestial WCS, as the FITS reader would open it.

    astropy ships a Digitized Sky Survey image of M13 with its WCS; when that file
    is missing, a synthetic star field with a spiral galaxy is made instead.
    """
    image, path, title = _sky_image()
    data, kwargs, kind = layer_data(path, image)
    kwargs["name"] = title
    kwargs["metadata"]["sample"] = "sky"
    if not path.is_file():
        kwargs["metadata"]["fits_path"] = None
    _install_status()
    return [(data, kwargs, kind)]


def overhead_sample() -> list[LayerData]:
    """A synthetic aerial-photo-like RGB scene (fields, river, roads, village, trees)."""
    kwargs = {
        "name": "Overhead scene (synthetic)",
        "rgb": True,
        "metadata": {"domain": "satellite", "sample": "overhead"},
    }
    return [(synthetic_overhead(), kwargs, "image")]
