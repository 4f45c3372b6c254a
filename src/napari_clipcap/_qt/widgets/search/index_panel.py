"""Build or update the Search dock's collection from image folders, as ``napari-clipcap
index`` does: the panel builds the same
:class:`~napari_clipcap.core.collection.requests.IndexRequest` and runs it as the dock's
job, with files done of total in the job panel and Cancel (what was committed is kept);
the dock's Copy command then gives its ``to_argv()``.

A new collection uses the model panel's CLIP; an existing one keeps its own model
(:func:`collection_choice`). Index is disabled, with the reason, when that model cannot
run (not downloaded while the hub is offline).
"""

from __future__ import annotations

from pathlib import Path

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...._napari.models.offline import offline_reason
from ...._napari.models.specs import CUSTOM, ModelChoice
from ...._napari.models.store import STORE
from ....core.collection.requests import IndexRequest
from ....core.collection.store import DB_NAME, Collection
from ....core.errors import error_line
from ....core.registry import presets
from ...dock import BUSY_TIP
from ...hint import HintLabel
from ...models.panel import SharedSettings


def collection_choice(model: str, weights: str | None) -> ModelChoice:
    """The model a collection records, as a panel choice: its preset when it is one (so
    the cache and offline state can be told), else local files."""
    for preset in presets("clip"):
        if preset.model == model and (preset.weights or "") == (weights or ""):
            return ModelChoice(preset=preset.name, kind="clip")
    return ModelChoice(preset=CUSTOM, kind="clip", model=model, weights=weights or "")


def model_problem(choice: ModelChoice) -> str:
    """Why ``choice`` cannot embed now ('' when it can), in GUI words."""
    from ...._napari.models.readiness import clip_problem

    reason = offline_reason(choice, "clip")
    return clip_problem(choice) or (reason.short if reason is not None else "")


def report_line(rep) -> str:
    """One status line for an :class:`~napari_clipcap.core.collection.indexing.IndexReport`."""
    line = (
        f"Indexed: {rep.items} images ({rep.index_kind} index); files added {rep.added}, "
        f"updated {rep.updated}, unchanged {rep.unchanged}, removed {rep.removed}, "
        f"failed {len(rep.failed)}."
    )
    if rep.failed:
        line += f" First failure: {rep.failed[0]['error']}"
    return line


class IndexPanel(QGroupBox):
    """Folders to index into the collection folder of the Search dock.

    ``collection_folder`` is a callable giving that folder; ``dock`` the Search dock,
    whose job runner runs the indexing (one job at a time) and whose Copy command
    offers its command. ``indexed(folder)`` is emitted when a run ends, finished or
    cancelled, so the dock reopens the collection.
    """

    indexed = Signal(str)

    def __init__(self, collection_folder, dock, parent: QWidget | None = None):
        super().__init__("Build or update the collection", parent)
        self.collection_folder = collection_folder
        self.dock = dock
        self.job_panel = dock.job_panel
        self.folders = QListWidget()
        self.folders.setMaximumHeight(64)
        self.folders.setToolTip("Image folders (searched recursively) to add to the collection")
        self.add_button = QPushButton("Add folder…")
        self.remove_button = QPushButton("Remove")
        self.index_button = QPushButton("Index")
        self.hint = HintLabel()
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(self.index_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.folders)
        layout.addLayout(buttons)
        layout.addWidget(self.hint)
        self.add_button.clicked.connect(self._browse)
        self.remove_button.clicked.connect(self._remove)
        self.index_button.clicked.connect(self.index)
        self.report = None
        self._folder = ""
        self.job_panel.busy_changed.connect(self.validate)  # no Index while any job runs
        self.validate()

    def paths(self) -> list[str]:
        """The folders to index."""
        return [self.folders.item(i).text() for i in range(self.folders.count())]

    def add_folder(self, folder: str) -> None:
        """Add ``folder`` to the list (once)."""
        if folder and folder not in self.paths():
            self.folders.addItem(folder)
        self.validate()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Image folder to index")
        if folder:
            self.add_folder(folder)

    def _remove(self) -> None:
        row = self.folders.currentRow()
        if row >= 0:
            self.folders.takeItem(row)
        self.validate()

    def problem(self) -> str:
        """Why indexing cannot run now ('' when it can)."""
        if not self.collection_folder().strip():
            return "Choose the collection folder above (an empty folder for a new one)."
        if not self.paths():
            return "Add the image folders to index."
        try:
            return model_problem(self.model(self.collection_folder().strip()))
        except Exception as exc:  # an unreadable collection: said, not raised
            return f"The collection cannot be read: {exc}"

    def validate(self, *_) -> bool:
        ready = self.hint.explain(
            self.index_button, self.problem(), "Embed new and changed images of these folders"
        )
        if self.job_panel.busy:
            self.index_button.setEnabled(False)
            self.index_button.setToolTip(BUSY_TIP)
        return ready

    def model(self, folder: str) -> ModelChoice:
        """The collection's own CLIP when it has one, else the model panel's."""
        if (Path(folder) / DB_NAME).exists():
            model, weights = _recorded_model(folder)
            if model:
                return collection_choice(model, weights)
        return SharedSettings.instance().settings.clip

    def request(self, choice: ModelChoice) -> IndexRequest:
        """The :class:`~napari_clipcap.core.collection.requests.IndexRequest` of the
        listed folders into the collection folder (``choice``: :meth:`model`); a new
        collection names the panel's CLIP, an existing one keeps its own."""
        from ...._napari.models.specs import clip_spec

        folder = self.collection_folder().strip()
        own = (Path(folder) / DB_NAME).exists() and bool(_recorded_model(folder)[0])
        return IndexRequest(
            index=folder,
            paths=tuple(self.paths()),
            clip=None if own else clip_spec(choice),
            device=SharedSettings.instance().settings.device,
        )

    def index(self) -> None:
        """Index the folders into the collection in a worker (the dock's job)."""
        if not self.validate() or self.job_panel.busy:
            return
        try:
            choice = self.model(self.collection_folder().strip())
            request = self.request(choice)
            request.check_outputs()
        except Exception as exc:  # an unreadable collection or an incomplete choice
            self.job_panel.set_status(f"Cannot index: {error_line(exc)}", error=True)
            return
        precision = SharedSettings.instance().settings.precision  # as clicked

        def job(progress, cancel):
            clip = STORE.clip(choice, request.device, precision)
            return request.run(progress=progress, cancel=cancel, clip=clip)

        def done(result) -> None:
            self.report = rep = result.extra["report"]
            self.dock.copy_command_button.set_record(result.provenance())
            self.job_panel.set_status(report_line(rep), error=bool(rep.failed))

        self._folder = request.index
        started = self.dock.start(job, "Indexing", done, unit="files")
        if started is not None:
            started.ended.connect(self._on_ended)

    def _on_ended(self) -> None:
        self.indexed.emit(self._folder)


def _recorded_model(folder: str) -> tuple:
    """``(model, weights)`` the collection at ``folder`` records (empty when none)."""
    with Collection(folder) as col:
        return col.model_spec
