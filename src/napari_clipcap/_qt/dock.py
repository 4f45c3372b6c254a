"""The skeleton every dock shares: model panel, image choice, run button with Copy
command, hint line and job panel, and the rules of a dock's job.

A dock subclasses :class:`Dock`, adds its own inputs to a form, lays itself out with
:meth:`Dock.skeleton`, says why it cannot run in :meth:`Dock.problem` and starts its
job with :meth:`Dock.start`. The base then keeps the job honest:

- the run button is disabled and reads :attr:`Dock.busy_text` while the job runs (a
  second click is visibly refused, not silently ignored);
- removing a layer the job reads (its ``sources``) cancels it, and closing the dock
  (napari takes the widget out of its dock) cancels it too: a cancelled job never
  delivers, so no layer of a vanished source or a closed dock is ever added.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from napari.layers import Image
from qtpy.QtCore import QEvent, Qt
from qtpy.QtWidgets import QHBoxLayout, QLabel, QLayout, QPushButton, QVBoxLayout, QWidget

from .first_view import scroll_contents
from .hint import HintLabel
from .job_panel import JobPanel
from .layer_combo import LayerCombo
from .models.panel import ModelPanel
from .provenance import CopyCommandButton
from .worker import Job, JobFunction

#: The run button's tooltip while its job runs.
BUSY_TIP = "Running: wait for it to finish, or Cancel it"


class Dock(QWidget):
    """Base of the plugin's docks.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        The viewer the dock works on.
    run_text : str
        The run button's text ("Caption", "Compute heatmap").
    ready_tip : str
        The run button's tooltip when it can run.
    models : ModelPanel, optional
        The dock's model panel; its readiness re-validates the dock.
    first_steps : str
        A grey line shown at the top until the user knows the dock.
    parent : QWidget, optional

    Attributes
    ----------
    viewer, models, image_combo, run_button, copy_command_button, hint, job_panel
        The shared parts; ``first_steps`` is a QLabel or None.
    """

    #: The run button's text while its job runs.
    busy_text = "Running…"

    def __init__(
        self,
        napari_viewer,
        *,
        run_text: str,
        ready_tip: str,
        models: ModelPanel | None = None,
        first_steps: str = "",
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.models = models
        self.run_text, self.ready_tip = run_text, ready_tip
        self.image_combo = LayerCombo(napari_viewer, Image)
        self.run_button = QPushButton(run_text)
        self.copy_command_button = CopyCommandButton()
        self.hint = HintLabel()
        self.job_panel = JobPanel()
        self.first_steps: QLabel | None = None
        if first_steps:
            self.first_steps = QLabel(first_steps)
            self.first_steps.setTextFormat(Qt.TextFormat.PlainText)
            self.first_steps.setWordWrap(True)
            self.first_steps.setStyleSheet("color: #a0a8b0;")
        self._sources: tuple = ()  # the layers the running job reads
        self.job_panel.busy_changed.connect(self._on_busy)
        self.image_combo.layer_changed.connect(self.validate)
        napari_viewer.layers.events.removed.connect(self._on_layer_removed)
        if models is not None:
            models.ready_changed.connect(self.validate)  # a model offline, or back

    # -- layout --------------------------------------------------------------------
    def run_row(self, *extra: QWidget, copy: bool = True) -> QHBoxLayout:
        """The run button (stretched), ``extra`` widgets, then Copy command."""
        row = QHBoxLayout()
        row.addWidget(self.run_button, 1)
        for widget in extra:
            row.addWidget(widget)
        if copy:
            row.addWidget(self.copy_command_button)
        return row

    def skeleton(
        self,
        *parts: QWidget | QLayout,
        run_row: QLayout | None = None,
        below: Iterable[QWidget | QLayout] = (),
        results: QWidget | QLayout | None = None,
    ) -> QVBoxLayout:
        """Lay the dock out: first steps, model panel, ``parts`` (the dock's form and
        bars), the run row, hint, job panel, ``below``, then ``results`` (stretched)
        or space."""
        layout = QVBoxLayout(self)
        if self.first_steps is not None:
            layout.addWidget(self.first_steps)
        if self.models is not None:
            layout.addWidget(self.models)
        for part in (*parts, run_row if run_row is not None else self.run_row()):
            _add(layout, part)
        layout.addWidget(self.hint)
        layout.addWidget(self.job_panel)
        for part in below:
            _add(layout, part)
        if results is None:
            layout.addStretch(1)
        else:
            _add(layout, results, stretch=1)
        scroll_contents(self)  # usable in a short window: the dock scrolls inside
        return layout

    # -- can it run? ---------------------------------------------------------------
    def problem(self) -> str:
        """Why the dock cannot run now ('' when it can); docks say their reasons."""
        return self.models.problem() if self.models is not None else ""

    def validate(self, *_) -> bool:
        """Enable the run button, or disable it and say why; disabled while a job runs.

        Returns whether the inputs are complete (a running job does not change that).
        """
        ready = self.hint.explain(self.run_button, self.problem(), self.ready_tip)
        if self.job_panel.busy:
            self.run_button.setEnabled(False)
            self.run_button.setToolTip(BUSY_TIP)
        return ready

    # -- the job -------------------------------------------------------------------
    def start(
        self,
        fn: JobFunction,
        label: str,
        on_result: Callable[[Any], None],
        *,
        unit: str = "",
        sources: Iterable = (),
    ) -> Job | None:
        """Run ``fn(progress, cancel)`` as this dock's job (None while one runs).

        ``sources`` are the layers it reads: removing one cancels the job. Closing the
        dock cancels it as well. ``on_result`` runs in the Qt thread only for a job
        that was neither cancelled nor failed.
        """
        job = self.job_panel.run(fn, label, on_result, unit=unit, parent=self)
        if job is not None:
            self._sources = tuple(sources)
        return job

    def cancel_job(self, why: str = "") -> None:
        """Cancel the running job, saying ``why`` in the status line."""
        self.job_panel.cancel(why)

    def _on_busy(self, busy: bool) -> None:
        self.run_button.setText(self.busy_text if busy else self.run_text)
        if not busy:
            self._sources = ()
        self.validate()

    def _on_layer_removed(self, event) -> None:
        layer = getattr(event, "value", None)
        if self.job_panel.busy and any(layer is source for source in self._sources):
            self.cancel_job(f"'{layer.name}' was removed")

    def event(self, event: QEvent) -> bool:
        # napari closes a dock by taking this widget out of it (setParent(None))
        if event.type() == QEvent.Type.ParentChange and self.parent() is None:
            panel = getattr(self, "job_panel", None)
            if panel is not None and panel.busy:
                self.cancel_job("the dock was closed")
        return super().event(event)


def _add(layout: QVBoxLayout, part: QWidget | QLayout, stretch: int = 0) -> None:
    if isinstance(part, QLayout):
        layout.addLayout(part, stretch)
    else:
        layout.addWidget(part, stretch)
