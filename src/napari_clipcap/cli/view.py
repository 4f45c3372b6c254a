"""``napari-clipcap view``: open napari with the plugin, files and sample data."""

from __future__ import annotations

import argparse


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


def run(args: argparse.Namespace) -> int:
    import napari

    from .._sample_data import SAMPLE_NAMES

    viewer = napari.Viewer(title="napari-clipcap")
    samples = args.sample if args.sample is not None else ([] if args.files else SAMPLE_NAMES)
    for name in samples:
        viewer.open_sample("napari-clipcap", name)
    if args.files:
        viewer.open(args.files, plugin="napari-clipcap")
    for widget in _WIDGETS:
        viewer.window.add_plugin_dock_widget("napari-clipcap", widget)
    napari.run()
    return 0


#: Dock widgets opened by ``view``, by their display names in napari.yaml.
_WIDGETS: tuple[str, ...] = ("Caption", "Region labels", "Text heatmap")
