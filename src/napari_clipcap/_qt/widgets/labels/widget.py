"""Region labels: CLIP zero-shot label probabilities for each shape of a Shapes layer.

Type labels, draw rectangles or polygons over an image, and each region gets its
probabilities in a sortable table; the top label and its probability show as text on
the shape (shape features). Adding or editing shapes re-scores only those shapes,
after a short pause (debounced). The table exports to CSV.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
from napari.layers import Shapes
from napari.utils.notifications import show_error
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)

from ...._napari.layers import (
    camera_of,
    displayed_plane,
    placement,
    region_key,
    shape_regions,
    shapes_signature,
    store_result,
)
from ...._napari.models.specs import clip_spec
from ...._napari.models.store import STORE
from ...._napari.region_text import (
    follow_view,
    ground_luminance,
    number_shapes,
    outside_note,
    screen_pixel,
    text_rect,
)
from ....core.clip.prompts import TEMPLATE_PRESETS
from ....core.clip.prompts import parse_labels as check_labels
from ....core.errors import InvalidInputError
from ....core.tasks.requests import LabelsRequest
from ....core.tasks.requests.base import request_record
from ...dock import Dock
from ...hint import framed
from ...layer_combo import LayerCombo
from ...models.panel import ModelPanel
from ...provenance import dock_input
from ...region_files import RegionFilesBar
from .canvas import LABEL_COLOUR, label_results, write_label_text
from .canvas import TEXT_COLUMN as TEXT_COLUMN  # the shapes' text feature
from .table import LabelsTable, export_csv

#: Template choices: a single template, or a preset ensemble of core.zeroshot.
TEMPLATES: dict[str, dict] = {
    "plain label: {}": {"template": "{}"},
    **{
        f"{name} ({len(items)} prompts averaged)": {"templates": name}
        for name, items in TEMPLATE_PRESETS.items()
    },
}
CUSTOM_TEMPLATE = "custom…"
DEBOUNCE_MS = 600


def parse_labels(text: str) -> list[str]:
    """Labels from comma- or newline-separated text, stripped; blank entries dropped."""
    return [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]


class LabelsWidget(Dock):
    """Dock widget: zero-shot labels for the regions of a Shapes layer."""

    def __init__(self, napari_viewer, parent: QWidget | None = None):
        super().__init__(
            napari_viewer,
            run_text="Score regions",
            ready_tip="Score every shape against the labels",
            models=ModelPanel(show_captioner=False),
            parent=parent,
        )
        self.score_button = self.run_button
        self.shapes_combo = LayerCombo(napari_viewer, Shapes)
        self.new_shapes_button = QPushButton("New")
        self.new_shapes_button.setToolTip("Add a Shapes layer over the image to draw regions in")
        self.labels_edit = framed(QPlainTextEdit())
        self.labels_edit.setPlaceholderText("forest, river, airport\n(comma or newline separated)")
        self.labels_edit.setMaximumHeight(70)
        self.template_combo = QComboBox()
        self.template_combo.addItems([*TEMPLATES, CUSTOM_TEMPLATE])
        self.template_edit = QLineEdit("a photo of {}.")
        self.template_edit.setToolTip("Custom prompt template; {} takes the label")
        self.auto_check = QCheckBox("Re-score when shapes change")
        self.auto_check.setChecked(True)
        self.export_button = QPushButton("Export CSV…")
        self.table = LabelsTable()

        form = QFormLayout()
        form.addRow("Image", self.image_combo)
        row = QHBoxLayout()
        row.addWidget(self.shapes_combo, 1)
        row.addWidget(self.new_shapes_button)
        form.addRow("Regions", row)
        form.addRow("Labels", self.labels_edit)
        form.addRow("Template", self.template_combo)
        form.addRow("", self.template_edit)
        self.region_files = RegionFilesBar(
            napari_viewer, self.image_combo.layer, self.shapes_combo.layer
        )
        self.skeleton(
            form, self.region_files, self.auto_check,
            run_row=self.run_row(self.export_button), results=self.table,
        )  # fmt: skip

        #: (plane key, box, labels, template, model) -> probabilities
        self._cache: dict[tuple, np.ndarray] = {}
        self.results: dict = {}
        self._pending = False
        self._watched = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._auto_score)

        self.template_combo.currentTextChanged.connect(self._on_template)
        self.labels_edit.textChanged.connect(self.validate)
        self.template_edit.textChanged.connect(self.validate)
        self.shapes_combo.layer_changed.connect(self._watch_shapes)
        self.new_shapes_button.clicked.connect(self.new_regions_layer)
        self.score_button.clicked.connect(self.score)
        self.export_button.clicked.connect(self._export_clicked)
        self._on_template(self.template_combo.currentText())
        self._watch_shapes(self.shapes_combo.layer())

    # -- inputs --------------------------------------------------------------------
    def labels(self) -> list[str]:
        return parse_labels(self.labels_edit.toPlainText())

    def template(self) -> dict:
        """``template=`` or ``templates=`` keyword for ``score_regions``."""
        name = self.template_combo.currentText()
        if name == CUSTOM_TEMPLATE:
            return {"template": self.template_edit.text()}
        return dict(TEMPLATES[name])

    def _on_template(self, name: str) -> None:
        self.template_edit.setVisible(name == CUSTOM_TEMPLATE)
        self.validate()

    def problem(self) -> str:
        """Why scoring cannot run now ('' when it can)."""
        shapes = self.shapes_combo.layer()
        if self.image_combo.layer() is None:
            return "Open or select an image layer first."
        if shapes is None:
            return "Add a Shapes layer (New) and draw rectangles or polygons."
        if len(shapes.data) == 0:
            return f"Draw at least one shape in '{shapes.name}'."
        if not self.labels():
            return "Type at least one label (comma or newline separated)."
        try:
            check_labels(self.labels())
        except InvalidInputError as exc:
            return str(exc)
        if self.template().get("template", "{}").count("{}") != 1:
            return "The custom template needs {} (once) where the label goes."
        return self.models.problem()

    def validate(self, *_) -> bool:
        """Enable the Score button, or disable it with the reason as tooltip."""
        self.export_button.setEnabled(bool(getattr(self, "results", None)))
        return super().validate()

    def _watch_shapes(self, layer) -> None:
        if self._watched is not None:
            self._watched.events.data.disconnect(self._on_shapes_edited)
        self._watched = layer
        if layer is not None:
            layer.events.data.connect(self._on_shapes_edited)
        self.validate()

    def _on_shapes_edited(self, event=None) -> None:
        action = str(getattr(event, "action", "") or "")
        if action.endswith("ing"):  # adding / changing / removing: wait for the end
            return
        self.validate()
        if self.auto_check.isChecked():
            self._timer.start()

    def _auto_score(self) -> None:
        if self.job_panel.busy:
            self._pending = True
        elif self.validate():
            self.score()

    def new_regions_layer(self) -> Shapes:
        """Add an empty Shapes layer over the chosen image, in rectangle mode."""
        image = self.image_combo.layer()
        kwargs = placement(image) if image is not None and image.ndim == 2 else {}
        layer = self.viewer.add_shapes(
            name="regions", edge_color="yellow", face_color="transparent", edge_width=2, **kwargs
        )
        layer.mode = "add_rectangle"
        self.shapes_combo.set_layer(layer)
        return layer

    # -- scoring -------------------------------------------------------------------
    def score(self) -> None:
        """Score every shape (only new or moved ones are computed)."""
        if not self.validate():
            return
        if self.job_panel.busy:  # one job at a time: score again once this one ends
            self._pending = True
            return
        image, shapes = self.image_combo.layer(), self.shapes_combo.layer()
        s = self.models.settings
        try:
            plane = displayed_plane(self.viewer, image, s.domain)
            kept, boxes, regions = shape_regions(shapes, image)
            request = self.request_for(image, plane, regions) if boxes else None
        except InvalidInputError as exc:
            self.job_panel.set_status(str(exc), error=True)
            return
        if request is None:
            self.job_panel.set_status("No shape overlaps the image.", error=True)
            return
        labels, template = list(request.labels), self.template()  # as the request holds
        skipped = [i for i in range(len(shapes.data)) if i not in kept]
        pixel = screen_pixel(plane, camera_of(self.viewer).zoom)
        sample = "x" * (max(len(lab) for lab in labels) + 5)  # "label 0.00"
        rects = [text_rect(b, sample, pixel) for b in boxes]
        tkey = tuple(sorted(template.items()))
        base = (plane.key(), tuple(labels), tkey, s.clip.key(), s.device, s.precision)
        keys = [(*base, region_key(r)) for r in regions]
        todo = {k: r for k, r in zip(keys, regions) if k not in self._cache}
        clip_choice, device, precision = s.clip, s.device, s.precision
        drawn = shapes_signature(shapes)

        def job(progress, cancel):  # the request's own run, on the new or moved shapes
            if not todo:
                ground = ground_luminance(plane.model_input(), rects)
                return np.zeros((0, len(labels)), np.float32), ground
            clip = STORE.clip(clip_choice, device, precision)  # the one model cache
            edited = replace(request, regions=tuple(todo.values()))
            result = edited.run(progress=progress, cancel=cancel, clip=clip)
            return result.extra["scores"], ground_luminance(result.image.data, rects)

        def done(result):
            probs, ground = result
            for key, row in zip(todo, np.asarray(probs)):
                self._cache[key] = row
            if shapes not in self.viewer.layers or shapes_signature(shapes) != drawn:
                # shape indices changed meanwhile: results would land on the wrong shapes
                self.job_panel.set_status("Shapes changed while scoring; score again.")
                self._pending = self._pending or self.auto_check.isChecked()
                return
            rows = np.array([self._cache[k] for k in keys])
            self._show(shapes, image, kept, boxes, labels, template, rows, ground, skipped)
            sample = "x" * (max(len(lab) for lab in labels) + 5)  # as measured above
            placed = [(r["shape"], r["box"], sample, False) for r in self.results["regions"]]
            follow_view(self.viewer, shapes, image, plane, placed, LABEL_COLOUR)
            self._record(shapes, request)

        sources = [image, shapes]
        started = self.start(job, "Region labels", done, unit="regions", sources=sources)
        if started is not None:
            started.ended.connect(self._after_job)

    def _after_job(self) -> None:
        if self._pending:
            self._pending = False
            self._timer.start()

    def _show(self, shapes, image, kept, boxes, labels, template, probs, ground, skipped):
        self.results = label_results(image.name, labels, template, kept, boxes, probs, skipped)
        write_label_text(shapes, self.results, ground)
        number_shapes(self.viewer, shapes)
        store_result(shapes, "labels", self.results)
        self.table.show_results(self.results)
        status = f"Scored {len(kept)} region{'s' if len(kept) != 1 else ''}."
        self.job_panel.set_status(status + outside_note(skipped, "scored"))
        self.validate()

    def request_for(self, image, plane, regions) -> LabelsRequest:
        """The :class:`~napari_clipcap.core.tasks.requests.LabelsRequest` of scoring
        ``regions`` of ``image`` with the dock's labels, template and model: built once
        per click; what runs and what provenance and Copy command record."""
        s, template = self.models.settings, self.template()
        return LabelsRequest(
            image=dock_input(image, plane),
            labels=tuple(self.labels()),
            regions=tuple(regions),
            template=template.get("template", "{}"),
            templates=template.get("templates"),
            clip=clip_spec(s.clip),
            device=s.device,
            precision=s.precision,
        )

    def _record(self, shapes, request: LabelsRequest) -> None:
        """Keep how the scores were made with the shapes, and offer its command."""
        prov = request_record(request)
        store_result(shapes, "provenance", prov)
        self.copy_command_button.set_record(prov)

    # -- export --------------------------------------------------------------------
    def export_csv(self, path: str) -> None:
        """Write the last results as CSV: one row per region, one column per label; how
        they were made goes to the side file ``NAME.csv.provenance.json``."""
        export_csv(self.results, path)
        if self.copy_command_button.record:
            from ....core.io.atomic import write_json

            side = f"{path}.provenance.json"
            write_json(side, self.copy_command_button.record, default=str)

    def _export_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export labels", "labels.csv", "CSV (*.csv)")
        if not path:
            return
        try:
            self.export_csv(path)
        except OSError as exc:  # unwritable folder, full disk: a message, not a traceback
            reason = exc.strerror or str(exc)
            show_error(f"Export labels: cannot write {path}: {reason}")
            self.job_panel.set_status(f"Cannot write {path}: {reason}", error=True)
            return
        self.job_panel.set_status(f"Saved {path}")
