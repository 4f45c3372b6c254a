"""Grounding dock on the tiny Florence-2: boxes placed over scaled, translated and
rotated layers from scripted model output, grounding the Caption dock's caption, shape
descriptions, tiles with progress and cancel, reasons the Run button is disabled, layer
names and the provenance command (run through the CLI, it gives the same boxes)."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest
from PIL import Image

from fixtures.qt_jobs import wait_job
from napari_clipcap._napari.layers import META_KEY, store_result
from napari_clipcap._napari.models.specs import CUSTOM, ModelChoice
from napari_clipcap._napari.models.store import STORE
from napari_clipcap._qt.models.panel import SharedSettings
from napari_clipcap._qt.widgets.grounding.inputs import DESCRIBE, GROUND
from napari_clipcap._qt.widgets.grounding.results import result_name
from napari_clipcap._qt.widgets.grounding.widget import GroundingWidget
from napari_clipcap.core.cache import hub_offline

# tiles of 64 px over a 64 x 112 image: x 0..64 and 48..112
# (as in tests/core/captioning/florence2/test_captioner.py)
ANSWERS = [
    "</s><s>ships<loc_625><loc_0><loc_937><loc_499></s>",  # tile 1, "ships": x 40..60
    "</s><s><loc_0><loc_0><loc_99><loc_99></s>",  # tile 1, "tanks": boxes, no phrase
    "</s><s>ships<loc_0><loc_0><loc_187><loc_499></s>",  # tile 2: the same ship, cut
    "</s><s>tanks</s>",  # tile 2, "tanks": nothing
]
SHIP = [40.032, 0.032, 60.0, 31.968]
TANK = [0.032, 0.032, 6.368, 6.368]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def florence_choice(florence2_dir):
    choice = ModelChoice(preset=CUSTOM, kind="florence2", weights=str(florence2_dir))
    SharedSettings.instance().update(grounding=choice, device="cpu", precision="fp32")
    return choice


def script(monkeypatch, choice, texts, *, on_call=None):
    """Make Florence-2's ``generate`` answer ``texts`` in call order (for every loaded
    copy: the class method is replaced); returns the prompts it was given."""
    model = STORE.captioner(choice, "cpu", "fp32")
    tok, queue, prompts = model.tokenizer, list(texts), []

    def generate(self, input_ids=None, **kwargs):
        if on_call is not None:
            on_call(len(prompts))
        prompts.extend(tok.batch_decode(input_ids))
        batch = [queue.pop(0) for _ in range(len(input_ids))]
        return tok(batch, add_special_tokens=False, padding=True, return_tensors="pt")["input_ids"]

    monkeypatch.setattr(type(model.model), "generate", generate)
    return prompts


@pytest.fixture
def dock(make_napari_viewer, qtbot, florence_choice, notifications):
    viewer = make_napari_viewer()
    widget = GroundingWidget(viewer)
    qtbot.addWidget(widget)
    return viewer, widget


def pixel_corners(layer, image):
    """Each shape's corners in the image's data coordinates (row, col)."""
    return [
        np.array([image.world_to_data(layer.data_to_world(v)) for v in rect])
        for rect in layer.data
    ]


def expected_corners(box):
    x0, y0, x1, y1 = np.asarray(box) - 0.5  # napari pixel centres are integers
    return np.array([[y0, x0], [y0, x1], [y1, x1], [y1, x0]])


@pytest.mark.parametrize(
    "transform",
    [
        {"scale": (2.0, 0.5), "translate": (10.0, -4.0)},
        {"scale": (1.5, 1.5), "translate": (3.0, 7.0), "rotate": 30.0},
    ],
)
def test_detected_boxes_cover_their_pixels_on_a_transformed_layer(
    dock, qtbot, monkeypatch, florence_choice, notifications, transform
):
    viewer, w = dock
    image = viewer.add_image(np.zeros((64, 112), np.float32), name="scene", **transform)
    prompts = script(monkeypatch, florence_choice, ANSWERS)
    w.text_edit.setText("ships, tanks")
    w.tile_spin.setValue(64)
    w.overlap_spin.setValue(16)
    assert w.run_button.isEnabled(), w.hint.text()
    w.run_button.click()
    seen = []  # queued progress signals are all delivered after this connection
    w.job_panel.job.progressed.connect(lambda done, total: seen.append((done, total)))
    wait_job(qtbot, w)
    assert notifications == []
    assert "Locate ships in the image." in prompts[0] and "Locate tanks" in prompts[1]
    # progress per tile
    assert w.job_panel.unit == "tiles" and w.job_panel.bar.maximum() == 2
    assert seen == [(1, 2), (2, 2)]  # per tile, in order
    layer = viewer.layers["ships, tanks on scene"]
    assert layer is w.result_layer
    assert list(layer.features["phrase"]) == ["ships", "tanks"]  # the cut ship is merged
    assert list(layer.text.values) == ["ships", "tanks"]  # the phrase is shown
    for corners, box in zip(pixel_corners(layer, image), (SHIP, TANK)):
        np.testing.assert_allclose(corners, expected_corners(box), atol=1e-6)
    meta = layer.metadata[META_KEY]
    assert [d["label"] for d in meta["grounding"]] == ["ships", "tanks"]
    assert meta["provenance"]["parameters"]["tile"] == 64
    assert "2 box(es) for 2 phrase(s)" in w.job_panel.status.text()
    # a second run updates the same layer in place
    script(monkeypatch, florence_choice, ANSWERS)
    first = w.job_panel.job
    w.run_button.click()
    wait_job(qtbot, w, before=first)
    assert notifications == [] and w.job_panel.job.error is None
    assert viewer.layers["ships, tanks on scene"] is layer and len(layer.data) == 2


def test_grounds_the_caption_docks_last_caption(dock, qtbot, monkeypatch, florence_choice):
    viewer, w = dock
    image = viewer.add_image(np.zeros((96, 160, 3), np.uint8), name="scene", scale=(2, 2))
    w.mode_combo.setCurrentText(GROUND)
    assert not w.last_caption_button.isEnabled()
    assert "caption" in w.hint.text().lower()
    store_result(image, "captions", [{"region": "whole image", "captions": ["", "x"]}])
    store_result(image, "captions", [{"captions": ["two ships  near a harbour"]}])
    assert w.last_caption_button.isEnabled()  # the metadata change is seen at once
    w.last_caption_button.click()
    assert w.text_edit.text() == "two ships near a harbour"
    answer = "</s><s>two ships<loc_0><loc_0><loc_99><loc_99><loc_500><loc_500><loc_599>"
    answer += "<loc_599>a harbour<loc_0><loc_500><loc_999><loc_999></s>"
    prompts = script(monkeypatch, florence_choice, [answer])
    w.tile_spin.setValue(0)  # whole image
    w.run_button.click()
    wait_job(qtbot, w)
    assert "two ships near a harbour" in prompts[0] and len(prompts) == 1
    layer = viewer.layers["two ships near a harbour on scene"]
    assert list(layer.features["phrase"]) == ["two ships", "two ships", "a harbour"]
    corners = pixel_corners(layer, image)
    np.testing.assert_allclose(corners[2], expected_corners([0.08, 48.048, 159.92, 95.952]))
    # one colour per phrase
    edges = [tuple(c) for c in layer.edge_color]
    assert edges[0] == edges[1] != edges[2]


def test_describes_each_shape(dock, qtbot, monkeypatch, florence_choice):
    viewer, w = dock
    viewer.add_image(np.zeros((100, 100, 3), np.uint8), name="scene")
    shapes = viewer.add_shapes(
        [np.array([[0.0, 0.0], [49.0, 49.0]]), np.array([[300.0, 300.0], [320.0, 320.0]]),
         np.array([[50.0, 50.0], [99.0, 99.0]])],
        shape_type="rectangle",
    )  # fmt: skip
    w.mode_combo.setCurrentText(DESCRIBE)
    w.shapes_combo.set_layer(shapes)
    prompts = script(monkeypatch, florence_choice, ["a ship", "the sea"])
    w.run_button.click()
    wait_job(qtbot, w)
    assert "<loc_0><loc_0><loc_490><loc_490>" in prompts[0]
    assert list(shapes.features["description"]) == ["a ship", "", "the sea"]
    assert "Shape 1 is outside the image" in w.job_panel.status.text()
    prov = shapes.metadata[META_KEY]["provenance"]
    assert prov["command"] is None and "region descriptions" in prov["command_unavailable"]
    assert not w.copy_command_button.isEnabled()


def test_cancel_between_tiles_makes_no_layer(dock, qtbot, monkeypatch, florence_choice):
    viewer, w = dock
    viewer.add_image(np.zeros((64, 112), np.float32), name="scene")

    def cancel(_calls):
        w.job_panel.job.cancel_event.set()  # as the Cancel button does, mid-tile

    script(monkeypatch, florence_choice, ANSWERS, on_call=cancel)
    w.text_edit.setText("ships, tanks")
    w.tile_spin.setValue(64)
    w.overlap_spin.setValue(16)
    w.run_button.click()
    wait_job(qtbot, w)
    assert w.job_panel.status.text() == "Cancelled."
    assert "ships, tanks on scene" not in viewer.layers


def test_run_is_disabled_with_the_reason(make_napari_viewer, qtbot, florence_choice):
    viewer = make_napari_viewer()
    w = GroundingWidget(viewer)
    qtbot.addWidget(w)

    def why():
        assert not w.run_button.isEnabled() and w.run_button.toolTip() == w.hint.text()
        return w.hint.text()

    assert why() == "Open or select an image layer first."
    viewer.add_image(np.zeros((32, 32), np.float32), name="scene")
    assert why().startswith("Type the phrases to find")
    SharedSettings.instance().update(grounding=ModelChoice(preset="blip-base", kind="blip"))
    assert "needs a Florence-2" in why() and "blip-base (blip)" in why()
    SharedSettings.instance().update(grounding=ModelChoice(preset="florence2-base"))
    w.text_edit.setText("ships")
    if hub_offline():  # a preset not downloaded cannot run offline: said before the click
        assert "not downloaded" in why() and "Python" not in why() and "--" not in why()
    SharedSettings.instance().update(grounding=florence_choice)
    assert w.run_button.isEnabled()
    w.tile_spin.setValue(64)
    w.overlap_spin.setValue(64)
    assert "overlap (64 px) must be smaller" in why()
    w.tile_spin.setValue(8)
    assert "at least 16 px" in why()
    w.mode_combo.setCurrentText(GROUND)
    w.text_edit.setText("")
    assert why().startswith("Type a caption to ground")
    w.mode_combo.setCurrentText(DESCRIBE)
    assert why() == "Add a Shapes layer and draw the regions to describe."
    viewer.add_shapes(name="regions")
    assert why() == "Draw at least one shape in 'regions'."
    SharedSettings.instance().update(
        grounding=ModelChoice(preset=CUSTOM, kind="florence2", weights="")
    )
    assert "Florence-2 model folder" in why()


def test_a_failing_model_gives_one_status_line(dock, qtbot, tmp_path, notifications):
    viewer, w = dock
    viewer.add_image(np.zeros((32, 32), np.float32), name="scene")
    (tmp_path / "empty").mkdir()  # a folder, but no Florence-2 in it: fails on loading
    broken = ModelChoice(preset=CUSTOM, kind="florence2", weights=str(tmp_path / "empty"))
    SharedSettings.instance().update(grounding=broken)
    w.text_edit.setText("ships")
    w.run_button.click()
    wait_job(qtbot, w)
    status = w.job_panel.status.text()
    assert status.startswith("Failed:") and "Florence-2" in status and "\n" not in status
    assert "Traceback" not in status and len(notifications) == 1


def test_layer_names():
    assert result_name("ships,  storage tanks", "scene") == "ships, storage tanks on scene"
    long = result_name("a very long caption " * 5, "img")
    assert long.endswith("… on img") and len(long) <= 48 + len(" on img")


def test_copy_command_recomputes_the_boxes(
    dock, qtbot, monkeypatch, florence_choice, florence2_dir, tmp_path, capsys
):
    from napari_clipcap.cli import main

    viewer, w = dock
    path = tmp_path / "scene.png"
    Image.fromarray(np.zeros((64, 112, 3), np.uint8)).save(path)
    viewer.add_image(
        np.zeros((64, 112, 3), np.uint8), name="scene", metadata={"source_path": str(path)}
    )
    script(monkeypatch, florence_choice, ANSWERS * 2)
    w.text_edit.setText("ships, tanks")
    w.tile_spin.setValue(64)
    w.overlap_spin.setValue(16)
    w.run_button.click()
    wait_job(qtbot, w)
    command = w.copy_command_button.copy()
    assert command.startswith(f"napari-clipcap ground {path} ")  # the request's to_argv()
    assert "--phrases 'ships, tanks'" in command
    for flag in (f"--weights {florence2_dir}", "--tile 64 --overlap 16", "--beam 3",
                 "--max-tokens 256", "--device cpu", "--precision fp32", "--json"):  # fmt: skip
        assert flag in command, flag
    assert w.copy_command_button.isEnabled()
    capsys.readouterr()
    assert main(shlex.split(command)[1:]) == 0
    out = json.loads(capsys.readouterr().out)
    layer = viewer.layers["ships, tanks on scene"]
    assert out["detections"] == layer.metadata[META_KEY]["grounding"]


def test_docks_through_the_manifest_and_view(make_napari_viewer):
    from napari_clipcap.cli.view import _WIDGETS

    assert _WIDGETS.index("Grounding") == _WIDGETS.index("Text heatmap") + 1
    _, widget = make_napari_viewer().window.add_plugin_dock_widget("napari-clipcap", "Grounding")
    assert type(widget) is GroundingWidget


def test_the_model_panel_shows_the_captioner_only(make_napari_viewer, qtbot, florence_choice):
    w = GroundingWidget(make_napari_viewer())
    qtbot.addWidget(w)
    SharedSettings.instance().update(device="cpu")  # the panel refreshes its rows
    assert w.models.clip_combo.isHidden() and w.models.clip_status.isHidden()
    assert "ViT" not in w.models.summary.text() and "florence2" in w.models.summary.text()
    w.models.refresh()  # as after the device probe or a load
    assert w.models.clip_combo.isHidden() and "ViT" not in w.models.summary.text()


def test_caption_and_grounding_keep_their_own_captioner(
    make_napari_viewer, qtbot, florence_choice, tmp_path
):
    """Picking a Florence-2 in Grounding leaves Caption's ClipCap alone, and back."""
    from napari_clipcap._qt.widgets.caption.widget import CaptionWidget

    viewer = make_napari_viewer()
    caption, grounding = CaptionWidget(viewer), GroundingWidget(viewer)
    qtbot.addWidget(caption)
    qtbot.addWidget(grounding)
    clipcap = ModelChoice(preset=CUSTOM, kind="clipcap", weights=str(tmp_path / "cc.pt"))
    SharedSettings.instance().update(captioner=clipcap)
    assert grounding.choice == florence_choice and caption.captioners() == [clipcap]
    # the user picks another Florence-2 folder in Grounding's own rows
    grounding.models.captioner_path.edit.setText(str(tmp_path / "other-florence"))
    grounding.models.captioner_path.edit.editingFinished.emit()
    assert grounding.choice.weights == str(tmp_path / "other-florence")
    assert caption.captioners() == [clipcap]
    assert caption.models.captioner_path.edit.text() == str(tmp_path / "cc.pt")
    caption.models.captioner_combo.setCurrentText("blip-base")
    assert grounding.choice.weights == str(tmp_path / "other-florence")
    assert grounding.models.captioner_combo.currentText() == CUSTOM


def test_boxes_and_descriptions_come_from_the_ground_requests_run(
    dock, qtbot, monkeypatch, florence_choice
):
    """The dock runs its GroundRequest (the CLI's path) with the cached Florence-2 handed
    in, for boxes and for shape descriptions alike: what the run gives is what it shows."""
    from napari_clipcap.core.coords.detections import Detection
    from napari_clipcap.core.tasks.requests import GroundRequest
    from napari_clipcap.core.tasks.requests.base import TaskResult

    ran: list = []

    def spy(self, **kwargs):
        ran.append((self, kwargs))
        if self.regions is not None:
            rows = [{"box": list(r), "description": f"d{i}"} for i, r in enumerate(self.regions)]
            return TaskResult(self, {}, rows, "")
        found = [Detection(box=(1.0, 2.0, 9.0, 12.0), label="ships", text="ships", score=None)]
        return TaskResult(self, {}, [], "", extra={"detections": found})

    monkeypatch.setattr(GroundRequest, "run", spy)
    viewer, w = dock
    viewer.add_image(np.zeros((32, 32, 3), np.uint8), name="scene")
    w.text_edit.setText("ships")
    w.run_button.click()
    wait_job(qtbot, w)
    request, kwargs = ran[-1]
    assert request.phrases == "ships" and kwargs["model"] is not None
    assert list(viewer.layers["ships on scene"].features["phrase"]) == ["ships"]
    shapes = viewer.add_shapes([np.array([[0.0, 0.0], [9.0, 9.0]])], shape_type="rectangle")
    w.mode_combo.setCurrentText(DESCRIBE)
    w.shapes_combo.set_layer(shapes)
    w.run_button.click()
    wait_job(qtbot, w)
    request, _ = ran[-1]
    assert request.regions is not None and request.why_no_command()
    assert list(shapes.features["description"]) == ["d0"]
