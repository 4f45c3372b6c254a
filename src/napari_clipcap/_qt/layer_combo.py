"""A combo box of the viewer's layers of one type, kept in sync with the layer list."""

from __future__ import annotations

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QComboBox, QWidget

from .._napari.layers import META_KEY

#: ``metadata[META_KEY]`` keys of layers that hold results, never offered as sources.
RESULT_KINDS = {"heatmap", "relevance"}


class LayerCombo(QComboBox):
    """Choose a layer of ``layer_type`` (e.g. ``napari.layers.Image``) by name.

    When the chosen layer goes away the combo picks another; with ``prefer_active``
    a newly selected layer of the right type becomes the choice.
    """

    layer_changed = Signal(object)

    def __init__(
        self,
        viewer,
        layer_type,
        *,
        prefer_active: bool = True,
        exclude_results: bool = True,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.viewer = viewer
        self.layer_type = layer_type
        self.exclude_results = exclude_results
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(12)
        events = viewer.layers.events
        events.inserted.connect(self._refill)
        events.removed.connect(self._refill)
        events.moved.connect(self._refill)
        if hasattr(events, "renamed"):  # napari >= 0.5
            events.renamed.connect(self._refill)
        if prefer_active:
            viewer.layers.selection.events.active.connect(self._on_active)
        self.currentTextChanged.connect(lambda _: self.layer_changed.emit(self.layer()))
        self._refill()

    def accepts(self, layer) -> bool:
        """Whether ``layer`` can be chosen: the right type, and not a map this plugin
        made (heatmaps and relevance maps are results, not sources)."""
        if not isinstance(layer, self.layer_type):
            return False
        made = (layer.metadata or {}).get(META_KEY, {})
        return not (self.exclude_results and RESULT_KINDS & set(made))

    def layers(self) -> list:
        """Layers that can be chosen, top of the layer list first."""
        return [ly for ly in reversed(self.viewer.layers) if self.accepts(ly)]

    def layer(self):
        """The chosen layer, or ``None``."""
        name = self.currentText()
        return self.viewer.layers[name] if name in self.viewer.layers else None

    def set_layer(self, layer) -> None:
        """Choose ``layer``."""
        self.setCurrentText(layer.name)

    def _refill(self, *_) -> None:
        current = self.currentText()
        names = [ly.name for ly in self.layers()]
        self.blockSignals(True)
        self.clear()
        self.addItems(names)
        if current in names:
            self.setCurrentText(current)
        elif names:
            self.setCurrentText(self._first_choice().name)
        self.blockSignals(False)
        if self.currentText() != current:
            self.layer_changed.emit(self.layer())

    def _first_choice(self):
        """With nothing chosen yet: the active layer, else the top visible one, else the
        top one (a dock opened over a window full of hidden layers picks the one shown)."""
        choices = self.layers()
        active = self.viewer.layers.selection.active
        if active is not None and active in choices:
            return active
        return next((ly for ly in choices if ly.visible), choices[0])

    def _on_active(self, event) -> None:
        layer = event.value
        if layer is not None and self.accepts(layer) and layer.name != self.currentText():
            self.setCurrentText(layer.name)
