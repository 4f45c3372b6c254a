"""Sample data: a synthetic 13-band Sentinel-2-like GeoTIFF in UTM 33N, made offline.

The file is written once into napari-clipcap's cache folder
(:func:`~napari_clipcap.core.cache.cache_dir`) and opened with the GeoTIFF reader, so the
sample behaves exactly like a real scene: a true-colour composite, the band stack, and
map coordinates in the status bar.
"""

from __future__ import annotations

from pathlib import Path

from ..core.cache import cache_dir
from .geo_reader import LayerData, read_geotiff_layers

#: File name of the cached sample; bump the version when the synthesis changes.
SAMPLE_FILE = "synthetic_sentinel2_v1.tif"


def sample_geotiff_path(size: int = 512) -> Path:
    """Path of the synthetic scene, written on first use."""
    from ..core.samples.sentinel2 import write_sample_scene

    path = cache_dir() / "samples" / SAMPLE_FILE
    if not path.is_file():
        write_sample_scene(path, size=size)
    return path


def sentinel2_sample() -> list[LayerData]:
    """npe2 sample-data contribution: the synthetic Sentinel-2-like scene."""
    return read_geotiff_layers(str(sample_geotiff_path()))
