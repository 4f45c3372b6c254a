"""The Segment dock's example boxes: "find more like these, not like those".

Examples and counter-examples are drawn in two Shapes layers, the way a napari user
keeps two kinds of annotation apart: boxes in the examples layer (green edges when the
dock makes it) are SAM 3 exemplars with label 1, boxes in the counter-examples layer
(red edges) have label 0. Each layer is used when its box is ticked; *New example
layers* adds both, empty, in rectangle mode. A shape's pixel box is what SAM 3 gets
(:func:`~napari_clipcap._napari.layers.shape_regions`, the rule of every door).
"""

from __future__ import annotations

from napari.layers import Shapes
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QCheckBox, QGridLayout, QPushButton, QWidget

from ...._napari.layers import shape_regions
from ....core.errors import InvalidInputError
from ...layer_combo import LayerCombo

__all__ = ["COUNTER_NAME", "EXAMPLES_NAME", "ExamplesPanel"]

#: Names and edge colours of the layers *New example layers* adds.
EXAMPLES_NAME, COUNTER_NAME = "examples", "counter-examples"
EDGE_COLOURS = {EXAMPLES_NAME: "#3ddc84", COUNTER_NAME: "#ff4d4d"}


class ExamplesPanel(QWidget):
    """Two ticked Shapes-layer choices: example boxes (label 1), counter-examples (0).

    Signals
    -------
    changed
        A tick, a layer choice or a layer's shapes changed: the dock re-validates.
    """

    changed = Signal()

    def __init__(self, viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = viewer
        self.examples_check = QCheckBox("Examples")
        self.examples_check.setToolTip("Boxes around things to find: SAM 3 finds more like them")
        self.counter_check = QCheckBox("Counter-examples")
        self.counter_check.setToolTip("Boxes around things that are not wanted (label 0)")
        self.examples_combo = LayerCombo(viewer, Shapes, prefer_active=False)
        self.counter_combo = LayerCombo(viewer, Shapes, prefer_active=False)
        self.new_button = QPushButton("New example layers")
        self.new_button.setToolTip(
            f"Add empty {EXAMPLES_NAME!r} (green) and {COUNTER_NAME!r} (red) Shapes layers "
            "in rectangle mode and tick both"
        )
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.examples_check, 0, 0)
        grid.addWidget(self.examples_combo, 0, 1)
        grid.addWidget(self.counter_check, 1, 0)
        grid.addWidget(self.counter_combo, 1, 1)
        grid.addWidget(self.new_button, 2, 0, 1, 2)
        for check in (self.examples_check, self.counter_check):
            check.toggled.connect(self._on_toggled)
        for combo in (self.examples_combo, self.counter_combo):
            combo.layer_changed.connect(self._watch)
        self.new_button.clicked.connect(self.new_layers)
        self._watched: list = []
        self._on_toggled()

    def _on_toggled(self, *_) -> None:
        self.examples_combo.setEnabled(self.examples_check.isChecked())
        self.counter_combo.setEnabled(self.counter_check.isChecked())
        self._watch()

    def _watch(self, *_) -> None:
        """Re-validate when a chosen layer's shapes change (a box drawn or deleted)."""
        for layer in self._watched:
            layer.events.data.disconnect(self._emit)
        self._watched = [ly for ly in self.layers().values() if ly is not None]
        for layer in self._watched:
            layer.events.data.connect(self._emit)
        self.changed.emit()

    def _emit(self, *_) -> None:
        self.changed.emit()

    def layers(self) -> dict[int, object]:
        """The ticked layers by label: ``{1: examples, 0: counter-examples}`` (None for
        a ticked choice without a layer)."""
        out: dict[int, object] = {}
        if self.examples_check.isChecked():
            out[1] = self.examples_combo.layer()
        if self.counter_check.isChecked():
            out[0] = self.counter_combo.layer()
        return out

    def has_examples(self) -> bool:
        """Whether a ticked examples layer holds a shape (then no phrase is needed)."""
        layer = self.layers().get(1)
        return layer is not None and len(layer.data) > 0

    def problem(self) -> str:
        """Why the ticked choices cannot be used ('' when they can); GUI wording."""
        chosen = self.layers()
        for label, layer in chosen.items():
            kind = "examples" if label else "counter-examples"
            if layer is None:
                return f"Choose or add a Shapes layer of {kind}, or untick it."
            if not len(layer.data):
                return f"Draw boxes in {layer.name!r} ({kind}), or untick it."
        if len(chosen) == 2 and chosen[0] is chosen[1]:
            return "Examples and counter-examples need two different Shapes layers."
        return ""

    def boxes(self, image) -> tuple[tuple, tuple]:
        """``(exemplars, labels)``: the ticked layers' shapes as pixel boxes of
        ``image`` (examples first), the labels 1 and 0; empty when none is ticked.

        Raises
        ------
        InvalidInputError
            A ticked layer none of whose shapes overlaps the image.
        """
        exemplars, labels = [], []
        for label, layer in sorted(self.layers().items(), key=lambda item: -item[0]):
            if layer is None:
                continue
            kept, found, _ = shape_regions(layer, image)
            if not kept:
                raise InvalidInputError(f"no shape of {layer.name!r} overlaps the image")
            exemplars += [tuple(int(v) for v in b) for b in found]
            labels += [label] * len(found)
        return tuple(exemplars), tuple(labels)

    def new_layers(self) -> list:
        """Add empty examples and counter-examples layers, tick and choose them, and
        leave the examples layer active in rectangle mode; returns the two layers."""
        made = []
        for name, check, combo in (
            (COUNTER_NAME, self.counter_check, self.counter_combo),
            (EXAMPLES_NAME, self.examples_check, self.examples_combo),
        ):
            layer = self.viewer.add_shapes(
                name=name,
                shape_type="rectangle",
                edge_color=EDGE_COLOURS[name],
                face_color="transparent",
                edge_width=2,
            )
            combo.set_layer(layer)
            check.setChecked(True)
            made.append(layer)
        made[-1].mode = "add_rectangle"
        return made[::-1]
