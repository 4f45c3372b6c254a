"""The Grounding dock's inputs: the mode, its text or shapes, tiles, and what is missing.

Pure helpers (:func:`last_caption`, :func:`florence2_problem`) read layer metadata and
the model panel's choice; :class:`GroundingInputs` holds the form rows.
"""

from __future__ import annotations

import logging

from napari.layers import Shapes
from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ...._napari.layers import META_KEY
from ...._napari.models.specs import CUSTOM, ModelChoice
from ....core.registry import get_preset
from ...layer_combo import LayerCombo

logger = logging.getLogger(__name__)

DETECT, GROUND, DESCRIBE = "Detect phrases", "Ground a caption", "Describe shapes"
MODES = (DETECT, GROUND, DESCRIBE)
PLACEHOLDERS = {DETECT: "ships, storage tanks", GROUND: "two ships moored near a storage tank"}
#: Tile spin value meaning "no tiles: the whole image in one pass".
WHOLE = 0
MIN_TILE = 16


def captioner_kind(choice: ModelChoice) -> str:
    """The loader kind of a captioner choice (a preset's kind, or the custom kind)."""
    if choice.preset != CUSTOM:
        try:
            return get_preset(choice.preset).kind
        except Exception:  # an unknown preset name from an old settings file
            logger.debug("unknown captioner preset %r", choice.preset, exc_info=True)
            return ""
    return choice.kind


def florence2_problem(choice: ModelChoice) -> str:
    """Why the panel's captioner cannot ground ('' when it is a Florence-2)."""
    kind = captioner_kind(choice)
    if kind == "florence2":
        if choice.preset == CUSTOM and not choice.weights:
            return "Give the Florence-2 model folder in the model panel (Checkpoint)."
        return ""
    return (
        f"Grounding needs a Florence-2 captioner; the model panel has {choice.label} "
        f"({kind or 'unknown kind'}). Choose florence2-base or florence2-large, or a local "
        "folder with kind florence2."
    )


def last_caption(layer) -> str:
    """The Caption dock's last caption of ``layer`` ('' when it has none): the first
    non-empty caption stored in ``metadata["napari_clipcap"]["captions"]``."""
    if layer is None:
        return ""
    results = (layer.metadata or {}).get(META_KEY, {}).get("captions") or []
    for result in results:
        for caption in result.get("captions", []) if isinstance(result, dict) else []:
            if str(caption).strip():
                return " ".join(str(caption).split())
    return ""


class GroundingInputs:
    """The mode, text, shapes and tile rows, added to ``form``."""

    def __init__(self, viewer, form: QFormLayout):
        self.form = form
        self.mode_combo = QComboBox()
        self.mode_combo.addItems(MODES)
        self.text_edit = QLineEdit()
        self.text_edit.setClearButtonEnabled(True)
        self.last_caption_button = QPushButton("Use last caption")
        self.shapes_combo = LayerCombo(viewer, Shapes)
        self.tile_spin = QSpinBox()
        self.tile_spin.setRange(WHOLE, 8192)
        self.tile_spin.setSingleStep(64)
        self.tile_spin.setValue(768)
        self.tile_spin.setSuffix(" px")
        self.tile_spin.setSpecialValueText("whole image")
        self.tile_spin.setToolTip(
            "Tile size for large images (Florence-2 sees 768 px); boxes found in two tiles "
            "are merged. At the minimum: the whole image in one pass"
        )
        self.overlap_spin = QSpinBox()
        self.overlap_spin.setRange(0, 4096)
        self.overlap_spin.setSingleStep(16)
        self.overlap_spin.setValue(64)
        self.overlap_spin.setSuffix(" px")
        self.overlap_spin.setPrefix("overlap ")
        self.overlap_spin.setToolTip("How much neighbouring tiles overlap")
        self.text_row = QWidget()
        row = QHBoxLayout(self.text_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.text_edit, 1)
        row.addWidget(self.last_caption_button)
        self.tile_row = QWidget()
        tiles = QHBoxLayout(self.tile_row)
        tiles.setContentsMargins(0, 0, 0, 0)
        tiles.addWidget(self.tile_spin, 1)
        tiles.addWidget(self.overlap_spin, 1)
        form.addRow("Mode", self.mode_combo)
        form.addRow("Phrases", self.text_row)
        form.addRow("Shapes", self.shapes_combo)
        form.addRow("Tiles", self.tile_row)
        self.mode_combo.currentTextChanged.connect(self.show_mode)
        self.show_mode(self.mode())

    def mode(self) -> str:
        return self.mode_combo.currentText()

    def text(self) -> str:
        """The phrases or caption typed, spaces collapsed."""
        return " ".join(self.text_edit.text().split())

    def tiles(self) -> tuple[int | None, int]:
        """``(tile, overlap)`` in pixels; ``tile`` None for one pass over the image."""
        tile = self.tile_spin.value()
        return (None if tile == WHOLE else tile), self.overlap_spin.value()

    def show_mode(self, mode: str) -> None:
        """Show the rows the mode needs and its example text."""
        describe = mode == DESCRIBE
        label = self.form.labelForField(self.text_row)
        label.setText("Caption" if mode == GROUND else "Phrases")
        self.text_edit.setPlaceholderText(PLACEHOLDERS.get(mode, ""))
        for widget, show in (
            (self.text_row, not describe),
            (self.last_caption_button, mode == GROUND),
            (self.shapes_combo, describe),
            (self.tile_row, not describe),
        ):
            widget.setVisible(show)
            field = self.form.labelForField(widget)
            if field is not None:
                field.setVisible(show)

    def problem(self, image) -> str:
        """Why this mode cannot run on ``image`` ('' when it can)."""
        mode = self.mode()
        if mode == DESCRIBE:
            shapes = self.shapes_combo.layer()
            if shapes is None:
                return "Add a Shapes layer and draw the regions to describe."
            if len(shapes.data) == 0:
                return f"Draw at least one shape in '{shapes.name}'."
            return ""
        if not self.text():
            if mode == DETECT:
                return 'Type the phrases to find, e.g. "ships, storage tanks".'
            if last_caption(image):
                return "Type a caption to ground, or click Use last caption."
            return "Type a caption to ground (or caption the image in the Caption dock)."
        tile, overlap = self.tiles()
        if tile is not None and tile < MIN_TILE:
            return f"Tiles must be at least {MIN_TILE} px (or the whole image)."
        if tile is not None and overlap >= tile:
            return f"The tile overlap ({overlap} px) must be smaller than the tile ({tile} px)."
        return ""
