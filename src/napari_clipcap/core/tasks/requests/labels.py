"""The request of the Region labels task (``napari-clipcap labels``, the Region labels dock)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...registry import ModelSpec
from .base import (
    ImageInput,
    RegionFiles,
    TaskResult,
    asked_box,
    check_region_output,
    clip_entry,
    fit_regions,
    flag,
    load_clip_model,
    region_flags,
    run_collecting,
    shape_entry,
)

__all__ = ["LabelsRequest"]


def _default_clip() -> ModelSpec:
    return ModelSpec.for_clip(None, None)


@dataclass(frozen=True)
class LabelsRequest:
    """Zero-shot label probabilities per region: everything one run needs.

    Attributes
    ----------
    image : ImageInput
    labels : tuple of str
    regions : tuple or None
        Boxes ``(x0, y0, x1, y1)`` and polygons (``(N, 2)`` of ``(x, y)``, ellipses and
        rotated boxes as their outlines); None for the whole image.
    regions_file : str or None
        A DS9/CRTF file whose regions are scored, in file order.
    template, templates : str
        The prompt (``{}`` takes the label) or a template ensemble preset.
    multi_label : bool
    top_k : int or None
    clip : ModelSpec
    batch_size : int
    device, precision : str
    out_regions, out_frame : str or None
        Write the results as a region file (in that frame).
        Write the results as a region file.
    """

    image: ImageInput
    labels: tuple[str, ...]
    regions: tuple | None = None
    regions_file: str | None = None
    template: str = "{}"
    templates: str | None = None
    multi_label: bool = False
    top_k: int | None = None
    clip: ModelSpec = field(default_factory=_default_clip)
    batch_size: int = 16
    device: str = "auto"
    precision: str = "auto"
    out_regions: str | None = None
    out_frame: str | None = None

    def __post_init__(self) -> None:
        from ...clip.prompts import parse_labels, resolve_templates
        from ...errors import InvalidInputError

        object.__setattr__(self, "labels", tuple(parse_labels(self.labels)))
        resolve_templates(self.template, self.templates)  # a bad template fails here
        if self.regions is not None and self.regions_file is not None:
            raise InvalidInputError("give regions with --region or --regions FILE, not both")
        if self.regions is not None:
            object.__setattr__(self, "regions", tuple(self.regions) or None)
        if self.top_k is not None and int(self.top_k) < 1:
            raise InvalidInputError(f"top_k must be at least 1, got {self.top_k}")

    # -- doors -----------------------------------------------------------------------
    @classmethod
    def from_args(cls, args: Any) -> LabelsRequest:
        """The request the ``napari-clipcap labels`` flags describe."""
        from ...coords.regions import parse_region

        regions = tuple(parse_region(r) for r in args.region) if args.region else None
        return cls(
            image=ImageInput.from_args(args),
            labels=args.labels,
            regions=regions,
            regions_file=args.regions,
            template=args.template,
            templates=args.templates,
            multi_label=bool(args.multi_label),
            top_k=args.top_k,
            clip=ModelSpec.from_flags(args, "clip"),
            batch_size=args.batch_size,
            device=args.device,
            precision=args.precision,
            out_regions=args.out_regions,
            out_frame=getattr(args, "out_frame", None),
        )

    def to_argv(self) -> list[str]:
        """``napari-clipcap labels ...``: the command that recomputes this request."""
        import os

        argv = ["napari-clipcap", "labels", *self.image.to_argv(), "--labels"]
        argv += [",".join(self.labels), *region_flags(self.regions)]
        if self.regions_file:
            argv += ["--regions", os.path.abspath(self.regions_file)]
        argv += flag("--template", self.template, "{}") + flag("--templates", self.templates)
        argv += ["--multi-label"] if self.multi_label else []
        argv += flag("--top-k", self.top_k) + self.clip.resolve().to_flags()
        argv += flag("--batch-size", self.batch_size, 16)
        argv += ["--device", self.device, *flag("--precision", self.precision, "auto")]
        if self.out_regions:
            argv += ["--out-regions", os.path.abspath(self.out_regions)]
            argv += flag("--out-frame", self.out_frame)
        return [*argv, "--json"]

    def models(self) -> list[dict]:
        """Provenance entries of the model this request names (resolved, not loaded)."""
        return [clip_entry(self.clip.resolve())]

    def why_no_command(self) -> str | None:
        return self.image.why_no_command()

    def parameters(self) -> dict:
        return {
            "labels": list(self.labels),
            "regions": [np.asarray(r).tolist() for r in self.regions or ()],
            "regions_file": self.regions_file,
            "template": self.template,
            "templates": self.templates,
            "multi_label": self.multi_label,
            "top_k": self.top_k,
            "batch_size": self.batch_size,
            "clip": self.clip.to_dict(),
        }

    def inputs(self) -> dict:
        img = self.image
        return {"image": img.path, "layer": img.name, "plane": list(img.plane)}

    def check_outputs(self) -> None:
        """Refuse unusable outputs before any model runs."""
        check_region_output(self.out_regions)

    # -- running ---------------------------------------------------------------------
    def run(
        self,
        *,
        progress=None,
        cancel=None,
        clip: Any = None,
        image: Any = None,
        files: RegionFiles | None = None,
    ) -> TaskResult:
        """Score every region. ``clip``: an already loaded model; ``image``: the
        :class:`~.base.LoadedImage` when already read; ``files``: how region files are
        read and written (:class:`~.base.RegionFiles`)."""
        self.check_outputs()
        files = files or RegionFiles()
        return run_collecting(lambda: self._run(progress, cancel, clip, image, files))

    def _run(self, progress, cancel, clip, img, files) -> TaskResult:
        from ..crops import region_list
        from ..labels import score_regions

        img = self.image.load(lazy=True) if img is None else img
        shapes = files.read(self.regions_file, img)
        asked = region_list(shapes if shapes is not None else self.regions)
        fit_regions(asked, img.data.shape, self.image.name or "image")  # before the model
        resolved = self.clip.resolve()
        if clip is None:
            clip, resolved = load_clip_model(self.clip, self.device, self.precision)
        scores = score_regions(
            img.data,
            asked,
            list(self.labels),
            clip,
            template=self.template,
            templates=self.templates,
            multi_label=self.multi_label,
            top_k=self.top_k,
            batch_size=self.batch_size,
            valid=img.valid,
            progress=progress,
            cancel=cancel,
        )
        h, w = img.data.shape[:2]
        fitted = fit_regions(asked, img.data.shape, self.image.name or "image") or [(0, 0, w, h)]
        rows = self._rows(asked, fitted, scores, shapes, img)
        data = {
            "image": self.image.path,
            "model": clip.name,
            "mode": "multi-label cosine" if self.multi_label else "softmax",
            "labels": list(self.labels),
            "templates": _templates(self.template, self.templates),
            "regions": rows,
        }
        texts = [", ".join(f"{lab} {s:.3f}" for lab, s in r["ranked"][:3]) for r in rows]
        labels = ",".join(self.labels)
        header = [f"napari-clipcap labels: {clip.name}, {data['mode']}, labels {labels}"]
        written = None
        if self.out_regions:
            written = files.write(self.out_regions, img, shapes, fitted, texts, header)
        if written:
            data["out_regions"] = written
        name = self.image.name or "image"
        lines = [f"{name}  ({clip.name}, {data['mode']})"]
        for r in rows:
            best = ", ".join(f"{lab} {s:.3f}" for lab, s in r["ranked"]) or "(no finite scores)"
            lines.append(f"  region {','.join(map(str, r['box']))}: {best}")
        return TaskResult(
            self,
            data,
            rows,
            "\n".join(lines),
            models=[clip_entry(resolved)],
            image=img,
            extra={"scores": scores, "boxes": fitted},
        )

    def _rows(self, asked, fitted, scores, shapes, img) -> list[dict]:
        """One JSON row per region: its box, scores, ranking (and shape, map coords)."""
        from ..labels import rank_labels

        ranked = rank_labels(scores, list(self.labels), self.top_k)
        rows = []
        for i, (fit, row, rank) in enumerate(zip(fitted, scores, ranked)):
            box = asked_box(asked[i]) if asked else list(fit)
            entry = {
                "box": box,
                "clipped_to": None if list(fit) == box else list(fit),
                "scores": {
                    lab: (None if s != s else float(s)) for lab, s in zip(self.labels, row)
                },
                "ranked": [[lab, s] for lab, s in rank],
            }
            if asked and not isinstance(asked[i], tuple | list):
                entry["polygon"] = np.asarray(asked[i], float).tolist()
            if not np.isfinite(row).any():
                entry["no_data"] = True
            if shapes is not None:
                entry.update(shape_entry(shapes[i]), box=list(fit), clipped_to=None)
            rows.append(entry)
        if img.kind == "geotiff":  # region results carry map and lon/lat coordinates
            from ...io.geoexport import geo_metadata_of, region_to_map

            geo = geo_metadata_of(img.file.path)
            for r, box in zip(rows, fitted if geo else ()):
                r["map"] = region_to_map(box, geo)  # of the pixels scored (after clipping)
        return rows


def _templates(template: str, templates: str | None) -> Sequence[str]:
    from ...clip.prompts import resolve_templates

    return resolve_templates(template, templates)
