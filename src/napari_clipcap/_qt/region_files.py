"""Region files in the docks: import DS9/CRTF regions over an image, export shapes with
their results (DS9 in sky coordinates for a FITS layer with a WCS, GeoJSON for a
georeferenced layer, DS9 in image coordinates otherwise).

The reading, writing and coordinate work is in :mod:`napari_clipcap.core.io.region_files`
and :mod:`napari_clipcap.core.coords.region_shapes`; this module turns it into layers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFileDialog, QHBoxLayout, QMessageBox, QPushButton, QWidget

from .._napari.layers import META_KEY, data_to_world, placement, spatial_shape
from .._napari.region_text import fall_outside_note
from ..core.coords.geometry import bounding_box, map_points
from ..core.coords.region_shapes import from_napari_shapes
from ..core.errors import ClipcapError, InvalidInputError, error_line
from . import worker

#: Feature columns whose text a region takes on export, first found first.
TEXT_COLUMNS = ("clipcap_text", "caption", "phrase", "label", "text")
#: Edge colour of imported regions that name none.
DEFAULT_COLOUR = "#33ff66"
#: Skip reasons shown in full in the import notification before the rest are counted.
SHOWN_SKIPS = 5
#: Edge colour of imported exclude regions.
EXCLUDE_COLOUR = "#ff3333"


def _edge_colour(shape) -> str:
    return EXCLUDE_COLOUR if shape.exclude else shape.color or DEFAULT_COLOUR


def _wcs_of(image_layer):
    return (image_layer.metadata or {}).get("wcs") if image_layer is not None else None


def outside_regions(regions, image_layer) -> list[int]:
    """Indices of the ``regions`` (placed in ``image_layer``'s pixel data coordinates)
    that do not overlap the image at all."""
    height, width = spatial_shape(image_layer)[-2:]
    outside = []
    for i, region in enumerate(regions):
        try:
            bounding_box(np.asarray(region.vertices, dtype=float), height, width)
        except InvalidInputError:
            outside.append(i)
    return outside


#: ``skip_outside(note, outside, total) -> bool``: whether to leave out the regions
#: that fall outside the image (``note`` says how many do).
SkipOutside = Callable[[str, int, int], bool]


def import_regions(
    viewer, path: str | Path, image_layer, skip_outside: bool | SkipOutside = False
) -> list:
    """Add the regions of a DS9/CRTF file over ``image_layer``: a Shapes layer (and a
    Points layer for points), with each region's text in the ``text`` feature.

    Regions that fall wholly outside the image (a file made for another image) are
    reported in one notification ("3 regions fall outside the image"); with
    ``skip_outside`` (or when the callable given answers yes) they are left out.

    Returns
    -------
    list
        The layers added.
    """
    from ..core.io.region_files import read_region_file

    placed = read_region_file(path, _wcs_of(image_layer))
    regions = list(placed.regions)
    outside = outside_regions(regions, image_layer)
    note = fall_outside_note(len(outside), len(regions))
    if outside and callable(skip_outside):
        skip_outside = skip_outside(note, len(outside), len(regions))
    if outside and skip_outside:
        missed = set(outside)
        regions = [r for i, r in enumerate(regions) if i not in missed]
    if note:
        done = "skipped" if skip_outside else "placed outside it"
        worker.show_info(f"{Path(path).name}: {note} ({done})")
    added = _add_region_layers(viewer, Path(path), image_layer, regions, placed)
    if placed.skipped:  # the first few reasons, then a count
        shown = "; ".join(placed.skipped[:SHOWN_SKIPS])
        more = len(placed.skipped) - SHOWN_SKIPS
        worker.show_info(
            f"{Path(path).name}: skipped {len(placed.skipped)}: {shown}"
            + (f"; and {more} more" if more > 0 else "")
        )
    return added


def _add_region_layers(viewer, path: Path, image_layer, regions: list, placed) -> list:
    """A Shapes layer for the regions that are not points, a Points layer for the rest."""
    where = placement(image_layer)
    name = path.stem
    added = []
    shapes = [r for r in regions if r.shape_type != "point"]
    points = [r for r in regions if r.shape_type == "point"]
    if shapes:
        layer = viewer.add_shapes(
            [s.vertices for s in shapes],
            shape_type=[s.shape_type for s in shapes],
            edge_color=[
                EXCLUDE_COLOUR if s.exclude else s.color or DEFAULT_COLOUR for s in shapes
            ],
            face_color="transparent",
            edge_width=2,
            features={
                "text": [s.text for s in shapes],
                "exclude": [bool(s.exclude) for s in shapes],
                "number": [s.number or 0 for s in shapes],
            },
            text={"string": "{text}", "color": "white", "anchor": "upper_left", "size": 10},
            name=f"{name} regions",
            **where,
        )
        layer.metadata[META_KEY] = {
            "regions_file": str(path),
            "sky": placed.sky,
            "frame": placed.frame,
        }
        added.append(layer)
    if points:
        layer = viewer.add_points(
            np.array([p.vertices[0] for p in points]),
            features={"text": [p.text for p in points]},
            text={"string": "{text}", "color": "white", "anchor": "upper_left", "size": 10},
            face_color=[p.color or DEFAULT_COLOUR for p in points],
            size=6,
            name=f"{name} points",
            **where,
        )
        added.append(layer)
    return added


def shape_texts(shapes_layer) -> list[str]:
    """Each shape's text for export: its own name (the ``text`` feature of imported
    regions) with the result beside it (``first: galaxy 0.894, star 0.106``), the result
    from the first of :data:`TEXT_COLUMNS` before ``text`` that the layer has."""
    n = len(shapes_layer.data)
    features = shapes_layer.features

    def column(name: str) -> list[str] | None:
        if name in features and len(features[name]) == n:
            return ["" if v is None or v != v else str(v) for v in features[name]]
        return None

    names = column("text") or [""] * n
    for name in TEXT_COLUMNS[:-1]:
        results = column(name)
        if results is not None:
            return [_with_result(a, b) for a, b in zip(names, results)]
    return names


def _with_result(name: str, result: str) -> str:
    name, result = name.strip(), result.strip()
    if name and result and not result.startswith(name):
        return f"{name}: {result}"
    return result or name


def _excludes(shapes_layer) -> list[bool]:
    n = len(shapes_layer.data)
    features = shapes_layer.features
    if "exclude" in features and len(features["exclude"]) == n:
        return [bool(v) for v in features["exclude"]]
    return [False] * n


def export_kind(image_layer, path: str | Path | None = None) -> str:
    """``"geojson"`` for a georeferenced layer, else ``"ds9"`` (``"crtf"`` by suffix)."""
    from ..core.coords.georef import geo_of

    if path is not None and Path(path).suffix.lower() in (".crtf", ".crt"):
        return "crtf"
    if path is not None and Path(path).suffix.lower() in (".reg",):
        return "ds9"
    return "geojson" if geo_of(image_layer.metadata) is not None else "ds9"


def export_regions(path: str | Path, shapes_layer, image_layer) -> Path:
    """Write ``shapes_layer`` with its results over ``image_layer`` to ``path``.

    ``.geojson`` needs a georeferenced image (longitude/latitude, RFC 7946); ``.reg`` and
    ``.crtf`` are written in sky coordinates when the image has a celestial WCS.
    """
    from ..core.io.region_files import write_region_file

    if not len(shapes_layer.data):
        raise InvalidInputError(f"{shapes_layer.name} has no shapes to export")
    path = Path(path)
    src, dst = data_to_world(shapes_layer), data_to_world(image_layer)
    vertices = [map_points(np.asarray(v), src, dst)[:, -2:] for v in shapes_layer.data]
    texts = shape_texts(shapes_layer)
    layer_meta = (shapes_layer.metadata or {}).get(META_KEY) or {}
    prov = layer_meta.get("provenance")
    shapes = from_napari_shapes(vertices, list(shapes_layer.shape_type), texts)
    for shape, exclude in zip(shapes, _excludes(shapes_layer)):
        shape.exclude = exclude
        shape.frame = layer_meta.get("frame")
    shapes, unwritable = _writable(shapes)
    if not shapes:
        raise InvalidInputError(f"none of the shapes of {shapes_layer.name} fits a region file")
    header = [f"napari-clipcap: {shapes_layer.name} over {image_layer.name}"]
    if prov:
        from ..core.provenance import summary_lines

        header += summary_lines(prov)
    if unwritable:
        header.append(f"left out: {'; '.join(unwritable)}")
        worker.show_info(f"Export regions: left out {len(unwritable)}: {'; '.join(unwritable)}")
    if path.suffix.lower() == ".geojson":
        return _write_geojson(path, shapes, image_layer, prov, header)
    return write_region_file(path, shapes, wcs=_wcs_of(image_layer), header=header)


def _writable(shapes: list) -> tuple[list, list[str]]:
    """The shapes a region file can hold, and a note for each one it cannot."""
    from ..core.coords.region_shapes import to_pixel_region

    kept, notes = [], []
    for i, shape in enumerate(shapes):
        try:
            to_pixel_region(shape)
        except InvalidInputError as exc:
            notes.append(f"shape {i + 1}: {exc}")
        else:
            kept.append(shape)
    return kept, notes


def _write_geojson(path: Path, shapes, image_layer, prov, header) -> Path:
    from ..core.coords.georef import geo_of
    from ..core.io.regionfile.geojson import write_shapes_geojson

    if geo_of(image_layer.metadata) is None:
        raise InvalidInputError(
            f"{image_layer.name} has no map georeferencing: export to a DS9 .reg file instead"
        )
    extra = {"provenance": prov} if prov else None
    return write_shapes_geojson(path, shapes, image_layer.metadata, extra=extra)


class RegionFilesBar(QWidget):
    """Two buttons: "Import regions…" and "Export regions…" for a dock.

    ``image_layer()`` and ``shapes_layer()`` give the dock's current choices.
    """

    def __init__(self, viewer, image_layer: Callable, shapes_layer: Callable, parent=None):
        super().__init__(parent)
        self.viewer, self._image, self._shapes = viewer, image_layer, shapes_layer
        self.import_button = QPushButton("Import regions…")
        self.import_button.setToolTip("DS9 (.reg) or CASA (.crtf) regions over the image")
        self.export_button = QPushButton("Export regions…")
        self.export_button.setToolTip(
            "The shapes with their results: DS9 in sky coordinates for a FITS image with a "
            "WCS, GeoJSON for a georeferenced scene"
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.import_button)
        row.addWidget(self.export_button)
        self.import_button.clicked.connect(self._import_clicked)
        self.export_button.clicked.connect(self._export_clicked)

    def import_file(self, path: str, skip_outside: bool | None = None) -> list:
        """Import ``path`` over the current image; errors become one notification.

        Regions outside the image are left out with ``skip_outside``, kept without;
        ``None`` asks (:meth:`ask_skip_outside`) when there are any.
        """
        image = self._image()
        if image is None:
            worker.show_error("Import regions: choose an image layer first")
            return []
        skip = self.ask_skip_outside if skip_outside is None else skip_outside
        try:
            return import_regions(self.viewer, path, image, skip)
        except (ClipcapError, OSError) as exc:
            worker.show_error(f"Import regions: {exc}")
        except Exception as exc:  # a Qt slot: one line, never an abort
            worker.show_error(f"Import regions failed: {error_line(exc)}")
        return []

    def export_file(self, path: str) -> Path | None:
        """Export the current shapes to ``path``; errors become one notification."""
        image, shapes = self._image(), self._shapes()
        if image is None or shapes is None:
            worker.show_error("Export regions: choose an image and a shapes layer first")
            return None
        try:
            return export_regions(path, shapes, image)
        except (ClipcapError, OSError) as exc:
            worker.show_error(f"Export regions: {exc}")
        except Exception as exc:  # a Qt slot: one line, never an abort
            worker.show_error(f"Export regions failed: {error_line(exc)}")
        return None

    def ask_skip_outside(self, note: str, outside: int, total: int) -> bool:
        """Ask whether to leave out the regions outside the image; True to skip them."""
        box = QMessageBox(self)
        box.setWindowTitle("Import regions")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(f"{note[:1].upper()}{note[1:]}: the file may be meant for another image.")
        skip = box.addButton(
            "Skip them" if outside < total else "Import nothing",
            QMessageBox.ButtonRole.AcceptRole,
        )
        box.addButton("Import all", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(skip)
        box.exec()
        return box.clickedButton() is skip

    def _import_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import regions", "", "Region files (*.reg *.crtf);;All files (*)"
        )
        if path:
            self.import_file(path)

    def _export_clicked(self) -> None:
        image = self._image()
        kind = export_kind(image) if image is not None else "ds9"
        default = "regions.geojson" if kind == "geojson" else "regions.reg"
        filters = (
            "GeoJSON (*.geojson);;DS9 regions (*.reg)"
            if kind == "geojson"
            else "DS9 regions (*.reg);;CASA regions (*.crtf)"
        )
        path, _ = QFileDialog.getSaveFileName(self, "Export regions", default, filters)
        if path:
            self.export_file(path)
