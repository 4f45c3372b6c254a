"""Saying which model a received collection or model folder asks for, before loading it."""

from __future__ import annotations

import argparse

from ..core.registry import ModelSpec, describe_request


def announce(args: argparse.Namespace, source: str, asked: ModelSpec) -> dict:
    """Print ``SOURCE asks for ...`` on stderr (before the model loads) and keep the
    description for ``--json`` (``asked_models``); returns it."""
    import sys

    info = describe_request(source, asked)
    print(f"napari-clipcap {args.command}: {info['text']}", file=sys.stderr)
    found = getattr(args, "asked_models", None)
    if found is None:
        found = args.asked_models = []
    found.append(info)
    return info


def announce_collection_model(args: argparse.Namespace, folder: str, asked: ModelSpec) -> dict:
    """:func:`announce` for the collection in ``folder``."""
    from pathlib import Path

    return announce(args, f"collection {Path(folder).expanduser()}", asked)
