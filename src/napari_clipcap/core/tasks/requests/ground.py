"""The request of the Grounding task (``napari-clipcap ground``, the Grounding dock)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import InvalidInputError
from .base import (
    ImageInput,
    RegionFiles,
    TaskResult,
    check_region_output,
    fit_regions,
    flag,
    run_collecting,
)

__all__ = ["GroundRequest"]


@dataclass(frozen=True)
class GroundRequest:
    """Florence-2 boxes for phrases (detection) or for the phrases of a caption, or a
    description of each region.

    Attributes
    ----------
    image : ImageInput
    phrases : str or None
        Comma-separated phrases to detect; or
    caption : str or None
        A caption whose phrases are grounded; or
    regions : tuple or None
        Boxes and polygons (their bounding boxes) to describe
        (``<REGION_TO_DESCRIPTION>``: the model sees the whole image); such a request has
        no command (``ground`` has no region-to-description mode).
    weights : str or None
        Florence-2 folder or hub id (None: the default).
    method : {"ovd", "grounding"}
    tile, overlap : int
    iou : float
    beam, max_tokens, batch_size : int
    device, precision : str
    out_regions, out_frame : str or None
    """

    image: ImageInput
    phrases: str | None = None
    caption: str | None = None
    regions: tuple | None = None
    weights: str | None = None
    method: str = "ovd"
    tile: int | None = None
    overlap: int = 64
    iou: float = 0.5
    beam: int = 3
    max_tokens: int = 256
    batch_size: int = 8
    device: str = "auto"
    precision: str = "auto"
    out_regions: str | None = None
    out_frame: str | None = None

    def __post_init__(self) -> None:
        asked = [x is not None for x in (self.phrases, self.caption, self.regions)]
        if sum(asked) != 1:
            raise InvalidInputError("give --phrases or --caption (one of them)")
        if self.regions is not None:
            if not self.regions:
                raise InvalidInputError("no regions to describe")
            object.__setattr__(self, "regions", tuple(self.regions))
        if self.method not in ("ovd", "grounding"):
            raise InvalidInputError(f"method must be ovd or grounding, not {self.method!r}")

    @classmethod
    def from_args(cls, args: Any) -> GroundRequest:
        """The request the ``napari-clipcap ground`` flags describe."""
        return cls(
            image=ImageInput.from_args(args),
            phrases=args.phrases,
            caption=args.caption,
            weights=args.weights,
            method=args.method,
            tile=args.tile,
            overlap=args.overlap,
            iou=args.iou,
            beam=args.beam,
            max_tokens=args.max_tokens,
            batch_size=args.batch_size,
            device=args.device,
            precision=args.precision,
            out_regions=args.out_regions,
            out_frame=getattr(args, "out_frame", None),
        )

    def to_argv(self) -> list[str]:
        """``napari-clipcap ground ...``: the command that recomputes this request."""
        argv = ["napari-clipcap", "ground", *self.image.to_argv()]
        argv += flag("--phrases", self.phrases) + flag("--caption", self.caption)
        argv += flag("--weights", self.weights) + flag("--method", self.method, "ovd")
        argv += flag("--tile", self.tile)
        if self.tile:
            argv += ["--overlap", str(self.overlap)]
        argv += ["--iou", repr(float(self.iou)), "--beam", str(self.beam)]
        argv += ["--max-tokens", str(self.max_tokens), *flag("--batch-size", self.batch_size, 8)]
        argv += ["--device", self.device, *flag("--precision", self.precision, "auto")]
        if self.out_regions:
            argv += ["--out-regions", os.path.abspath(self.out_regions)]
            argv += flag("--out-frame", self.out_frame)
        return [*argv, "--json"]

    def models(self) -> list[dict]:
        """Provenance entries of the model this request names (resolved, not loaded)."""
        from ...provenance import model_entry

        return [model_entry("captioner", "florence2", self.weights)]

    def why_no_command(self) -> str | None:
        if self.regions is not None:
            return "region descriptions have no napari-clipcap command"
        return self.image.why_no_command()

    def parameters(self) -> dict:
        keys = ("phrases", "caption", "weights", "method", "tile", "overlap", "iou")
        keys += ("beam", "max_tokens", "batch_size")
        out = {k: getattr(self, k) for k in keys}
        if self.regions is not None:
            out["regions"] = [np.asarray(r).tolist() for r in self.regions]
        return out

    def inputs(self) -> dict:
        img = self.image
        return {"image": img.path, "layer": img.name, "plane": list(img.plane)}

    def check_outputs(self) -> None:
        check_region_output(self.out_regions)

    def run(
        self, *, progress=None, cancel=None, model: Any = None, files: RegionFiles | None = None
    ) -> TaskResult:
        """Detect, ground or describe; ``model``: an already loaded Florence-2;
        ``cancel`` is checked before each tile and batch."""
        self.check_outputs()
        files = files or RegionFiles()
        if self.regions is not None:
            return run_collecting(lambda: self._describe(progress, cancel, model))
        return run_collecting(lambda: self._run(progress, cancel, model, files))

    def _load(self, model: Any) -> Any:
        from ...captioning.florence2.captioner import build_florence2

        return (
            build_florence2(self.weights, self.device, self.precision) if model is None else model
        )

    def _describe(self, progress, cancel, model) -> TaskResult:
        """One description per region (its clipped box on the image), in order."""
        from ...captioning.florence2.tasks import describe_regions
        from ...provenance import model_entry

        img = self.image.load()
        boxes = fit_regions(list(self.regions), img.data.shape, self.image.name or "image")
        model = self._load(model)
        made = describe_regions(
            model, img.data, boxes, beam_size=self.beam, max_tokens=self.max_tokens,
            batch_size=self.batch_size, progress=progress, cancel=cancel,
        )  # fmt: skip
        rows = [
            {"box": [int(v) for v in box], "description": texts[0] if texts else ""}
            for box, texts in zip(boxes, made)
        ]
        name = self.image.name or "image"
        lines = [f"{name}  ({model.name}, descriptions)"]
        lines += [f"  region {','.join(map(str, r['box']))}: {r['description']}" for r in rows]
        data = {"image": self.image.path, "model": model.name, "mode": "description"}
        data["regions"] = rows
        entry = model_entry("captioner", "florence2", self.weights)
        return TaskResult(self, data, rows, "\n".join(lines), models=[entry], image=img)

    def _run(self, progress, cancel, model, files) -> TaskResult:
        from ...captioning.florence2.tasks import detect_phrases, ground_caption, split_phrases
        from ...coords.detections import tile_grid
        from ...provenance import model_entry

        phrases = split_phrases(self.phrases) if self.phrases is not None else None
        img = self.image.load(lazy=True)  # each tile is read and scaled when it is run
        h, w = img.data.shape[:2]
        tiles = tile_grid(h, w, self.tile, self.overlap)  # bad tiles fail before loading
        model = self._load(model)
        options = {
            "tile": self.tile, "overlap": self.overlap, "iou": self.iou,
            "beam_size": self.beam, "max_tokens": self.max_tokens,
            "batch_size": self.batch_size, "progress": progress, "cancel": cancel,
        }  # fmt: skip
        if phrases is not None:
            dets = detect_phrases(model, img.data, phrases, method=self.method, **options)
        else:
            dets = ground_caption(model, img.data, self.caption, **options)
        data = {
            "image": self.image.path,
            "model": model.name,
            "mode": "detection" if phrases is not None else "grounding",
            "phrases": phrases,
            "caption": self.caption,
            "tiles": len(tiles),
            "detections": [d.as_dict() for d in dets],
        }
        data["grounded"] = [
            {
                "phrase": label,
                "boxes": [d["box"] for d in data["detections"] if d["label"] == label],
            }
            for label in dict.fromkeys(d.label for d in dets)
        ]
        if img.kind == "geotiff":
            from ...io.geoexport import geo_metadata_of, region_to_map

            geo = geo_metadata_of(img.file.path)
            for entry, d in zip(data["detections"], dets if geo else ()):
                entry["map"] = region_to_map(tuple(round(v) for v in d.box), geo)
        if self.out_regions:
            header = [f"napari-clipcap ground: {model.name}, {data['mode']}"]
            boxes, texts = [d.box for d in dets], [d.label for d in dets]
            data["out_regions"] = files.write(self.out_regions, img, None, boxes, texts, header)
        lines = [f"{self.image.name}  ({model.name}, {data['mode']}, {len(tiles)} tile(s))"]
        lines += [f"  {d.label}: {','.join(f'{v:.1f}' for v in d.box)}" for d in dets]
        if not dets:
            lines.append("  (no boxes)")
        entry = model_entry("captioner", "florence2", self.weights)
        return TaskResult(
            self, data, data["detections"], "\n".join(lines), models=[entry], image=img,
            extra={"detections": dets},
        )  # fmt: skip
