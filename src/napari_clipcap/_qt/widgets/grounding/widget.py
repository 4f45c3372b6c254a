"""Florence-2 grounding on an image layer: boxes for typed phrases, the phrases of a
caption, or a description of each drawn shape.

Detection and grounding give a Shapes layer of labelled boxes named
``"<phrases> on <image>"``, placed exactly over the image, with the provenance in its
metadata; descriptions are written on the shapes. Large images run in overlapping tiles
with progress and cancel per tile.
"""

from __future__ import annotations

from qtpy.QtWidgets import QFormLayout, QWidget

from ...._napari.layers import displayed_plane, shape_regions, store_result
from ...._napari.models.specs import ModelChoice, captioner_load_args
from ...._napari.models.store import STORE
from ...._napari.region_text import outside_note
from ....core.errors import InvalidInputError
from ....core.tasks.requests import GroundRequest
from ....core.tasks.requests.base import request_record
from ...dock import Dock
from ...models.panel import ModelPanel
from ...provenance import dock_input
from .inputs import DESCRIBE, DETECT, GROUND, GroundingInputs, florence2_problem, last_caption
from .results import describe_on_shapes, result_name, show_boxes

#: What the dock says before its first run.
FIRST_STEPS = (
    "Florence-2 finds what you name: type phrases (or a caption) and click Run for "
    "labelled boxes over the image, or describe each drawn shape."
)
#: Decoding of the location tasks, as ``napari-clipcap ground`` defaults.
BEAM, MAX_TOKENS, IOU = 3, 256, 0.5
_TASKS = {DETECT: "detect", GROUND: "ground", DESCRIBE: "describe"}


class GroundingWidget(Dock):
    """Dock widget: Florence-2 detection, phrase grounding and shape descriptions."""

    def __init__(self, napari_viewer, parent: QWidget | None = None):
        super().__init__(
            napari_viewer,
            run_text="Run",
            ready_tip="Run Florence-2 on the image",
            models=ModelPanel(show_captioner=True, captioner_slot="grounding"),
            first_steps=FIRST_STEPS,
            parent=parent,
        )
        form = QFormLayout()
        form.addRow("Image", self.image_combo)
        self.inputs = GroundingInputs(napari_viewer, form)
        self.mode_combo, self.text_edit = self.inputs.mode_combo, self.inputs.text_edit
        self.tile_spin, self.overlap_spin = self.inputs.tile_spin, self.inputs.overlap_spin
        self.shapes_combo = self.inputs.shapes_combo
        self.last_caption_button = self.inputs.last_caption_button
        self.skeleton(form)
        self.result_layer = None
        self._watched = self._image = None
        self.image_combo.layer_changed.connect(self._watch_image)
        self.shapes_combo.layer_changed.connect(self._watch_shapes)
        self.mode_combo.currentTextChanged.connect(self.validate)
        self.text_edit.textChanged.connect(self.validate)
        self.tile_spin.valueChanged.connect(self.validate)
        self.overlap_spin.valueChanged.connect(self.validate)
        self.last_caption_button.clicked.connect(self.use_last_caption)
        self.run_button.clicked.connect(self.run)
        self.models.shared.changed.connect(self._captioner_only)
        self.models.shared.changed.connect(self.validate)
        refresh = self.models.refresh  # also called directly (devices found, models loaded)

        def refresh_captioner_only() -> None:
            refresh()
            self._captioner_only()

        self.models.refresh = refresh_captioner_only
        self._captioner_only()
        self._watch_shapes(self.shapes_combo.layer())
        self._watch_image(self.image_combo.layer())

    # -- inputs --------------------------------------------------------------------
    @property
    def choice(self) -> ModelChoice:
        """This dock's own captioner (it must be a Florence-2; never Caption's choice)."""
        return self.models.captioner

    def _captioner_only(self) -> None:
        """Hide the panel's CLIP rows (Florence-2 needs no CLIP; a red "not cached" there
        would only confuse) and keep them out of its summary (after each refresh)."""
        panel = self.models
        for widget in (panel.clip_combo, panel.clip_status, panel.clip_model, panel.clip_weights):
            widget.setVisible(False)
            label = panel._form.labelForField(widget)
            if label is not None:
                label.setVisible(False)
        s = panel.settings
        panel.summary.setText(f"{panel.captioner.label} · {s.device}")

    def _watch_image(self, layer) -> None:
        # a caption stored by the Caption dock enables "Use last caption" at once
        if self._image is not None:
            self._image.events.metadata.disconnect(self.validate)
        self._image = layer
        if layer is not None:
            layer.events.metadata.connect(self.validate)
        self.validate()

    def _watch_shapes(self, layer) -> None:
        if self._watched is not None:
            self._watched.events.data.disconnect(self.validate)
        self._watched = layer
        if layer is not None:
            layer.events.data.connect(self.validate)
        self.validate()

    def use_last_caption(self) -> None:
        """Put the Caption dock's last caption of the image layer in the text box."""
        caption = last_caption(self.image_combo.layer())
        if caption:
            self.text_edit.setText(caption)

    def problem(self) -> str:
        """Why the dock cannot run now ('' when it can)."""
        image = self.image_combo.layer()
        if image is None:
            return "Open or select an image layer first."
        return (
            florence2_problem(self.choice) or self.models.problem() or self.inputs.problem(image)
        )

    def validate(self, *_) -> bool:
        """Enable Run, or disable it and say why; the same for Use last caption."""
        has = bool(last_caption(self.image_combo.layer()))
        self.last_caption_button.setEnabled(has)
        self.last_caption_button.setToolTip(
            "Ground the Caption dock's last caption of this image"
            if has
            else "No caption of this image yet: caption it in the Caption dock first"
        )
        return super().validate()

    # -- running -------------------------------------------------------------------
    def options(self) -> dict:
        """What to run: task, text, tiles and decoding (JSON-able, kept in provenance)."""
        tile, overlap = self.inputs.tiles()
        mode = _TASKS[self.inputs.mode()]
        text = "" if mode == "describe" else self.inputs.text()
        return {"mode": mode, "text": text, "tile": tile, "overlap": overlap, "iou": IOU,
                "beam_size": BEAM, "max_tokens": MAX_TOKENS}  # fmt: skip

    def request_for(self, image, plane, options: dict, regions=None) -> GroundRequest:
        """The :class:`~napari_clipcap.core.tasks.requests.GroundRequest` of ``options``
        (:meth:`options`) over ``image`` with the dock's Florence-2 model: built once per
        click; what runs and what provenance and Copy command record. ``regions``: the
        boxes to describe (``describe`` mode; such a request has no command)."""
        s = self.models.settings
        mode, text = options["mode"], options.get("text", "")
        return GroundRequest(
            image=dock_input(image, plane),
            phrases=text if mode == "detect" else None,
            caption=text if mode == "ground" else None,
            regions=tuple(regions) if mode == "describe" else None,
            weights=str(captioner_load_args(self.choice)["weights"]),
            tile=options.get("tile") or None,
            overlap=int(options.get("overlap", 64)),
            iou=float(options["iou"]),
            beam=int(options["beam_size"]),
            max_tokens=int(options["max_tokens"]),
            device=s.device,
            precision=s.precision,
        )

    def run(self) -> None:
        """Start detection, grounding or descriptions (the request's run) in a worker."""
        if not self.validate() or self.job_panel.busy:
            return
        image, s, req = self.image_combo.layer(), self.models.settings, self.options()
        choice = self.choice
        try:
            plane = displayed_plane(self.viewer, image, s.domain)
            shapes, kept, regions = None, [], []
            if req["mode"] == "describe":
                shapes = self.shapes_combo.layer()
                kept, regions, _ = shape_regions(shapes, image)
                if not kept:
                    raise InvalidInputError("no shape overlaps the image")
                req["regions"] = [list(map(int, r)) for r in regions]
            request = self.request_for(image, plane, req, req.get("regions"))
        except InvalidInputError as exc:
            self.job_panel.set_status(str(exc), error=True)
            return
        device, precision = request.device, request.precision
        skipped = [i for i in range(len(shapes.data)) if i not in kept] if shapes else []

        def job(progress, cancel):  # the request's own run, with the cached Florence-2
            model = STORE.captioner(choice, device, precision)
            return request.run(progress=progress, cancel=cancel, model=model)

        def done(result):
            prov = request_record(request)
            prov["parameters"].update(florence2_task=req["mode"], **req)
            self.copy_command_button.set_record(prov)
            if req["mode"] == "describe":
                texts = [row["description"] for row in result.rows]
                describe_on_shapes(shapes, kept, texts)
                store_result(shapes, "provenance", prov)
                note = outside_note(skipped, "described")
                self.job_panel.set_status(f"{len(texts)} shape(s) described." + note)
                return
            self._show(image, req, result.extra["detections"], prov)

        unit = "regions" if req["mode"] == "describe" else "tiles"
        sources = [image] if shapes is None else [image, shapes]
        self.start(job, "Florence-2", done, unit=unit, sources=sources)

    def _show(self, image, req: dict, detections, prov: dict) -> None:
        name = result_name(req["text"], image.name)
        self.result_layer = show_boxes(self.viewer, image, detections, name, prov)
        phrases = len({d.label for d in detections})
        self.job_panel.set_status(
            f"{len(detections)} box(es) for {phrases} phrase(s) in '{name}'."
            if detections
            else f"No boxes found for '{req['text']}'."
        )
