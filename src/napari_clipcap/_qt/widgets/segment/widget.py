"""Segment every instance of one or more phrases in the image layer, the field of view or
each drawn shape, with SAM 3, or turn each shape's box into a mask with SAM or SAM 2
(boxes from the Grounding dock or any Shapes layer); the instances become a Labels layer
placed over the image (its scale, translation, rotation, shear and affine) and a table.
*Label instances* and *Caption instances* then score labels on and caption each
instance's outline (:mod:`.instances`).

The work is :func:`~napari_clipcap.core.segmentation.tiling.segment_tiles`, as
``napari-clipcap segment`` runs it (:class:`~napari_clipcap.core.tasks.segment.SegmentRequest`):
*Copy command* gives its ``to_argv()`` when the layer was read from a file.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from napari.layers import Shapes
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from ...._napari.layers import (
    META_KEY,
    displayed_plane,
    field_of_view_box,
    placement,
    shape_regions,
)
from ....core.errors import InvalidInputError
from ....core.registry import presets
from ....core.tasks.requests.base import request_record
from ....core.tasks.segment import DEFAULT_SEGMENTER, SegmentRequest
from ...dock import Dock
from ...layer_combo import LayerCombo
from ...model_row import ModelRow
from .examples import ExamplesPanel
from .instances import INSTANCE_COLUMNS, InstanceActions, instance_text_layer

FIRST_STEPS = (
    'Type what to find ("storage tank, ship"): SAM 3 outlines every instance, counts '
    "and measures them. Its weights are gated on the hub: log in, or pick a local folder."
)
WHOLE, VIEW, SHAPES = "Whole image", "Field of view", "Each shape"
#: Boxes to masks: each shape's box (a rectangle is its own box) becomes one SAM/SAM 2 mask.
BOXES = "Each shape's box → mask"
#: The box segmenters (SAM, SAM 2); folders of either work too.
BOX_PRESETS = ("sam-vit-base", "sam2.1-hiera-tiny")
COLUMNS = ("id", "phrase", "score", "area_px", "area_world", "area_unit")


class SegmentWidget(Dock):
    """Dock widget: phrases in, a Labels layer and an instance table out."""

    def __init__(self, napari_viewer, parent: QWidget | None = None):
        super().__init__(
            napari_viewer,
            run_text="Segment",
            ready_tip="Find every instance of the phrases",
            first_steps=FIRST_STEPS,
            parent=parent,
        )
        model_row = ModelRow(
            "segmenter",
            DEFAULT_SEGMENTER,
            "A preset, a SAM 3 folder (save_pretrained) or hub id",
            "SAM 3 folder",
        )
        self.segmenter_combo, self.folder_button = model_row.combo, model_row.folder_button
        self.where_combo = QComboBox()
        self.where_combo.addItems([WHOLE, VIEW, SHAPES, BOXES])
        self.where_combo.setItemData(
            3, "Turn each shape's box into a mask with SAM or SAM 2 (sam-vit-base, "
            "sam2.1-hiera-tiny): Grounding boxes or any rectangles", 3,
        )  # fmt: skip
        self.shapes_combo = LayerCombo(napari_viewer, Shapes)
        self.phrases_edit = QLineEdit()
        self.phrases_edit.setPlaceholderText("e.g. storage tank, ship")
        self.tile_spin = QSpinBox()
        self.tile_spin.setRange(0, 8192)
        self.tile_spin.setSpecialValueText("model's (1008 px)")
        self.tile_spin.setToolTip("Tile side in pixels; tiles overlap by 1/8 of it")
        form = QFormLayout()
        form.addRow("Model", model_row)
        form.addRow("Image", self.image_combo)
        form.addRow("Segment", self.where_combo)
        form.addRow("Shapes", self.shapes_combo)
        form.addRow("Phrases", self.phrases_edit)
        self.examples = ExamplesPanel(napari_viewer)
        form.addRow("By example", self.examples)
        form.addRow("Tile", self.tile_spin)
        self.export_button = QPushButton("Export table…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.export_table)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.instance_actions = InstanceActions()
        form.addRow("Each instance", self.instance_actions)
        self.skeleton(form, run_row=self.run_row(self.export_button), results=self.table)
        self.result_layer = None
        self.text_layer = None
        self.rows: list[dict] = []
        self.last: tuple | None = None  # (image layer, request) of the result shown
        self.instance_actions.label_clicked.connect(self.run_instance_tasks)
        self.instance_actions.caption_clicked.connect(self.run_instance_tasks)
        for signal in (
            self.segmenter_combo.currentTextChanged,
            self.where_combo.currentTextChanged,
            self.phrases_edit.textChanged,
            self.shapes_combo.layer_changed,
            self.examples.changed,
        ):
            signal.connect(self.validate)
        self.phrases_edit.returnPressed.connect(self.run)
        self.run_button.clicked.connect(self.run)
        self.validate()

    def phrases(self) -> list[str]:
        return [p.strip() for p in self.phrases_edit.text().split(",") if p.strip()]

    def problem(self) -> str:
        """Why the dock cannot segment now ('' when it can); GUI wording only."""
        if self.image_combo.layer() is None:
            return "Open or select an image layer first."
        examples_problem = self.examples.problem()
        if examples_problem:
            return examples_problem
        if self.where_combo.currentText() == BOXES:
            return self._boxes_problem()
        if not self.phrases() and not self.examples.has_examples():
            return "Type one or more phrases, separated by commas, or draw example boxes."
        if self.where_combo.currentText() == SHAPES:
            shapes = self.shapes_combo.layer()
            if shapes is None or len(shapes.data) == 0:
                return "Draw shapes on a Shapes layer first, or segment the whole image."
            if shapes in self.examples.layers().values():
                return "The shapes to segment in and the example boxes need different layers."
        name = self.segmenter_combo.currentText().strip()
        known = {p.name for p in presets("segmenter")}
        if not name:
            return "Choose a segmenter."
        if name not in known and "/" not in name and not Path(name).expanduser().is_dir():
            return f"{name!r} is neither a preset, a folder nor a hub id."
        return ""

    def _boxes_problem(self) -> str:
        """Why boxes cannot become masks now ('' when they can)."""
        shapes = self.shapes_combo.layer()
        if shapes is None or len(shapes.data) == 0:
            return "Pick a Shapes layer with boxes (the Grounding dock's, or draw rectangles)."
        name = self.segmenter_combo.currentText().strip()
        if name in {p.name for p in presets("segmenter")} and name not in BOX_PRESETS:
            return f"Boxes to masks needs SAM or SAM 2 ({', '.join(BOX_PRESETS)} or a folder)."
        if not name:
            return "Choose a segmenter."
        return ""

    def _areas(self, image):
        where = self.where_combo.currentText()
        if where == WHOLE:
            return None
        if where == VIEW:
            return [field_of_view_box(self.viewer, image)]
        if where == BOXES:
            return None
        kept, boxes, _ = shape_regions(self.shapes_combo.layer(), image)
        if not kept:
            raise InvalidInputError("no shape overlaps the image")
        return [tuple(int(v) for v in b) for b in boxes]

    def request_for(self, image, plane, areas) -> SegmentRequest:
        """The request of this run (its command: when the layer was read from a file,
        :meth:`SegmentRequest.why_no_command` otherwise)."""
        exemplars, labels = self.examples.boxes(image)
        if self.where_combo.currentText() == BOXES:
            return self.boxes_request(image, plane)
        return SegmentRequest(
            image=_image_input(image, plane),
            phrases=tuple(self.phrases()),
            exemplars=exemplars or None,
            exemplar_labels=labels if 0 in labels else None,
            segmenter=self.segmenter_combo.currentText().strip(),
            regions=None if areas is None else tuple(areas),
            tile=self.tile_spin.value() or None,
        )

    def boxes_request(self, image, plane) -> SegmentRequest:
        """Boxes to masks: the box of each shape of the Shapes layer (image pixels), the
        image read from the plane shown (its valid mask as the command has it)."""
        kept, boxes, _ = shape_regions(self.shapes_combo.layer(), image)
        if not kept:
            raise InvalidInputError("no shape overlaps the image")
        return SegmentRequest(
            image=_image_input(image, plane),
            boxes=tuple(tuple(int(v) for v in b) for b in boxes),
            segmenter=self.segmenter_combo.currentText().strip(),
        )

    def run(self) -> None:
        """Segment in a worker, tile by tile (progress and cancel per tile)."""
        if not self.validate() or self.job_panel.busy:
            return
        image = self.image_combo.layer()
        try:
            plane = displayed_plane(self.viewer, image, "auto")
            areas = self._areas(image)
            request = self.request_for(image, plane, areas)
        except InvalidInputError as exc:
            self.job_panel.set_status(str(exc), error=True)
            return
        name, phrases, tile = request.segmenter, list(request.phrases), request.tile
        geo = _geo(image)

        def job(progress, cancel):
            from ....core.segmentation.measure import instance_table
            from ....core.segmentation.model import cached_segmenter
            from ....core.segmentation.tiling import paint_labels, segment_tiles

            model = cached_segmenter(name)
            if request.boxes:  # boxes to masks: the request's own run, as the command's
                result = request.run(segmenter=model, progress=progress, cancel=cancel)
                return model, result.labels, instance_table(result.instances, geo=geo)
            pixels = plane.model_input()
            found = segment_tiles(model, pixels, phrases, tile=tile, areas=areas,
                                  exemplars=request.exemplars or (),
                                  exemplar_labels=request.exemplar_labels,
                                  progress=progress, cancel=cancel)  # fmt: skip
            labels = paint_labels(found, pixels.shape[:2])
            return model, labels, instance_table(found, geo=geo)

        sources = [image] if self.where_combo.currentText() not in (SHAPES, BOXES) else [
            image, self.shapes_combo.layer()]  # fmt: skip
        sources += [ly for ly in self.examples.layers().values() if ly is not None]
        self.start(job, "Segment", lambda r: self._show(image, request, *r), unit="tiles",
                   sources=sources)  # fmt: skip

    def _show(self, image, request, model, labels, rows) -> None:
        prov = request_record(request)
        self.copy_command_button.set_record(prov)
        what = "boxes" if request.boxes else "examples"
        name = f"{', '.join(request.phrases)[:30] or what} on {image.name}"
        meta = {META_KEY: {"segment": rows, "provenance": prov}}
        if self.result_layer is not None and self.result_layer in self.viewer.layers:
            self.viewer.layers.remove(self.result_layer)
        self.result_layer = self.viewer.add_labels(
            labels, name=name, metadata=meta, **placement(image)
        )
        self.rows = list(rows)
        self.last = (image, request)
        if self.text_layer is not None and self.text_layer in self.viewer.layers:
            self.viewer.layers.remove(self.text_layer)
        self.text_layer = None
        self._fill_table()
        self.export_button.setEnabled(bool(rows))
        self.instance_actions.set_ready(bool(rows))
        self.job_panel.set_status(f"{len(rows)} instance(s).")

    # -- each instance: labels and captions ------------------------------------------
    def run_instance_tasks(self, tasks) -> None:
        """Label or caption every instance of the result shown, in a worker (progress
        per batch of instances, cancellable); the table and the layer text follow."""
        if self.last is None or self.job_panel.busy or not self.rows:
            return
        from ...models.shared import SharedSettings

        image, shown = self.last
        request = replace(shown, instance_tasks=tasks)
        labels, rows = np.asarray(self.result_layer.data), list(self.rows)
        settings = SharedSettings.instance().settings

        def job(progress, cancel):
            loaded = request.image.load()
            return tasks.run(
                request.image, loaded, labels, rows, device=settings.device,
                precision=settings.precision, progress=progress, cancel=cancel,
            )  # fmt: skip

        what = "Label instances" if tasks.labels else "Caption instances"
        self.start(job, what, lambda r: self._show_instances(image, request, *r),
                   unit="instances", sources=[image, self.result_layer])  # fmt: skip

    def _show_instances(self, image, request, rows, models, warnings) -> None:
        prov = request_record(request, [*request.models(), *models])
        self.copy_command_button.set_record(prov)
        self.rows = list(rows)
        meta = self.result_layer.metadata.get(META_KEY, {})
        meta.update(segment=self.rows, provenance=prov)
        self.text_layer = instance_text_layer(
            self.viewer, self.rows, f"instances of {self.result_layer.name}",
            placement(image), old=self.text_layer,
        )  # fmt: skip
        self._fill_table()
        done = "labelled" if request.instance_tasks.labels else "captioned"
        note = f" ({warnings[0]})" if warnings else ""
        self.job_panel.set_status(f"{len(rows)} instance(s) {done}.{note}")

    def _columns(self) -> tuple[str, ...]:
        return COLUMNS + tuple(c for c in INSTANCE_COLUMNS if any(c in r for r in self.rows))

    def _fill_table(self) -> None:
        columns = self._columns()
        self.table.setColumnCount(len(columns))
        self.table.setHorizontalHeaderLabels(list(columns))
        self.table.setRowCount(len(self.rows))
        for i, row in enumerate(self.rows):
            for j, column in enumerate(columns):
                value = row.get(column)
                text = f"{value:.4g}" if isinstance(value, float) else str(value or "")
                self.table.setItem(i, j, QTableWidgetItem(text))

    def export_table(self, path: str | None = None) -> str | None:
        """Write the instance table as CSV (through ``core/io/atomic``)."""
        from ....core.tasks.segment.exports import write_table

        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Instance table", "", "CSV (*.csv)")
        if not path:
            return None
        written = str(write_table(path, self.rows))
        self.job_panel.set_status(f"wrote {written}")
        return written


def _image_input(image, plane):
    """The request's image: the layer's file (for the command) read, in the worker, from
    the plane shown with its valid mask as the command has it."""
    from ....core.tasks.validity import plane_valid_mask
    from ...provenance import dock_image

    def pixels():
        return plane.model_input(), plane_valid_mask(plane.data, plane.index, rgb=plane.rgb)

    return replace(dock_image(image, plane), pixels=pixels)


def _geo(image) -> dict | None:
    """The layer's georeferencing (transform, CRS) for world areas, or None."""
    from ....core.coords.georef import geo_of

    found = geo_of(image.metadata or {})
    return None if found is None else {"transform": list(found[0]), "crs": found[1]}
