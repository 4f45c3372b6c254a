"""Text heatmap dock: where in the image does a text query match?

Maps lie over the source's displayed plane (:mod:`.heatmap_layers`: names, placement,
colour scale, NaN where the source has no data). Window and stride follow the image
(:func:`~napari_clipcap.core.tasks.windows.auto_window`) until the user sets them; a
job of more than :data:`LARGE_JOB` windows asks first; thresholds drop small regions.
"""

from __future__ import annotations

import time

import numpy as np
from napari.layers import Shapes
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QWidget,
)

from ...._napari.layers import displayed_plane, shape_regions, spatial_shape, store_result
from ...._napari.models.specs import clip_spec
from ...._napari.models.store import STORE
from ....core.errors import InvalidInputError
from ....core.tasks.requests import HeatmapRequest
from ....core.tasks.requests.base import request_record
from ....core.tasks.requests.heatmap import region_query_name
from ....core.tasks.windows import WindowGrid, auto_window
from ...dock import Dock
from ...hint import framed
from ...layer_combo import LayerCombo
from ...models.panel import ModelPanel
from ...provenance import dock_image
from .layers import (
    PREFIX,
    heat_layers,
    heat_plane,
    plane_valid_mask,
    show_maps,
    threshold_layer,
)
from .options import (
    COLORMAPS,
    LARGE_JOB,
    TEMPLATES,
    large_job_text,
    parse_queries,
    pixel_spin,
)

__all__ = ["LARGE_JOB", "PREFIX", "HeatmapWidget", "parse_queries"]


class HeatmapWidget(Dock):
    """Dock widget: text-query heatmaps over an image layer."""

    def __init__(self, napari_viewer, parent: QWidget | None = None):
        super().__init__(
            napari_viewer,
            run_text="Compute heatmap",
            ready_tip="Compute a heatmap for each query",
            models=ModelPanel(show_captioner=False),
            parent=parent,
        )
        self.queries_edit = framed(QPlainTextEdit())
        self.queries_edit.setPlaceholderText("one query per line, e.g.\nriver\nspiral galaxy")
        self.queries_edit.setMaximumHeight(70)
        self.region_check = QCheckBox("Use the selected shape as the query")
        self.region_check.setToolTip(
            "More like this: the selected shapes (or the last one drawn) of the Shapes "
            "layer are the queries instead of text; each gets a map of where the image "
            "looks like it"
        )
        self.shapes_combo = LayerCombo(napari_viewer, Shapes)
        self.shapes_combo.setToolTip("The Shapes layer whose shape is the query")
        self.mode_combo = QComboBox()
        self.mode_combo.addItems(["sliding", "dense"])
        self.mode_combo.setToolTip(
            "sliding: each window encoded whole (accurate, slower); dense: patch tokens "
            "against the text (fast, coarser)"
        )
        self.window_spin = pixel_spin(8, 8192, 224, "Window size in image pixels")
        self.stride_spin = pixel_spin(1, 8192, 112, "Step between windows in image pixels")
        self.auto_check = QCheckBox("auto")
        self.auto_check.setChecked(True)
        self.auto_check.setToolTip("Window 1/4 of the shorter side (32-224 px), stride 1/2")
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
        self.result_combo = QComboBox()
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setDecimals(4)
        self.threshold_spin.setRange(-1e6, 1e6)
        self.threshold_spin.setSingleStep(0.01)
        self.min_area_spin = pixel_spin(1, 10**7, 16, "Regions with fewer pixels are dropped")
        self.to_labels_button = QPushButton("→ Labels")
        self.to_shapes_button = QPushButton("→ Shapes")
        self._last_layers: list = []

        form = QFormLayout()
        form.addRow("Image", self.image_combo)
        form.addRow("Queries", self.queries_edit)
        form.addRow(self.region_check)
        form.addRow("Query shape", self.shapes_combo)
        form.addRow("Mode", self.mode_combo)
        size = QHBoxLayout()
        size.addWidget(QLabel("window", textFormat=Qt.TextFormat.PlainText))
        size.addWidget(self.window_spin)
        size.addWidget(QLabel("stride", textFormat=Qt.TextFormat.PlainText))
        size.addWidget(self.stride_spin)
        size.addWidget(self.auto_check)
        form.addRow("Windows", size)
        form.addRow("Template", self.template_combo)
        form.addRow("Colormap", self.colormap_combo)
        form.addRow("Opacity", self.opacity_slider)
        thresh = QFormLayout()
        thresh.addRow("Map", self.result_combo)
        thresh.addRow("Threshold", self.threshold_spin)
        thresh.addRow("Min area", self.min_area_spin)
        row = QHBoxLayout()
        row.addWidget(self.to_labels_button)
        row.addWidget(self.to_shapes_button)
        thresh.addRow(row)
        self.skeleton(form, below=[thresh])

        self.queries_edit.textChanged.connect(self.validate)
        self.region_check.toggled.connect(self._on_region_query)
        self.shapes_combo.layer_changed.connect(self.validate)
        self.image_combo.layer_changed.connect(self._auto_size)
        self.auto_check.toggled.connect(self._auto_size)
        self.window_spin.valueChanged.connect(self._size_set)
        self.stride_spin.valueChanged.connect(self._size_set)
        self.mode_combo.currentTextChanged.connect(self._on_mode)
        self.run_button.clicked.connect(self.compute)
        self.opacity_slider.valueChanged.connect(self._restyle)
        self.colormap_combo.currentTextChanged.connect(self._restyle)
        self.result_combo.currentTextChanged.connect(self._on_result_chosen)
        self.to_labels_button.clicked.connect(lambda: self.threshold_to("labels"))
        self.to_shapes_button.clicked.connect(lambda: self.threshold_to("shapes"))
        napari_viewer.layers.events.removed.connect(self._refresh_results)
        self._sizing = False
        self._rate: float | None = None  # windows per second of the last job
        self.job_panel.bar.setFormat("%p% (%v of %m windows)")
        self._on_mode(self.mode_combo.currentText())
        self._on_region_query(False)
        self._refresh_results()
        self._auto_size()
        self.validate()

    def queries(self) -> list[str]:
        return parse_queries(self.queries_edit.toPlainText())

    def template(self) -> str:
        return self.template_combo.currentText().strip()

    def _on_region_query(self, on: bool) -> None:
        """A drawn shape is the query: the text and its template do not apply."""
        self.queries_edit.setEnabled(not on)
        self.template_combo.setEnabled(not on)
        self.shapes_combo.setEnabled(on)
        self.validate()

    def query_regions(self) -> list:
        """The query regions in the image's pixels: the selected shapes of the chosen
        Shapes layer that overlap the image, or its last such shape when none is
        selected; empty when there is none."""
        shapes, image = self.shapes_combo.layer(), self.image_combo.layer()
        if shapes is None or image is None or not len(shapes.data):
            return []
        kept, _, regions = shape_regions(shapes, image)
        chosen = [kept.index(i) for i in sorted(shapes.selected_data) if i in kept]
        return [regions[i] for i in chosen] if chosen else regions[-1:]

    def _on_mode(self, mode: str) -> None:
        sliding = mode == "sliding"
        self.window_spin.setEnabled(sliding)
        self.stride_spin.setEnabled(sliding)

    def _auto_size(self, *_) -> None:
        """Set window and stride from the image (when auto is on)."""
        layer = self.image_combo.layer()
        if not self.auto_check.isChecked() or layer is None:
            return
        window, stride = auto_window(*spatial_shape(layer)[-2:])
        self._sizing = True
        self.window_spin.setValue(window)
        self.stride_spin.setValue(stride)
        self._sizing = False

    def _size_set(self, *_) -> None:
        if not self._sizing:  # the user chose a size: keep it
            self.auto_check.setChecked(False)

    def confirm(self, text: str) -> bool:
        """Ask whether to start a large job (tests replace this)."""
        answer = QMessageBox.question(self, "Large heatmap", f"{text}\n\nCompute it anyway?")
        return answer == QMessageBox.StandardButton.Yes

    def _windows_ok(self, plane, window: int, stride: int) -> int:
        """The job's window count; 0 when it is too large and the user says no."""
        n = WindowGrid.of(plane.height, plane.width, window, stride).count
        if n <= LARGE_JOB or self.confirm(large_job_text(n, window, stride, plane, self._rate)):
            return n
        self.job_panel.set_status(f"Not started: {n:,} windows. Raise the stride or window.")
        return 0

    def problem(self) -> str:
        """Why the heatmap cannot run now ('' when it can)."""
        if self.image_combo.layer() is None:
            return "Open or select an image layer first."
        if self.region_check.isChecked():
            if self.shapes_combo.layer() is None:
                return "Draw a rectangle or polygon in a Shapes layer to use as the query."
            return self.models.problem()
        if not self.queries():
            return "Type a query (one per line)."
        if self.template().count("{}") != 1:
            return "The template needs {} (once) where the query goes."
        return self.models.problem()

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
        self._auto_size()
        n_windows = self._windows_ok(plane, self.window_spin.value(), self.stride_spin.value())
        if not n_windows:
            return
        clip_choice, device, precision = s.clip, s.device, s.precision
        try:
            queries, options, sources = self._queries_and_options(image)
            request = self.request_for(image, plane, queries, options)
        except InvalidInputError as exc:
            self.job_panel.set_status(str(exc), error=True)
            return

        def job(progress, cancel):
            clip = STORE.clip(clip_choice, device, precision)
            image, valid = plane.model_input(), plane_valid_mask(plane)
            maps = request.maps(image, valid, clip, progress, cancel)
            return np.asarray(maps, dtype=np.float32).reshape(len(queries), *maps.shape[-2:])

        started = time.perf_counter()

        def done(maps):
            self._rate = n_windows / max(time.perf_counter() - started, 1e-3)
            self._show(image, plane, queries, maps, options)
            prov = request_record(request)
            for layer in self._last_layers:
                store_result(layer, "provenance", prov)
            self.copy_command_button.set_record(prov)

        self.start(job, "Text heatmap", done, unit="windows", sources=sources)

    def _queries_and_options(self, image) -> tuple[list[str], dict, list]:
        """The maps' names, the request's options and the layers the job reads."""
        window, stride = self.window_spin.value(), self.stride_spin.value()
        options = {"mode": self.mode_combo.currentText(), "window": window, "stride": stride}
        options["template"] = self.template()
        if not self.region_check.isChecked():
            return self.queries(), options, [image]
        regions = self.query_regions()
        if not regions:
            raise InvalidInputError("No shape of that Shapes layer overlaps the image.")
        options["query_regions"] = regions
        names = [region_query_name(r) for r in regions]
        return names, options, [image, self.shapes_combo.layer()]

    def request_for(self, image, plane, queries, options) -> HeatmapRequest:
        """The :class:`~napari_clipcap.core.tasks.requests.HeatmapRequest` of the dock's
        run over ``image`` (every query; ``options["query_regions"]``: the drawn regions
        that are the queries instead) with the panel's model: built once per click;
        what runs and what provenance and Copy command record."""
        s = self.models.settings
        regions = options.get("query_regions")
        return HeatmapRequest(
            image=dock_image(image, plane),
            queries=() if regions else tuple(queries),
            query_regions=tuple(regions) if regions else None,
            mode=options["mode"],
            window=int(options["window"]),
            stride=int(options["stride"]),
            template=options.get("template", "{}"),
            clip=clip_spec(s.clip),
            device=s.device,
            precision=s.precision,
        )

    def _show(self, image, plane, queries, maps, options) -> None:
        if "query_regions" in options:  # plain lists in the layers' metadata
            regions = [np.asarray(r).tolist() for r in options["query_regions"]]
            options = {**options, "query_regions": regions}
        self._last_layers = layers = show_maps(
            self.viewer, image, plane, queries, maps, options,
            colormap=self.colormap_combo.currentText(),
            opacity=self.opacity_slider.value() / 100,
        )  # fmt: skip
        self._refresh_results()
        self.result_combo.setCurrentText(layers[-1].name)
        self._on_result_chosen(self.result_combo.currentText())
        self.job_panel.set_status(f"{len(queries)} heatmap{'s' if len(queries) > 1 else ''} done.")

    def result_layers(self) -> list:
        """Heatmap layers made by this widget."""
        return heat_layers(self.viewer)

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
            heat = heat_plane(self.viewer.layers[name])
            if np.isfinite(heat).any():
                self.threshold_spin.setValue(float(np.nanpercentile(heat, 90)))

    def _restyle(self, *_) -> None:
        for layer in self.result_layers():
            layer.colormap = self.colormap_combo.currentText()
            layer.opacity = self.opacity_slider.value() / 100

    def threshold_to(self, kind: str):
        """Turn the chosen heatmap above the threshold into a Labels or Shapes layer;
        regions smaller than the minimum area are dropped."""
        name = self.result_combo.currentText()
        if name not in self.viewer.layers:
            return None
        thr, area = self.threshold_spin.value(), self.min_area_spin.value()
        layer, n = threshold_layer(self.viewer, self.viewer.layers[name], thr, area, kind)
        self.job_panel.set_status(f"{n} region{'s' if n != 1 else ''} found.")
        return layer
