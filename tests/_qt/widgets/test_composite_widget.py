"""The band composite dock widget over a GeoTIFF band stack."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.geotiffs import make_lonlat_tif, make_s2_tif
from napari_clipcap._qt.widgets.composite_widget import CUSTOM, CompositeWidget
from napari_clipcap.core.scaling.composites import band_limits, composite


@pytest.fixture
def widget(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    viewer.open(str(make_s2_tif(tmp_path)), plugin="napari-clipcap")
    w = CompositeWidget(viewer)
    qtbot.addWidget(w)
    return viewer, w


def _choose(w, key):
    w.preset_combo.setCurrentIndex(w.preset_combo.findData(key))


def test_offers_band_stacks_and_fills_preset_bands(widget):
    _, w = widget
    assert [w.layer_combo.itemText(i) for i in range(w.layer_combo.count())] == ["s2 bands"]
    _choose(w, "s2-swir")
    assert w.bands() == (12, 8, 3)
    assert not w.band_combos[0].isEnabled()


def test_false_colour_layer_is_the_model_input(widget):
    viewer, w = widget
    _choose(w, "s2-false")
    layer = w.show_composite()
    assert layer.name == "s2 [Sentinel-2 false colour (B08, B04, B03)]"
    assert layer.rgb and layer.multiscale and viewer.layers.selection.active is layer
    assert layer.metadata["composite"]["bands"] == ["B08", "B04", "B03"]
    assert layer.metadata["epsg"] == 32633  # still georeferenced: map coordinates work
    bands = viewer.layers["s2 bands"]
    limits = band_limits(bands.data[-1], [7, 3, 2])
    want = composite(np.asarray(bands.data[0]), [7, 3, 2], limits=limits)
    np.testing.assert_allclose(np.asarray(layer.data[0]), want)


def test_custom_bands_and_stretch_update_in_place(widget):
    viewer, w = widget
    w.preset_combo.setCurrentIndex(w.preset_combo.findText(CUSTOM))
    assert w.band_combos[0].isEnabled()
    for combo, i in zip(w.band_combos, (10, 5, 0)):
        combo.setCurrentIndex(i)
    first = w.show_composite()
    assert first.name == "s2 [B10, B06, B01]"
    n = len(viewer.layers)
    w.lower_spin.setValue(10.0)
    again = w.show_composite()
    assert again is first and len(viewer.layers) == n
    assert "10-98" in w.message.text()


def test_preset_that_does_not_fit_is_explained(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    viewer.open(str(make_lonlat_tif(tmp_path)), plugin="napari-clipcap")
    layer = viewer.layers[0]
    layer.metadata = {**layer.metadata, "band_names": ["red", "green", "blue"]}
    w = CompositeWidget(viewer)
    qtbot.addWidget(w)
    w.layer_combo._refill()
    _choose(w, "s2-swir")
    assert "needs bands" in w.message.text()


def _big_stack_widget(make_napari_viewer, qtbot, lazy=True):
    import dask.array as da

    viewer = make_napari_viewer()
    data = np.random.default_rng(0).random((3, 2000, 2000), dtype=np.float32)
    data = da.from_array(data, chunks=(1, 500, 500)) if lazy else data
    viewer.add_image(data, name="big bands", metadata={"band_names": ["R", "G", "B"]})
    w = CompositeWidget(viewer)
    qtbot.addWidget(w)
    w.preset_combo.setCurrentIndex(w.preset_combo.findText(CUSTOM))
    for combo, i in zip(w.band_combos, (0, 1, 2)):
        combo.setCurrentIndex(i)
    return viewer, w


def test_scene_without_overviews_measures_limits_on_a_sample(
    make_napari_viewer, qtbot, monkeypatch
):
    """The stretch is measured in the Qt thread: on a strided sample, not every pixel of
    a full-resolution scene, so napari does not freeze."""
    import napari_clipcap._qt.widgets.composite_widget as cw

    seen = []

    def recording(bands, indices, interval=None):
        seen.append(bands.shape)
        return band_limits(bands, indices, interval)

    monkeypatch.setattr(cw, "band_limits", recording)
    _, w = _big_stack_widget(make_napari_viewer, qtbot)
    layer = w.show_composite()
    assert layer is not None and layer.data.shape == (2000, 2000, 3)
    (shape,) = seen
    assert shape[0] == 3 and shape[1] * shape[2] <= cw.LIMIT_SAMPLE


def test_unreadable_bands_are_a_message_not_a_traceback(make_napari_viewer, qtbot, monkeypatch):
    import napari_clipcap._qt.widgets.composite_widget as cw

    def broken(*args, **kwargs):
        raise OSError("s2.tif: No such file or directory")

    monkeypatch.setattr(cw, "band_limits", broken)
    shown: list[str] = []
    monkeypatch.setattr(cw, "show_error", shown.append, raising=False)
    viewer, w = _big_stack_widget(make_napari_viewer, qtbot)
    n = len(viewer.layers)
    with qtbot.captureExceptions() as raised:
        w.show_button.click()
    assert raised == [] and len(viewer.layers) == n
    assert len(shown) == 1 and "No such file" in w.message.text()


def test_numpy_band_stack_gives_a_composite(make_napari_viewer, qtbot):
    """A band stack held in memory (not the reader's dask) composites like a lazy one."""
    viewer, w = _big_stack_widget(make_napari_viewer, qtbot, lazy=False)
    with qtbot.captureExceptions() as raised:
        layer = w.show_composite()
    assert raised == []
    assert layer is not None and layer.rgb and layer.data.shape == (2000, 2000, 3)
    data = viewer.layers["big bands"].data
    want = composite(data, [0, 1, 2], limits=band_limits(data[:, ::2, ::2], [0, 1, 2]))
    np.testing.assert_allclose(np.asarray(layer.data[:50, :50]), want[:50, :50], atol=1e-3)


def test_without_a_band_stack_the_dock_says_why(make_napari_viewer, qtbot):
    import numpy as np

    from napari_clipcap._qt.widgets.composite_widget import CompositeWidget

    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((8, 8, 3), np.uint8), name="photo")
    widget = CompositeWidget(viewer)
    qtbot.addWidget(widget)
    assert not widget.show_button.isEnabled()
    assert "band stack" in widget.message.text() and "Sentinel-2" in widget.message.text()
    assert widget.show_button.toolTip() == widget.message.text()
