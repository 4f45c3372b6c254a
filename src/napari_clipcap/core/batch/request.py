"""The request of a batch run (``napari-clipcap batch``): a :class:`~.chunks.BatchSpec`
with the inputs, the output folder and how it runs (locally or on Dask).

Like every task request (:mod:`~napari_clipcap.core.tasks.requests`), it is built by the
command line with :meth:`BatchRequest.from_args`; :meth:`BatchRequest.run` gives a
:class:`~napari_clipcap.core.tasks.requests.base.TaskResult` and
:meth:`BatchRequest.to_argv` is the ``napari-clipcap batch ...`` command that
recomputes (or resumes) the run, provenance's ``command``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError
from ..registry import ModelSpec
from ..tasks.requests.base import TaskResult, flag, region_flags, run_collecting
from .chunks import BatchSpec

__all__ = ["BatchRequest", "spec_from_flags"]


def _absolute(path: Any) -> str:
    return os.path.abspath(os.path.expanduser(str(path)))


def _path_or_name(value: str | None) -> str | None:
    """A model flag made absolute when it names an existing file or folder."""
    if value is None:
        return None
    try:
        exists = os.path.exists(os.path.expanduser(value))
    except (OSError, ValueError):
        return value
    return _absolute(value) if exists else value


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(s.strip() for s in (text or "").split(",") if s.strip())


def check_box(box: Any) -> Any:
    """Refuse a box that no image can hold before any file is read (polygons pass)."""
    if len(box) != 4 or not isinstance(box, tuple):
        return box
    x0, y0, x1, y1 = box
    text = ",".join(str(int(v)) for v in box)
    if x1 <= x0 or y1 <= y0:
        raise InvalidInputError(
            f"box {text} is empty: it needs x1 > x0 and y1 > y0 "
            "(x0,y0,x1,y1 with the end exclusive)"
        )
    if x1 <= 0 or y1 <= 0:
        raise InvalidInputError(
            f"box {text} lies outside every image (left of or above pixel 0,0)"
        )
    return box


def model_of(flags: Any) -> ModelSpec:
    """The resolved model the flags ask for: the captioner (with its CLIP) for ``task
    caption``, else the CLIP model; the one rule of ``docs/models.md``."""
    kind = "captioner" if flags.task == "caption" else "clip"
    return ModelSpec.from_flags(flags, kind).resolve()


def spec_from_flags(flags: Any) -> BatchSpec:
    """The :class:`~.chunks.BatchSpec` the ``napari-clipcap batch`` flags describe."""
    from ..coords.regions import parse_region

    clip: ModelSpec | None = model_of(flags)
    if flags.task == "caption":
        clip = clip.clip if flags.clip or flags.clip_weights else None
    return BatchSpec(
        task=flags.task,
        clip_model=clip.name if clip is not None else None,
        clip_weights=clip.weights if clip is not None else None,
        captioner=flags.captioner,
        weights=flags.weights,
        decoder=flags.decoder,
        beam=flags.beam,
        num=flags.num,
        max_tokens=flags.max_tokens,
        labels=_split(flags.labels),
        regions=tuple(check_box(parse_region(r)) for r in flags.region or ()),
        template=flags.template,
        query=flags.query,
        question=flags.question,
        phrases=_split(flags.phrases),
        segmenter=getattr(flags, "segmenter", None),
        caption_instances=bool(getattr(flags, "caption", False)),
        mode=flags.mode,
        window=flags.window,
        stride=flags.stride,
        batch_size=flags.batch_size,
        device=flags.device,
    )


@dataclass(frozen=True)
class BatchRequest:
    """One batch run: what it does (``spec``), over what, into which folder, where.

    Attributes
    ----------
    spec : BatchSpec
    paths : tuple of str
        The inputs: image files and folders (searched recursively).
    out : str
        The output folder (an earlier run's folder is resumed).
    scheduler, workers : str or int, optional
        A running ``dask.distributed`` scheduler, or N local Dask workers.
    chunk_size : int
    retry_errors, overwrite : bool
        Redo files that failed; write into a non-empty folder napari-clipcap did not make.
    """

    spec: BatchSpec
    paths: tuple[str, ...]
    out: str
    scheduler: str | None = None
    workers: int | None = None
    chunk_size: int = 8
    retry_errors: bool = False
    overwrite: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "paths", tuple(str(p) for p in self.paths))
        if not self.paths:
            raise InvalidInputError("give image files or folders to process")

    @property
    def device(self) -> str:
        return self.spec.device

    @property
    def model(self) -> ModelSpec:
        """The task's model, resolved (what provenance names and what warns)."""
        return self.spec.model.resolve()

    # -- doors -----------------------------------------------------------------------
    @classmethod
    def from_args(cls, args: Any) -> BatchRequest:
        """The request the ``napari-clipcap batch`` flags describe."""
        return cls(
            spec=spec_from_flags(args),
            paths=tuple(args.inputs),
            out=args.out,
            scheduler=args.scheduler,
            workers=args.workers,
            chunk_size=args.chunk_size,
            retry_errors=bool(args.retry_errors),
            overwrite=bool(args.overwrite),
        )

    def to_argv(self) -> list[str]:
        """``napari-clipcap batch ...``: the command that recomputes (or resumes) it."""
        s = self.spec
        argv = ["napari-clipcap", "batch", *(_absolute(p) for p in self.paths)]
        argv += ["--task", s.task, "--out", _absolute(self.out)]
        argv += flag("--scheduler", self.scheduler) + flag("--workers", self.workers)
        argv += flag("--chunk-size", self.chunk_size, 8) + flag("--batch-size", s.batch_size, 8)
        argv += ["--retry-errors"] if self.retry_errors else []
        argv += ["--overwrite"] if self.overwrite else []
        argv += flag("--clip", _path_or_name(s.clip_model))
        argv += flag("--clip-weights", _path_or_name(s.clip_weights))
        argv += flag("--captioner", s.captioner, "clipcap")
        argv += flag("--weights", _path_or_name(s.weights))
        argv += flag("--decoder", _path_or_name(s.decoder))
        argv += flag("--beam", s.beam, 1) + flag("--num", s.num, 1)
        argv += flag("--max-tokens", s.max_tokens, 67)
        argv += flag("--labels", ",".join(s.labels) or None) + region_flags(s.regions)
        argv += flag("--template", s.template, "{}") + flag("--query", s.query)
        argv += flag("--question", s.question) + flag("--phrases", ",".join(s.phrases) or None)
        argv += flag("--segmenter", _path_or_name(s.segmenter))
        argv += ["--caption"] if s.caption_instances else []
        argv += flag("--mode", s.mode, "sliding") + flag("--window", s.window, 224)
        argv += flag("--stride", s.stride, 112)
        return [*argv, "--device", s.device, "--json"]

    def why_no_command(self) -> str | None:
        return None

    def parameters(self) -> dict:
        return {
            **self.spec.to_dict(),
            "scheduler": self.scheduler,
            "workers": self.workers,
            "chunk_size": self.chunk_size,
            "retry_errors": self.retry_errors,
            "overwrite": self.overwrite,
        }

    def inputs(self) -> dict:
        return {"inputs": [_absolute(p) for p in self.paths], "out": _absolute(self.out)}

    def check_outputs(self) -> None:
        """Refuse an unusable ``out`` folder before any model runs."""
        from ..io.atomic import check_output_folder
        from .runner import is_batch_run

        out = os.path.expanduser(self.out)
        if os.path.exists(out) and not os.path.isdir(out):
            raise InvalidInputError(f"--out {out} is a file; give a folder for the results")
        check_output_folder(out, owned=is_batch_run, overwrite=self.overwrite)

    # -- running ---------------------------------------------------------------------
    def run(self, *, progress=None, cancel=None) -> TaskResult:
        """Run the batch; the result's ``data`` is the report (``task`` first)."""
        return run_collecting(lambda: self._run(progress, cancel))

    def _run(self, progress, cancel) -> TaskResult:
        from ..provenance import spec_entries
        from .runner import run_batch

        model = self.model
        model.warn()  # said here too: on Dask workers the model loads out of sight
        rep = run_batch(
            self.paths,
            self.spec,
            self.out,
            scheduler=self.scheduler,
            workers=self.workers,
            chunk_size=self.chunk_size,
            retry_errors=self.retry_errors,
            overwrite=self.overwrite,
            progress=progress,
            cancel=cancel,
        )
        text = (
            f"{rep.files} files ({rep.skipped} done earlier, {rep.processed} processed): "
            f"{rep.rows} rows, {rep.errors} errors\n  {rep.parquet}\n  {rep.csv}"
        )
        kind = "captioner" if self.spec.task == "caption" else "clip"
        data = {"task": self.spec.task, **rep.to_dict()}
        return TaskResult(self, data, [], text, models=spec_entries(kind, model))
