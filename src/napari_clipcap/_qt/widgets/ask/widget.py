"""Ask a local vision-language model about the image layer, the field of view or each
drawn shape; answers stream into the dock token by token.

Each answer is shown with the question, the model and what the model was shown; a
conversation is kept per image and region until *Clear*. Boxes an answer points at
(Qwen-VL's JSON, PaliGemma's ``<loc>`` tokens) become a labelled Shapes layer placed over
the image by the Grounding dock's code. The request is the one ``napari-clipcap ask``
runs (:class:`~napari_clipcap.core.tasks.ask.AskRequest`): *Copy command* gives its
``to_argv()`` when the layer was read from a file.
"""

from __future__ import annotations

from napari.layers import Shapes
from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ...._napari.layers import (
    displayed_plane,
    field_of_view_box,
    region_key,
    shape_regions,
)
from ....core.errors import InvalidInputError
from ....core.tasks.ask import DEFAULT_VLM, AskRequest
from ....core.tasks.requests.base import request_record
from ...dock import Dock
from ...layer_combo import LayerCombo
from ...model_row import ModelRow
from ..grounding.results import show_boxes
from .conversation import Conversations, transcript

FIRST_STEPS = (
    "Ask a local vision-language model about the image, the view or each drawn shape. "
    "It runs on this machine, on your data."
)
#: Said beside every answer.
CAUTION = (
    "A general vision-language model may be wrong on astronomy and remote-sensing "
    "images: check its answers against the data."
)
WHOLE, VIEW, SHAPES = "Whole image", "Field of view", "Each shape"


class AskWidget(Dock):
    """Dock widget: questions and streamed answers, with boxes over the image."""

    #: ``(region index, piece)`` from the worker thread, as the answer is decoded.
    streamed = Signal(int, str)

    def __init__(self, napari_viewer, parent: QWidget | None = None):
        super().__init__(
            napari_viewer,
            run_text="Ask",
            ready_tip="Ask the model about the image",
            first_steps=FIRST_STEPS,
            parent=parent,
        )
        self.conversations = Conversations()
        model_row = ModelRow(
            "vlm",
            DEFAULT_VLM,
            "A preset, a folder saved with save_pretrained, or a hub id",
            "Vision-language model folder",
        )
        self.vlm_combo, self.folder_button = model_row.combo, model_row.folder_button
        self.where_combo = QComboBox()
        self.where_combo.addItems([WHOLE, VIEW, SHAPES])
        self.shapes_combo = LayerCombo(napari_viewer, Shapes)
        self.question_edit = QLineEdit()
        self.question_edit.setPlaceholderText("e.g. How many storage tanks are there?")
        self.tokens_spin = QSpinBox()
        self.tokens_spin.setRange(1, 4096)
        self.tokens_spin.setValue(256)
        form = QFormLayout()
        form.addRow("Model", model_row)
        form.addRow("Image", self.image_combo)
        form.addRow("Ask about", self.where_combo)
        form.addRow("Shapes", self.shapes_combo)
        form.addRow("Question", self.question_edit)
        form.addRow("Max tokens", self.tokens_spin)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Forget the conversations (questions and answers)")
        self.clear_button.clicked.connect(self.clear)
        self.answers = QPlainTextEdit()
        self.answers.setReadOnly(True)
        self.answers.setPlaceholderText("Answers appear here as the model writes them.")
        self.about = QLabel("")
        self.about.setWordWrap(True)
        self.about.setStyleSheet("color: #a0a8b0;")
        caution = QLabel(CAUTION)
        caution.setWordWrap(True)
        caution.setStyleSheet("color: #d9a441;")
        self.skeleton(form, run_row=self.run_row(self.clear_button), below=(self.about, caution),
                      results=self.answers)  # fmt: skip
        self.result_layer = None
        self.last_answers: list | None = None  # of the last job that delivered
        self._keys: list = []
        self._names: list[str] = []
        self._current, self._question = -1, ""
        self.streamed.connect(self._on_piece)
        self.job_panel.busy_changed.connect(self._on_job_busy)
        for signal in (
            self.vlm_combo.currentTextChanged,
            self.where_combo.currentTextChanged,
            self.question_edit.textChanged,
            self.shapes_combo.layer_changed,
        ):
            signal.connect(self.validate)
        self.where_combo.currentTextChanged.connect(self._where_changed)
        self._where_changed(self.where_combo.currentText())
        self.question_edit.returnPressed.connect(self.run)
        self.run_button.clicked.connect(self.run)
        self.validate()

    # -- inputs --------------------------------------------------------------------
    def _where_changed(self, where: str) -> None:
        """The Shapes row matters only when each shape is asked about."""
        self.shapes_combo.setEnabled(where == SHAPES)
        self.shapes_combo.setToolTip(
            "" if where == SHAPES else "Choose 'Each shape' to ask about drawn shapes"
        )

    def problem(self) -> str:
        """Why the dock cannot ask now ('' when it can); GUI wording only."""
        from ....core.vlm.loading import vlm_problem

        if self.image_combo.layer() is None:
            return "Open or select an image layer first."
        if not self.question_edit.text().strip():
            return "Type a question."
        if self.where_combo.currentText() == SHAPES:
            shapes = self.shapes_combo.layer()
            if shapes is None or len(shapes.data) == 0:
                return "Draw shapes on a Shapes layer first, or ask about the whole image."
        return vlm_problem(self.vlm_combo.currentText())

    def clear(self) -> None:
        """Forget every conversation."""
        self.conversations.clear()
        self.answers.setPlainText("")
        self.about.setText("")

    # -- running -------------------------------------------------------------------
    def _regions(self, image):
        """(regions or None, keys, names) of what is asked about."""
        where = self.where_combo.currentText()
        if where == WHOLE:
            return None, [(id(image), "image")], [f"{image.name}"]
        if where == VIEW:
            box = field_of_view_box(self.viewer, image)
            return [box], [(id(image), ("view", box))], [f"{image.name}, view {box}"]
        kept, regions, _ = shape_regions(self.shapes_combo.layer(), image)
        if not kept:
            raise InvalidInputError("no shape overlaps the image")
        keys = [(id(image), region_key(r)) for r in regions]
        return regions, keys, [f"{image.name}, shape {i + 1}" for i in kept]

    def request_for(self, image, plane, regions) -> AskRequest:
        """The request of this question (its command: when the layer was read from a
        file, :meth:`AskRequest.why_no_command` otherwise)."""
        from ...provenance import dock_input

        return AskRequest(  # the plane shown, no data where the CLI has none
            image=dock_input(image, plane),
            question=self.question_edit.text().strip(),
            vlm=self.vlm_combo.currentText().strip(),
            regions=None if regions is None else tuple(regions),
            max_tokens=self.tokens_spin.value(),
        )

    def run(self) -> None:
        """Ask in a worker; answers stream into the dock."""
        if not self.validate() or self.job_panel.busy:
            return
        image = self.image_combo.layer()
        try:
            plane = displayed_plane(self.viewer, image, "auto")
            regions, keys, names = self._regions(image)
            request = self.request_for(image, plane, regions)
        except InvalidInputError as exc:
            self.job_panel.set_status(str(exc), error=True)
            return
        name, question = request.vlm, request.question
        self.conversations.for_model(name)
        self.last_answers = None
        histories = [self.conversations.history(k) for k in keys]
        self._keys, self._names = keys, names
        self.answers.setPlainText(transcript(self.conversations, keys, names))
        self._current, self._question = -1, question
        streamed = self.streamed

        def job(progress, cancel):  # the request's own run, on the plane's pixels
            return request.run(progress=progress, cancel=cancel, on_text=streamed.emit,
                               history=histories)  # fmt: skip

        def done(result):
            answers = result.answers
            self.last_answers = answers
            for key, answer in zip(keys, answers):
                self.conversations.add(key, question, "(no valid data)" if answer is None
                                       else answer.text)  # fmt: skip
            self._show(image, result, request, question, answers)

        sources = [image] if regions is None or self.where_combo.currentText() != SHAPES else [
            image, self.shapes_combo.layer()]  # fmt: skip
        self.start(job, "Ask", done, unit="regions", sources=sources)

    def _on_piece(self, index: int, piece: str) -> None:
        if index != self._current:  # a new region's answer begins
            self._current = index
            head = f"── {self._names[index]}\nQ: {self._question}\nA: "
            text = self.answers.toPlainText()
            self.answers.setPlainText(text + ("\n\n" if text else "") + head)
        self.answers.moveCursor(self.answers.textCursor().MoveOperation.End)
        self.answers.insertPlainText(piece)

    def _on_job_busy(self, busy: bool) -> None:
        if not busy:  # cancelled or failed answers leave nothing behind
            self.answers.setPlainText(transcript(self.conversations, self._keys, self._names))

    def _show(self, image, result, request, question: str, answers) -> None:
        shown = [a for a in answers if a is not None]
        sizes = ", ".join(
            f"{a.shown[0]} x {a.shown[1]} px{' in tiles' if a.tiled else ''}" for a in shown
        )
        self.about.setText(
            f"{result.model} ({result.family}) · question: {question} · shown: {sizes}"
        )
        prov = request_record(request)
        self.copy_command_button.set_record(prov)
        boxes = [d for a in shown for d in a.boxes]
        if boxes:
            name = f"{question[:30]} on {image.name}"
            self.result_layer = show_boxes(self.viewer, image, boxes, name, prov)
        self.job_panel.set_status(
            f"{len(shown)} answer(s)" + (f", {len(boxes)} box(es)." if boxes else ".")
        )
