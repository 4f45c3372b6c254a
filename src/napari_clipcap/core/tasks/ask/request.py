"""The one request of the Ask task, shared by every door.

The Ask dock fills :class:`AskRequest` from its widgets, ``napari-clipcap ask`` from its
flags, ``batch --task ask`` from its spec; :meth:`AskRequest.to_argv` is the command
provenance records.
"""

from __future__ import annotations

import argparse
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import InvalidInputError
from ...jobs import CancelFlag, ProgressCallback
from ..requests.base import ImageInput, flag, read_shapes, region_flags
from .regions import DEFAULT_VLM, ask_image, context_box

__all__ = ["AskRequest", "AskResult"]


@dataclass
class AskResult:
    """Answers of one :class:`AskRequest`, with what was asked and how."""

    request: AskRequest
    model: str
    family: str
    answers: list
    regions: list
    warnings: list[str] = field(default_factory=list)
    image_file: Any = None
    shapes: list | None = None

    def to_json(self) -> dict:
        """The ``--json`` payload: one ``answer`` for the image, or one per region."""

        def entry(answer, box):
            data = {"box": None if box is None else [int(v) for v in box]}
            if answer is None:
                data.update(answer=None, no_data=True, boxes=[])
            else:
                data.update(answer.to_json())
            return data

        out = {
            "image": self.request.image.path,
            "question": self.request.question,
            "model": self.model,
            "family": self.family,
            "context": self.request.context,
            "note": "a general vision-language model may be wrong on astronomy and "
            "remote-sensing images; check its answers against the data",
        }
        if self.request.has_regions:
            out["regions"] = [entry(a, b) for a, b in zip(self.answers, self.regions)]
        else:
            out.update(entry(self.answers[0], self.regions[0]))
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


@dataclass(frozen=True)
class AskRequest:
    """Everything one Ask needs; built by the dock, the CLI and batch alike.

    Attributes
    ----------
    image : ImageInput
        The image and how it is read and scaled, as for every task (a path is taken
        as that file, read with the default scaling).
    question : str
    vlm : str
        Preset name, ``save_pretrained`` folder or hub id (default :data:`DEFAULT_VLM`).
    regions : tuple, optional
        Boxes ``(x0, y0, x1, y1)`` (end exclusive) and polygons (``(N, 2)`` of
        ``(x, y)``); None for the whole image.
    regions_file : str, optional
        A DS9/CRTF file whose regions are asked about, in file order.
    max_tokens, context : int, float
    device, precision : str
    """

    image: ImageInput
    question: str
    vlm: str = DEFAULT_VLM
    regions: tuple | None = None
    regions_file: str | None = None
    max_tokens: int = 256
    context: float = 0.25
    device: str = "auto"
    precision: str = "auto"

    def __post_init__(self) -> None:
        object.__setattr__(self, "image", ImageInput.of(self.image))
        if not str(self.question).strip():
            raise InvalidInputError("the question is empty")
        if int(self.max_tokens) < 1:
            raise InvalidInputError("--max-tokens must be at least 1")
        if self.regions is not None and self.regions_file is not None:
            raise InvalidInputError("give regions with --region or --regions FILE, not both")
        if self.regions is not None:
            object.__setattr__(self, "regions", tuple(self.regions))
        context_box((0, 0, 1, 1), (1, 1), float(self.context))  # checks the number

    @property
    def has_regions(self) -> bool:
        return self.regions is not None or self.regions_file is not None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> AskRequest:
        """The request the ``napari-clipcap ask`` flags describe (``args.region``:
        region texts or regions already parsed)."""
        from ...coords.regions import parse_region

        regions = None
        if args.region:
            regions = tuple(parse_region(r) if isinstance(r, str) else r for r in args.region)
        return cls(
            image=ImageInput.from_args(args),
            question=args.question,
            vlm=args.vlm or DEFAULT_VLM,
            regions=regions,
            regions_file=args.regions,
            max_tokens=args.max_tokens,
            context=args.context,
            device=args.device,
            precision=args.precision,
        )

    def run(
        self,
        *,
        vlm: Any = None,
        progress: ProgressCallback | None = None,
        cancel: CancelFlag | None = None,
        on_text: Callable[[int, str], None] | None = None,
        history: Any = None,
    ) -> AskResult:
        """Read the image, load the model (or use ``vlm``) and answer.

        ``history``: per region (or one for the whole image) the earlier turns of a
        conversation (:func:`~napari_clipcap.core.tasks.ask.regions.ask_image`), as a
        dock keeps them. Warnings raised on the way (low data, clipped regions) are kept
        in the result as well as raised.
        """
        from ...vlm.loading import cached_vlm

        img = self.image.load(lazy=True)  # only the parts asked about are read
        regions = list(self.regions) if self.regions is not None else None
        shapes = read_shapes(self.regions_file, img)
        if shapes is not None:
            regions = [shape.to_region() for shape in shapes]
        model = vlm if vlm is not None else cached_vlm(self.vlm, self.device, self.precision)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            answers = ask_image(
                model,
                img.data,
                self.question,
                regions=regions,
                context=self.context,
                history=history,
                max_tokens=self.max_tokens,
                valid=img.valid,
                progress=progress,
                cancel=cancel,
                on_text=on_text,
            )
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        from ...coords.regions import as_region

        boxes = [None] if regions is None else [as_region(r, img.data.shape).box for r in regions]
        return AskResult(
            self,
            model.name,
            model.family.name,
            answers,
            boxes,
            [str(w.message) for w in caught],
            image_file=img.file,
            shapes=shapes,
        )

    def models(self) -> list[dict]:
        """Provenance entries of the model this request names (resolved, not loaded)."""
        from ...provenance import model_entry

        return [model_entry("vlm", self.vlm)]

    def parameters(self) -> dict:
        """What provenance records of the request besides its command."""
        return {
            "question": self.question,
            "vlm": self.vlm,
            "regions": [np.asarray(r).tolist() for r in self.regions or ()],
            "regions_file": self.regions_file,
            "max_tokens": int(self.max_tokens),
            "context": float(self.context),
        }

    def inputs(self) -> dict:
        """The image read (file, layer name, plane)."""
        img = self.image
        return {"image": img.path, "layer": img.name, "plane": list(img.plane)}

    def why_no_command(self) -> str | None:
        """Why no command line can recompute this request (None when one can)."""
        return self.image.why_no_command()

    def to_argv(self) -> list[str]:
        """The ``napari-clipcap ask ...`` command that recomputes this request."""
        argv = ["napari-clipcap", "ask", *self.image.to_argv(), "--question", self.question]
        argv += flag("--vlm", self.vlm, DEFAULT_VLM) + region_flags(self.regions)
        if self.regions_file:
            argv += ["--regions", os.path.abspath(self.regions_file)]
        argv += flag("--max-tokens", int(self.max_tokens), 256)
        return argv + flag("--context", float(self.context), 0.25)
