"""``napari-clipcap view``: open napari with the plugin's widgets, files and sample data."""

from __future__ import annotations

import argparse
from pathlib import Path

PLUGIN = "napari-clipcap"

#: Dock widgets opened by ``view``, by their display names in napari.yaml; the first is
#: in front, the others are tabbed behind it.
_WIDGETS: tuple[str, ...] = (
    "Caption",
    "Region labels",
    "Text heatmap",
    "Grounding",
    "Search collection",
    "Band composite",
)


#: Samples opened when no files are given, the first shown and the others hidden. The
#: 13-band Sentinel-2 sample stays under File > Open Sample (or ``--sample sentinel2``):
#: its band stack would add a band slider to a first view that has no use for it.
DEFAULT_SAMPLES: tuple[str, ...] = ("overhead", "sky")


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("view", help="open napari with the plugin's widgets and sample data")
    p.add_argument("files", nargs="*", help="images to open (FITS, GeoTIFF, PNG, ...)")
    p.add_argument(
        "--sample",
        action="append",
        default=None,
        metavar="NAME",
        help="sample data to open (repeatable); default without files: "
        + ", ".join(DEFAULT_SAMPLES)
        + " (the others are under File > Open Sample)",
    )
    p.set_defaults(func=run)
    return p


def sample_keys() -> list[str]:
    """The plugin's sample-data keys, as the npe2 manifest lists them."""
    from npe2 import PluginManager

    pm = PluginManager.instance()
    if PLUGIN not in pm._manifests:  # napari discovers plugins with its first viewer
        pm.discover()
    return [s.key for s in pm.get_manifest(PLUGIN).contributions.sample_data or ()]


def _needs_plugin(path: str) -> bool:
    """FITS files and geospatial TIFFs open with this plugin; the rest with napari's own."""
    from ..core.io.fits.reader import has_fits_suffix, is_fits
    from ..core.io.geotiff import is_geospatial_tiff

    if has_fits_suffix(path) or is_fits(path):
        return True
    return Path(path).suffix.lower() in (".tif", ".tiff") and is_geospatial_tiff(path)


def _open(viewer, path: str) -> None:
    """Open with this plugin when it is ours; otherwise let napari choose its reader, and
    take napari's own when napari would stop to ask which one (no saved preference)."""
    from napari.errors import MultipleReaderError

    if _needs_plugin(path):
        viewer.open(path, plugin=PLUGIN)
        return
    try:
        viewer.open(path)
    except MultipleReaderError:
        viewer.open(path, plugin="napari")


def populate(viewer, files: list[str], samples: list[str] | None = None):
    """Open ``files`` and ``samples`` (default: :data:`DEFAULT_SAMPLES` when no files), dock
    the widgets with Caption in front, and size the window to the screen.

    With samples and no files, the first sample's layer is the one shown; the others are
    hidden in the layer list. Files keep napari's default visibility.
    """
    from .._qt.first_view import arrange

    if samples is None:
        samples = [] if files else [k for k in DEFAULT_SAMPLES if k in sample_keys()]
    first_sample_layer = None
    for name in samples:
        layers = viewer.open_sample(PLUGIN, name)
        if first_sample_layer is None and layers:
            first_sample_layer = layers[-1].name
    for path in files:
        _open(viewer, path)
    for i, widget in enumerate(_WIDGETS):
        viewer.window.add_plugin_dock_widget(PLUGIN, widget, tabify=i > 0)
    arrange(viewer, _WIDGETS[0], visible_layer=None if files else first_sample_layer)
    return viewer


#: What ``view`` says, and its exit status, where napari cannot open a window.
NO_DISPLAY = (
    "napari-clipcap view: napari needs a display and none is set (DISPLAY, WAYLAND_DISPLAY); "
    "run it on a virtual screen with `xvfb-run napari-clipcap view`, or use the commands "
    "(`napari-clipcap --help`: caption, labels, heatmap, search, ...)"
)
NO_DISPLAY_STATUS = 2


def has_display(environ=None) -> bool:
    """Whether Qt can open a window here: a display server, a non-X11 platform
    (macOS, Windows), or a Qt platform chosen explicitly (``QT_QPA_PLATFORM``)."""
    import os
    import sys

    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"))


def run(args: argparse.Namespace) -> int:
    if not has_display():
        import sys

        print(NO_DISPLAY, file=sys.stderr)
        return NO_DISPLAY_STATUS
    import napari

    populate(napari.Viewer(title="napari-clipcap"), args.files, args.sample)
    napari.run()
    return 0
