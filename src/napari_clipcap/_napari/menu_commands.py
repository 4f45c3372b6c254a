"""npe2 menu commands (Layers > Visualize); napari injects the viewer by its type."""

from napari.viewer import Viewer

from .plane_contrast import zscale_current_plane


def zscale_plane_command(viewer: Viewer) -> None:
    """ "ZScale the current plane": DS9's zscale of the plane on screen for the selected
    image layers (a FITS cube's limits then follow the slider again)."""
    zscale_current_plane(viewer)
