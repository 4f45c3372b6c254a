"""``napari-clipcap view``: open napari with the plugin's widgets, files and sample data."""

from __future__ import annotations

import argparse
from pathlib import Path

PLUGIN = "napari-clipcap"

#: Dock widgets opened by ``view``, by their display names in napari.yaml; the first is
#: shown, the others are tabbed behind it.
_WIDGETS: tuple[str, ...] = (
    "Caption",
    "Region labels",
    "Text heatmap",
    "Search collection",
    "Band composite",
)


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("view", help="open napari with the plugin's widgets and sample data")
    p.add_argument("files", nargs="*", help="images to open (FITS, GeoTIFF, PNG, ...)")
    p.add_argument(
        "--sample",
        action="append",
        default=None,
        metavar="NAME",
        help="sample data to open (repeatable); default: all when no files are given",
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
    from ..core.io.fits import has_fits_suffix, is_fits
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
    """Open ``files`` and ``samples`` (default: every sample when no files) and dock widgets."""
    if samples is None:
        samples = [] if files else sample_keys()
    for name in samples:
        viewer.open_sample(PLUGIN, name)
    for path in files:
        _open(viewer, path)
    for i, widget in enumerate(_WIDGETS):
        viewer.window.add_plugin_dock_widget(PLUGIN, widget, tabify=i > 0)
    return viewer


def run(args: argparse.Namespace) -> int:
    import napari

    populate(napari.Viewer(title="napari-clipcap"), args.files, args.sample)
    napari.run()
    return 0
