"""Reading a large DS9 region file onto an image: the plugin's one-pass reader and batched
placement against the ``regions`` package (``Regions.parse`` then ``to_pixel`` region by
region, the naive way and the way the plugin read files before).

A file of N small fk5 circles and boxes (half of them rotated, a tenth exclude regions)
over a TAN WCS. The two readings are compared (``max_centre_diff_px``: largest distance
between the two placements of a region's centre).

Run: ``python benchmarks/bench_regions.py [--regions 100000 --naive 5000]``; prints JSON.
The naive way runs on ``--naive`` regions and is scaled to N (it is linear).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def make_wcs():
    from astropy.wcs import WCS

    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [150.0, 2.0]
    w.wcs.crpix = [2048, 2048]
    w.wcs.cdelt = [-0.2 / 3600, 0.2 / 3600]
    w.wcs.set()
    return w


def write_file(path: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    ra = 150.0 + rng.uniform(-0.1, 0.1, n)
    dec = 2.0 + rng.uniform(-0.1, 0.1, n)
    lines = ["# Region file format: DS9 version 4.1", "fk5"]
    for i in range(n):
        sign = "-" if i % 10 == 9 else ""
        if i % 2:
            lines.append(f'{sign}box({ra[i]:.7f},{dec[i]:+.7f},2",1",{i % 180}) # text={{b{i}}}')
        else:
            lines.append(f'{sign}circle({ra[i]:.7f},{dec[i]:+.7f},1.5") # text={{c{i}}}')
    path.write_text("\n".join(lines) + "\n")


def naive(path: Path, wcs, limit: int) -> tuple[float, list]:
    from regions import Regions

    text = "\n".join(path.read_text().splitlines()[: limit + 2])
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = Regions.parse(text, format="ds9")
        centres = [r.to_pixel(wcs).center for r in parsed]
    return time.perf_counter() - t0, [(c.x, c.y) for c in centres]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--regions", type=int, default=100_000)
    parser.add_argument("--naive", type=int, default=5_000)
    args = parser.parse_args()
    from napari_clipcap.core.io.region_files import read_region_file

    wcs = make_wcs()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "many.reg"
        write_file(path, args.regions)
        t0 = time.perf_counter()
        placed = read_region_file(path, wcs)
        ours = time.perf_counter() - t0
        naive_s, naive_centres = naive(path, wcs, min(args.naive, args.regions))
    mine = np.array([s.vertices.mean(axis=0)[::-1] for s in placed.regions[: len(naive_centres)]])
    diff = float(np.abs(mine - np.array(naive_centres)).max())
    scaled = naive_s * args.regions / len(naive_centres)
    print(
        json.dumps(
            {
                "regions": args.regions,
                "plugin_s": round(ours, 3),
                "regions_package_s_scaled": round(scaled, 2),
                "regions_package_measured_on": len(naive_centres),
                "speedup": round(scaled / ours, 1),
                "excluded": sum(s.exclude for s in placed.regions),
                "max_centre_diff_px": diff,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
