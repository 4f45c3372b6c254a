"""How a dock's result was made: the provenance record and its "Copy command" button.

A dock builds the request of its task (:mod:`napari_clipcap.core.tasks.requests`) from
its widgets, over the file its image layer was read from (:func:`dock_image`); the
record keeps ``request.to_argv()`` as its command, goes into the result layer's
metadata, and the button offers the command on the clipboard. A layer that was not read
from a file (sample data, arrays from a script) gets a record without a command, and
the button says why.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtGui import QGuiApplication
from qtpy.QtWidgets import QPushButton

from ..core.provenance import model_entry


def source_path(layer) -> str | None:
    """The file ``layer`` was read from, when napari or our readers recorded one."""
    meta = layer.metadata or {}
    path = getattr(getattr(layer, "source", None), "path", None) or meta.get("source_path")
    return str(path) if path else None


def dock_image(layer, plane) -> Any:
    """The :class:`~napari_clipcap.core.tasks.requests.base.ImageInput` of a dock's
    layer: the file it was read from (None: no command), HDU, domain and plane."""
    from ..core.tasks.requests.base import ImageInput

    hdu = (layer.metadata or {}).get("fits_hdu")
    return ImageInput(
        path=source_path(layer),
        hdu=None if hdu is None else str(hdu),
        domain=plane.domain,
        plane=tuple(plane.index),
        name=layer.name,
    )


def labels_record(image, plane, regions, results, clip_choice, device, precision) -> dict:
    """Provenance of the Region labels dock's scores: the record of the
    :class:`~napari_clipcap.core.tasks.requests.LabelsRequest` the dock ran, whose
    ``to_argv()`` is the Copy command."""
    from .._napari.models.specs import clip_spec
    from ..core.tasks.requests import LabelsRequest
    from ..core.tasks.requests.base import clip_entry, request_record

    spec = clip_spec(clip_choice)
    template = results["template"]
    request = LabelsRequest(
        image=dock_image(image, plane),
        labels=tuple(results["labels"]),
        regions=tuple(regions),
        template=template.get("template", "{}"),
        templates=template.get("templates"),
        clip=spec,
        device=device,
        precision=precision,
    )
    return request_record(request, [clip_entry(spec)])


def heatmap_request(image, plane, queries, options, clip_choice, device, precision):
    """The :class:`~napari_clipcap.core.tasks.requests.HeatmapRequest` of the Text
    heatmap dock's run (every query; ``options["query_regions"]``: the drawn regions
    that are the queries instead)."""
    from .._napari.models.specs import clip_spec
    from ..core.tasks.requests import HeatmapRequest

    regions = options.get("query_regions")
    return HeatmapRequest(
        image=dock_image(image, plane),
        queries=() if regions else tuple(queries),
        query_regions=tuple(regions) if regions else None,
        mode=options["mode"],
        window=int(options["window"]),
        stride=int(options["stride"]),
        template=options.get("template", "{}"),
        clip=clip_spec(clip_choice),
        device=device,
        precision=precision,
    )


def heatmap_record(request) -> dict:
    """Provenance of the Text heatmap dock's maps (one run, every query): the record of
    its :class:`~napari_clipcap.core.tasks.requests.HeatmapRequest`
    (:func:`heatmap_request`)."""
    from ..core.tasks.requests.base import clip_entry, request_record

    return request_record(request, [clip_entry(request.clip)])


def caption_record(image, plane, regions, opts, choices, device, precision) -> dict:
    """Provenance of the Caption dock's captions: the record of the first captioner's
    :class:`~napari_clipcap.core.tasks.requests.CaptionRequest`, whose ``to_argv()`` is
    the Copy command."""
    from .._napari.models.specs import captioner_spec
    from ..core.tasks.requests import CaptionRequest
    from ..core.tasks.requests.base import request_record
    from ..core.tasks.requests.caption import DECODING_FLAGS, captioner_entries

    whole = len(regions) == 1 and tuple(regions[0]) == (0, 0, plane.width, plane.height)
    spec = captioner_spec(choices[0])
    request = CaptionRequest(
        images=(dock_image(image, plane),),
        captioner=spec,
        decoding={k: v for k, v in opts.items() if k in DECODING_FLAGS},
        regions=None if whole else tuple(regions),
        device=device,
        precision=precision,
    )
    prov = request_record(request, captioner_entries(spec))
    prov["parameters"]["captioners"] = [c.label for c in choices]
    return prov


def ground_record(image, plane, request: dict, choice, device, precision) -> dict:
    """Provenance of the Grounding dock's boxes or region descriptions: the record of
    its :class:`~napari_clipcap.core.tasks.requests.GroundRequest`.

    ``request`` holds ``mode`` (``"detect"``, ``"ground"`` or ``"describe"``), ``text``
    (phrases or caption), ``tile``, ``overlap``, ``iou``, ``beam_size``, ``max_tokens``
    and, for descriptions, ``regions``. Descriptions have no command (``ground`` has no
    region-to-description mode), so their record says why.
    """
    from .._napari.models.specs import captioner_load_args
    from ..core.tasks.requests import GroundRequest
    from ..core.tasks.requests.base import request_record

    weights = str(captioner_load_args(choice)["weights"])
    mode = request["mode"]
    text = request.get("text", "")
    ground = GroundRequest(
        image=dock_image(image, plane),
        phrases=text if mode != "ground" else None,
        caption=text if mode == "ground" else None,
        weights=weights,
        tile=request.get("tile") or None,
        overlap=int(request.get("overlap", 64)),
        iou=float(request["iou"]),
        beam=int(request["beam_size"]),
        max_tokens=int(request["max_tokens"]),
        device=device,
        precision=precision,
    )
    prov = request_record(ground, [model_entry("captioner", choice.label, weights)])
    prov["parameters"].update(florence2_task=mode, **request)
    if mode == "describe":
        prov["command"] = None
        prov["command_unavailable"] = "region descriptions have no napari-clipcap command"
    return prov


class CopyCommandButton(QPushButton):
    """Copies the command of the dock's last result to the clipboard."""

    def __init__(self, parent=None):
        super().__init__("Copy command", parent)
        self.record: dict | None = None
        self.clicked.connect(self.copy)
        self.set_record(None)

    def set_record(self, prov: dict | None) -> None:
        """Show ``prov``'s command (enabled) or why there is none (disabled)."""
        self.record = prov
        command = (prov or {}).get("command")
        self.setEnabled(bool(command))
        if command:
            self.setToolTip(f"Copy the command that recomputes the last result:\n{command}")
        elif prov:
            self.setToolTip(f"No command for the last result: {prov['command_unavailable']}")
        else:
            self.setToolTip("Run first: the command of the last result is copied")

    def copy(self) -> str | None:
        """Put the command on the clipboard; returns it."""
        command = (self.record or {}).get("command")
        if command:
            QGuiApplication.clipboard().setText(command)
        return command
