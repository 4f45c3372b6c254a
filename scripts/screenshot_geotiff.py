"""Screenshot for the docs: the synthetic Sentinel-2 sample as a composite, with map
coordinates of the pixel under the cursor in napari's status bar.

Run under a virtual display::

    xvfb-run -a python scripts/screenshot_geotiff.py [--out docs/images/geotiff_composite.png]

The sample is written into a temporary cache folder, opened through the plugin's
sample-data entry, and a cross marks the pixel whose coordinates the status bar shows.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shoot(out: Path, pixel: str = "150,330") -> str:
    """Write the screenshot to ``out`` with the cursor on ``pixel`` ("row,col"); returns
    the status bar's text. The sample is written into ``$NAPARI_CLIPCAP_CACHE``."""
    import napari
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer(title="napari-clipcap: GeoTIFF", show=True)
    viewer.window._qt_window.resize(1280, 860)
    viewer.open_sample("napari-clipcap", "sentinel2")
    composite = viewer.layers[-1]
    row, col = (float(v) for v in pixel.split(","))
    viewer.add_points(
        [[row, col]], symbol="cross", size=14, face_color="yellow", border_width=0,
        name="cursor",
    )  # fmt: skip
    viewer.layers.selection.active = composite
    viewer.reset_view()
    for _ in range(5):
        QApplication.processEvents()
    viewer.mouse_over_canvas = True
    viewer.cursor.position = (row, col)
    viewer.update_status_from_cursor()
    for _ in range(5):
        QApplication.processEvents()
    status = viewer.status
    text = status.get("coordinates", "") if isinstance(status, dict) else str(status)
    if "lon" not in text:
        raise SystemExit(f"no map coordinates in the status bar: {status!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(str(out), canvas_only=False, flash=False)
    print(f"wrote {out}: {text}")
    viewer.close()
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images" / "geotiff_composite.png"))
    parser.add_argument("--pixel", default="150,330", help="row,col of the cursor")
    args = parser.parse_args()
    os.environ["NAPARI_CLIPCAP_CACHE"] = tempfile.mkdtemp(prefix="clipcap-shot-")
    shoot(Path(args.out), args.pixel)


if __name__ == "__main__":
    main()
