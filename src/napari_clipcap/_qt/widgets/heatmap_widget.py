"""Text heatmap: where in the image does a text query match?

For each query the widget adds, or updates in place, a float32 image layer that lies
exactly over the source layer's displayed plane (same scale, translate and affine).
A threshold turns the map into a Labels layer or into a Shapes layer of boxes.
"""

from __future__ import annotations

import numpy as np
from napari.layers import Image
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core.coords.geometry import threshold_regions
from ...core.errors import InvalidInputError
from ..hint import HintLabel
from ..job_panel import JobPanel
from ..layer_combo import LayerCombo
from ..layers import (
    add_or_update_image,
    box_to_rectangle,
    displayed_plane,
    placement,
)
from ..models.panel import ModelPanel
from ..models.store import STORE
from ..worker import start_job

COLORMAPS = ("inferno", "magma", "viridis", "turbo", "plasma", "hot", "gray")
PREFIX = "heatmap: "
#: Offered prompt templates; the combo is editable for any other ("{}" takes the query).
TEMPLATES = (
    "{}",
    "a photo of {}.",
    "an aerial photograph of {}.",
    "a satellite image of {}.",
    "an astronomical image of {}.",
)


def parse_queries(text: str) -> list[str]:
    """One query per line, stripped, without duplicates."""
    out: list[str] = []
    for line in text.splitlines():
        q = line.strip()
        if q and q not in out:
            out.append(q)
    return out


class HeatmapWidget(QWidget):
    """Dock widget: text-query heatmaps over an image layer."""

    def __init__(self, napari_viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.models = ModelPanel(show_captioner=False)
        self.image_combo = LayerCombo(napari_viewer, Image)
        self.queries_edit = QPlainTextEdit()
        self.queries_edit.setPlaceholderText("one query per line, e.g.\nriver\nspiral galaxy")
        self.queries_edit.setMaximumHeight(70)
        self.mode_combo = QComboBox()
        self.mode_combo.addItems(["sliding", "dense"])
        self.mode_combo.setToolTip(
            "sliding: each window encoded whole (accurate, slower); "
            "dense: one pass, patch tokens against the text (fast, coarser)"
        )
        self.window_spin = QSpinBox()
        self.window_spin.setRange(8, 8192)
        self.window_spin.setValue(224)
        self.window_spin.setSuffix(" px")
        self.stride_spin = QSpinBox()
        self.stride_spin.setRange(1, 8192)
        self.stride_spin.setValue(112)
        self.stride_spin.setSuffix(" px")
        self.template_combo = QComboBox()
        self.template_combo.addItems(TEMPLATES)
        self.template_combo.setEditable(True)
        self.template_combo.setToolTip("Prompt template; type your own, with {} for the query")
        self.template_combo.currentTextChanged.connect(self.validate)
        self.colormap_combo = QComboBox()
        self.colormap_combo.addItems(COLORMAPS)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(60)
        self.run_button = QPushButton("Compute heatmap")
        self.hint = HintLabel()
        self.job_panel = JobPanel()
        self.result_combo = QComboBox()
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setDecimals(4)
        self.threshold_spin.setRange(-1e6, 1e6)
        self.threshold_spin.setSingleStep(0.01)
        self.to_labels_button = QPushButton("→ Labels")
        self.to_shapes_button = QPushButton("→ Shapes")

        form = QFormLayout()
        form.addRow("Image", self.image_combo)
        form.addRow("Queries", self.queries_edit)
        form.addRow("Mode", self.mode_combo)
        size = QHBoxLayout()
        size.addWidget(QLabel("window"))
        size.addWidget(self.window_spin)
        size.addWidget(QLabel("stride"))
        size.addWidget(self.stride_spin)
        form.addRow("Windows", size)
        form.addRow("Template", self.template_combo)
        form.addRow("Colormap", self.colormap_combo)
        form.addRow("Opacity", self.opacity_slider)
        thresh = QFormLayout()
        thresh.addRow("Map", self.result_combo)
        thresh.addRow("Threshold", self.threshold_spin)
        row = QHBoxLayout()
        row.addWidget(self.to_labels_button)
        row.addWidget(self.to_shapes_button)
        thresh.addRow(row)
        layout = QVBoxLayout(self)
        layout.addWidget(self.models)
        layout.addLayout(form)
        layout.addWidget(self.run_button)
        layout.addWidget(self.hint)
        layout.addWidget(self.job_panel)
        layout.addLayout(thresh)
        layout.addStretch(1)

        self.queries_edit.textChanged.connect(self.validate)
        self.image_combo.layer_changed.connect(self.validate)
        self.mode_combo.currentTextChanged.connect(self._on_mode)
        self.run_button.clicked.connect(self.compute)
        self.opacity_slider.valueChanged.connect(self._restyle)
        self.colormap_combo.currentTextChanged.connect(self._restyle)
        self.result_combo.currentTextChanged.connect(self._on_result_chosen)
        self.to_labels_button.clicked.connect(lambda: self.threshold_to("labels"))
        self.to_shapes_button.clicked.connect(lambda: self.threshold_to("shapes"))
        napari_viewer.layers.events.removed.connect(self._refresh_results)
        self._on_mode(self.mode_combo.currentText())
        self._refresh_results()
        self.validate()

    # -- inputs --------------------------------------------------------------------
    def queries(self) -> list[str]:
        return parse_queries(self.queries_edit.toPlainText())

    def template(self) -> str:
        return self.template_combo.currentText().strip()

    def _on_mode(self, mode: str) -> None:
        sliding = mode == "sliding"
        self.window_spin.setEnabled(sliding)
        self.stride_spin.setEnabled(sliding)

    def problem(self) -> str:
        """Why the heatmap cannot run now ('' when it can)."""
        if self.image_combo.layer() is None:
            return "Open or select an image layer first."
        if not self.queries():
            return "Type a query (one per line)."
        if self.template().count("{}") != 1:
            return "The template needs {} (once) where the query goes."
        return ""

    def validate(self, *_) -> bool:
        return self.hint.explain(
            self.run_button, self.problem(), "Compute a heatmap for each query"
        )

    # -- compute -------------------------------------------------------------------
    def compute(self) -> None:
        """Start the heatmap job for every query."""
        if not self.validate() or self.job_panel.busy:
            return
        image = self.image_combo.layer()
        s = self.models.settings
        try:
            plane = displayed_plane(self.viewer, image, s.domain)
        except InvalidInputError as exc:
            self.job_panel.set_status(str(exc), error=True)
            return
        queries, template = self.queries(), self.template()
        options = {
            "mode": self.mode_combo.currentText(),
            "window": self.window_spin.value(),
            "stride": self.stride_spin.value(),
            "template": template,
        }
        clip_choice, device, precision = s.clip, s.device, s.precision

        def job(progress, cancel):
            from ...core.tasks.heatmap import text_heatmap

            clip = STORE.clip(clip_choice, device, precision)
            maps = text_heatmap(
                plane.model_input(), queries, clip, **options, progress=progress, cancel=cancel
            )
            return np.asarray(maps, dtype=np.float32).reshape(len(queries), *maps.shape[-2:])

        def done(maps):
            self._show(image, plane, queries, maps, options)

        self.job_panel.watch(start_job(job, "Text heatmap", done, parent=self))

    def _show(self, image, plane, queries, maps, options) -> None:
        for query, heat in zip(queries, maps):
            lo, hi = float(np.nanmin(heat)), float(np.nanmax(heat))
            info = {"query": query, "source": image.name, "plane": list(plane.index), **options}
            add_or_update_image(
                self.viewer,
                PREFIX + query,
                heat,
                image,
                ("heatmap", info),
                colormap=self.colormap_combo.currentText(),
                opacity=self.opacity_slider.value() / 100,
                blending="additive",
                contrast_limits=(lo, hi if hi > lo else lo + 1e-6),
            )
        self._refresh_results()
        self.result_combo.setCurrentText(PREFIX + queries[-1])
        self._on_result_chosen(self.result_combo.currentText())
        self.job_panel.set_status(f"{len(queries)} heatmap{'s' if len(queries) > 1 else ''} done.")

    def result_layers(self) -> list:
        """Heatmap layers made by this widget."""
        return [
            ly
            for ly in self.viewer.layers
            if isinstance(ly, Image) and "heatmap" in ly.metadata.get("napari_clipcap", {})
        ]

    def _refresh_results(self, *_) -> None:
        current = self.result_combo.currentText()
        names = [ly.name for ly in self.result_layers()]
        self.result_combo.blockSignals(True)
        self.result_combo.clear()
        self.result_combo.addItems(names)
        if current in names:
            self.result_combo.setCurrentText(current)
        self.result_combo.blockSignals(False)
        for b in (self.to_labels_button, self.to_shapes_button, self.threshold_spin):
            b.setEnabled(bool(names))
            b.setToolTip("" if names else "Compute a heatmap first")

    def _on_result_chosen(self, name: str) -> None:
        if name in self.viewer.layers:
            heat = np.asarray(self.viewer.layers[name].data)
            self.threshold_spin.setValue(float(np.nanpercentile(heat, 90)))

    def _restyle(self, *_) -> None:
        for layer in self.result_layers():
            layer.colormap = self.colormap_combo.currentText()
            layer.opacity = self.opacity_slider.value() / 100

    # -- threshold -----------------------------------------------------------------
    def threshold_to(self, kind: str):
        """Turn the chosen heatmap above the threshold into a Labels or Shapes layer."""
        name = self.result_combo.currentText()
        if name not in self.viewer.layers:
            return None
        heat_layer = self.viewer.layers[name]
        thr = self.threshold_spin.value()
        labels, boxes = threshold_regions(np.asarray(heat_layer.data), thr)
        base = f"{name[len(PREFIX) :] if name.startswith(PREFIX) else name} > {thr:.3g}"
        if kind == "labels":
            target = f"{base} (labels)"
            if target in self.viewer.layers:
                self.viewer.layers[target].data = labels
                return self.viewer.layers[target]
            return self.viewer.add_labels(labels, name=target, **placement(heat_layer))
        rects = [box_to_rectangle(b, heat_layer) for b in boxes]
        layer = self.viewer.add_shapes(
            rects, shape_type="rectangle", name=f"{base} (boxes)",
            edge_color="cyan", face_color="transparent", edge_width=2,
        )  # fmt: skip
        self.job_panel.set_status(f"{len(boxes)} region{'s' if len(boxes) != 1 else ''} found.")
        return layer
