"""North up and a compass for sky images: the layer's display flip and N/E arrows.

The flip is a world transform (:mod:`napari_clipcap.core.coords.orientation`): data,
pixel coordinates, shapes read through the transform, and exports keep their meaning.
"""

from __future__ import annotations

from qtpy.QtWidgets import QCheckBox

from .._napari.compass import (
    COMPASS_COLOUR,
    compass_name,
    follow_visibility,
    show_compass,
    spatial_shape,
)
from ..core.coords.orientation import north_up_placement, sky_directions

__all__ = ["COMPASS_COLOUR", "NorthUpCheck", "compass_name", "follow_visibility", "is_sky",
           "set_north_up", "show_compass"]  # fmt: skip


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
