"""What every task request shares: the image it reads, its result, its recorded command.

A request (:mod:`~napari_clipcap.core.tasks.requests`) is a frozen dataclass that carries
everything a task needs. Every door builds one: the CLI with ``from_args(namespace)``,
a dock from its widgets, batch from its spec. ``run(progress=, cancel=)`` gives a
:class:`TaskResult` (rows, warnings, ``to_json()``: the ``--json`` payload) and
``to_argv()`` is the ``napari-clipcap <task> ...`` command that recomputes it, which is
what provenance's ``command`` and every dock's Copy command are.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ...errors import InvalidInputError

__all__ = [
    "ImageInput",
    "LoadedImage",
    "RegionFiles",
    "TaskResult",
    "command_of",
    "flag",
    "region_flags",
]


@dataclass(frozen=True)
class LoadedImage:
    """An image as a task uses it: model input, where it holds data, the file read."""

    data: np.ndarray
    valid: np.ndarray | None = None
    file: Any = None  # the ImageFile when read from a file (wcs, kind, path)

    @property
    def wcs(self) -> Any:
        return getattr(self.file, "wcs", None)

    @property
    def kind(self) -> str | None:
        return getattr(self.file, "kind", None)


@dataclass(frozen=True)
class ImageInput:
    """Which image a task reads, and how it is scaled for the model.

    Attributes
    ----------
    path : str or None
        The image file (None: pixels given by a dock, with no file to name).
    hdu, domain, interval, stretch : str or None
        How the file is read and scaled (:func:`~napari_clipcap.core.io.images.read_image`).
    plane : tuple of int
        The plane of a stack a dock shows; a command reads the first plane, so a
        non-zero plane has no command.
    pixels : callable, optional
        ``pixels() -> (model input, valid mask or None)``: a dock's pixels (read in the
        worker thread), used instead of reading ``path``.
    name : str
        How messages name the image (a layer name or the file name).
    """

    path: str | None = None
    hdu: str | None = None
    domain: str | None = None
    interval: str | None = None
    stretch: str | None = None
    plane: tuple[int, ...] = ()
    pixels: Callable[[], tuple[np.ndarray, np.ndarray | None]] | None = field(
        default=None, compare=False, repr=False
    )
    name: str = ""

    @classmethod
    def from_args(cls, args: Any, path: Any = None) -> ImageInput:
        """The image of the flags ``IMAGE``, ``--hdu``, ``--domain``, ``--interval``,
        ``--stretch`` (``path`` given: that file instead of ``args.image``)."""
        path = getattr(args, "image", None) if path is None else path
        return cls(
            path=str(path),
            hdu=_text(getattr(args, "hdu", None)),
            domain=_text(getattr(args, "domain", None)),
            interval=_text(getattr(args, "interval", None)),
            stretch=_text(getattr(args, "stretch", None)),
            name=os.path.basename(str(path)),
        )

    @classmethod
    def of(cls, image: Any, **reading: Any) -> ImageInput:
        """``image`` as an :class:`ImageInput`: itself, or the file at that path, read
        with ``reading`` (``hdu``, ``domain``, ``interval``, ``stretch``).

        Parameters
        ----------
        image : ImageInput, str or path-like
        **reading
            Reading flags; None values are left out.

        Returns
        -------
        ImageInput
        """
        given = {k: _text(v) for k, v in reading.items() if v is not None}
        if isinstance(image, ImageInput):
            return replace(image, **given) if given else image
        path = os.fspath(image)
        path = path.decode() if isinstance(path, bytes) else path
        return cls(path=path, name=os.path.basename(path), **given)

    def load(self, *, lazy: bool = False) -> LoadedImage:
        """Read and scale the image (or take the dock's pixels), with its valid mask;
        ``lazy``: scale only the windows a task reads (``read_image(lazy=True)``)."""
        if self.pixels is not None:
            data, valid = self.pixels()
            keep = lazy and hasattr(data, "reduced")  # a lazy model input given on stays lazy
            return LoadedImage(data if keep else np.asarray(data), valid)
        if self.path is None:
            raise InvalidInputError("no image given")
        from ...io.images import read_image
        from ..validity import file_valid_mask

        hdu = int(self.hdu) if self.hdu is not None and str(self.hdu).isdigit() else self.hdu
        img = read_image(
            self.path,
            domain=self.domain,
            interval=self.interval,
            stretch=self.stretch,
            hdu=hdu,
            lazy=lazy,
        )
        return LoadedImage(img.data, file_valid_mask(img), img)

    def why_no_command(self) -> str | None:
        """Why no command line can read these pixels (None when one can)."""
        if self.path is None:
            return f"layer {self.name!r} was not read from a file"
        if any(self.plane):
            return f"plane {tuple(self.plane)} of a stack (the command reads the first plane)"
        return None

    def to_argv(self) -> list[str]:
        """The image argument (absolute) and its reading flags."""
        if self.path is None:
            raise InvalidInputError(self.why_no_command() or "no image")
        argv = [os.path.abspath(self.path)]
        for name in ("hdu", "domain", "interval", "stretch"):
            argv += flag(f"--{name}", getattr(self, name))
        return argv


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def flag(name: str, value: Any, default: Any = None) -> list[str]:
    """``[name, str(value)]``, or nothing when ``value`` is None or the default."""
    if value is None or value == default:
        return []
    if isinstance(value, float):
        return [name, repr(value)]
    return [name, str(value)]


def region_flags(regions: Any) -> list[str]:
    """``--region`` flags that give back the same regions (boxes and polygons)."""
    from ...coords.regions import region_text

    out: list[str] = []
    for r in regions or ():
        out += ["--region", region_text(r)]
    return out


def command_of(request: Any) -> str | None:
    """``request.to_argv()`` as one shell line, or None when it has no command."""
    if request.why_no_command() is not None:
        return None
    return shlex.join(request.to_argv())


@dataclass
class TaskResult:
    """What a request's run gives every door.

    Attributes
    ----------
    request : object
        The request that ran.
    data : dict
        The ``--json`` payload without ``warnings`` and ``provenance``.
    rows : list of dict
        One row per result (region, image, detection, ...): what a dock shows.
    text : str
        The human-readable lines the command prints.
    warnings : list of str
        Low-data, random-weights and other warnings met on the way.
    models : list of dict
        Provenance model entries (:func:`~napari_clipcap.core.provenance.model_entry`).
    image : LoadedImage or None
    extra : dict
        Task-specific objects (arrays, detections) for the doors.
    """

    request: Any
    data: dict
    rows: list
    text: str
    warnings: list[str] = field(default_factory=list)
    models: list[dict] = field(default_factory=list)
    image: LoadedImage | None = None
    extra: dict = field(default_factory=dict)

    def provenance(self) -> dict:
        """How the result was made; ``command`` is ``request.to_argv()`` as a shell line
        (None, with ``command_unavailable``, when no command can recompute it)."""
        from ...devices import resolve_device
        from ...provenance import record

        req = self.request
        try:
            device = resolve_device(req.device)
        except Exception:  # an unknown device already failed the run
            device = req.device
        prov = record(
            command=command_of(req) or "",
            models=self.models,
            device=device,
            precision=getattr(req, "precision", None),
            parameters=req.parameters(),
            inputs=req.inputs(),
        )
        why = req.why_no_command()
        if why is not None:
            prov["command"], prov["command_unavailable"] = None, why
        return prov

    def to_json(self) -> dict:
        """The ``--json`` payload: ``data``, ``warnings`` (when any) and ``provenance``."""
        out = dict(self.data)
        if self.warnings:
            out["warnings"] = list(dict.fromkeys(self.warnings))
        out["provenance"] = self.provenance()
        return out


def run_collecting(fn: Callable[[], TaskResult]) -> TaskResult:
    """Run ``fn`` and add the warnings issued meanwhile (this thread) to its result."""
    from ...errors import collect_warnings

    with collect_warnings() as found:
        result = fn()
    result.warnings = list(dict.fromkeys([*found, *result.warnings]))
    return result


def load_clip_model(spec: Any, device: str, precision: str) -> tuple[Any, Any]:
    """Load the CLIP model a :class:`~napari_clipcap.core.registry.ModelSpec` names
    (resolved by the one rule; random weights warned about); returns (model, resolved)."""
    from ...clip.model import load_clip

    clip = load_clip(spec, device=device, precision=precision)
    return clip, getattr(clip, "spec", None) or spec.resolve()


def clip_entry(resolved: Any) -> dict:
    """The provenance entry of a resolved CLIP spec."""
    from ...provenance import spec_entries

    return spec_entries("clip", resolved)[0]


def read_shapes(regions_file: str | None, image: LoadedImage) -> list | None:
    """The shapes of a DS9/CRTF file placed on ``image`` (None without a file);
    shapes napari cannot draw are warned about."""
    if not regions_file:
        return None
    from ...io.region_files import read_region_file

    placed = read_region_file(regions_file, image.wcs)
    for reason in placed.skipped:
        from ...errors import LowDataWarning, warn_user

        warn_user(f"{regions_file}: skipped: {reason}", LowDataWarning)
    return list(placed.regions)


def check_region_output(path: str | None, flag_name: str = "--out-regions") -> None:
    """Refuse an unusable region-file output before any model runs."""
    if not path:
        return
    from ...io.atomic import check_output_file
    from ...io.region_files import region_format

    if not str(path).lower().endswith(".geojson"):
        region_format(path)
    check_output_file(path, flag_name)


def write_shapes(
    path: str | None,
    image: LoadedImage,
    shapes: list | None,
    boxes: list,
    texts: list[str],
    header: list[str],
) -> str | None:
    """Write results as a region file: the file's shapes (or the boxes) with ``texts``."""
    if not path:
        return None
    from ...coords.region_shapes import FileRegion, box_shape
    from ...io.region_files import write_region_file

    if shapes is None:
        shapes = [box_shape(b) for b in boxes]
    results = [
        FileRegion(s.shape_type, s.vertices, text, s.color) for s, text in zip(shapes, texts)
    ]
    return str(write_region_file(path, results, wcs=image.wcs, header=header))


def fit_regions(regions: list | None, shape: tuple, name: str) -> list | None:
    """Each region's (clipped) pixel box on an image of ``shape``; an empty region or
    one wholly outside fails with the image's ``name`` in the message."""
    if regions is None:
        return None
    from ...coords.regions import as_region

    out = []
    for r in regions:
        try:
            out.append(as_region(r, shape).box)
        except InvalidInputError as exc:
            raise InvalidInputError(f"{name}: {exc}") from None
    return out


def asked_box(region: Any) -> list[int]:
    """The box a region asked for (a polygon: its pixels' bounding box, unclipped)."""
    arr = np.asarray(region, dtype=float)
    if arr.ndim == 1:
        return [round(float(v)) for v in arr]
    (x0, y0), (x1, y1) = np.floor(arr.min(axis=0)), np.ceil(arr.max(axis=0))
    return [int(x0), int(y0), int(x1), int(y1)]


def shape_entry(shape: Any) -> dict:
    """What ``--json`` says of a region-file shape besides its result."""
    entry: dict = {"shape": shape.shape_type}
    if getattr(shape, "number", None) is not None:
        entry["number"] = shape.number
    if shape.text:
        entry["text"] = shape.text
    return entry


@dataclass(frozen=True)
class RegionFiles:
    """How a run reads ``--regions`` and writes ``--out-regions``: ``read(path, image)
    -> shapes or None`` and ``write(path, image, shapes, boxes, texts, header) -> str``.
    The default uses the core readers; the command line passes its own, which also
    reports skipped, exclude and outside regions and writes ``--out-frame``/GeoJSON."""

    read: Callable[[str | None, LoadedImage], list | None] = read_shapes
    write: Callable[..., str | None] = write_shapes


def request_record(request: Any, models: list[dict] | None = None) -> dict:
    """The provenance record of ``request`` (its command is ``request.to_argv()``), for a
    door that ran the task's pieces itself (a dock re-scoring only the edited shapes).

    Parameters
    ----------
    request : object
        A task request (``to_argv``, ``why_no_command``, ``parameters``, ``inputs``).
    models : list of dict, optional
        Provenance model entries; default ``request.models()``, the entries of the
        model the request names.

    Returns
    -------
    dict
        The record: ``command`` (None with ``command_unavailable`` when no command can
        recompute it), models, device, parameters, inputs and versions.
    """
    models = request.models() if models is None else models
    return TaskResult(request, {}, [], "", models=list(models)).provenance()
