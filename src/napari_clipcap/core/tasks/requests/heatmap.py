"""The request of the Text heatmap task (``napari-clipcap heatmap``, the Text heatmap dock)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...coords.regions import region_text
from ...errors import InvalidInputError
from ...registry import ModelSpec
from .base import ImageInput, TaskResult, clip_entry, flag, load_clip_model, run_collecting

__all__ = ["HeatmapRequest", "region_query_name"]

_FITS = (".fits", ".fit", ".fts")


def _default_clip() -> ModelSpec:
    return ModelSpec.for_clip(None, None)


def region_query_name(region: Any) -> str:
    """How a query region's map is named: ``"like x0,y0,x1,y1"`` (a polygon: its
    pixels' bounding box, ``"like polygon in x0,y0,x1,y1"``)."""
    from .base import asked_box

    arr = np.asarray(region, dtype=float)
    box = ",".join(str(v) for v in asked_box(region))
    return f"like {box}" if arr.ndim == 1 else f"like polygon in {box}"


def _region_lists(regions: Any) -> list | None:
    return None if regions is None else [np.asarray(r).tolist() for r in regions]


@dataclass(frozen=True)
class HeatmapRequest:
    """Where an image matches text queries: everything one run needs.

    Attributes
    ----------
    image : ImageInput
    queries : tuple of str
        One map per text query.
    query_regions : tuple or None
        Regions of the image itself as the queries instead of text ("more like this"):
        boxes ``(x0, y0, x1, y1)`` or polygons (``(N, 2)`` of ``(x, y)``) in image
        pixels, one map each (:func:`~napari_clipcap.core.tasks.heatmap.region_heatmap`);
        the template does not apply to them.
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
    queries: tuple[str, ...] = ()
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
    query_regions: tuple | None = None

    def __post_init__(self) -> None:
        from ...clip.prompts import resolve_templates

        queries = (self.queries,) if isinstance(self.queries, str) else tuple(self.queries or ())
        object.__setattr__(self, "queries", queries)
        self._check_region_queries()
        if self.query_regions is None and (
            not queries or not all(str(q).strip() for q in queries)
        ):
            raise InvalidInputError("give at least one non-empty query (or --query-region)")
        if self.mode not in ("sliding", "dense"):
            raise InvalidInputError(f"mode must be sliding or dense, not {self.mode!r}")
        resolve_templates(self.template, self.templates)

    def _check_region_queries(self) -> None:
        """Query regions go alone (image and text cosines are on different scales)."""
        from ..crops import region_list

        if self.query_regions is None:
            return
        regions = region_list(self.query_regions)
        if not regions:
            raise InvalidInputError("give at least one query region")
        if self.queries:
            raise InvalidInputError("give text queries (--query) or --query-region, not both")
        object.__setattr__(self, "query_regions", tuple(regions))

    @property
    def query_names(self) -> tuple[str, ...]:
        """What each map is of: the text queries, or each query region's name
        (:func:`region_query_name`)."""
        if self.query_regions is None:
            return self.queries
        return tuple(region_query_name(r) for r in self.query_regions)

    @classmethod
    def from_args(cls, args: Any) -> HeatmapRequest:
        """The request the ``napari-clipcap heatmap`` flags describe."""
        from ...coords.regions import parse_region

        asked = getattr(args, "query_region", None)
        return cls(
            image=ImageInput.from_args(args),
            queries=tuple(args.query or ()),
            query_regions=tuple(parse_region(r) for r in asked) if asked else None,
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
        for region in self.query_regions or ():
            argv += ["--query-region", region_text(region)]
        argv += ["--mode", self.mode, "--window", str(self.window), "--stride", str(self.stride)]
        argv += ["--softmax"] if self.softmax else []
        argv += flag("--template", self.template, "{}") + flag("--templates", self.templates)
        argv += [*self.clip.resolve().to_flags(), *flag("--batch-size", self.batch_size, 16)]
        argv += ["--device", self.device, *flag("--precision", self.precision, "auto")]
        out = self.out or f"{Path(self.image.path or 'image').stem}_heatmap.npy"
        return [*argv, "--out", out if self.out is None else os.path.abspath(out), "--json"]

    def models(self) -> list[dict]:
        """Provenance entries of the model this request names (resolved, not loaded)."""
        return [clip_entry(self.clip.resolve())]

    def why_no_command(self) -> str | None:
        return self.image.why_no_command()

    def parameters(self) -> dict:
        return {
            "queries": list(self.queries),
            "query_regions": _region_lists(self.query_regions),
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

    def maps(self, image: Any, valid: Any, clip: Any, progress=None, cancel=None) -> np.ndarray:
        """The maps of this request's queries over ``image`` (a model input) with a
        loaded ``clip``: ``(H, W)`` for one text query, ``(Q, H, W)`` otherwise."""
        from ..heatmap import region_heatmap, text_heatmap

        options = {
            "mode": self.mode,
            "window": self.window,
            "stride": self.stride,
            "softmax": self.softmax,
            "batch_size": self.batch_size,
            "valid": valid,
            "progress": progress,
            "cancel": cancel,
        }
        if self.query_regions is not None:
            return region_heatmap(image, list(self.query_regions), clip, **options)
        query = self.queries[0] if len(self.queries) == 1 else list(self.queries)
        return text_heatmap(
            image, query, clip, template=self.template, templates=self.templates, **options
        )

    def _run(self, progress, cancel, clip, img) -> TaskResult:
        from ..heatmap import map_summary
        from ..windows import WindowGrid

        img = self.image.load(lazy=True) if img is None else img
        grid = WindowGrid.of(*img.data.shape[:2], self.window, self.stride)
        resolved = self.clip.resolve()
        if clip is None:
            clip, resolved = load_clip_model(self.clip, self.device, self.precision)
        maps = self.maps(img.data, img.valid, clip, progress, cancel)
        if self.query_regions is not None and len(self.query_regions) == 1:
            maps = maps[0]  # one query, one 2D map, as for one text query
        maps = np.asarray(maps, dtype=np.float32)
        summary = {k: float(v) for k, v in map_summary(maps).items()}
        meta = {
            "query": " | ".join(self.query_names),
            "mode": self.mode,
            "window": self.window,
            "stride": self.stride,
            "model": clip.name,
            "value": "softmax" if self.softmax else "cosine",
        }
        data = {
            "image": self.image.path,
            "shape": list(maps.shape),
            "queries": list(self.query_names),
            **summary,  # min, max, mean, valid_fraction: a band at a time, no map copy
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
