"""North up and a compass for sky images: the layer's display flip and N/E arrows.

The flip is a world transform (:mod:`napari_clipcap.core.coords.orientation`): data,
pixel coordinates, shapes read through the transform, and exports keep their meaning.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtWidgets import QCheckBox

from .._napari.layers import spatial_shape
from ..core.coords.orientation import north_up_placement, sky_directions

#: Colour of the compass arrows and letters.
COMPASS_COLOUR = "#ffd34d"


def compass_name(layer) -> str:
    return f"{layer.name} compass"


def is_sky(layer) -> bool:
    """Whether ``layer`` has a celestial WCS on its rows and columns."""
    meta = getattr(layer, "metadata", None) or {}
    return sky_directions(meta.get("wcs"), spatial_shape(layer)) is not None


def set_north_up(viewer, layer, on: bool) -> None:
    """Show ``layer`` north up (row 0 at the bottom, as DS9) or as napari draws it, and
    keep its compass in step."""
    shape = spatial_shape(layer)
    where = north_up_placement(shape, on)
    layer.scale, layer.translate = where["scale"], where["translate"]
    layer.metadata = {**layer.metadata, "north_up": bool(on)}
    show_compass(viewer, layer)
    viewer.reset_view()


def show_compass(viewer, layer):
    """Add (or redraw) N and E arrows in the image's upper-left corner, as shown."""
    directions = sky_directions((layer.metadata or {}).get("wcs"), spatial_shape(layer))
    if directions is None:
        return None
    rows, cols = spatial_shape(layer)[-2:]
    scale = np.asarray(layer.scale[-2:], float)
    corners = np.array([layer.data_to_world(p)[-2:] for p in _corners(layer, rows, cols)])
    top_left = corners.min(axis=0)
    size = min(rows, cols)
    anchor = top_left + 0.14 * size
    arrows = [
        np.array([anchor, anchor + 0.1 * size * np.asarray(directions[k]) * scale])
        for k in ("N", "E")
    ]
    name = compass_name(layer)
    if name in viewer.layers:
        viewer.layers[name].data = arrows
        return viewer.layers[name]
    return viewer.add_shapes(
        arrows,
        shape_type="line",
        edge_color=COMPASS_COLOUR,
        edge_width=max(size / 200, 1.0),
        features={"direction": ["N", "E"]},
        text={"string": "{direction}", "color": COMPASS_COLOUR, "size": 12, "anchor": "center"},
        name=name,
    )


def follow_visibility(viewer, layer) -> None:
    """Show the compass of a north-up sky layer whenever the layer is shown (drawn the
    first time it is), and hide it with the layer."""

    def sync(event=None) -> None:
        name = compass_name(layer)
        if layer not in viewer.layers:
            return
        if layer.visible and name not in viewer.layers:
            show_compass(viewer, layer)
        if name in viewer.layers:
            viewer.layers[name].visible = layer.visible

    layer.events.visible.connect(sync)
    sync()


def _corners(layer, rows: int, cols: int) -> list:
    lead = [0] * (layer.ndim - 2)
    return [[*lead, r, c] for r in (0, rows - 1) for c in (0, cols - 1)]


class NorthUpCheck(QCheckBox):
    """ "North up (as DS9), compass" for a dock's chosen image layer."""

    def __init__(self, viewer, image_layer, parent=None):
        super().__init__("North up (as DS9), compass", parent)
        self.viewer, self._image = viewer, image_layer
        self.setToolTip(
            "Show sky images with row 0 at the bottom, north up for a standard WCS, with "
            "N/E arrows; pixel coordinates, regions and exports do not change"
        )
        self.toggled.connect(self._toggled)
        self.refresh()

    def refresh(self, *_) -> None:
        """Follow the chosen layer: enabled for sky images, ticked when north up."""
        layer = self._image()
        sky = layer is not None and is_sky(layer)
        self.setEnabled(sky)
        self.blockSignals(True)
        self.setChecked(bool(sky and layer.metadata.get("north_up")))
        self.blockSignals(False)

    def _toggled(self, on: bool) -> None:
        layer = self._image()
        if layer is not None and is_sky(layer):
            set_north_up(self.viewer, layer, on)
