"""How a result was made: versions, models and weight hashes, device, parameters, command.

A provenance record is a plain dict (JSON-ready) that travels with every result: in CLI
``--json`` output under ``provenance``, in layer metadata, as FITS ``HISTORY`` cards, as
GeoTIFF tags, in the header comments of region files. Its ``command`` is the
``napari-clipcap ...`` line that computes the same result again.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import platform
import shlex
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .model_cache import on_reset
from .registry import RANDOM, ModelSpec

#: Hex digits kept of a weight file's SHA-256: enough to tell checkpoints apart.
DIGEST_LENGTH = 12
#: Weight files inside a model folder that its digest covers.
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".json", ".model")
_DIGESTS: dict[tuple[str, int, int], str] = {}
on_reset(_DIGESTS.clear)


def file_digest(path: str | os.PathLike) -> str | None:
    """A short SHA-256 of a local weight file, or of a model folder's weight and config
    files (names and contents, sorted); None when ``path`` is not local."""
    p = Path(path)
    if p.is_file():
        files = [p]
    elif p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in _WEIGHT_SUFFIXES)
    else:
        return None
    h = hashlib.sha256()
    for f in files:
        stat = f.stat()
        key = (str(f.resolve()), stat.st_size, stat.st_mtime_ns)
        if key not in _DIGESTS:
            fh = hashlib.sha256()
            with open(f, "rb") as stream:
                for block in iter(lambda stream=stream: stream.read(1 << 20), b""):
                    fh.update(block)
            _DIGESTS[key] = fh.hexdigest()
        h.update(f.name.encode() + b"\0" + _DIGESTS[key].encode())
    return h.hexdigest()[:DIGEST_LENGTH]


def model_entry(role: str, name: str | None, weights: str | None = None) -> dict:
    """Describe one model: its role, name, where its weights come from, and a hash.

    ``source`` is ``"file"`` (with ``sha256``) for local files and folders, ``"hub"`` for
    ``hf-hub:`` ids and ``owner/name`` ids, and ``"tag"`` for open_clip pretrained tags;
    ``"random"`` (and ``random: true``) for a model built with random weights (weights
    ``"none"``; docs/models.md).
    """
    entry: dict[str, Any] = {"role": role, "name": name}
    if weights is not None and str(weights).strip().lower() == RANDOM:
        entry.update(weights=RANDOM, source="random", random=True)
        return entry
    target = weights or (name if name and Path(name).exists() else None)
    if target is None:
        entry.update(weights=None, source="none" if weights is None else "tag")
        return entry
    entry["weights"] = str(target)
    digest = file_digest(target)
    if digest is not None:
        entry.update(source="file", sha256=digest, weights=str(Path(target).resolve()))
    elif str(target).startswith("hf-hub:") or "/" in str(target):
        entry["source"] = "hub"
    else:
        entry["source"] = "tag"
    return entry


def spec_entry(role: str, spec: ModelSpec) -> dict:
    """:func:`model_entry` of a resolved :class:`~napari_clipcap.core.registry.ModelSpec`,
    with its ``id`` and ``random``; a captioner's CLIP follows as its own entry (role
    ``"clip"``)."""
    spec = spec.resolve()
    entry = model_entry(role, spec.name, spec.weights)
    entry.update(id=spec.id, random=spec.weights == RANDOM)
    return entry


def spec_entries(role: str, spec: ModelSpec) -> list[dict]:
    """The entries of ``spec`` and of the models inside it (decoder, CLIP)."""
    spec = spec.resolve()
    out = [spec_entry(role, spec)]
    if spec.decoder:
        out.append(model_entry("decoder", spec.decoder, spec.decoder))
    if spec.clip is not None:
        out.append(spec_entry("clip", spec.clip))
    return out


def versions() -> dict[str, str]:
    """Versions of napari-clipcap and of the libraries that shape a result."""
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    out = {"napari-clipcap": __version__, "python": platform.python_version()}
    for dist in ("torch", "open_clip_torch", "transformers", "numpy", "astropy"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def command_line(argv: Sequence[str]) -> str:
    """``napari-clipcap ARGS...`` as one shell-quoted line."""
    return shlex.join(["napari-clipcap", *map(str, argv)])


def record(
    *,
    command: str,
    models: Iterable[Mapping[str, Any]] = (),
    device: str | None = None,
    precision: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    inputs: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A provenance record (a JSON-ready dict).

    Parameters
    ----------
    command : str
        The ``napari-clipcap ...`` line that recomputes the result.
    models : iterable of dict
        From :func:`model_entry`.
    device, precision : str, optional
    parameters : mapping, optional
        Every setting that shapes the result (template, window, stride, beam, ...).
    inputs : mapping, optional
        The input file or layer, HDU, plane and regions.
    """
    return {
        "versions": versions(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "models": [dict(m) for m in models],
        "device": device,
        "precision": precision,
        "parameters": _plain(dict(parameters or {})),
        "inputs": _plain(dict(inputs or {})),
        "command": command,
    }


def _plain(value: Any) -> Any:
    """JSON-ready copies: paths and other objects as strings, tuples as lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def summary_lines(prov: Mapping[str, Any], width: int = 72) -> list[str]:
    """Short lines for FITS ``HISTORY`` cards and region-file comments: the version, the
    models with their hashes, device, and the command (wrapped at ``width``); a record
    without a command (a layer not read from a file) says so instead."""
    version = (prov.get("versions") or {}).get("napari-clipcap", "?")
    lines = [f"napari-clipcap {version} {prov.get('created', '')}".strip()]
    for m in prov.get("models", ()):
        digest = f" sha256:{m['sha256']}" if m.get("sha256") else ""
        lines.append(f"{m.get('role')}: {m.get('name')} {m.get('weights') or ''}{digest}".strip())
    lines.append(f"device {prov.get('device')} {prov.get('precision') or ''}".strip())
    command = prov.get("command")
    if command:
        wrapped = textwrap.wrap(str(command), width - 2, break_on_hyphens=False)
        lines += [wrapped[0]] + [f"  {w}" for w in wrapped[1:]] if wrapped else []
    else:
        why = prov.get("command_unavailable")
        lines.append(f"no recompute command ({why})" if why else "no recompute command")
    out = []
    for line in lines:
        out += textwrap.wrap(line, width, break_on_hyphens=False) or [""]
    return out
