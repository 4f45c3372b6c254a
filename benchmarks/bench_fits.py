"""FITS reading and model-input scaling: the plugin's way against the naive way.

1. Show the first plane of a scaled-integer cube (BITPIX 16 with BSCALE/BZERO, as
   many survey products are): ``read_fits`` (memory map + one dask chunk per plane)
   plus the reader's contrast limits, against ``astropy.io.fits.getdata`` (reads and
   scales the whole cube) then taking the plane. Time and peak Python-heap memory.
2. zscale + asinh of a large float image to model input: ``to_model_input`` (float32,
   stretched in place) against astropy.visualization's ``AsinhStretch() +
   ZScaleInterval()`` (float64), both to float32 ``H x W x 3``. Both use the same zscale
   samples, so the limits agree (``zscale_limits_diff_of_range``) and the outputs differ
   by float32 rounding only (``max_abs_diff``).

Run: ``python benchmarks/bench_fits.py [--planes 64 --size 1024]``; prints JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np


def write_cube(path: Path, planes: int, ny: int, nx: int) -> None:
    """A BITPIX 16 cube with BSCALE/BZERO/BLANK, written plane by plane."""
    from astropy.io import fits

    h = fits.Header()
    h["SIMPLE"], h["BITPIX"], h["NAXIS"] = True, 16, 3
    h["NAXIS1"], h["NAXIS2"], h["NAXIS3"] = nx, ny, planes
    h["BSCALE"], h["BZERO"], h["BLANK"] = 0.01, 300.0, -32768
    rng = np.random.default_rng(0)
    with open(path, "wb") as fh:
        fh.write(h.tostring().encode())
        for _ in range(planes):
            fh.write(rng.integers(-2000, 2000, (ny, nx), dtype=np.int16).astype(">i2").tobytes())
        fh.write(b"\0" * (-fh.tell() % 2880))


def measure(func):
    tracemalloc.start()
    start = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, peak / 2**20


def bench_first_plane(planes: int, size: int) -> dict:
    from astropy.io import fits

    from napari_clipcap._napari.fits_reader import layer_data
    from napari_clipcap.core.io.fits.reader import read_fits

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cube.fits"
        write_cube(path, planes, size, 2 * size)

        def ours():
            (image,) = read_fits(path)
            data = layer_data(path, image)[0]  # contrast limits computed too
            return np.asarray(data[0])

        def naive():
            return fits.getdata(path)[0]

        naive()  # warm the page cache for both, and the imports
        ours()
        a, t_ours, m_ours = measure(ours)
        b, t_naive, m_naive = measure(naive)
        np.testing.assert_allclose(a, b, rtol=1e-6)
        size_mb = path.stat().st_size / 2**20
    return {
        "file_mib": round(size_mb, 1),
        "shape": [planes, size, 2 * size],
        "ours_s": round(t_ours, 4),
        "naive_s": round(t_naive, 4),
        "speedup": round(t_naive / t_ours, 1),
        "ours_peak_mib": round(m_ours, 1),
        "naive_peak_mib": round(m_naive, 1),
    }


def bench_scaling(size: int, repeats: int = 3) -> dict:
    from astropy.visualization import AsinhStretch, ZScaleInterval

    from napari_clipcap.core.scaling.intervals import ZScaleInterval as OurZScale
    from napari_clipcap.core.scaling.model_input import to_model_input

    rng = np.random.default_rng(1)
    img = rng.normal(100, 5, (size, size)).astype(np.float32)
    img[rng.integers(0, size, 500), rng.integers(0, size, 500)] = 5e4
    img[:, :8] = np.nan

    def ours():
        return to_model_input(img, domain="astronomy")

    def naive():
        unit = (AsinhStretch() + ZScaleInterval())(img)
        unit = np.nan_to_num(unit, nan=0.0)
        return np.repeat(unit[..., None], 3, axis=-1).astype(np.float32)

    best = {}
    for name, func in (("ours", ours), ("naive", naive)):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            out = func()
            times.append(time.perf_counter() - start)
        best[name] = (min(times), out)
    diff = float(np.abs(best["ours"][1] - best["naive"][1]).max())
    theirs = np.array(ZScaleInterval().get_limits(img), dtype=np.float64)
    ours = np.array(OurZScale().get_limits(img))
    limits_diff = float(np.abs(ours - theirs).max() / (theirs[1] - theirs[0]))
    return {
        "shape": [size, size],
        "max_abs_diff": round(diff, 6),
        "zscale_limits_diff_of_range": round(limits_diff, 8),
        "ours_s": round(best["ours"][0], 4),
        "naive_s": round(best["naive"][0], 4),
        "speedup": round(best["naive"][0] / best["ours"][0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--planes", type=int, default=64)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--scale-size", type=int, default=4096)
    args = parser.parse_args()
    print(
        json.dumps(
            {
                "first_plane_of_scaled_cube": bench_first_plane(args.planes, args.size),
                "zscale_asinh_to_model_input": bench_scaling(args.scale_size),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
