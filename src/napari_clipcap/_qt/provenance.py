"""How a dock's result was made: the provenance record and its "Copy command" button.

A dock builds the ``napari-clipcap`` command line that computes the same result from the
file its image layer was read from (:func:`dock_record`), keeps the record in the result
layer's metadata, and offers the command on the clipboard. A layer that was not read
from a file (sample data, arrays from a script) gets a record without a command, and
the button says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qtpy.QtGui import QGuiApplication
from qtpy.QtWidgets import QPushButton

from ..core.provenance import command_line, model_entry, record, spec_entry


def source_path(layer) -> str | None:
    """The file ``layer`` was read from, when napari or our readers recorded one."""
    meta = layer.metadata or {}
    path = getattr(getattr(layer, "source", None), "path", None) or meta.get("source_path")
    return str(path) if path else None


def clip_flags(choice) -> tuple[list[str], dict]:
    """``--clip``/``--clip-weights`` flags and the model entry of a CLIP choice."""
    from .._napari.models.specs import CUSTOM, clip_spec

    entry = spec_entry("clip", clip_spec(choice))  # resolved: its weights, "random"
    if choice.preset != CUSTOM:
        return ["--clip", choice.preset], entry
    flags = ["--clip", choice.model]
    if choice.weights:
        flags += ["--clip-weights", choice.weights]
    return flags, entry


def input_flags(layer, plane) -> tuple[list[str], str | None]:
    """Flags that make the command read the layer's pixels as the dock did, and why the
    result cannot be recomputed from a command (or None when it can)."""
    flags = ["--domain", plane.domain]
    meta = layer.metadata or {}
    if meta.get("fits_hdu") is not None:
        flags += ["--hdu", str(meta["fits_hdu"])]
    if any(plane.index):
        return flags, f"plane {plane.index} of a stack (the command reads the first plane)"
    return flags, None


def dock_record(
    subcommand: str,
    layer,
    plane,
    flags: Sequence[str],
    models: Sequence[dict],
    *,
    device: str,
    precision: str,
    parameters: dict[str, Any],
) -> dict:
    """The provenance record of a dock's result; ``command`` is None (with
    ``command_unavailable`` saying why) when no command line can recompute it."""
    path = source_path(layer)
    extra, why = input_flags(layer, plane)
    if path is None:
        why = f"layer {layer.name!r} was not read from a file"
    argv = [subcommand, path or "", *flags, *extra, "--device", device, "--precision", precision]
    prov = record(
        command=command_line(argv) if why is None else "",
        models=models,
        device=device,
        precision=precision,
        parameters=parameters,
        inputs={"layer": layer.name, "file": path, "plane": list(plane.index)},
    )
    if why is not None:
        prov["command"] = None
        prov["command_unavailable"] = why
    return prov


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


def heatmap_record(image, plane, queries, options, clip_choice, device, precision) -> dict:
    """Provenance of the Text heatmap dock's maps (one run, every query): the record of
    its :class:`~napari_clipcap.core.tasks.requests.HeatmapRequest`."""
    from .._napari.models.specs import clip_spec
    from ..core.tasks.requests import HeatmapRequest
    from ..core.tasks.requests.base import clip_entry, request_record

    spec = clip_spec(clip_choice)
    request = HeatmapRequest(
        image=dock_image(image, plane),
        queries=tuple(queries),
        mode=options["mode"],
        window=int(options["window"]),
        stride=int(options["stride"]),
        template=options.get("template", "{}"),
        clip=spec,
        device=device,
        precision=precision,
    )
    return request_record(request, [clip_entry(spec)])


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
    """Provenance of the Grounding dock's boxes or region descriptions.

    ``request`` holds ``mode`` (``"detect"``, ``"ground"`` or ``"describe"``), ``text``
    (phrases or caption), ``tile``, ``overlap``, ``iou``, ``beam_size``, ``max_tokens``
    and, for descriptions, ``regions``. Descriptions have no command (``ground`` has no
    region-to-description mode), so their record says why.
    """
    from .._napari.models.specs import captioner_load_args

    weights = str(captioner_load_args(choice)["weights"])
    mode = request["mode"]
    flags = ["--phrases" if mode == "detect" else "--caption", request.get("text", "")]
    flags += ["--weights", weights]
    if request.get("tile"):
        flags += ["--tile", str(request["tile"]), "--overlap", str(request["overlap"])]
    flags += ["--iou", str(request["iou"]), "--beam", str(request["beam_size"])]
    flags += ["--max-tokens", str(request["max_tokens"]), "--json"]
    prov = dock_record(
        "ground",
        image,
        plane,
        flags,
        [model_entry("captioner", choice.label, weights)],
        device=device,
        precision=precision,
        parameters={"florence2_task": mode, **request},
    )
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
