"""The widgets dock through the npe2 manifest, as ``napari-clipcap view`` docks them."""

from __future__ import annotations

from napari_clipcap._qt.widgets.caption.widget import CaptionWidget
from napari_clipcap._qt.widgets.heatmap.widget import HeatmapWidget
from napari_clipcap._qt.widgets.labels.widget import LabelsWidget
from napari_clipcap.cli.view import _WIDGETS

MINE = {"Caption": CaptionWidget, "Region labels": LabelsWidget, "Text heatmap": HeatmapWidget}


def test_manifest_widgets_dock(make_napari_viewer):
    assert set(MINE) <= set(_WIDGETS)  # `napari-clipcap view` docks them
    viewer = make_napari_viewer()
    for name, cls in MINE.items():
        _, widget = viewer.window.add_plugin_dock_widget("napari-clipcap", name)
        assert type(widget) is cls
