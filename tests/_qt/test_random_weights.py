"""Random weights are said beside the result in the docks (issue 20, one model rule)."""

from __future__ import annotations

import numpy as np

from napari_clipcap._napari.layers import META_KEY
from napari_clipcap._napari.models.specs import CUSTOM, ModelChoice
from napari_clipcap._qt.models.panel import SharedSettings
from napari_clipcap._qt.widgets.labels.widget import LabelsWidget
from napari_clipcap.core.model_cache import unload_all

RECT = np.array([[10.0, 20.0], [10.0, 60.0], [40.0, 60.0], [40.0, 20.0]])


def test_the_labels_dock_says_random_weights_beside_its_result(
    make_napari_viewer, qtbot, tiny_clip_files, notifications
):
    unload_all()
    random_clip = ModelChoice(preset=CUSTOM, kind="clip", model=str(tiny_clip_files.config),
                              weights="none")  # fmt: skip
    SharedSettings.instance().update(clip=random_clip, device="cpu", precision="fp32")
    viewer = make_napari_viewer()
    pixels = np.random.default_rng(0).random((64, 80, 3)).astype(np.float32)
    image = viewer.add_image(pixels, rgb=True)
    shapes = viewer.add_shapes([RECT], shape_type="rectangle")
    widget = LabelsWidget(viewer)
    qtbot.addWidget(widget)
    widget.auto_check.setChecked(False)
    widget.image_combo.set_layer(image)
    widget.shapes_combo.set_layer(shapes)
    widget.labels_edit.setPlainText("forest, river")
    widget.score()
    qtbot.waitUntil(lambda: widget.job_panel.job is not None, timeout=30000)
    qtbot.waitUntil(lambda: not widget.job_panel.busy, timeout=30000)
    status = widget.job_panel.status.text()
    assert "⚠" in status and "random weights" in status
    (clip,) = [m for m in shapes.metadata[META_KEY]["provenance"]["models"] if m["role"] == "clip"]
    assert clip["random"] is True and clip["source"] == "random"
    unload_all()
