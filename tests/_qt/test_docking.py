"""The widgets dock through the npe2 manifest, as ``napari-clipcap view`` docks them."""

from __future__ import annotations

from napari_clipcap._qt.caption_widget import CaptionWidget
from napari_clipcap._qt.heatmap_widget import HeatmapWidget
from napari_clipcap._qt.labels_widget import LabelsWidget
from napari_clipcap.cli.view import _WIDGETS


def test_manifest_widgets_dock(make_napari_viewer):
    viewer = make_napari_viewer()
    kinds = []
    for name in _WIDGETS:
        _, widget = viewer.window.add_plugin_dock_widget("napari-clipcap", name)
        kinds.append(type(widget))
    assert kinds == [CaptionWidget, LabelsWidget, HeatmapWidget]
