"""``napari-clipcap info``: versions, devices, cache folders and model presets."""

from __future__ import annotations

import argparse
import platform
from importlib import metadata

from ..core import cache, devices, registry
from ._common import add_common, emit

_PACKAGES = (
    "napari-clipcap",
    "numpy",
    "torch",
    "torchvision",
    "open_clip_torch",
    "transformers",
    "astropy",
    "napari",
    "npe2",
    "rasterio",
    "faiss-cpu",
    "dask",
)


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("info", help="versions, devices, cache folders and model presets")
    add_common(p)
    p.set_defaults(func=run)
    return p


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def collect() -> dict:
    """Everything ``info`` reports, as plain data."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {name: _version(name) for name in _PACKAGES},
        "devices": [d.to_dict() for d in devices.available_devices()],
        "default_device": devices.resolve_device("auto"),
        "cache_dir": str(cache.cache_dir()),
        "hub_cache_dir": str(cache.hub_cache_dir()),
        "hub_offline": cache.hub_offline(),
        "captioner_kinds": list(registry.CAPTIONER_KINDS),
        "presets": [p.to_dict() for p in registry.presets()],
    }


def run(args: argparse.Namespace) -> int:
    data = collect()
    lines = [f"napari-clipcap {data['versions']['napari-clipcap']} (Python {data['python']})"]
    lines.append("versions:")
    lines += [f"  {k:<16} {v or 'not installed'}" for k, v in data["versions"].items()]
    lines.append("devices:")
    lines += [f"  {d['name']:<8} {d['description']}" for d in data["devices"]]
    lines.append(f"cache folder:     {data['cache_dir']}")
    lines.append(
        f"model hub cache:  {data['hub_cache_dir']}"
        + ("  (offline)" if data["hub_offline"] else "")
    )
    lines.append(f"captioner kinds:  {', '.join(data['captioner_kinds'])}")
    lines.append("presets:")
    lines += [f"  {p['name']:<26} {p['kind']:<9} {p['description']}" for p in data["presets"]]
    emit(args, data, "\n".join(lines))
    return 0
