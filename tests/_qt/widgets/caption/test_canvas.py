"""Caption dock, presentation: readable cells, numbered shapes, legible and visible
canvas text, word links next to the table, shapes outside the image reported."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.qt_jobs import wait_job
from napari_clipcap._napari.layers import camera_of
from napari_clipcap._napari.models.specs import CUSTOM, ModelChoice
from napari_clipcap._napari.region_text import DARK_TEXT, numbers_layer_name
from napari_clipcap._qt.models.panel import SharedSettings
from napari_clipcap._qt.widgets.caption.results import WORDS_HINT, CaptionResults
from napari_clipcap._qt.widgets.caption.widget import REGIONS_LAYER, CaptionWidget

LONG = (
    "a very long caption about many buildings and green trees that are located in a "
    "dense residential area next to a river and a road"
)


class _Echo:
    """Captions piece ``i`` as ``region <i>`` (a Captioner: it has a name)."""

    name = "echo"

    def caption(self, pieces, *, progress=None, cancel=None, **opts):
        if progress is not None:
            progress(len(pieces), len(pieces))
        return [[f"region {i}"] for i in range(len(pieces))]


@pytest.fixture
def echo(monkeypatch):
    import napari_clipcap._qt.widgets.caption.widget as cw

    class Store:
        def captioner(self, *args):
            return _Echo()

    monkeypatch.setattr(cw, "STORE", Store())


@pytest.fixture
def captioning(make_napari_viewer, qtbot, tiny_clip_choice, notifications, echo, tmp_path):
    # a local captioner (the echo store answers for it): the default preset is not
    # downloaded here and the hub is offline, which disables the Caption button (and so
    # would a folder that does not exist)
    (tmp_path / "local-echo").mkdir()
    SharedSettings.instance().update(
        captioner=ModelChoice(preset=CUSTOM, kind="blip", weights=str(tmp_path / "local-echo"))
    )
    viewer = make_napari_viewer()
    img = np.full((96, 128, 3), 20, np.uint8)
    img[:, 64:] = 250  # right half bright
    viewer.add_image(img, name="scene")
    widget = CaptionWidget(viewer)
    qtbot.addWidget(widget)
    return viewer, widget


def test_cells_wrap_and_show_their_full_text_on_hover(qtbot):
    view = CaptionResults()
    qtbot.addWidget(view)
    view.resize(420, 400)
    view.show()
    label = "clipcap:tiny-clipcap-overhead-with-a-long-checkpoint-name"
    view.set_results([{"region": "shape 0", "captioner": label, "captions": ["short.", LONG]}])
    qtbot.waitExposed(view)
    tree = view.tree
    short, long = tree.topLevelItem(0), tree.topLevelItem(1)
    assert long.toolTip(2) == LONG and long.toolTip(1) == label and long.toolTip(0) == "shape 0"
    assert tree.wordWrap()
    # the long caption wraps onto several lines instead of being cut
    assert tree.visualItemRect(long).height() >= 2 * tree.visualItemRect(short).height()


def test_word_links_sit_right_next_to_the_table(qtbot):
    view = CaptionResults()
    qtbot.addWidget(view)
    view.resize(420, 600)
    view.show()
    assert view.words.text() == WORDS_HINT
    view.set_results([{"region": "r", "captioner": "c", "captions": ["a spiral galaxy."]}])
    qtbot.waitExposed(view)
    assert "spiral</a>" in view.words.text()
    gap = view.tree.geometry().top() - view.words.geometry().bottom()
    assert 0 <= gap < 20  # just above the table, not below its empty space


def test_shapes_are_numbered_on_the_canvas_like_the_table(captioning, qtbot):
    viewer, w = captioning
    rects = [np.array([[10.0, 20.0], [40.0, 60.0]]), np.array([[50.0, 70.0], [90.0, 120.0]])]
    shapes = viewer.add_shapes(rects, shape_type="rectangle", name="regions", scale=(1, 1))
    w.scope_combo.setCurrentText("Each shape")
    w.shapes_combo.set_layer(shapes)
    w.caption_button.click()
    wait_job(qtbot, w)
    numbers = viewer.layers[numbers_layer_name(shapes)]
    assert list(numbers.text.values) == ["0", "1"]
    assert [r["region"] for r in w.results] == ["shape 0", "shape 1"]
    # each badge at its shape's lower-left corner
    np.testing.assert_allclose(numbers.data, [[40.0, 20.0], [90.0, 70.0]])
    assert viewer.layers.selection.active is not numbers
    # the badges follow the shapes: a deleted shape renumbers the rest
    shapes.selected_data = {0}
    shapes.remove_selected()
    assert list(numbers.text.values) == ["0"]
    np.testing.assert_allclose(numbers.data, [[90.0, 70.0]])
    viewer.layers.remove(shapes)
    assert numbers not in viewer.layers


def test_caption_text_contrasts_with_the_ground_under_it(captioning, qtbot):
    viewer, w = captioning
    camera_of(viewer).zoom = 4.0
    # one shape whose text lies over the dark left half, one over the bright right half
    rects = [np.array([[40.0, 4.0], [80.0, 30.0]]), np.array([[40.0, 80.0], [80.0, 120.0]])]
    shapes = viewer.add_shapes(rects, shape_type="rectangle")
    w.scope_combo.setCurrentText("Each shape")
    w.shapes_combo.set_layer(shapes)
    w.caption_button.click()
    wait_job(qtbot, w)
    colours = shapes.text._view_color(np.arange(2))
    np.testing.assert_allclose(colours[0], [1, 1, 1, 1])
    dark = np.array([int(DARK_TEXT[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    np.testing.assert_allclose(colours[1][:3], dark, atol=1e-3)


def test_field_of_view_caption_is_written_inside_the_view(captioning, qtbot):
    viewer, w = captioning
    camera_of(viewer).center = (0, 48, 64)
    camera_of(viewer).zoom = viewer.canvas.size[1] / 32
    w.scope_combo.setCurrentText("Field of view")
    w.caption_button.click()
    wait_job(qtbot, w)
    layer = viewer.layers[REGIONS_LAYER]
    (yx,), _, _ = layer._view_text_coords
    x0, y0, x1, y1 = w.results[0]["box"]
    # napari draws upper_left text above its anchor: the anchor must be a line below
    # the top of the view (pixel edges at -0.5), and left of the right edge
    top = y0 - 0.5
    assert top + 12 / camera_of(viewer).zoom < yx[0] < y1 and x0 - 0.5 <= yx[1] < x1


def test_shape_outside_the_image_is_reported(captioning, qtbot):
    viewer, w = captioning
    rects = [np.array([[10.0, 20.0], [40.0, 60.0]]), np.array([[500.0, 500.0], [600.0, 600.0]])]
    shapes = viewer.add_shapes(rects, shape_type="rectangle")
    w.scope_combo.setCurrentText("Each shape")
    w.shapes_combo.set_layer(shapes)
    w.caption_button.click()
    wait_job(qtbot, w)
    assert len(w.results) == 1
    assert "Shape 1 is outside the image" in w.job_panel.status.text()


def test_caption_job_shows_regions_done_of_total(captioning, qtbot, monkeypatch):
    import threading

    import napari_clipcap._qt.widgets.caption.widget as cw

    gate = threading.Event()

    class Half:
        def caption(self, pieces, *, progress=None, cancel=None, **opts):
            progress(1, len(pieces))
            gate.wait(10)
            return [["x"] for _ in pieces]

    class Store:
        def captioner(self, *args):
            return Half()

    monkeypatch.setattr(cw, "STORE", Store())
    viewer, w = captioning
    rects = [np.array([[10.0, 20.0], [40.0, 60.0]]), np.array([[50.0, 70.0], [90.0, 120.0]])]
    w.scope_combo.setCurrentText("Each shape")
    w.shapes_combo.set_layer(viewer.add_shapes(rects, shape_type="rectangle"))
    w.caption_button.click()
    try:
        qtbot.waitUntil(lambda: w.job_panel.bar.text() == "1 of 2 regions (50%)", timeout=20000)
    finally:
        gate.set()
    wait_job(qtbot, w)


def test_re_captioning_is_quiet_on_the_console(captioning, qtbot, recwarn):
    """No napari 'Applying the encoding failed' warning when the captions are redrawn."""
    _viewer, w = captioning
    for _ in range(2):
        w.caption_button.click()
        wait_job(qtbot, w)
    noisy = [str(r.message) for r in recwarn if "encoding failed" in str(r.message)]
    assert not noisy


def _dark():
    return np.array([int(DARK_TEXT[i : i + 2], 16) / 255 for i in (1, 3, 5)])


def test_caption_text_colour_follows_zoom_and_contrast(captioning, qtbot):
    """Dark text over the bright half; zoomed out the text runs onto the black canvas
    and turns light; contrast limits that darken the image turn it light as well."""
    viewer, w = captioning
    image = viewer.layers["scene"]
    camera_of(viewer).zoom = 4.0
    rects = [np.array([[40.0, 80.0], [80.0, 120.0]])]
    shapes = viewer.add_shapes(rects, shape_type="rectangle")
    w.scope_combo.setCurrentText("Each shape")
    w.shapes_combo.set_layer(shapes)
    w.caption_button.click()
    wait_job(qtbot, w)

    def colour():
        return shapes.text._view_color(np.arange(1))[0][:3]

    np.testing.assert_allclose(colour(), _dark(), atol=1e-3)
    camera_of(viewer).zoom = 0.3  # the text is now far wider than the image: over the canvas
    np.testing.assert_allclose(colour(), [1, 1, 1])
    camera_of(viewer).zoom = 4.0
    np.testing.assert_allclose(colour(), _dark(), atol=1e-3)
    image.contrast_limits = (0, 2550)  # the bright half shows dark grey now
    np.testing.assert_allclose(colour(), [1, 1, 1])


def test_field_of_view_caption_keeps_a_margin_when_zoomed_in(captioning, qtbot):
    """Zoomed in, the view's box reaches a pixel edge past the canvas; the text still
    starts a margin below the top of the view, not under the canvas edge."""
    viewer, w = captioning
    viewer.window._qt_window.resize(900, 700)
    camera_of(viewer).center = (0, 40.3, 64.3)
    camera_of(viewer).zoom = 30.0  # one image pixel is 30 screen pixels
    w.scope_combo.setCurrentText("Field of view")
    w.caption_button.click()
    wait_job(qtbot, w)
    layer = viewer.layers[REGIONS_LAYER]
    (yx,), _, _ = layer._view_text_coords
    height = viewer.canvas.size[0]
    view_top = camera_of(viewer).center[-2] - height / 2 / camera_of(viewer).zoom
    # upper_left text is drawn above its anchor: a line (16 px) and a margin below the top
    assert (yx[0] - view_top) * camera_of(viewer).zoom >= 24
