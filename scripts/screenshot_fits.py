"""Screenshot for the docs: the sky sample (a FITS image with a WCS) in napari, with the
RA/Dec of the star under the cursor in the status bar.

Run under a virtual display::

    xvfb-run -a python scripts/screenshot_fits.py [--out docs/images/fits_radec.png]

The sky sample is opened through the plugin's sample-data entry, exactly as a FITS
file opened with the reader; the cursor is put on a bright star away from the centre
and a cross marks it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def pick_star(data: np.ndarray) -> tuple[int, int]:
    """The brightest pixel in a ring away from the centre (a star, not the core)."""
    ny, nx = data.shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    r = np.hypot(yy - ny / 2, xx - nx / 2) / min(ny, nx)
    ring = np.where((r > 0.3) & (r < 0.45) & np.isfinite(data), data, -np.inf)
    row, col = np.unravel_index(np.argmax(ring), ring.shape)
    return int(row), int(col)


def shoot(out: Path) -> str:
    """Write the screenshot to ``out``; returns the status bar's text."""
    import napari
    from qtpy.QtWidgets import QApplication

    def settle():
        for _ in range(10):
            QApplication.processEvents()

    viewer = napari.Viewer(title="napari-clipcap: FITS with WCS", show=True)
    viewer.window._qt_window.resize(1200, 860)
    (sky,) = viewer.open_sample("napari-clipcap", "sky")
    row, col = pick_star(np.asarray(sky.data))
    where = tuple(sky.data_to_world((row, col)))  # sky images open north up (rows flipped)
    viewer.add_points(
        [where], symbol="ring", size=16, face_color="yellow", border_width=0,
        name="cursor",
    )  # fmt: skip
    viewer.layers.selection.active = sky
    viewer.reset_view()
    settle()
    viewer.mouse_over_canvas = True
    viewer.cursor.position = where
    settle()
    status, _tooltip = viewer._calc_status_from_cursor()  # what a mouse move computes
    viewer.status = status
    settle()
    text = status["coordinates"] if isinstance(status, dict) else str(status)
    if "RA " not in text:
        raise SystemExit(f"the status bar shows no RA/Dec: {text!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(str(out), canvas_only=False, flash=False)
    print(f"wrote {out}: {sky.name} | status: {text}")
    viewer.close()
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images" / "fits_radec.png"))
    shoot(Path(parser.parse_args().out))


if __name__ == "__main__":
    main()
