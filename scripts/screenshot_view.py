"""Screenshots of the first view and of the region import/export bar, for the docs.

``first_view_shot`` is what ``napari-clipcap view`` shows first (the same
:func:`napari_clipcap.cli.view.populate`); ``regions_bar_shot`` imports a DS9 file in
sky coordinates over the sky sample with the Region labels dock's **Import regions…**
and exports the regions again with **Export regions…**. Both need a running
``QApplication`` (napari makes one) on a 1920 x 1080 virtual screen::

    xvfb-run -a -s "-screen 0 1920x1080x24" python scripts/make_screenshots.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Circles of the DS9 file over the sky sample, on its centre and on a bright star away
#: from it: (radius in pixels, text, colour).
SKY_REGIONS = ((60, "M13 core", "yellow"), (14, "bright star", "cyan"))


def settle(seconds: float = 0.3) -> None:
    """Let Qt draw for ``seconds``."""
    import time

    from qtpy.QtWidgets import QApplication

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def first_view_shot(out: Path) -> dict:
    """Open napari as ``napari-clipcap view`` does and write its first window to ``out``.

    Returns what the window shows: its size, the dock in front and the visible layers.
    """
    import napari

    from napari_clipcap._qt.first_view import dock_titles
    from napari_clipcap.cli.view import populate

    viewer = napari.Viewer(title="napari-clipcap", show=True)
    populate(viewer, [])
    settle(1.0)
    qt = viewer.window._qt_window
    shown = {
        "size": (qt.width(), qt.height()),
        "tabs": list(dock_titles(viewer)),
        "visible": [ly.name for ly in viewer.layers if ly.visible],
    }
    viewer.screenshot(str(out), canvas_only=False, flash=False)
    print(f"wrote {out}: {shown}")
    viewer.close()
    return shown


def write_sky_regions(path: Path, wcs, data: np.ndarray) -> Path:
    """A DS9 file in fk5 over the sky sample: a circle on the cluster's core and one on
    the brightest star away from it, each with its text and colour."""
    from screenshot_fits import pick_star

    ny, nx = data.shape
    star = pick_star(data)
    lines = ["# Region file format: DS9 version 4.1", "fk5"]
    for (row, col), (radius, text, colour) in zip(
        ((ny / 2, nx / 2), star), SKY_REGIONS, strict=True
    ):
        sky = wcs.pixel_to_world(col, row)
        arcsec = radius * abs(wcs.proj_plane_pixel_scales()[0].to_value("arcsec"))
        lines.append(
            f'circle({sky.ra.deg:.6f},{sky.dec.deg:.6f},{arcsec:.2f}") '
            f"# color={colour} text={{{text}}}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def regions_bar_shot(out: Path, folder: Path, dock) -> str:
    """Import a DS9 file over the sky sample from the Region labels dock, export it again,
    and write the window to ``out``; returns the exported file's text.

    ``dock(viewer, name)`` adds a plugin dock and returns its widget.
    """
    import napari

    viewer = napari.Viewer(title="napari-clipcap: region files", show=True)
    viewer.window._qt_window.resize(1700, 1040)
    (sky,) = viewer.open_sample("napari-clipcap", "sky")
    path = write_sky_regions(folder / "m13.reg", sky.metadata["wcs"], np.asarray(sky.data))
    w = dock(viewer, "Region labels")
    w.image_combo.set_layer(sky)
    added = w.region_files.import_file(str(path))
    if not added:
        raise SystemExit(f"importing {path} added no layer")
    w.auto_check.setChecked(False)  # the screenshots' CLIP knows the overhead scene only
    w.shapes_combo.set_layer(added[0])
    w.labels_edit.setPlainText("globular cluster, star, galaxy")
    added[0].text.size = 14  # the file's texts, readable over the star field
    added[0].text.color = "yellow"
    exported = w.region_files.export_file(str(folder / "exported.reg"))
    if exported is None:
        raise SystemExit("exporting the imported regions failed")
    text = Path(exported).read_text()
    settle(0.3)
    viewer.reset_view()
    viewer.scene.camera.zoom *= 0.9  # room for the texts of regions near the edge
    settle(0.5)
    viewer.screenshot(str(out), canvas_only=False, flash=False)
    print(f"wrote {out}: imported {len(added[0].data)} regions; exported:\n{text}")
    viewer.close()
    return text
