"""A synthetic Sentinel-2-like scene, made offline: 13 bands, uint16 reflectance, UTM.

The scene has land-cover classes with plausible spectral signatures (water, forest,
crops, bare soil, built-up), a meandering river, field parcels, a small town and a
no-data wedge along one edge as on a real tile edge, so band composites look as they
would on a real scene (vegetation red in false colour, water dark in SWIR).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_path
from ..scaling.bands import S2_ORDER

#: Band descriptions written to the file (ESA's names).
S2_BAND_NAMES = tuple(f"B{b[1:].zfill(2)}" if b != "B8A" else "B8A" for b in S2_ORDER)

#: Surface reflectance (0-1) of each class in the 13 Sentinel-2 bands, B01..B12.
SIGNATURES: dict[str, tuple[float, ...]] = {
    "water": (0.07, 0.06, 0.05, 0.03, 0.025, 0.02, 0.02, 0.015, 0.012, 0.01, 0.002, 0.005, 0.003),
    "forest": (0.03, 0.03, 0.05, 0.03, 0.08, 0.22, 0.27, 0.30, 0.31, 0.31, 0.004, 0.15, 0.07),
    "crops": (0.05, 0.05, 0.09, 0.06, 0.13, 0.30, 0.36, 0.40, 0.41, 0.41, 0.005, 0.22, 0.11),
    "soil": (0.10, 0.12, 0.16, 0.21, 0.23, 0.25, 0.26, 0.27, 0.28, 0.28, 0.010, 0.34, 0.29),
    "urban": (0.12, 0.13, 0.14, 0.16, 0.17, 0.18, 0.19, 0.19, 0.20, 0.20, 0.010, 0.23, 0.21),
}
#: UTM zone 33N (central Europe); upper-left corner of the sample, 10 m pixels.
CRS = "EPSG:32633"
ORIGIN = (500_000.0, 5_200_000.0)
PIXEL = 10.0


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Random field with features about ``size / cells`` pixels across, in [0, 1]."""
    coarse = rng.random((cells + 1, cells + 1))
    t = np.linspace(0, cells, size)
    i = np.minimum(t.astype(int), cells - 1)
    f = t - i
    f = f * f * (3 - 2 * f)
    rows = coarse[i] * (1 - f)[:, None] + coarse[i + 1] * f[:, None]
    return rows[:, i] * (1 - f) + rows[:, i + 1] * f


def land_cover(size: int = 512, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Class map ``(size, size)`` of indices into the returned class names."""
    rng = np.random.default_rng(seed)
    names = list(SIGNATURES)
    y, x = np.mgrid[0:size, 0:size] / size
    cover = np.full((size, size), names.index("crops"), np.uint8)
    # field parcels of crops and bare soil
    parcels = (np.floor(x * 9 + 0.3 * np.sin(y * 7)) + 9 * np.floor(y * 7)).astype(int)
    bare = rng.random(parcels.max() + 1) < 0.4
    cover[bare[parcels]] = names.index("soil")
    # forest over the rough, hilly part
    cover[_smooth_noise(rng, size, 5) > 0.75] = names.index("forest")
    # a town: a grid of blocks with streets
    town = ((x - 0.72) ** 2 + (y - 0.3) ** 2) < 0.018
    streets = (np.arange(size) % 14) < 3
    cover[town & ~(streets[None, :] | streets[:, None])] = names.index("urban")
    cover[town & (streets[None, :] | streets[:, None])] = names.index("soil")
    # a meandering river and a lake
    centre = 0.35 + 0.12 * np.sin(y * 9.0) + 0.05 * np.sin(y * 23.0)
    cover[np.abs(x - centre) < 0.012 + 0.006 * np.sin(y * 13)] = names.index("water")
    cover[((x - 0.2) ** 2 / 0.012 + (y - 0.78) ** 2 / 0.006) < 1] = names.index("water")
    return cover, names


def synthetic_scene(size: int = 512, seed: int = 0) -> np.ndarray:
    """Reflectance ``(13, size, size)`` uint16 (x 10,000, as Sentinel-2 L1C/L2A)."""
    rng = np.random.default_rng(seed)
    cover, names = land_cover(size, seed)
    sig = np.array([SIGNATURES[n] for n in names], np.float32)  # (classes, 13)
    refl = sig[cover].transpose(2, 0, 1)  # (13, size, size)
    brightness = 0.85 + 0.3 * _smooth_noise(rng, size, 24)
    texture = 1 + 0.06 * rng.standard_normal((size, size)).astype(np.float32)
    refl = refl * (brightness * texture)[None]
    haze = 0.02 * _smooth_noise(rng, size, 3)[None] * np.linspace(1.5, 0.2, 13)[:, None, None]
    dn = np.clip((refl + haze) * 10_000 + 1, 1, 65_535).astype(np.uint16)
    y, x = np.mgrid[0:size, 0:size]
    dn[:, x + 2 * y < size // 3] = 0  # no-data wedge at a tile edge
    return dn


def write_sample_scene(path: str | os.PathLike, size: int = 512, seed: int = 0) -> Path:
    """Write the synthetic scene as a tiled, deflate-compressed GeoTIFF with overviews.

    Band descriptions are Sentinel-2's names (``B01`` ... ``B12``), nodata is 0, the
    CRS is UTM 33N (EPSG:32633) with 10 m pixels.
    """
    import rasterio
    from rasterio.enums import Resampling

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = synthetic_scene(size, seed)
    with (
        atomic_path(path) as tmp,
        rasterio.open(
            tmp,
            "w",
            driver="GTiff",
            width=size,
            height=size,
            count=data.shape[0],
            dtype="uint16",
            crs=CRS,
            transform=rasterio.Affine(PIXEL, 0.0, ORIGIN[0], 0.0, -PIXEL, ORIGIN[1]),
            nodata=0,
            tiled=True,
            blockxsize=256,
            blockysize=256,
            compress="deflate",
        ) as dst,
    ):
        dst.write(data)
        for i, name in enumerate(S2_BAND_NAMES, start=1):
            dst.set_band_description(i, name)
        dst.update_tags(SENSOR="synthetic Sentinel-2-like", UNITS="reflectance x 10000")
        factors = [f for f in (2, 4, 8) if size // f >= 32]
        if factors:
            dst.build_overviews(factors, Resampling.average)
    return path
