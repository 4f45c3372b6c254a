"""The model panel: captioner, CLIP model, device, precision; shared by every widget.

All panels of a process edit one :class:`SharedSettings`; a change in one shows in the
others and is saved at once (JSON in the napari-clipcap cache folder), so choices
survive between napari sessions. Each preset shows whether it is cached, will be
downloaded, or misses a file. *Load* downloads (with progress) and loads the chosen
models ahead of time; *Unload* frees their memory, GPU included. The device list
needs torch, so it is found in a background thread (:mod:`.device_list`): a panel
offers ``auto`` and ``cpu`` at once and the GPUs when they are known.

Rows scroll rather than squeeze (:class:`.status.ScrollRows`); :meth:`ModelPanel.problem`
says, before any click, why the dock cannot run (:mod:`.offline`).
"""

from __future__ import annotations

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..._napari.models.specs import CUSTOM, ModelChoice, PanelSettings
from ..._napari.models.store import STORE
from ...core.registry import CAPTIONER_KINDS, get_preset, presets
from ..job_panel import JobPanel
from .actions import PanelActions
from .device_list import FALLBACK, DeviceProbe
from .hub_probe import HubProbe
from .shared import ElidedLabel, ErrorLine, PathEdit, SharedSettings
from .status import ScrollRows, mark_combo, show_status

__all__ = ["STORE", "ModelChoice", "ModelPanel", "SharedSettings"]

DOMAINS = ("auto", "photo", "satellite", "astronomy")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
_DEVICE_TIP = "Where the models run: auto picks a GPU when there is one"


class ModelPanel(PanelActions, QGroupBox):
    """Model choices for one dock widget; ``show_captioner`` adds the captioner rows.

    Signals
    -------
    ready_changed()
        :meth:`problem` may say something else now (a choice changed, the hub answered,
        a load ended): the dock re-validates its action button.
    """

    ready_changed = Signal()

    def __init__(
        self,
        *,
        show_captioner: bool = True,
        captioner_slot: str = "captioner",
        parent: QWidget | None = None,
    ):
        super().__init__("Models", parent)
        self.shared = SharedSettings.instance()
        self.show_captioner = show_captioner
        #: The :class:`PanelSettings` field holding this dock's captioner: each dock
        #: that captions keeps its own (Caption: ``captioner``, Grounding: ``grounding``)
        self.captioner_slot = captioner_slot
        self.toggle = QToolButton()
        self.toggle.setCheckable(True)
        self.toggle.setChecked(True)
        self.toggle.setAutoRaise(True)
        self.toggle.setToolTip("Show or hide the model choices")
        self.summary = ElidedLabel()
        self.body = QWidget()
        self.rows = ScrollRows(self.body)
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.toggle)
        header.addWidget(self.summary, 1)
        outer = QVBoxLayout(self)
        outer.addLayout(header)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(self.rows)
        form = QFormLayout(self.body)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.captioner_combo = QComboBox()
        self.captioner_combo.addItems([p.name for p in presets("captioner")] + [CUSTOM])
        self.captioner_kind = QComboBox()
        self.captioner_kind.addItems(CAPTIONER_KINDS)
        self.captioner_path = PathEdit("checkpoint file or model folder")
        self.decoder_path = PathEdit("GPT-2 folder (ClipCap; default gpt2)", folder=True)
        self.encoder_model = PathEdit("CLIP of the ClipCap: architecture, JSON or folder")
        self.encoder_weights = PathEdit("its weights (tag or file; empty: none needed)")
        self.captioner_status = ElidedLabel()
        self.clip_combo = QComboBox()
        self.clip_combo.addItems([p.name for p in presets("clip")] + [CUSTOM])
        self.clip_model = PathEdit("architecture, config JSON or folder")
        self.clip_weights = PathEdit("weights file (.safetensors, .pt)")
        self.clip_status = ElidedLabel()
        self.device_combo = QComboBox()
        self._probe = DeviceProbe.instance()
        self.device_combo.addItems(self._probe.names or FALLBACK)
        self.precision_combo = QComboBox()
        self.precision_combo.addItems(PRECISIONS)
        self.domain_combo = QComboBox()
        self.domain_combo.addItems(DOMAINS)
        self.domain_combo.setToolTip(
            "How pixel values are scaled for the models: astronomy uses zscale + asinh; "
            "auto picks astronomy for FITS layers"
        )
        self.load_button = QPushButton("Load")
        self.load_button.setToolTip("Download (if needed) and load the chosen models now")
        self.unload_button = QPushButton("Unload")
        self.unload_button.setToolTip("Free the memory of every loaded model (GPU included)")
        self.job_panel = JobPanel()
        self.errors = ErrorLine()
        for combo in (self.captioner_combo, self.clip_combo, self.captioner_kind):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(10)

        form.addRow("Captioner", self.captioner_combo)
        form.addRow("", self.captioner_status)
        form.addRow("Kind", self.captioner_kind)
        form.addRow("Checkpoint", self.captioner_path)
        form.addRow("Decoder", self.decoder_path)
        form.addRow("Encoder", self.encoder_model)
        form.addRow("Enc. weights", self.encoder_weights)
        form.addRow("CLIP", self.clip_combo)
        form.addRow("", self.clip_status)
        form.addRow("Model", self.clip_model)
        form.addRow("Weights", self.clip_weights)
        row = QHBoxLayout()
        row.addWidget(self.device_combo, 1)
        row.addWidget(self.precision_combo)
        form.addRow("Device", row)
        form.addRow("Image type", self.domain_combo)
        buttons = QHBoxLayout()
        buttons.addWidget(self.load_button)
        buttons.addWidget(self.unload_button)
        form.addRow(buttons)
        form.addRow(self.errors)
        form.addRow(self.job_panel)
        self._form = form
        self.toggle.toggled.connect(self.set_expanded)
        self.set_expanded(True)

        self.captioner_combo.currentTextChanged.connect(self._captioner_edited)
        self.captioner_kind.currentTextChanged.connect(self._captioner_edited)
        self.captioner_path.edit.editingFinished.connect(self._captioner_edited)
        self.decoder_path.edit.editingFinished.connect(self._captioner_edited)
        self.encoder_model.edit.editingFinished.connect(self._captioner_edited)
        self.encoder_weights.edit.editingFinished.connect(self._captioner_edited)
        self.clip_combo.currentTextChanged.connect(self._clip_edited)
        self.clip_model.edit.editingFinished.connect(self._clip_edited)
        self.clip_weights.edit.editingFinished.connect(self._clip_edited)
        self.device_combo.currentTextChanged.connect(lambda t: self._set(device=t))
        self.precision_combo.currentTextChanged.connect(lambda t: self._set(precision=t))
        self.domain_combo.currentTextChanged.connect(lambda t: self._set(domain=t))
        self.load_button.clicked.connect(self.load_models)
        self.unload_button.clicked.connect(self.unload_models)
        self._updating = False
        self.shared.changed.connect(self.refresh)
        self._hub = HubProbe.instance()
        self._hub.answered.connect(self._hub_answered)
        self._hub.start()
        self._show_device_tip()
        if self._probe.names is None:  # torch is imported in a background thread
            self._probe.found.connect(self._devices_found)
            self._probe.start()
        self.mark_presets()
        self.refresh()

    # -- settings <-> widgets ------------------------------------------------------
    @property
    def settings(self) -> PanelSettings:
        return self.shared.settings

    @property
    def captioner(self) -> ModelChoice:
        """This dock's captioner choice (its own slot of the shared settings)."""
        return getattr(self.settings, self.captioner_slot)

    def _set(self, **changes) -> None:
        if not self._updating:
            self.shared.update(**changes)

    def _captioner_edited(self, *_) -> None:
        preset = self.captioner_combo.currentText()
        kind = self.captioner_kind.currentText() if preset == CUSTOM else ""
        if preset != CUSTOM:
            kind = get_preset(preset).kind
        choice = ModelChoice(
            preset=preset,
            kind=kind,
            weights=self.captioner_path.edit.text().strip(),
            decoder=self.decoder_path.edit.text().strip(),
            clip_model=self.encoder_model.edit.text().strip(),
            clip_weights=self.encoder_weights.edit.text().strip(),
        )
        self._set(**{self.captioner_slot: choice})

    def _clip_edited(self, *_) -> None:
        choice = ModelChoice(
            preset=self.clip_combo.currentText(),
            kind="clip",
            model=self.clip_model.edit.text().strip(),
            weights=self.clip_weights.edit.text().strip(),
        )
        self._set(clip=choice)

    @property
    def devices_ready(self) -> bool:
        """Whether the device combo lists every device (not only auto and cpu yet)."""
        return self._probe.names is not None

    def _devices_found(self, names: list[str]) -> None:
        """Offer the devices the probe found; selects a saved one that just appeared."""
        try:
            self._probe.found.disconnect(self._devices_found)
        except (RuntimeError, TypeError):  # already disconnected
            pass
        self._updating = True  # refilling the combo is no choice of the user's
        try:
            self.device_combo.clear()
            self.device_combo.addItems(names)
        finally:
            self._updating = False
        self._show_device_tip()
        self.refresh()

    def _show_device_tip(self) -> None:
        if self._probe.names is None:
            tip = f"{_DEVICE_TIP} (looking for GPUs…)"
        elif self._probe.error:
            tip = f"{_DEVICE_TIP} (could not list the devices: {self._probe.error})"
        else:
            tip = _DEVICE_TIP
        self.device_combo.setToolTip(tip)

    def set_expanded(self, expanded: bool) -> None:
        """Show the model rows, or only the one-line summary."""
        self.rows.setVisible(expanded)
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        if self.toggle.isChecked() != expanded:
            self.toggle.setChecked(expanded)

    def refresh(self) -> None:
        """Show the shared settings (after a change in any panel)."""
        self._updating = True
        try:
            s = self.settings
            for combo, value in (
                (self.captioner_combo, self.captioner.preset),
                (self.captioner_kind, self.captioner.kind or "clipcap"),
                (self.clip_combo, s.clip.preset),
                (self.device_combo, s.device),
                (self.precision_combo, s.precision),
                (self.domain_combo, s.domain),
            ):
                if combo.findText(value) >= 0:
                    combo.setCurrentText(value)
            self.captioner_path.edit.setText(self.captioner.weights)
            self.decoder_path.edit.setText(self.captioner.decoder)
            self.encoder_model.edit.setText(self.captioner.clip_model)
            self.encoder_weights.edit.setText(self.captioner.clip_weights)
            self.clip_model.edit.setText(s.clip.model)
            self.clip_weights.edit.setText(s.clip.weights)
            self._show_rows()
            parts = [self.captioner.label] if self.show_captioner else []
            parts += [s.clip.label, s.device]
            self.summary.setText(" · ".join(parts))
            show_status(self.clip_status, s.clip, "clip")
            show_status(self.captioner_status, self.captioner, "captioner")
            if self.errors.owner is not None and self.errors.owner != self._owner():
                self.errors.clear()  # the error belonged to choices no longer made
        finally:
            self._updating = False
        self._ready_changed()

    def _show_rows(self) -> None:
        s, captioner = self.settings, self.captioner
        cap_custom = captioner.preset == CUSTOM
        needs_path = cap_custom or captioner.kind == "clipcap"
        clipcap = captioner.kind == "clipcap"
        visible = {
            self.captioner_combo: self.show_captioner,
            self.captioner_status: self.show_captioner,
            self.captioner_kind: self.show_captioner and cap_custom,
            self.captioner_path: self.show_captioner and needs_path,
            self.decoder_path: self.show_captioner and needs_path and clipcap,
            self.encoder_model: self.show_captioner and cap_custom and clipcap,
            self.encoder_weights: self.show_captioner and cap_custom and clipcap,
            self.clip_model: s.clip.preset == CUSTOM,
            self.clip_weights: s.clip.preset == CUSTOM,
        }
        for widget, show in visible.items():
            widget.setVisible(show)
            label = self._form.labelForField(widget)
            if label is not None:
                label.setVisible(show)

    def mark_presets(self) -> None:
        """Colour every preset in the combos by its state (cached, will download, ...)
        and say it in the item's tooltip."""
        mark_combo(self.captioner_combo, "captioner")
        mark_combo(self.clip_combo, "clip")
