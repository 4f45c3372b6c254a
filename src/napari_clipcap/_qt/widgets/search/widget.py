"""Search a collection: by text, by the chosen image layer, or by a drawn region.

The collection is a folder built with ``napari-clipcap index`` or from the dock's
"Build or update" group (:mod:`.index_panel`); queries are embedded with
the collection's own CLIP model (on the device of the shared model panel) in a worker.
Hits show as a grid of thumbnails with their cosine scores; clicking one opens that
image (the right HDU of a FITS file) as a new layer, leaving the query image as it was.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from napari.layers import Shapes
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ...._napari.layers import displayed_plane, shape_regions
from ...._napari.models.specs import ModelChoice
from ...._napari.models.store import STORE
from ....core.collection.describe import describe_collection_model
from ....core.collection.requests import SearchRequest
from ....core.collection.search import Hit
from ....core.collection.store import DB_NAME, Collection
from ....core.errors import ClipcapError, InvalidInputError, error_line
from ...dock import Dock
from ...layer_combo import LayerCombo
from ...models.panel import ModelPanel, SharedSettings
from ...provenance import dock_image
from .hit_grid import PAGE, HitGrid
from .index_panel import IndexPanel, collection_choice, model_problem

MODES = ("Text", "Image layer", "Drawn region")


def hit_layer_data(path: str, hdu: int | None) -> tuple:
    """``(data, kwargs)`` for ``add_image``: one FITS HDU (with its header) or a picture.

    The file is read by :func:`~napari_clipcap.core.io.reading.open_image`, the one
    reader of image files, so its errors are one :class:`ClipcapError` line.
    """
    from ....core.io.reading import open_image

    source = open_image(path)
    if source.kind == "fits":
        from ...._napari.fits_reader import layer_data

        images = [im for im in source if im.index == hdu] if hdu is not None else source[:1]
        if not images:
            raise InvalidInputError(f"{path}: HDU {hdu} holds no image any more")
        data, kwargs, _ = layer_data(Path(path), images[0])
        return data, kwargs
    data = np.asarray(source.pick().data)
    return data, {"name": Path(path).name, "rgb": data.ndim == 3 and data.shape[-1] in (3, 4)}


class SearchWidget(Dock):
    """Dock widget: query a collection and open the hits."""

    def __init__(self, napari_viewer, parent: QWidget | None = None):
        super().__init__(
            napari_viewer,
            run_text="Search",
            ready_tip="Search the collection with its own model",
            models=ModelPanel(show_captioner=False),
            parent=parent,
        )
        self.model_line = QLabel()
        self.model_line.setTextFormat(Qt.TextFormat.PlainText)
        self.model_line.setWordWrap(True)
        self.search_button = self.run_button
        self.collection: Collection | None = None
        self.hits: list[Hit] = []
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText(
            "collection folder (napari-clipcap index ... --index DIR)"
        )
        self.browse_button = QPushButton("Browse…")
        self.info = QLabel("No collection open.")
        self.info.setTextFormat(Qt.TextFormat.PlainText)
        self.info.setWordWrap(True)
        self.mode_combo = QComboBox()
        self.mode_combo.addItems(MODES)
        self.text_edit = QLineEdit()
        self.text_edit.setPlaceholderText("a barred spiral galaxy / flooded fields")
        self.template_edit = QLineEdit("{}")
        self.template_edit.setToolTip("Prompt template; {} takes the query text")
        self.shapes_combo = LayerCombo(napari_viewer, Shapes)
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 1000)
        self.k_spin.setValue(12)
        self.grid = HitGrid()
        self.results = self.grid.list
        self.index_panel = IndexPanel(self.folder_edit.text, self)

        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self.browse_button)
        form = QFormLayout()
        form.addRow("Collection", folder_row)
        form.addRow("", self.info)
        form.addRow("Model", self.model_line)
        form.addRow("Query by", self.mode_combo)
        form.addRow("Text", self.text_edit)
        form.addRow("Template", self.template_edit)
        form.addRow("Image", self.image_combo)
        form.addRow("Regions", self.shapes_combo)
        form.addRow("Hits", self.k_spin)
        self._form = form
        self.skeleton(form, self.index_panel, run_row=self.run_row(), results=self.grid)

        self.browse_button.clicked.connect(self._browse)
        self.folder_edit.editingFinished.connect(
            lambda: self.open_collection(self.folder_edit.text())
        )
        self.folder_edit.textChanged.connect(self.index_panel.validate)
        self.index_panel.indexed.connect(self._on_indexed)
        self.mode_combo.currentTextChanged.connect(self._on_mode)
        self.text_edit.returnPressed.connect(self.search)
        self.search_button.clicked.connect(self.search)
        self.grid.opened.connect(self.open_hit)
        self.folder_edit.textChanged.connect(self.validate)
        self._on_mode(self.mode_combo.currentText())
        self.validate()

    # -- which model ---------------------------------------------------------------
    def model_choice(self) -> ModelChoice:
        """The open collection's own model, or the panel's CLIP for a new collection."""
        if getattr(self, "collection", None) is not None:
            model, weights = self.collection.model_spec
            if model:
                return collection_choice(model, weights)
        return self.models.settings.clip

    def _own_model(self) -> bool:
        col = getattr(self, "collection", None)
        return col is not None and bool(col.model_spec[0])

    def problem(self) -> str:
        """Why Search cannot run now: the collection's model cannot (offline)."""
        return model_problem(self.model_choice()) if self._own_model() else ""

    def validate(self, *_) -> bool:
        """Say which model searching and indexing use, then enable or explain."""
        if not hasattr(self, "model_line"):
            return super().validate()
        choice = self.model_choice()
        self.model_line.setText(
            f"{choice.label} (the collection's own model; the panel's CLIP is for new collections)"
            if self._own_model()
            else f"{choice.label} (from the panel above: a new collection is embedded with it)"
        )
        if hasattr(self, "index_panel"):
            self.index_panel.validate()
        return super().validate()

    # -- collection ----------------------------------------------------------------
    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Collection folder")
        if folder:
            self.folder_edit.setText(folder)
            self.open_collection(folder)

    def open_collection(self, folder: str, reload: bool = False) -> bool:
        """Open the collection at ``folder`` (again with ``reload``); shows its size and
        model, or the problem."""
        same = self.collection is not None and str(self.collection.folder) == folder
        if same and not reload:
            return True
        if self.collection is not None:
            old = self.collection
            if self.job_panel.busy:  # the running search reads it: close it afterwards
                self.job_panel.job.ended.connect(old.close)
            else:
                old.close()
            self.collection = None
        if not folder.strip():
            self.info.setText("No collection open.")
            return False
        if not (Path(folder) / DB_NAME).exists() and not Path(folder).is_file():
            self.info.setText(
                f"{folder} is not a collection yet: add image folders below and click "
                "Index to build one there."
            )
            return False
        try:
            self.collection = Collection(folder)
        except ClipcapError as exc:
            self.info.setText(str(exc))
            return False
        self.folder_edit.setText(folder)
        # which model a (received) collection asks for, before anything loads it
        asked = describe_collection_model(folder)
        model = asked["text"] if asked else "no model yet"
        self.info.setText(f"{len(self.collection)} images; {model}")
        self.validate()
        return True

    def _on_indexed(self, folder: str) -> None:
        self.open_collection(folder, reload=True)

    def _on_mode(self, mode: str) -> None:
        for widget, shown in (
            (self.text_edit, mode == "Text"),
            (self.template_edit, mode == "Text"),
            (self.image_combo, mode != "Text"),
            (self.shapes_combo, mode == "Drawn region"),
        ):
            widget.setVisible(shown)
            self._form.labelForField(widget).setVisible(shown)

    # -- searching -----------------------------------------------------------------
    def request(self) -> SearchRequest:
        """The :class:`~napari_clipcap.core.collection.requests.SearchRequest` the
        widgets describe, built once per search (in the Qt thread; a layer's pixels are
        read in the worker). An image layer read from a file is queried as the command
        reads that file; any other layer is its pixels, with no command.

        Raises
        ------
        InvalidInputError
            When the query is incomplete (no text, no image layer, no shape on it).
        """
        s = SharedSettings.instance().settings
        common = {"index": self.folder_edit.text().strip(), "k": self.k_spin.value()}
        common["device"] = s.device
        mode = self.mode_combo.currentText()
        if mode == "Text":
            if not self.text_edit.text().strip():
                raise InvalidInputError("type a text query")
            return SearchRequest(
                text=self.text_edit.text(), template=self.template_edit.text(), **common
            )
        image = self.image_combo.layer()
        if image is None:
            raise InvalidInputError("open or select an image layer to search with")
        plane = displayed_plane(self.viewer, image, s.domain)
        region = self._region(image) if mode == "Drawn region" else None
        layer = dock_image(image, plane)
        if layer.why_no_command() is None:
            hdu = None if layer.hdu is None else int(layer.hdu)
            return SearchRequest(image=layer.path, hdu=hdu, region=region, **common)
        pixels = replace(layer, pixels=lambda: (plane.model_input(), None))
        return SearchRequest(layer=pixels, region=region, **common)

    def _region(self, image):
        """The drawn shape searched with: the selected one, else the last one."""
        shapes = self.shapes_combo.layer()
        if shapes is None or len(shapes.data) == 0:
            raise InvalidInputError("draw a rectangle or polygon in a Shapes layer")
        kept, _, regions = shape_regions(shapes, image)
        if not kept:
            raise InvalidInputError("no shape overlaps the image")
        selected = [kept.index(i) for i in sorted(shapes.selected_data) if i in kept]
        return regions[selected[-1] if selected else -1]

    def search(self) -> None:
        """Run the search request in a worker; the hits replace the grid when it ends."""
        if self.job_panel.busy:
            return
        if not self.open_collection(self.folder_edit.text()):
            self.job_panel.set_status(self.info.text(), error=True)
            return
        try:
            request = self.request()
        except ClipcapError as exc:
            self.job_panel.set_status(str(exc), error=True)
            return
        col = self.collection
        model, weights = col.model_spec
        if not model:
            self.job_panel.set_status("The collection holds no images yet.", error=True)
            return
        choice = collection_choice(model, weights)
        precision = SharedSettings.instance().settings.precision  # as clicked

        def job(progress, cancel):
            from ....core.io.sources import decode_thumbnails

            clip = STORE.clip(choice, request.device, precision)
            result = request.run(clip=clip, collection=col)
            hits = result.extra["hits"]
            page_one = col.thumbnails([h.item.id for h in hits[:PAGE]])
            return result, decode_thumbnails(page_one)  # decoded here, off the Qt thread

        def done(found) -> None:
            result, thumbs = found
            self.copy_command_button.set_record(result.provenance())
            self.show_hits((result.extra["hits"], thumbs))

        sources = [] if request.text is not None else [
            self.image_combo.layer(), self.shapes_combo.layer()]  # fmt: skip
        self.start(job, "Collection search", done, sources=sources)

    def show_hits(self, result) -> None:
        """Show ``(hits, decoded thumbnails of the first page)``; other pages read and
        decode theirs off the Qt thread when shown (:class:`.hit_grid.HitGrid`)."""
        self.hits, thumbs = result
        col = self.collection
        fetch = col.thumbnails if col is not None else (lambda ids: {})
        self.grid.set_hits(self.hits, thumbs, fetch)
        self.job_panel.set_status(f"{len(self.hits)} hits.")

    def open_hit(self, index: int):
        """Open hit ``index`` as an image layer (FITS: only its HDU); returns the layer."""
        hit = self.hits[index]
        try:
            data, kwargs = hit_layer_data(hit.item.path, hit.item.hdu)
        except Exception as exc:  # any reader's error on a file changed since indexing
            why = error_line(exc)
            self.job_panel.set_status(f"Cannot open {hit.item.path}: {why}", error=True)
            return None
        # the new layer becomes the active one: keep the query image and shapes as chosen
        query = self.image_combo.layer(), self.shapes_combo.layer()
        layer = self.viewer.add_image(data, **kwargs)
        for combo, chosen in zip((self.image_combo, self.shapes_combo), query):
            if chosen is not None and chosen in self.viewer.layers:
                combo.set_layer(chosen)
        return layer
