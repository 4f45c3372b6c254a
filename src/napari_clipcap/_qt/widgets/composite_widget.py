"""Dock widget: show any three bands of a multispectral scene as an RGB composite.

The composite is a lazy (multiscale when the scene has overviews) float RGB layer in
``[0, 1]`` placed over the band stack; it is what the caption, label and heatmap widgets
feed to the models, so choosing false colour or SWIR here changes what CLIP sees.
"""

from __future__ import annotations

import math

import dask.array as da
from napari.layers import Image
from napari.utils.notifications import show_error
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...core.coords.georef import geo_subset
from ...core.errors import ClipcapError
from ...core.scaling.composites import COMPOSITES, band_limits, lazy_composite, resolve_rgb
from ...core.scaling.intervals import PercentileInterval
from ..first_view import scroll_contents
from ..layer_combo import LayerCombo

CUSTOM = "Custom bands"
#: About how many pixels per band the stretch limits are measured on: this runs in
#: the Qt thread, and a scene without overviews has only its full-resolution level.
LIMIT_SAMPLE = 1_000_000


def limit_sample(level):
    """``level`` (bands, rows, cols), strided down to about :data:`LIMIT_SAMPLE` pixels."""
    rows, cols = level.shape[-2:]
    step = max(1, math.ceil(math.sqrt(rows * cols / LIMIT_SAMPLE)))
    return level[:, ::step, ::step] if step > 1 else level


class BandStackCombo(LayerCombo):
    """Image layers that are band stacks with band names (from the GeoTIFF reader)."""

    def accepts(self, layer) -> bool:
        names = (layer.metadata or {}).get("band_names") or []
        data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
        return (
            isinstance(layer, Image)
            and not layer.rgb
            and data.ndim == 3
            and data.shape[0] == len(names) >= 3
        )


#: What the dock says while no layer with named bands is open.
NO_BANDS = (
    "A composite needs a multispectral band stack: open a GeoTIFF scene with several "
    "bands (File > Open, or File > Open Sample > Synthetic Sentinel-2 scene)."
)


class CompositeWidget(QWidget):
    """Choose a band stack, a preset or three bands, and the percentile stretch."""

    def __init__(self, napari_viewer, parent: QWidget | None = None):
        super().__init__(parent)
        viewer = self.viewer = napari_viewer  # napari injects the viewer by this name
        self.layer_combo = BandStackCombo(viewer, Image)
        self.preset_combo = QComboBox()
        for key, preset in COMPOSITES.items():
            self.preset_combo.addItem(preset.label, key)
        self.preset_combo.addItem(CUSTOM, None)
        self.band_combos = [QComboBox() for _ in range(3)]
        self.lower_spin = QDoubleSpinBox(minimum=0.0, maximum=50.0, value=2.0, singleStep=0.5)
        self.upper_spin = QDoubleSpinBox(minimum=50.0, maximum=100.0, value=98.0, singleStep=0.5)
        self.show_button = QPushButton("Show composite")
        self.message = QLabel("")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Bands of", self.layer_combo)
        form.addRow("Composite", self.preset_combo)
        bands = QHBoxLayout()
        for combo in self.band_combos:
            bands.addWidget(combo)
        form.addRow("R, G, B", bands)
        stretch = QHBoxLayout()
        stretch.addWidget(self.lower_spin)
        stretch.addWidget(self.upper_spin)
        form.addRow("Percentiles", stretch)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.show_button)
        layout.addWidget(self.message)
        layout.addStretch(1)

        self.layer_combo.layer_changed.connect(self._fill_bands)
        self.preset_combo.currentIndexChanged.connect(self._on_preset)
        self.show_button.clicked.connect(self.show_composite)
        self._fill_bands(self.layer_combo.layer())
        scroll_contents(self)  # usable in a short window: scrolls inside

    def _fill_bands(self, layer) -> None:
        names = list((layer.metadata or {}).get("band_names") or []) if layer else []
        for combo in self.band_combos:
            combo.clear()
            combo.addItems(names)
        self.show_button.setEnabled(bool(names))
        self._on_preset()
        if not names:
            why = NO_BANDS if layer is None else f"{layer.name} is not a band stack. " + NO_BANDS
            self.message.setText(why)
            self.show_button.setToolTip(why)
        else:
            self.show_button.setToolTip("Add the RGB composite of the chosen bands")

    def _on_preset(self, *_) -> None:
        """Show the preset's bands in the R, G, B boxes (editable only for custom)."""
        key = self.preset_combo.currentData()
        layer = self.layer_combo.layer()
        custom = key is None
        for combo in self.band_combos:
            combo.setEnabled(custom)
        if custom or layer is None:
            return
        try:
            idx = resolve_rgb(key, layer.metadata["band_names"])
        except ClipcapError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText("")
        for combo, i in zip(self.band_combos, idx):
            combo.setCurrentIndex(i)

    def bands(self) -> tuple[int, int, int]:
        """Band indices of R, G and B as chosen."""
        return tuple(combo.currentIndex() for combo in self.band_combos)  # type: ignore[return-value]

    def show_composite(self):
        """Add (or update) the composite layer over the chosen band stack."""
        layer = self.layer_combo.layer()
        if layer is None:
            self.message.setText("Open a multispectral scene (GeoTIFF) first.")
            return None
        names = layer.metadata["band_names"]
        idx = self.bands()
        key = self.preset_combo.currentData()
        label = COMPOSITES[key].label if key else ", ".join(names[i] for i in idx)
        levels = list(layer.data) if layer.multiscale else [layer.data]
        interval = PercentileInterval(
            lower_percentile=self.lower_spin.value(), upper_percentile=self.upper_spin.value()
        )
        try:  # the coarsest level, strided: a small read
            limits = band_limits(limit_sample(levels[-1]), idx, interval)
            # lazy_composite maps dask blocks: a NumPy band stack is wrapped first
            data = [lazy_composite(da.asarray(level), idx, limits) for level in levels]
        except (ClipcapError, OSError, ValueError) as exc:  # e.g. the file went away
            self.message.setText(f"Cannot read the bands of {layer.name}: {exc}")
            show_error(f"Band composite: {exc}")
            return None
        base = layer.name.removesuffix(" bands")
        name = f"{base} [{label}]"
        metadata = {
            **geo_subset(layer.metadata),
            "band_names": list(names),
            "composite": {
                "preset": key,
                "label": label,
                "bands": [names[i] for i in idx],
                "limits": [list(lim) for lim in limits],
            },
        }
        placement = {"scale": layer.scale[-2:], "translate": layer.translate[-2:]}
        if name in self.viewer.layers:
            out = self.viewer.layers[name]
            out.data = data if layer.multiscale else data[0]
            out.metadata = metadata
        else:
            out = self.viewer.add_image(
                data if layer.multiscale else data[0],
                name=name,
                rgb=True,
                multiscale=layer.multiscale,
                contrast_limits=(0.0, 1.0),
                metadata=metadata,
                **placement,
            )
        self.viewer.layers.selection.active = out
        self.message.setText(
            f"{name}: stretch {interval.lower_percentile:g}-"
            f"{interval.upper_percentile:g} percentiles per band."
        )
        return out
