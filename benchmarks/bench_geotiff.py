"""Opening a large multispectral GeoTIFF: lazy multiscale reading against reading it all.

Writes a tiled 4-band uint16 scene (default 6000 x 6000, 288 MB, with overviews) to a
temporary folder, then times, in the same run:

- ``lazy``: what the napari reader does: open the file, compute the composite limits
  from the coarsest overview, read the zoomed-out composite napari first shows, then
  one 1024 x 1024 full-resolution window (a zoomed-in view);
- ``naive``: read every band at full resolution with ``src.read()``, compute the
  percentile limits on it, and build the full-resolution composite.

Times are the best of three runs (imports done first, files in the OS cache); peak
Python/NumPy memory is measured with tracemalloc (GDAL's own block cache not included).
Prints JSON. Usage: ``python benchmarks/bench_geotiff.py [--size 6000]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np


def write_scene(path: Path, size: int) -> None:
    import rasterio
    from rasterio.enums import Resampling

    rng = np.random.default_rng(0)
    profile = {
        "driver": "GTiff", "width": size, "height": size, "count": 4, "dtype": "uint16",
        "crs": "EPSG:32633", "transform": rasterio.Affine(10, 0, 500_000, 0, -10, 5_200_000),
        "tiled": True, "blockxsize": 512, "blockysize": 512, "nodata": 0,
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        for i, name in enumerate(["B02", "B03", "B04", "B08"], start=1):
            dst.set_band_description(i, name)
        step = 1024
        for r in range(0, size, step):
            h = min(step, size - r)
            block = rng.integers(200, 4000, (4, h, size), dtype=np.uint16)
            dst.write(block, window=rasterio.windows.Window(0, r, size, h))
        dst.build_overviews([2, 4, 8, 16], Resampling.average)


def measure(fn, repeat: int = 3) -> tuple[float, float, object]:
    """Best wall time of ``repeat`` runs, then peak traced memory of one more run."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return min(times), peak / 2**20, out


def lazy(path: Path) -> dict:
    from napari_clipcap._napari.geo_reader import read_geotiff_layers

    layers = read_geotiff_layers(str(path))
    comp = layers[-1][0]  # the composite, on top
    first = np.asarray(comp[-1])  # the zoomed-out view napari shows first
    return {"first_view_shape": list(first.shape)}


def lazy_window(path: Path) -> dict:
    from napari_clipcap._napari.geo_reader import read_geotiff_layers

    comp = read_geotiff_layers(str(path))[-1][0]
    win = np.asarray(comp[0][2000:3024, 2000:3024])
    return {"window_shape": list(win.shape)}


def naive(path: Path) -> dict:
    import rasterio

    from napari_clipcap.core.scaling.composites import composite

    with rasterio.open(path) as src:
        data = src.read().astype(np.float32)
    data[data == 0] = np.nan
    img = composite(data, [2, 1, 0])
    return {"shape": list(img.shape)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=6000)
    args = parser.parse_args()
    import dask.array  # noqa: F401  (imports are not what is measured)

    import napari_clipcap._napari.geo_reader  # noqa: F401

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scene.tif"
        t0 = time.perf_counter()
        write_scene(path, args.size)
        write_s = time.perf_counter() - t0
        lazy_s, lazy_mb, lazy_out = measure(lambda: lazy(path))
        win_s, win_mb, _ = measure(lambda: lazy_window(path))
        naive_s, naive_mb, _ = measure(lambda: naive(path))
        result = {
            "scene": f"{args.size} x {args.size} x 4 bands uint16, tiled 512, 4 overviews",
            "file_mb": round(path.stat().st_size / 2**20, 1),
            "write_s": round(write_s, 2),
            "lazy_open_first_view_s": round(lazy_s, 3),
            "lazy_open_first_view_peak_mb": round(lazy_mb, 1),
            "lazy_first_view_shape": lazy_out["first_view_shape"],
            "lazy_open_1024_window_full_res_s": round(win_s, 3),
            "lazy_open_1024_window_peak_mb": round(win_mb, 1),
            "naive_read_all_composite_s": round(naive_s, 3),
            "naive_peak_mb": round(naive_mb, 1),
            "speedup_first_view": round(naive_s / lazy_s, 1),
            "memory_ratio_first_view": round(naive_mb / max(lazy_mb, 1e-3), 1),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
