"""Caption the displayed image: whole, the field of view, or each shape, batched.

Several captioners can run side by side on the same regions. Results are listed with
copy buttons, stored in the image layer's metadata, and shown as text on the shapes;
clicking a word of a caption shows its relevance map as an image layer over the source.
"""

from __future__ import annotations

from dataclasses import replace

from napari.layers import Shapes
from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QListWidget,
    QPushButton,
    QWidget,
)

from ...._napari.layers import (
    box_to_rectangle,
    camera_of,
    displayed_plane,
    field_of_view_box,
    shape_regions,
    shapes_signature,
    store_result,
)
from ...._napari.models.specs import ModelChoice, captioner_spec
from ...._napari.models.store import STORE
from ...._napari.region_text import (
    caption_boxes,
    caption_shapes,
    contrast_colours,
    follow_view,
    ground_luminance,
    hidden_corner,
    inside_translation,
    number_shapes,
    outside_note,
    screen_pixel,
    text_rect,
)
from ....core.errors import InvalidInputError
from ....core.tasks.requests import CaptionRequest
from ....core.tasks.requests.base import request_record
from ....core.tasks.requests.caption import DECODING_FLAGS
from ...dock import Dock
from ...layer_combo import LayerCombo
from ...models.panel import ModelPanel
from ...orientation import NorthUpCheck
from ...provenance import dock_input
from ...region_files import RegionFilesBar
from .decoding import DecodingControls
from .relevance import show_word_relevance
from .results import CaptionResults

SCOPES = ("Whole image", "Field of view", "Each shape")
#: The first thing a new user reads in the Caption dock.
FIRST_STEPS = (
    "Start here: pick an image layer and click Caption. To caption parts of it, choose "
    '"Each shape", add a Shapes layer and draw rectangles or polygons on the image.'
)
REGIONS_LAYER = "captions"


class CaptionWidget(Dock):
    """Dock widget: captions for an image layer, its view or its shapes."""

    def __init__(self, napari_viewer, parent: QWidget | None = None):
        super().__init__(
            napari_viewer,
            run_text="Caption",
            ready_tip="Caption with every chosen captioner",
            models=ModelPanel(show_captioner=True),
            first_steps=FIRST_STEPS,
            parent=parent,
        )
        self.caption_button = self.run_button
        self.scope_combo = QComboBox()
        self.scope_combo.addItems(SCOPES)
        self.shapes_combo = LayerCombo(napari_viewer, Shapes)
        self.compare_list = QListWidget()
        self.compare_list.setMaximumHeight(60)
        self.compare_list.setToolTip("Captioners run side by side; empty: the panel's captioner")
        self.add_compare_button = QPushButton("Add panel's captioner")
        self.remove_compare_button = QPushButton("Remove")
        self.results_view = CaptionResults()

        form = QFormLayout()
        form.addRow("Image", self.image_combo)
        self.north_up_check = NorthUpCheck(napari_viewer, self.image_combo.layer)
        form.addRow("", self.north_up_check)
        form.addRow("Caption", self.scope_combo)
        form.addRow("Shapes", self.shapes_combo)
        self.decoding_controls = dec = DecodingControls(form)
        self.method_combo, self.beam_spin, self.top_p_spin = (
            dec.method_combo, dec.beam_spin, dec.top_p_spin)  # fmt: skip
        self.num_spin, self.max_tokens_spin = dec.num_spin, dec.max_tokens_spin
        form.addRow("Compare", self.compare_list)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_compare_button)
        buttons.addWidget(self.remove_compare_button)
        form.addRow("", buttons)
        self._form = form
        self.region_files = RegionFilesBar(
            napari_viewer, self.image_combo.layer, self.shapes_combo.layer
        )
        self.skeleton(form, self.region_files, results=self.results_view)

        self.compared: list[ModelChoice] = []
        self.results: list[dict] = []
        self._source = None
        self._choices: dict[str, ModelChoice] = {}
        self._skipped: list[int] = []
        self.scope_combo.currentTextChanged.connect(self._on_scope)
        self.image_combo.layer_changed.connect(self.north_up_check.refresh)
        self.shapes_combo.layer_changed.connect(self._watch_shapes)
        self.add_compare_button.clicked.connect(self.add_compared)
        self.remove_compare_button.clicked.connect(self._remove_compared)
        self.caption_button.clicked.connect(self.caption)
        self.results_view.word_clicked.connect(self.show_relevance)
        self._watched = None
        self._on_scope(self.scope_combo.currentText())
        self._watch_shapes(self.shapes_combo.layer())

    # -- inputs --------------------------------------------------------------------
    def _on_scope(self, scope: str) -> None:
        each = scope == "Each shape"
        self.shapes_combo.setVisible(each)
        self._form.labelForField(self.shapes_combo).setVisible(each)
        self.validate()

    def _watch_shapes(self, layer) -> None:
        if self._watched is not None:
            self._watched.events.data.disconnect(self.validate)
        self._watched = layer
        if layer is not None:
            layer.events.data.connect(self.validate)
        self.validate()

    def add_compared(self) -> None:
        """Add the model panel's current captioner to the side-by-side list."""
        choice = ModelChoice.from_dict(self.models.captioner.__dict__)
        if all(c.key() != choice.key() for c in self.compared):
            self.compared.append(choice)
            self.compare_list.addItem(choice.label)

    def _remove_compared(self) -> None:
        row = self.compare_list.currentRow()
        if row >= 0:
            self.compare_list.takeItem(row)
            del self.compared[row]

    def captioners(self) -> list[ModelChoice]:
        """The captioners to run: the compared ones, or the panel's captioner."""
        return list(self.compared) or [self.models.captioner]

    def decoding(self) -> dict:
        """``caption`` keyword arguments for the chosen decoding."""
        return self.decoding_controls.options()

    def problem(self) -> str:
        """Why captioning cannot run now ('' when it can)."""
        if self.image_combo.layer() is None:
            return "Open or select an image layer first."
        if self.scope_combo.currentText() == "Each shape":
            shapes = self.shapes_combo.layer()
            if shapes is None:
                return "Add a Shapes layer and draw regions, or caption the whole image."
            if len(shapes.data) == 0:
                return f"Draw at least one shape in '{shapes.name}'."
        return self.models.problem()

    # -- captioning ----------------------------------------------------------------
    def _regions(self, image):
        """(names, boxes, regions, shape indices or None) for the chosen scope."""
        scope = self.scope_combo.currentText()
        if scope == "Each shape":
            shapes = self.shapes_combo.layer()
            kept, boxes, regions = shape_regions(shapes, image)
            if not kept:
                raise InvalidInputError("no shape overlaps the image")
            self._skipped = [i for i in range(len(shapes.data)) if i not in kept]
            return [f"shape {i}" for i in kept], boxes, regions, kept
        if scope == "Field of view":
            box = field_of_view_box(self.viewer, image)
            return ["field of view"], [box], [box], None
        plane = displayed_plane(self.viewer, image)
        box = (0, 0, plane.width, plane.height)
        return ["whole image"], [box], [box], None

    def request_for(self, image, plane, regions) -> CaptionRequest:
        """The :class:`~napari_clipcap.core.tasks.requests.CaptionRequest` of captioning
        ``regions`` of ``image`` with the first captioner and the dock's decoding: built
        once per click; what provenance and Copy command record (the other compared
        captioners are named in its parameters)."""
        s = self.models.settings
        whole = len(regions) == 1 and tuple(regions[0]) == (0, 0, plane.width, plane.height)
        opts = self.decoding()
        return CaptionRequest(
            images=(dock_input(image, plane),),
            captioner=captioner_spec(self.captioners()[0]),
            decoding={k: v for k, v in opts.items() if k in DECODING_FLAGS},
            regions=None if whole else tuple(regions),
            device=s.device,
            precision=s.precision,
        )

    def caption(self) -> None:
        """Start captioning with every chosen captioner."""
        if not self.validate() or self.job_panel.busy:
            return
        image = self.image_combo.layer()
        s = self.models.settings
        try:
            plane = displayed_plane(self.viewer, image, s.domain)
            names, boxes, regions, kept = self._regions(image)
            request = self.request_for(image, plane, regions)
        except InvalidInputError as exc:
            self.job_panel.set_status(str(exc), error=True)
            return
        choices, opts = self.captioners(), dict(request.decoding)
        device, precision = request.device, request.precision
        skipped, self._skipped = self._skipped, []
        pixel = screen_pixel(plane, camera_of(self.viewer).zoom)
        inside = self.scope_combo.currentText() == "Field of view"
        # the layer captioned, and its shapes now: the captions belong to these
        shapes = self.shapes_combo.layer() if kept is not None else None
        drawn = shapes_signature(shapes) if shapes is not None else None

        def job(progress, cancel):  # the request's own run, once per compared captioner
            out, total, result = [], len(choices), None
            for k, choice in enumerate(choices):
                captioner = STORE.captioner(choice, device, precision)  # the one model cache

                def step(done, n, offset=k):  # the captioners one after the other
                    progress(offset * n + done, total * n)

                run = replace(request, captioner=captioner_spec(choice))
                result = run.run(progress=step, cancel=cancel, captioner=captioner)
                out.append((choice.label, [row["captions"] for row in result.rows]))
            texts = [c[0] if c else "" for c in out[0][1]]
            rects = [text_rect(b, t, pixel, inside=inside) for b, t in zip(boxes, texts)]
            return out, ground_luminance(result.image.data, rects)

        def done(result):
            out, ground = result
            self._show(image, plane, names, boxes, out, opts, choices)
            self._draw(image, plane, boxes, kept, out, ground, shapes, drawn, inside, skipped)
            prov = request_record(request)
            prov["parameters"]["captioners"] = [c.label for c in choices]
            store_result(image, "provenance", prov)
            self.copy_command_button.set_record(prov)

        sources = [image] if shapes is None else [image, shapes]
        self.start(job, "Captioning", done, unit="regions", sources=sources)

    def _show(self, image, plane, names, boxes, out, opts, choices) -> None:
        self._source = (image, plane)
        self._choices = {label: choice for label, choice in zip([o[0] for o in out], choices)}
        self.results = [
            {
                "region": name, "box": [int(v) for v in box], "captioner": label,
                "captions": [str(c) for c in caps[i]], "decoding": dict(opts),
            }
            for label, caps in out
            for i, (name, box) in enumerate(zip(names, boxes))
        ]  # fmt: skip
        store_result(image, "captions", self.results)
        self.results_view.set_results(self.results)

    def _draw(self, image, plane, boxes, kept, out, ground, shapes, drawn, inside, skipped):
        """Write the first captioner's captions on the canvas, legible and numbered."""
        n = len(self.results)
        colours = contrast_colours(ground, "white")
        if kept is not None:
            if shapes is None or shapes_signature(shapes) != drawn:
                # shape indices moved meanwhile: text would land on the wrong shapes
                self.job_panel.set_status(
                    f"{n} caption set(s); shapes changed meanwhile, "
                    "so they are not written on the shapes."
                )
                return
            caption_shapes(shapes, kept, out, colours)
            number_shapes(self.viewer, shapes)
            texts = [c[0] if c else "" for c in out[0][1]]
            placed = [(i, b, t, False) for i, b, t in zip(kept, boxes, texts)]
            follow_view(self.viewer, shapes, image, plane, placed, "white")
        else:
            rects = [box_to_rectangle(b, image) for b in boxes]
            shift = 0
            if inside:  # a margin inside the view, whatever of the box it hides
                zoom = camera_of(self.viewer).zoom
                shift = inside_translation(1.0 / zoom, hidden_corner(self.viewer, rects[0]))
            caps = [c[0] for c in out[0][1]]
            layer = caption_boxes(
                self.viewer, REGIONS_LAYER, rects, caps, colours, translation=shift
            )
            placed = [(k, b, t, inside) for k, (b, t) in enumerate(zip(boxes, caps))]
            follow_view(self.viewer, layer, image, plane, placed, "white")
        self.job_panel.set_status(f"{n} caption set(s)." + outside_note(skipped, "captioned"))

    # -- word relevance ------------------------------------------------------------
    def show_relevance(self, result_index: int, caption_index: int, word: str) -> None:
        """Compute the relevance map of ``word`` for one caption and show it as a layer."""
        if self._source is None or self.job_panel.busy:
            return
        image, plane = self._source
        result = self.results[result_index]
        choice = self._choices[result["captioner"]]
        show_word_relevance(self, image, plane, result, caption_index, word, choice)
