"""The hint line and its button agree: disabled with the reason, or enabled and hidden."""

from __future__ import annotations

from qtpy.QtWidgets import QPushButton

from napari_clipcap._qt.hint import HintLabel


def test_explain_disables_with_reason_then_enables(qtbot):
    hint, button = HintLabel(), QPushButton("Run")
    qtbot.addWidget(hint)
    qtbot.addWidget(button)
    hint.show()
    assert hint.explain(button, "Type at least one label.", "Run it") is False
    assert not button.isEnabled() and button.toolTip() == "Type at least one label."
    assert hint.text() == "Type at least one label." and hint.isVisible()
    assert hint.explain(button, "", "Run it") is True
    assert button.isEnabled() and button.toolTip() == "Run it" and not hint.isVisible()
