"""The requests of the collection: indexing images (``napari-clipcap index``) and
searching them (``napari-clipcap search``).

Like every task request (:mod:`~napari_clipcap.core.tasks.requests`), each is a frozen
dataclass built by the CLI with ``from_args(namespace)`` (or directly, by a dock);
``run(progress=, cancel=)`` gives a :class:`~napari_clipcap.core.tasks.requests.base.
TaskResult` (``to_json()`` is the ``--json`` payload) and ``to_argv()`` is the
``napari-clipcap index|search ...`` command that recomputes it, provenance's ``command``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ..registry import DEFAULT_CLIP, ModelSpec
from ..tasks.requests.base import (
    ImageInput,
    TaskResult,
    asked_box,
    clip_entry,
    flag,
    run_collecting,
)

__all__ = ["IndexRequest", "SearchRequest"]

_APPROXIMATE = {"auto": "auto", "yes": True, "no": False}


def _absolute(path: str | None) -> str | None:
    return None if path is None else os.path.abspath(os.path.expanduser(str(path)))


@dataclass(frozen=True)
class IndexRequest:
    """Embed the images under ``paths`` into the collection folder ``index``.

    Attributes
    ----------
    index : str
        The collection folder.
    paths : tuple of str
        Image files or folders (none with ``from_batch``).
    clip : ModelSpec or None
        The CLIP model; None: the collection's, or :data:`DEFAULT_CLIP` for a new one.
    batch_size : int
    approximate : {"auto", "yes", "no"}
        Approximate (IVF) index: from 100,000 images, always, never.
    wait : float
        Seconds to wait for another run writing to the collection.
    workers, scheduler : int or str, optional
        Read and embed on a local Dask cluster of N workers, or on a running one.
    from_batch : str, optional
        Import the embeddings of a ``batch --task embed`` run instead of embedding.
    index_memory : str, optional
        Memory the search index may hold (``"2G"``).
    device : str
    """

    index: str
    paths: tuple[str, ...] = ()
    clip: ModelSpec | None = None
    batch_size: int = 16
    approximate: str = "auto"
    wait: float = 0.0
    workers: int | None = None
    scheduler: str | None = None
    from_batch: str | None = None
    index_memory: str | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        object.__setattr__(self, "paths", tuple(str(p) for p in self.paths))
        if self.approximate not in _APPROXIMATE:
            raise InvalidInputError(
                f"approximate must be auto, yes or no, not {self.approximate!r}"
            )
        if not self.wait >= 0:
            raise InvalidInputError(f"--wait must be 0 or more seconds, got {self.wait}")
        if self.from_batch and (self.paths or self.workers or self.scheduler or self.clip):
            raise InvalidInputError(
                "--from-batch imports a run's embeddings: give no PATH, --workers, "
                "--scheduler or --clip with it (the run's model is used)"
            )
        if not self.from_batch and not self.paths:
            raise InvalidInputError(
                "give image files or folders to index, or --from-batch RUN_DIR"
            )
        if self.workers is not None and self.scheduler:
            raise InvalidInputError("give either --workers or --scheduler, not both")
        if self.workers is not None and self.workers < 1:
            raise InvalidInputError(f"--workers must be at least 1, got {self.workers}")
        if int(self.batch_size) < 1:
            raise InvalidInputError(f"--batch-size must be at least 1, got {self.batch_size}")
        self.memory_budget()  # a bad size fails here

    # -- doors -----------------------------------------------------------------------
    @classmethod
    def from_args(cls, args: Any) -> IndexRequest:
        """The request the ``napari-clipcap index`` flags describe."""
        clip = ModelSpec.from_flags(args, "clip") if getattr(args, "clip", None) else None
        if clip is None and getattr(args, "clip_weights", None) and not args.from_batch:
            clip = ModelSpec.for_clip(DEFAULT_CLIP.name, args.clip_weights)
            clip = None if _collection_spec(args.index) is not None else clip
        return cls(
            index=args.index,
            paths=tuple(args.paths or ()),
            clip=clip,
            batch_size=args.batch_size,
            approximate=args.approximate,
            wait=args.wait,
            workers=args.workers,
            scheduler=args.scheduler,
            from_batch=args.from_batch,
            index_memory=args.index_memory,
            device=args.device,
        )

    def collection_model(self) -> ModelSpec | None:
        """The model the collection asks for when no ``clip`` is given (None otherwise,
        or for a new collection): what a door announces before loading it."""
        if self.clip is not None or self.from_batch:
            return None
        return _collection_spec(self.index)

    def clip_spec(self) -> ModelSpec:
        """The resolved CLIP model: as given, else the collection's, else the default."""
        spec = self.clip or _collection_spec(self.index) or DEFAULT_CLIP
        return spec.resolve()

    def memory_budget(self) -> int | None:
        """``index_memory`` in bytes (None: the default budget)."""
        from .ivfpq.index import parse_bytes

        return parse_bytes(self.index_memory) if self.index_memory else None

    def to_argv(self) -> list[str]:
        """``napari-clipcap index ...``: the command that recomputes this request."""
        argv = ["napari-clipcap", "index", *(_absolute(p) for p in self.paths)]
        argv += ["--index", _absolute(self.index)]
        if self.from_batch:
            argv += ["--from-batch", _absolute(self.from_batch)]
        else:
            argv += self.clip_spec().to_flags()
        argv += flag("--batch-size", self.batch_size, 16)
        argv += flag("--approximate", self.approximate, "auto")
        argv += flag("--wait", float(self.wait), 0.0)
        argv += flag("--workers", self.workers) + flag("--scheduler", self.scheduler)
        argv += flag("--index-memory", self.index_memory)
        return [*argv, "--device", self.device, "--json"]

    def why_no_command(self) -> str | None:
        return None

    def parameters(self) -> dict:
        return {
            "batch_size": self.batch_size,
            "approximate": self.approximate,
            "wait": self.wait,
            "workers": self.workers,
            "scheduler": self.scheduler,
            "index_memory": self.index_memory,
            "clip": None if self.clip is None else self.clip.to_dict(),
        }

    def inputs(self) -> dict:
        out: dict = {"index": _absolute(self.index), "paths": [_absolute(p) for p in self.paths]}
        if self.from_batch:
            out["run_dir"] = _absolute(self.from_batch)
        return out

    def check_outputs(self) -> None:
        """Refuse an unusable collection folder before any model runs."""
        from ..io.atomic import check_output_folder

        check_output_folder(self.index, "--index")

    # -- running ---------------------------------------------------------------------
    def run(self, *, progress=None, cancel=None, clip: Any = None) -> TaskResult:
        """Index (or import) the images; ``clip``: an already loaded model."""
        return run_collecting(lambda: self._run(progress, cancel, clip))

    def _run(self, progress, cancel, clip) -> TaskResult:
        budget = self.memory_budget()
        if self.from_batch:
            return self._import(progress, budget)
        from .indexing import index_paths
        from .records import clip_name

        spec = self.clip_spec()
        remote = bool(self.workers or self.scheduler)
        spec.warn()  # also when the model loads on Dask workers, out of sight
        if clip is None and not remote:
            from ..clip.model import load_clip

            clip = load_clip(spec, device=self.device)
        rep = index_paths(
            self.index,
            self.paths,
            clip,
            model=spec.name,
            weights=spec.weights,
            batch_size=self.batch_size,
            approximate=_APPROXIMATE[self.approximate],
            progress=progress,
            cancel=cancel,
            wait=self.wait,
            workers=self.workers,
            scheduler=self.scheduler,
            device=self.device,
            memory_budget=budget,
        )
        name = clip.name if clip is not None else clip_name(spec.name, spec.weights)
        return self._result(rep, name, [clip_entry(spec)])

    def _import(self, progress, budget) -> TaskResult:
        from .frombatch import import_batch
        from .store import Collection

        rep = import_batch(
            self.index, self.from_batch, memory_budget=budget, progress=progress, wait=self.wait
        )
        with Collection(self.index) as col:
            name, spec = col.model_id or "", col.clip_spec
        return self._result(rep, name, [clip_entry(spec.resolve())] if spec else [])

    def _result(self, rep, model_name: str, models: list[dict]) -> TaskResult:
        data = {"index": self.index, "model": model_name, **rep.to_dict()}
        lines = [
            f"{self.index}: {rep.items} images ({rep.index_kind} index, model {model_name})",
            f"  files added {rep.added}, updated {rep.updated}, unchanged {rep.unchanged}, "
            f"removed {rep.removed}, failed {len(rep.failed)}; images embedded {rep.embedded}",
        ]
        if rep.missing:
            lines.append(
                f"  {rep.missing} indexed files outside PATH no longer exist (kept; index "
                "their folder to drop them)"
            )
        lines += [
            f"  failed: {f['path']}: {f['error']}"
            + (" (unchanged since last failure)" if f.get("unchanged") else "")
            for f in rep.failed
        ]
        return TaskResult(
            self, data, list(rep.failed), "\n".join(lines), models=models, extra={"report": rep}
        )


def _collection_spec(folder: str) -> ModelSpec | None:
    from .describe import collection_spec

    return collection_spec(folder)


@dataclass(frozen=True)
class SearchRequest:
    """Rank a collection's images against a text or an image query.

    Attributes
    ----------
    index : str
        The collection folder (its own CLIP model encodes the query).
    text : str, optional
        A text query, put into ``template``.
    image : str, optional
        An image file as the query (FITS HDU ``hdu``; default its first image HDU), or
        the ``region`` of it (a box or polygon in full-size pixels, cut by the one crops
        function; clipped to the image, with a warning).
    layer : ImageInput, optional
        A dock's image given as pixels (``layer.pixels``), when no file can be named
        for it: the query (and its ``region``), with no command
        (:meth:`why_no_command` says why).
    k : int
        Number of hits.
    template : str
    index_memory : str, optional
        Memory the search index may hold (``"2G"``).
    device : str
    """

    index: str
    text: str | None = None
    image: str | None = None
    k: int = 10
    hdu: int | None = None
    region: tuple | None = None
    template: str = "{}"
    index_memory: str | None = None
    device: str = "auto"
    layer: ImageInput | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        queries = (self.text, self.image, self.layer)
        if sum(q is not None for q in queries) != 1:
            raise InvalidInputError("give one query: a text (--text) or an image (--image)")
        if self.region is not None:  # a box as 4 ints, a polygon as (x, y) pairs
            object.__setattr__(self, "region", _region_tuple(self.region))
        if int(self.k) < 1:
            raise InvalidInputError(f"-k must be at least 1, got {self.k}")
        if self.index_memory:
            from .ivfpq.index import parse_bytes

            parse_bytes(self.index_memory)

    @classmethod
    def from_args(cls, args: Any) -> SearchRequest:
        """The request the ``napari-clipcap search`` flags describe."""
        from ..coords.regions import parse_region

        region = getattr(args, "region", None)
        return cls(
            index=args.index,
            text=args.text,
            image=args.image,
            k=args.k,
            hdu=args.hdu,
            region=parse_region(region) if region else None,
            template=args.template,
            index_memory=args.index_memory,
            device=args.device,
        )

    def collection_model(self) -> ModelSpec:
        """The model the collection asks for (refused when it holds no images)."""
        from .store import Collection

        with Collection(self.index) as col:  # not a collection: one line
            spec = col.clip_spec
        if spec is None:
            raise InvalidInputError(f"collection {self.index} holds no images yet")
        return spec

    def to_argv(self) -> list[str]:
        """``napari-clipcap search ...``: the command that recomputes this request."""
        from ..coords.regions import region_text

        why = self.why_no_command()
        if why is not None:
            raise InvalidInputError(f"no command for this search: {why}")
        argv = ["napari-clipcap", "search", "--index", _absolute(self.index)]
        if self.text is not None:
            argv += ["--text", self.text]
        else:
            argv += ["--image", _absolute(self.image), *flag("--hdu", self.hdu)]
            argv += ["--region", region_text(self.region)] if self.region is not None else []
        argv += ["-k", str(self.k), *flag("--template", self.template, "{}")]
        argv += flag("--index-memory", self.index_memory)
        return [*argv, "--device", self.device, "--json"]

    def why_no_command(self) -> str | None:
        """Why no command line can recompute this search (None when one can)."""
        if self.layer is None:
            return None
        return self.layer.why_no_command() or f"layer {self.layer.name!r} is given as pixels"

    def parameters(self) -> dict:
        return {
            "text": self.text,
            "k": self.k,
            "hdu": self.hdu,
            "region": None if self.region is None else _region_json(self.region),
            "template": self.template,
            "index_memory": self.index_memory,
        }

    def inputs(self) -> dict:
        out: dict = {"index": _absolute(self.index)}
        if self.image is not None:
            out["image"] = _absolute(self.image)
        if self.layer is not None:
            out["layer"] = self.layer.name
        return out

    def check_outputs(self) -> None:
        """A search writes nothing."""

    def run(
        self, *, progress=None, cancel=None, clip: Any = None, collection: Any = None
    ) -> TaskResult:
        """Search; ``clip``: the collection's model, already loaded; ``collection``: the
        collection at :attr:`index`, already open (a dock's; left open).

        The hits, as :class:`~napari_clipcap.core.collection.search.Hit` objects, are
        ``extra["hits"]`` of the result.
        """
        return run_collecting(lambda: self._run(clip, collection))

    def _run(self, clip, collection) -> TaskResult:
        from contextlib import nullcontext

        from .store import Collection

        opened = (
            nullcontext(collection)
            if collection is not None
            else Collection(self.index, memory_budget=self._budget())
        )
        with opened as col:
            spec = col.clip_spec
            if spec is None:
                raise InvalidInputError(f"collection {self.index} holds no images yet")
            spec = spec.resolve()
            if clip is None:
                from ..clip.model import load_clip

                clip = load_clip(spec, device=self.device)
            hits, query = self._search(col, clip)
            kind, total = col.vector_index().kind, len(col)
        data = {
            "query": query,
            "index": self.index,
            "index_kind": kind,
            "items": total,
            "hits": [h.to_dict() for h in hits],
        }
        lines = [f"{len(hits)} of {total} images ({kind} search):"]
        for h in hits:
            where = h.item.path + (f"[{h.item.hdu}]" if h.item.hdu is not None else "")
            lines.append(f"{h.rank:>4}  {h.score:.4f}  {where}")
        return TaskResult(
            self,
            data,
            data["hits"],
            "\n".join(lines),
            models=[clip_entry(spec)],
            extra={"hits": hits},
        )

    def _budget(self) -> int | None:
        from .ivfpq.index import parse_bytes

        return parse_bytes(self.index_memory) if self.index_memory else None

    def _search(self, col, clip) -> tuple[list, dict]:
        from .search import search_image, search_text

        if self.text is not None:
            hits = search_text(col, self.text, clip, self.k, template=self.template)
            return hits, {"text": self.text}
        image, hdu, used = self._query_image()
        hits = search_image(col, image, clip, self.k)
        asked = None if self.region is None else asked_box(self.region)
        named = {"image": self.image} if self.layer is None else {"layer": self.layer.name}
        return hits, {
            **named,
            "hdu": hdu,
            "region": None if self.region is None else _region_json(self.region),
            "clipped_to": None if used is None or list(used) == asked else list(used),
        }

    def _query_image(self) -> tuple[Any, int | None, tuple | None]:
        """The query image (the region cut by the one crops function before any
        shrinking), its HDU, the box used."""
        from ..coords.regions import as_region
        from ..io.sources import MAX_SIDE, list_units, load_unit, shrink
        from .search import region_query

        if self.layer is not None:
            image, hdu, name = self.layer.load().data, None, self.layer.name or "layer"
        else:
            units = [self.hdu] if self.hdu is not None else list_units(self.image)
            if not units:
                raise InvalidInputError(f"{self.image} holds no image HDU")
            hdu, name = units[0], os.path.basename(self.image)
            if self.region is None:
                return load_unit(self.image, hdu), hdu, None
            image = load_unit(self.image, hdu, max_side=None)  # the region: full-size pixels
        if self.region is None:
            return shrink(image, MAX_SIDE), hdu, None
        try:
            used = as_region(_region_value(self.region), image.shape).box
            part = region_query(image, _region_value(self.region))
        except InvalidInputError as exc:
            raise InvalidInputError(f"{name}: {exc}") from None
        if list(used) != asked_box(self.region):
            from ..errors import LowDataWarning, warn_user

            h, w = image.shape[:2]
            asked = _box(asked_box(self.region))
            warn_user(
                f"{name}: region {asked} reaches past the {w} x {h} (width x height) image; "
                f"clipped to {_box(used)}",
                LowDataWarning,
            )
        return shrink(np.ascontiguousarray(part, dtype=np.float32), MAX_SIDE), hdu, tuple(used)


def _region_tuple(region) -> tuple:
    """A box as 4 ints, a polygon as a tuple of ``(x, y)`` float pairs (hashable)."""
    import numpy as np

    arr = np.asarray(region, dtype=float)
    if arr.ndim == 1 and arr.size == 4:
        return tuple(round(float(v)) for v in arr)
    return tuple((float(x), float(y)) for x, y in arr.reshape(-1, 2))


def _region_value(region) -> Any:
    """The region as the crops take it: a box tuple, a polygon ``(N, 2)`` array."""
    import numpy as np

    return region if not isinstance(region[0], tuple) else np.asarray(region, dtype=float)


def _region_json(region) -> list:
    import numpy as np

    return np.asarray(region).tolist()


def _box(box) -> str:
    return ",".join(str(int(v)) for v in box)
