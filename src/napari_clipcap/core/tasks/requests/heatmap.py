"""The request of the Text heatmap task (``napari-clipcap heatmap``, the Text heatmap dock)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InvalidInputError
from ...registry import ModelSpec
from .base import ImageInput, TaskResult, clip_entry, flag, load_clip_model, run_collecting

__all__ = ["HeatmapRequest"]

_FITS = (".fits", ".fit", ".fts")


def _default_clip() -> ModelSpec:
    return ModelSpec.for_clip(None, None)


@dataclass(frozen=True)
class HeatmapRequest:
    """Where an image matches text queries: everything one run needs.

    Attributes
    ----------
    image : ImageInput
    queries : tuple of str
        One map per query.
    mode : {"sliding", "dense"}
    window, stride : int
    softmax : bool
    template, templates : str
    clip : ModelSpec
    batch_size : int
    device, precision : str
    out : str or None
        The map file (``.npy``, ``.tif``, ``.fits``); the command needs one, a dock
        names ``<image>_heatmap.npy``.
    """

    image: ImageInput
    queries: tuple[str, ...]
    mode: str = "sliding"
    window: int = 224
    stride: int = 112
    softmax: bool = False
    template: str = "{}"
    templates: str | None = None
    clip: ModelSpec = field(default_factory=_default_clip)
    batch_size: int = 16
    device: str = "auto"
    precision: str = "auto"
    out: str | None = None

    def __post_init__(self) -> None:
        from ...clip.prompts import resolve_templates

        queries = (self.queries,) if isinstance(self.queries, str) else tuple(self.queries)
        object.__setattr__(self, "queries", queries)
        if not queries or not all(str(q).strip() for q in queries):
            raise InvalidInputError("give at least one non-empty query")
        if self.mode not in ("sliding", "dense"):
            raise InvalidInputError(f"mode must be sliding or dense, not {self.mode!r}")
        resolve_templates(self.template, self.templates)

    @classmethod
    def from_args(cls, args: Any) -> HeatmapRequest:
        """The request the ``napari-clipcap heatmap`` flags describe."""
        return cls(
            image=ImageInput.from_args(args),
            queries=tuple(args.query),
            mode=args.mode,
            window=args.window,
            stride=args.stride,
            softmax=bool(args.softmax),
            template=args.template,
            templates=args.templates,
            clip=ModelSpec.from_flags(args, "clip"),
            batch_size=args.batch_size,
            device=args.device,
            precision=args.precision,
            out=args.out,
        )

    def to_argv(self) -> list[str]:
        """``napari-clipcap heatmap ...``: the command that recomputes this request."""
        argv = ["napari-clipcap", "heatmap", *self.image.to_argv()]
        for q in self.queries:
            argv += ["--query", q]
        argv += ["--mode", self.mode, "--window", str(self.window), "--stride", str(self.stride)]
        argv += ["--softmax"] if self.softmax else []
        argv += flag("--template", self.template, "{}") + flag("--templates", self.templates)
        argv += [*self.clip.resolve().to_flags(), *flag("--batch-size", self.batch_size, 16)]
        argv += ["--device", self.device, *flag("--precision", self.precision, "auto")]
        out = self.out or f"{Path(self.image.path or 'image').stem}_heatmap.npy"
        return [*argv, "--out", out if self.out is None else os.path.abspath(out), "--json"]

    def why_no_command(self) -> str | None:
        return self.image.why_no_command()

    def parameters(self) -> dict:
        return {
            "queries": list(self.queries),
            "mode": self.mode,
            "window": self.window,
            "stride": self.stride,
            "softmax": self.softmax,
            "template": self.template,
            "templates": self.templates,
            "batch_size": self.batch_size,
            "clip": self.clip.to_dict(),
        }

    def inputs(self) -> dict:
        img = self.image
        return {"image": img.path, "layer": img.name, "plane": list(img.plane)}

    def check_outputs(self) -> None:
        """Refuse an unusable ``out`` before any model runs."""
        if self.out is None:
            return
        from ...io.atomic import check_output_file
        from ...io.images import MAP_SUFFIXES

        if Path(self.out).suffix.lower() not in MAP_SUFFIXES:
            raise InvalidInputError(f"--out must end in one of {', '.join(MAP_SUFFIXES)}")
        check_output_file(self.out, "--out")

    def run(
        self, *, progress=None, cancel=None, clip: Any = None, image: Any = None
    ) -> TaskResult:
        """Compute the maps (and write ``out``); ``clip``: an already loaded model,
        ``image``: the :class:`~.base.LoadedImage` when already read."""
        self.check_outputs()
        return run_collecting(lambda: self._run(progress, cancel, clip, image))

    def _run(self, progress, cancel, clip, img) -> TaskResult:
        from ..heatmap import text_heatmap
        from ..windows import WindowGrid

        img = self.image.load(lazy=True) if img is None else img
        grid = WindowGrid.of(*img.data.shape[:2], self.window, self.stride)
        resolved = self.clip.resolve()
        if clip is None:
            clip, resolved = load_clip_model(self.clip, self.device, self.precision)
        maps = text_heatmap(
            img.data,
            self.queries[0] if len(self.queries) == 1 else list(self.queries),
            clip,
            mode=self.mode,
            window=self.window,
            stride=self.stride,
            template=self.template,
            templates=self.templates,
            softmax=self.softmax,
            batch_size=self.batch_size,
            valid=img.valid,
            progress=progress,
            cancel=cancel,
        )
        maps = np.asarray(maps, dtype=np.float32)
        meta = {
            "query": " | ".join(self.queries),
            "mode": self.mode,
            "window": self.window,
            "stride": self.stride,
            "model": clip.name,
            "value": "softmax" if self.softmax else "cosine",
        }
        data = {
            "image": self.image.path,
            "shape": list(maps.shape),
            "queries": list(self.queries),
            "min": float(np.nanmin(maps)),
            "max": float(np.nanmax(maps)),
            "mean": float(np.nanmean(maps)),
            "valid_fraction": float(np.isfinite(maps).mean()),
            "window_effective": [grid.wh, grid.ww],
            "windows": grid.count,
            "cells": list(grid.cells),
            **{k: v for k, v in meta.items() if k != "query"},
        }
        result = TaskResult(
            self, data, [data], "", models=[clip_entry(resolved)], image=img,
            extra={"maps": maps, "meta": meta, "grid": grid},
        )  # fmt: skip
        if self.out is not None:
            self._write(result)
        return result

    def _write(self, result: TaskResult) -> None:
        """Write the map with its provenance (FITS keeps the WCS, GeoTIFF its grid)."""
        from ...io.images import write_map

        img, suffix = result.image, Path(self.out).suffix.lower()
        wcs = img.wcs if suffix in _FITS else None
        geo = None
        if img.kind == "geotiff" and suffix in (".tif", ".tiff"):
            from ...io.geoexport import geo_metadata_of

            geo = geo_metadata_of(img.file.path)  # GeoTIFF in -> GeoTIFF out
        maps = result.extra["maps"]
        try:
            out = write_map(
                self.out, maps, wcs=wcs, meta=result.extra["meta"], geo=geo,
                provenance=result.provenance(), plane=getattr(img.file, "plane", None),
            )  # fmt: skip
        except OSError as exc:
            raise InvalidInputError(
                f"cannot write --out {self.out}: {exc.strerror or exc}"
            ) from exc
        result.data.update(out=str(out), wcs=wcs is not None)
        shape = " x ".join(map(str, maps.shape))
        result.text = (
            f"{out}: {shape} float32 map of {result.extra['meta']['query']!r} ({self.mode}, "
            f"{result.data['min']:.3f} .. {result.data['max']:.3f})"
        )
