"""Ask dock on tiny local VLMs in a real napari window: streamed answers, per-region
conversations, cancel leaves nothing, boxes over a transformed layer, reasons Run is
disabled, the copied command gives the same answer from the CLI."""

from __future__ import annotations

import json
import shlex
import threading

import numpy as np
import pytest
from PIL import Image

from fixtures.qt_jobs import wait_job
from napari_clipcap._qt.widgets.ask.widget import SHAPES, VIEW, AskWidget
from napari_clipcap.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "scene.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def dock(make_napari_viewer, qtbot, png, qwen_vl_dir):
    viewer = make_napari_viewer()
    viewer.open(str(png))
    widget = AskWidget(viewer)
    qtbot.addWidget(widget)
    widget.vlm_combo.setCurrentText(str(qwen_vl_dir))
    widget.tokens_spin.setValue(5)
    return viewer, widget


def test_run_is_disabled_with_a_reason_until_it_can_ask(dock, tmp_path):
    _viewer, widget = dock
    assert not widget.run_button.isEnabled()
    assert "Type a question" in widget.run_button.toolTip()
    widget.question_edit.setText("how many storage tanks?")
    assert widget.run_button.isEnabled()
    widget.vlm_combo.setCurrentText(str(tmp_path))  # a folder without a model
    assert not widget.run_button.isEnabled()
    assert "config.json" in widget.run_button.toolTip()
    assert "--" not in widget.run_button.toolTip()  # GUI wording, no CLI flags


def test_answers_stream_and_conversations_grow(dock, qtbot):
    _viewer, widget = dock
    pieces = []
    widget.streamed.connect(lambda i, s: pieces.append((i, s)))
    widget.question_edit.setText("how many storage tanks?")
    widget.run_button.click()
    job = wait_job(qtbot, widget)
    assert widget.last_answers is not None
    assert pieces and all(i == 0 for i, _ in pieces)
    text = widget.answers.toPlainText()
    assert "Q: how many storage tanks?" in text
    assert "".join(s for _, s in pieces).strip() in text
    assert "qwen2.5-vl" in widget.about.text()
    widget.question_edit.setText("and now?")
    widget.run_button.click()
    wait_job(qtbot, widget, before=job)
    assert len(widget.conversations) == 2
    assert widget.answers.toPlainText().count("Q: ") == 2
    widget.clear()
    assert len(widget.conversations) == 0 and widget.answers.toPlainText() == ""


def test_each_shape_gets_its_own_answer(dock, qtbot):
    viewer, widget = dock
    viewer.add_shapes(
        [np.array([[0, 0], [0, 40], [40, 40], [40, 0]]),
         np.array([[50, 60], [50, 120], [90, 120], [90, 60]])],
        shape_type="rectangle",
    )  # fmt: skip
    widget.shapes_combo.setCurrentIndex(0)
    assert not widget.shapes_combo.isEnabled()  # only 'Each shape' reads it
    widget.where_combo.setCurrentText(SHAPES)
    assert widget.shapes_combo.isEnabled()
    widget.question_edit.setText("what is here?")
    widget.run_button.click()
    wait_job(qtbot, widget)
    assert len(widget.last_answers) == 2
    assert "shape 1" in widget.answers.toPlainText()
    assert "shape 2" in widget.answers.toPlainText()


def test_field_of_view_and_the_copied_command(dock, qtbot, capsys):
    _viewer, widget = dock
    widget.where_combo.setCurrentText(VIEW)
    widget.question_edit.setText("describe this region in detail.")
    widget.run_button.click()
    wait_job(qtbot, widget)
    [answer] = widget.last_answers
    command = widget.copy_command_button.record["command"]
    argv = shlex.split(command)
    assert argv[:2] == ["napari-clipcap", "ask"] and "--region" in argv
    assert main([*argv[1:], "--device", "cpu", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["regions"][0]["answer"] == answer.text


def test_cancel_mid_answer_leaves_nothing(dock, qtbot):
    _viewer, widget = dock
    widget.tokens_spin.setValue(200)
    widget.question_edit.setText("describe this region in detail.")
    first = threading.Event()
    widget.streamed.connect(lambda i, s: first.is_set() or (first.set(), widget.cancel_job()))
    widget.run_button.click()
    wait_job(qtbot, widget)
    assert widget.last_answers is None
    assert len(widget.conversations) == 0
    assert "A:" not in widget.answers.toPlainText()


def test_boxes_land_over_a_transformed_layer(dock, qtbot, monkeypatch):
    from napari_clipcap.core.vlm import model as vlm_model

    viewer, widget = dock
    image = viewer.layers[0]
    image.scale, image.translate, image.rotate = (2.0, 3.0), (100.0, -50.0), 30.0
    real = vlm_model.VisionLanguageModel.answer

    def scripted(self, *args, **kwargs):  # the model "writes" a box in its JSON
        answer = real(self, *args, **kwargs)
        text = '{"bbox_2d": [14, 28, 42, 56], "label": "tank"}'
        shown = answer.shown
        grid = self._model_size(self._inputs(np.zeros((shown[1], shown[0], 3), np.uint8),
                                             self.prompt("x")), shown)  # fmt: skip
        boxes = vlm_model.parse_boxes(text, "qwen-absolute", shown_size=shown, model_size=grid)
        return vlm_model.Answer(answer.text, text, boxes, answer.tokens, shown=shown)

    monkeypatch.setattr(vlm_model.VisionLanguageModel, "answer", scripted)
    widget.question_edit.setText("where are the tanks?")
    widget.run_button.click()
    wait_job(qtbot, widget)
    [answer] = widget.last_answers
    layer = widget.result_layer
    assert layer is not None and list(layer.features["phrase"]) == ["tank"]
    np.testing.assert_allclose(layer.affine.affine_matrix, image.affine.affine_matrix)
    np.testing.assert_allclose(layer.scale, image.scale)
    x0, y0, _x1, _y1 = answer.boxes[0].box
    np.testing.assert_allclose(layer.data[0].min(axis=0), [y0 - 0.5, x0 - 0.5])
