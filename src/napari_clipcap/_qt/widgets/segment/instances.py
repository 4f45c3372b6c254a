"""The Segment dock's *Label instances* / *Caption instances* row, and the Points layer that
writes each instance's label and caption beside it.

The work is :class:`~napari_clipcap.core.tasks.segment.instances.InstanceTasks`, as
``napari-clipcap segment --labels ... --caption`` runs it: each instance's outline is a
polygon region of the Region labels and Caption requests. The CLIP model and the
captioner are the ones chosen in the model panel the other docks share.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget

from ...._napari.models.specs import captioner_spec, clip_spec
from ....core.tasks.segment.instances import InstanceTasks

__all__ = ["InstanceActions", "instance_text_layer"]

#: Table columns the instance tasks add, in order.
INSTANCE_COLUMNS = ("label", "caption")


class InstanceActions(QWidget):
    """Labels to score on each instance, and the two buttons; ``label_clicked`` and
    ``caption_clicked`` carry the :class:`InstanceTasks` to run."""

    label_clicked = Signal(object)
    caption_clicked = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.labels_edit = QLineEdit()
        self.labels_edit.setPlaceholderText("labels for each instance, e.g. full, empty")
        self.label_button = QPushButton("Label instances")
        self.label_button.setToolTip(
            "Score the labels on every instance's outline with the CLIP model of the model "
            "panel (as Region labels scores a polygon)"
        )
        self.caption_button = QPushButton("Caption instances")
        self.caption_button.setToolTip("Caption every instance's outline with the captioner")
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.label_button)
        buttons.addWidget(self.caption_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.labels_edit)
        column.addLayout(buttons)
        self.label_button.clicked.connect(self._label)
        self.caption_button.clicked.connect(self._caption)
        self.labels_edit.textChanged.connect(lambda *_: self.set_ready(self._ready))
        self.set_ready(False)

    def labels(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.labels_edit.text().split(",") if p.strip())

    def set_ready(self, ready: bool) -> None:
        """Enable the buttons when there are instances (and labels, for labelling)."""
        self._ready = bool(ready)
        self.label_button.setEnabled(self._ready and bool(self.labels()))
        self.caption_button.setEnabled(self._ready)

    def _label(self) -> None:
        from ...models.shared import SharedSettings

        choice = SharedSettings.instance().settings.clip
        self.label_clicked.emit(InstanceTasks(labels=self.labels(), clip=clip_spec(choice)))

    def _caption(self) -> None:
        from ...models.shared import SharedSettings

        spec = captioner_spec(SharedSettings.instance().settings.captioner)
        tasks = InstanceTasks(
            caption=True,
            captioner=spec.name,
            captioner_weights=spec.weights,
            decoder=spec.decoder,
            clip=spec.clip,
        )
        self.caption_clicked.emit(tasks)


def instance_text(row: dict) -> str:
    """What the layer writes beside an instance: ``"3 tank 0.91"``, its caption."""
    parts = [str(row["id"])]
    if row.get("label"):
        parts.append(f"{row['label']} {row['probabilities'][row['label']]:.2f}")
    if row.get("caption"):
        parts.append(str(row["caption"]))
    return " ".join(parts)


def instance_text_layer(viewer, rows: list[dict], name: str, placement: dict, old=None):
    """A Points layer at the instances' centroids (image data coordinates, placed as the
    image) whose text is each instance's label and caption; replaces ``old``."""
    if old is not None and old in viewer.layers:
        viewer.layers.remove(old)
    points = np.array([[r["centroid_y"] - 0.5, r["centroid_x"] - 0.5] for r in rows], float)
    features = {"text": [instance_text(r) for r in rows], "id": [int(r["id"]) for r in rows]}
    return viewer.add_points(
        points.reshape(-1, 2),
        name=name,
        features=features,
        text={"string": "{text}", "color": "yellow", "size": 10, "anchor": "upper_left"},
        size=2,
        face_color="yellow",
        **placement,
    )
