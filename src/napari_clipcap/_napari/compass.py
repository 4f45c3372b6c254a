"""N/E compass arrows over sky images, drawn for every north-up layer however it was opened
(File > Open, ``viewer.open(..., plugin="napari-clipcap")``, the sample, the docks).

No Qt: :func:`install_compass` is called by the FITS reader and the sample data for the
current viewer, as :func:`~napari_clipcap._napari.status.install_world_status` is.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from ..core.coords.orientation import sky_directions
from .layers import spatial_shape

__all__ = ["COMPASS_COLOUR", "compass_name", "follow_visibility", "install_compass",
           "show_compass", "spatial_shape"]  # fmt: skip

#: Marks a layer whose compass already follows its visibility.
_FOLLOWED = "_clipcap_compass_followed"


#: Colour of the compass arrows and letters.
COMPASS_COLOUR = "#ffd34d"


def compass_name(layer) -> str:
    return f"{layer.name} compass"


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

    if not getattr(layer, _FOLLOWED, False):
        layer.events.visible.connect(sync)
        setattr(layer, _FOLLOWED, True)
    sync()


def _corners(layer, rows: int, cols: int) -> list:
    lead = [0] * (layer.ndim - 2)
    return [[*lead, r, c] for r in (0, rows - 1) for c in (0, cols - 1)]


def _on_inserted(event: Any) -> None:
    layer = event.value
    ref = getattr(event.source, "_clipcap_viewer", None)
    viewer = ref() if ref is not None else None
    if viewer is not None and (getattr(layer, "metadata", None) or {}).get("north_up"):
        follow_visibility(viewer, layer)


def install_compass(viewer: Any) -> None:
    """Draw the compass of every north-up sky layer of ``viewer``, now and later."""
    viewer.layers._clipcap_viewer = weakref.ref(viewer)
    emitter = viewer.layers.events.inserted
    if _on_inserted not in list(emitter.callbacks):
        emitter.connect(_on_inserted)
    for layer in list(viewer.layers):
        if (getattr(layer, "metadata", None) or {}).get("north_up"):
            follow_visibility(viewer, layer)
