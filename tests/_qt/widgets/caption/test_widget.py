"""Caption widget on a tiny ClipCap: scopes, side-by-side captioners, shape text,
metadata, copy, word relevance, validation and errors."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtGui import QGuiApplication

from fixtures.qt_jobs import wait_job
from napari_clipcap._napari.layers import META_KEY, camera_of
from napari_clipcap._napari.models.specs import CUSTOM, ModelChoice
from napari_clipcap._qt.models.panel import SharedSettings
from napari_clipcap._qt.widgets.caption.widget import REGIONS_LAYER, CaptionWidget


@pytest.fixture
def clipcap_choices(tiny_clip_files, gpt2_dir, clipcap_mlp_pt, clipcap_own_dir):
    """Two tiny ClipCap captioners over the tiny open_clip model."""
    common = {"preset": CUSTOM, "kind": "clipcap", "decoder": str(gpt2_dir)}
    enc = {
        "clip_model": str(tiny_clip_files.config),
        "clip_weights": str(tiny_clip_files.safetensors),
    }
    return (
        ModelChoice(weights=str(clipcap_mlp_pt), **common, **enc),
        ModelChoice(weights=str(clipcap_own_dir), **common, **enc),
    )


@pytest.fixture
def captioning(make_napari_viewer, qtbot, scene, tiny_clip_choice, clipcap_choices, notifications):
    SharedSettings.instance().update(captioner=clipcap_choices[0])
    viewer = make_napari_viewer()
    viewer.add_image(scene, name="scene")
    widget = CaptionWidget(viewer)
    qtbot.addWidget(widget)
    widget.max_tokens_spin.setValue(8)
    return viewer, widget


def test_whole_image_caption_listed_stored_and_copied(captioning, qtbot, notifications):
    viewer, w = captioning
    assert w.caption_button.isEnabled()
    w.caption_button.click()
    wait_job(qtbot, w)
    assert notifications == []
    (result,) = w.results
    assert result["region"] == "whole image" and result["box"] == [0, 0, 128, 96]
    assert len(result["captions"]) == 1 and isinstance(result["captions"][0], str)
    assert viewer.layers["scene"].metadata[META_KEY]["captions"] == w.results
    assert w.results_view.tree.topLevelItemCount() == 1
    w.results_view.copy_all()
    assert QGuiApplication.clipboard().text().startswith("whole image\t")
    assert list(viewer.layers[REGIONS_LAYER].features["caption"]) == result["captions"][:1]


def test_each_shape_with_two_captioners_side_by_side(captioning, qtbot, clipcap_choices):
    viewer, w = captioning
    shapes = viewer.add_shapes(
        [np.array([[10.0, 20.0], [40.0, 60.0]]), np.array([[50.0, 0.0], [90.0, 100.0]])],
        shape_type="rectangle",
        scale=(0.5, 0.5),
    )
    w.scope_combo.setCurrentText("Each shape")
    w.shapes_combo.set_layer(shapes)
    w.add_compared()
    SharedSettings.instance().update(captioner=clipcap_choices[1])
    w.add_compared()
    w.add_compared()  # the same captioner twice is listed once
    assert w.compare_list.count() == 2
    w.method_combo.setCurrentText("beam search")
    w.num_spin.setValue(2)
    w.caption_button.click()
    wait_job(qtbot, w)
    assert [(r["region"], r["captioner"]) for r in w.results] == [
        ("shape 0", clipcap_choices[0].label),
        ("shape 1", clipcap_choices[0].label),
        ("shape 0", clipcap_choices[1].label),
        ("shape 1", clipcap_choices[1].label),
    ]
    # the shapes layer's scale is 0.5: its boxes are half size in image pixels
    assert w.results[0]["box"] == [10, 5, 30, 20]
    assert all(len(r["captions"]) == 2 for r in w.results)
    assert w.results[0]["decoding"]["beam_size"] == 5
    assert list(shapes.features["caption"]) == [
        w.results[0]["captions"][0],
        w.results[1]["captions"][0],
    ]
    assert f"caption:{clipcap_choices[1].label}" in shapes.features
    assert shapes.text.string.format == "{caption}"
    assert w.results_view.tree.topLevelItemCount() == 8


def test_field_of_view_captions_only_what_is_seen(captioning, qtbot):
    viewer, w = captioning
    camera_of(viewer).center = (0, 48, 64)
    camera_of(viewer).zoom = viewer.canvas.size[1] / 32  # 32 pixels wide
    w.scope_combo.setCurrentText("Field of view")
    w.caption_button.click()
    wait_job(qtbot, w)
    x0, y0, x1, y1 = w.results[0]["box"]
    assert x1 - x0 == pytest.approx(32, abs=1) and x0 == pytest.approx(48, abs=1)
    half_height = viewer.canvas.size[0] / camera_of(viewer).zoom / 2
    assert y0 == pytest.approx(max(0, 48 - half_height), abs=1)
    assert y1 == pytest.approx(min(96, 48 + half_height), abs=1)


def test_clicking_a_word_adds_a_relevance_layer(captioning, qtbot):
    viewer, w = captioning
    w.scope_combo.setCurrentText("Field of view")
    camera_of(viewer).center = (0, 30, 40)
    camera_of(viewer).zoom = viewer.canvas.size[1] / 40
    w.caption_button.click()
    wait_job(qtbot, w)
    # random weights write gibberish: give the caption a word to click
    w.results[0]["captions"][0] = "a spiral galaxy."
    w.results_view.word_clicked.emit(0, 0, "galaxy")
    wait_job(qtbot, w)
    layer = viewer.layers["relevance: galaxy"]
    assert layer.data.shape == (96, 128) and layer.data.dtype == np.float32
    x0, y0, x1, y1 = w.results[0]["box"]
    inside = layer.data[y0:y1, x0:x1]
    assert np.isfinite(inside).all() and np.isnan(layer.data).sum() == 96 * 128 - inside.size
    assert w.image_combo.currentText() == "scene"  # a result never becomes the source
    assert layer.metadata[META_KEY]["relevance"]["word"] == "galaxy"


def test_words_of_the_selected_caption_are_links(qtbot):
    from napari_clipcap._qt.widgets.caption.results import CaptionResults

    view = CaptionResults()
    qtbot.addWidget(view)
    view.set_results([{"region": "r", "captioner": "c", "captions": ["x", "a spiral galaxy."]}])
    view.tree.setCurrentItem(view.tree.topLevelItem(1))
    assert view.words.text().count("<a href=") == 3
    with qtbot.waitSignal(view.word_clicked) as blocker:
        view.words.linkActivated.emit("0:1:spiral")
    assert blocker.args == [0, 1, "spiral"]
    assert view.captions_text() == "r\tc\tx\nr\tc\ta spiral galaxy."


def test_each_shape_without_shapes_explains_itself(captioning):
    viewer, w = captioning
    w.scope_combo.setCurrentText("Each shape")
    assert not w.caption_button.isEnabled() and "Shapes" in w.caption_button.toolTip()
    shapes = viewer.add_shapes(name="empty")
    w.shapes_combo.set_layer(shapes)
    assert "Draw at least one shape" in w.caption_button.toolTip()
    shapes.add_rectangles(np.array([[1.0, 1.0], [20.0, 20.0]]))
    assert w.caption_button.isEnabled()


def test_broken_checkpoint_is_one_notification(
    captioning, qtbot, tmp_path, notifications, clipcap_choices
):
    viewer, w = captioning
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    SharedSettings.instance().update(
        captioner=ModelChoice.from_dict({**clipcap_choices[0].__dict__, "weights": str(broken)})
    )
    w.caption_button.click()
    wait_job(qtbot, w)
    assert len(notifications) == 1 and "broken.pt" in notifications[0]
    assert w.results == [] and REGIONS_LAYER not in viewer.layers


@pytest.mark.parametrize(
    ("choice", "said"),
    [
        (ModelChoice(preset="clipcap-coco-transformer", kind="clipcap"), "Checkpoint row"),
        (ModelChoice(preset=CUSTOM, kind="clipcap", weights=""), "Checkpoint row"),
        (ModelChoice(preset=CUSTOM, kind="clipcap", weights="/no/such/cc.pt"), "cc.pt was not"),
        ("mlp without encoder", "Encoder row"),
    ],
)
def test_caption_is_disabled_with_the_row_to_fix(captioning, clipcap_mlp_pt, choice, said):
    """A model that cannot run disables Caption before any click, naming the row; GUI
    words only (no Python keyword, no command-line flag)."""
    _, w = captioning
    if choice == "mlp without encoder":
        choice = ModelChoice(preset=CUSTOM, kind="clipcap", weights=str(clipcap_mlp_pt))
    SharedSettings.instance().update(captioner=choice)
    assert not w.caption_button.isEnabled()
    why = w.caption_button.toolTip()
    assert said in why and why == w.hint.text()
    assert "weights=" not in why and "--" not in why


class _HeldCaptioner:
    """Captions every piece 'region <i>' once ``gate`` is set (a Captioner: named)."""

    name = "held"

    def __init__(self, gate):
        self.gate = gate

    def caption(self, pieces, *, progress=None, cancel=None, **opts):
        self.gate.wait(10)
        return [[f"region {i}"] for i in range(len(pieces))]


def test_captions_go_to_the_shapes_captioned_not_the_ones_chosen_later(
    captioning, qtbot, monkeypatch, notifications
):
    """Choosing another Shapes layer, or deleting a shape, while captioning runs must
    not put the captions on the wrong shapes (nor fail on a missing layer)."""
    import threading

    import napari_clipcap._qt.widgets.caption.widget as cw

    gate = threading.Event()

    class Store:
        def captioner(self, *args):
            return _HeldCaptioner(gate)

    monkeypatch.setattr(cw, "STORE", Store())
    viewer, w = captioning
    rects = [np.array([[10.0, 20.0], [40.0, 60.0]]), np.array([[50.0, 0.0], [90.0, 100.0]])]
    first = viewer.add_shapes(rects, shape_type="rectangle", name="first")
    other = viewer.add_shapes(rects, shape_type="rectangle", name="other")
    w.scope_combo.setCurrentText("Each shape")
    w.shapes_combo.set_layer(first)
    with qtbot.captureExceptions() as raised:
        w.caption_button.click()
        w.shapes_combo.set_layer(other)
        gate.set()
        wait_job(qtbot, w)
    assert raised == [] and notifications == []
    assert list(first.features["caption"]) == ["region 0", "region 1"]
    assert "caption" not in other.features

    gate.clear()
    w.shapes_combo.set_layer(first)
    first.features = {}
    with qtbot.captureExceptions() as raised:
        w.caption_button.click()
        first.selected_data = {0}
        first.remove_selected()
        gate.set()
        wait_job(qtbot, w)
    assert raised == [] and notifications == []
    assert "caption" not in first.features and len(w.results) == 2
    assert "shapes changed" in w.job_panel.status.text()


def test_captions_come_from_the_caption_requests_run(captioning, qtbot, monkeypatch):
    """The dock runs its CaptionRequest (the CLI's path) with the cached captioner handed
    in, not a copy of the crop-and-caption loop: the request's rows are what it lists."""
    from napari_clipcap.core.tasks.requests import CaptionRequest

    ran: list = []
    real = CaptionRequest.run

    def spy(self, **kwargs):
        result = real(self, **kwargs)
        ran.append((self, kwargs))
        result.rows[0]["captions"] = ["from the request"]
        return result

    monkeypatch.setattr(CaptionRequest, "run", spy)
    viewer, w = captioning
    w.caption_button.click()
    wait_job(qtbot, w)
    assert len(ran) == 1
    request, kwargs = ran[0]
    assert kwargs["captioner"] is not None and request.images[0].name == "scene"
    assert dict(request.decoding)["max_tokens"] == 8
    assert w.results[0]["captions"] == ["from the request"]
    assert list(viewer.layers[REGIONS_LAYER].features["caption"]) == ["from the request"]
