"""The one request of the Ask task, shared by every door.

The Ask dock fills :class:`AskRequest` from its widgets, ``napari-clipcap ask`` from its
flags, ``batch --task ask`` from its spec; :meth:`AskRequest.to_argv` is the command
provenance records.
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidInputError
from ...jobs import CancelFlag, ProgressCallback
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
            "image": self.request.image,
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
    image : str
        The image file.
    question : str
    vlm : str
        Preset name, ``save_pretrained`` folder or hub id (default :data:`DEFAULT_VLM`).
    regions : tuple of boxes, optional
        ``(x0, y0, x1, y1)`` boxes (end exclusive); None for the whole image.
    regions_file : str, optional
        A DS9/CRTF file whose regions are asked about, in file order.
    max_tokens, context : int, float
    hdu, domain, interval, stretch : optional
        How the image is read and scaled (as for every task).
    device, precision : str
    """

    image: str
    question: str
    vlm: str = DEFAULT_VLM
    regions: tuple | None = None
    regions_file: str | None = None
    max_tokens: int = 256
    context: float = 0.25
    hdu: str | None = None
    domain: str | None = None
    interval: str | None = None
    stretch: str | None = None
    device: str = "auto"
    precision: str = "auto"

    def __post_init__(self):
        if not str(self.question).strip():
            raise InvalidInputError("the question is empty")
        if int(self.max_tokens) < 1:
            raise InvalidInputError("--max-tokens must be at least 1")
        if self.regions is not None and self.regions_file is not None:
            raise InvalidInputError("give regions with --region or --regions FILE, not both")
        context_box((0, 0, 1, 1), (1, 1), float(self.context))  # checks the number

    @property
    def has_regions(self) -> bool:
        return self.regions is not None or self.regions_file is not None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> AskRequest:
        """The request the ``napari-clipcap ask`` flags describe (``args.region``: boxes)."""
        regions = tuple(tuple(int(v) for v in b) for b in args.region) if args.region else None
        return cls(
            image=str(args.image),
            question=args.question,
            vlm=args.vlm or DEFAULT_VLM,
            regions=regions,
            regions_file=args.regions,
            max_tokens=args.max_tokens,
            context=args.context,
            hdu=args.hdu,
            domain=args.domain,
            interval=args.interval,
            stretch=args.stretch,
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
    ) -> AskResult:
        """Read the image, load the model (or use ``vlm``) and answer.

        Warnings raised on the way (low data, clipped regions) are kept in the result as
        well as raised.
        """
        from ...io.images import read_image
        from ...vlm.loading import cached_vlm
        from ..validity import file_valid_mask

        hdu = int(self.hdu) if self.hdu is not None and str(self.hdu).isdigit() else self.hdu
        img = read_image(
            self.image, domain=self.domain, interval=self.interval, stretch=self.stretch, hdu=hdu
        )
        regions = list(self.regions) if self.regions is not None else None
        shapes = None
        if self.regions_file is not None:
            from ...io.region_files import read_region_file

            placed = read_region_file(self.regions_file, img.wcs)
            for reason in placed.skipped:
                warnings.warn(f"{self.regions_file}: skipped: {reason}", stacklevel=2)
            shapes = list(placed.regions)
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
                max_tokens=self.max_tokens,
                valid=file_valid_mask(img),
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
            image_file=img,
            shapes=shapes,
        )

    def to_argv(self) -> list[str]:
        """The ``napari-clipcap ask ...`` command that recomputes this request."""
        import os

        argv = ["napari-clipcap", "ask", os.path.abspath(self.image), "--question", self.question]
        if self.vlm != DEFAULT_VLM:
            argv += ["--vlm", self.vlm]
        for box in self.regions or ():
            argv += ["--region", ",".join(str(int(v)) for v in box)]
        if self.regions_file:
            argv += ["--regions", os.path.abspath(self.regions_file)]
        if self.max_tokens != 256:
            argv += ["--max-tokens", str(int(self.max_tokens))]
        if self.context != 0.25:
            argv += ["--context", repr(float(self.context))]
        for flag, value in (
            ("--hdu", self.hdu),
            ("--domain", self.domain),
            ("--interval", self.interval),
            ("--stretch", self.stretch),
        ):
            if value is not None:
                argv += [flag, str(value)]
        return argv
