"""How a dock's result was made: the provenance record and its "Copy command" button.

A dock builds the request of its task (:mod:`napari_clipcap.core.tasks.requests`) once
from its widgets (its ``request_for`` method), over the file its image layer was read
from (:func:`dock_image`); the record is derived from that request alone
(:func:`~napari_clipcap.core.tasks.requests.base.request_record`: ``request.to_argv()``
as its command, the request's model spec as its models), goes into the result layer's
metadata, and the button offers the command on the clipboard. No task's flags are
described here. A layer that was not read from a file (sample data, arrays from a
script) gets a record without a command, and the button says why.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtGui import QGuiApplication
from qtpy.QtWidgets import QPushButton


def source_path(layer) -> str | None:
    """The file ``layer`` was read from, when napari or our readers recorded one."""
    meta = layer.metadata or {}
    path = getattr(getattr(layer, "source", None), "path", None) or meta.get("source_path")
    return str(path) if path else None


def dock_image(layer, plane) -> Any:
    """The :class:`~napari_clipcap.core.tasks.requests.base.ImageInput` of a dock's
    layer: the file it was read from (None: no command), HDU, domain and plane."""
    from ..core.tasks.requests.base import ImageInput

    hdu = (layer.metadata or {}).get("fits_hdu")
    return ImageInput(
        path=source_path(layer),
        hdu=None if hdu is None else str(hdu),
        domain=plane.domain,
        plane=tuple(plane.index),
        name=layer.name,
    )


def dock_input(layer, plane) -> Any:
    """:func:`dock_image` with the shown plane's pixels: what a dock's request runs on.

    The request reads ``plane.model_input()`` and the plane's valid mask (no data where
    the CLI finds none) in the worker thread, once however often it runs (the Caption
    dock runs it per compared captioner), so a layer not read from a file runs the same
    way; the file named stays the request's command.
    """
    from dataclasses import replace

    from ..core.tasks.validity import plane_valid_mask

    read: list = []

    def pixels():
        if not read:
            mask = plane_valid_mask(plane.data, plane.index, rgb=plane.rgb)
            read.append((plane.model_input(), mask))
        return read[0]

    return replace(dock_image(layer, plane), pixels=pixels)


class CopyCommandButton(QPushButton):
    """Copies the command of the dock's last result to the clipboard."""

    def __init__(self, parent=None):
        super().__init__("Copy command", parent)
        self.record: dict | None = None
        self.clicked.connect(self.copy)
        self.set_record(None)

    def set_record(self, prov: dict | None) -> None:
        """Show ``prov``'s command (enabled) or why there is none (disabled)."""
        self.record = prov
        command = (prov or {}).get("command")
        self.setEnabled(bool(command))
        if command:
            self.setToolTip(f"Copy the command that recomputes the last result:\n{command}")
        elif prov:
            self.setToolTip(f"No command for the last result: {prov['command_unavailable']}")
        else:
            self.setToolTip("Run first: the command of the last result is copied")

    def copy(self) -> str | None:
        """Put the command on the clipboard; returns it."""
        command = (self.record or {}).get("command")
        if command:
            QGuiApplication.clipboard().setText(command)
        return command
