"""The Caption dock's decoding controls: method, beam width, top-p, counts."""

from __future__ import annotations

from qtpy.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QSpinBox

METHODS = ("greedy", "beam search", "nucleus sampling")


class DecodingControls:
    """The widgets that choose how captions are decoded, added as rows of a form."""

    def __init__(self, form: QFormLayout):
        self.method_combo = QComboBox()
        self.method_combo.addItems(METHODS)
        self.beam_spin = QSpinBox()
        self.beam_spin.setRange(2, 16)
        self.beam_spin.setValue(5)
        self.beam_spin.setPrefix("beam ")
        self.top_p_spin = QDoubleSpinBox()
        self.top_p_spin.setRange(0.05, 1.0)
        self.top_p_spin.setSingleStep(0.05)
        self.top_p_spin.setValue(0.9)
        self.top_p_spin.setPrefix("top-p ")
        self.num_spin = QSpinBox()
        self.num_spin.setRange(1, 10)
        self.num_spin.setPrefix("N = ")
        self.max_tokens_spin = QSpinBox()
        self.max_tokens_spin.setRange(4, 256)
        self.max_tokens_spin.setValue(67)
        self.max_tokens_spin.setPrefix("max ")
        self.max_tokens_spin.setSuffix(" tokens")
        decode = QHBoxLayout()
        decode.addWidget(self.method_combo, 1)
        decode.addWidget(self.beam_spin)
        decode.addWidget(self.top_p_spin)
        form.addRow("Decoding", decode)
        counts = QHBoxLayout()
        counts.addWidget(self.num_spin)
        counts.addWidget(self.max_tokens_spin)
        form.addRow("", counts)
        self.method_combo.currentTextChanged.connect(self._on_method)
        self._on_method(self.method_combo.currentText())

    def _on_method(self, method: str) -> None:
        self.beam_spin.setVisible(method == "beam search")
        self.top_p_spin.setVisible(method == "nucleus sampling")

    def options(self) -> dict:
        """``caption`` keyword arguments for the chosen decoding."""
        method = self.method_combo.currentText()
        opts = {"num_captions": self.num_spin.value(), "max_tokens": self.max_tokens_spin.value()}
        if method == "beam search":
            opts["beam_size"] = max(self.beam_spin.value(), opts["num_captions"])
        elif method == "nucleus sampling":
            opts["top_p"] = self.top_p_spin.value()
        return opts
