"""Text on the canvas for caption and label results: legible, numbered, in view.

- Each region's text gets a colour that contrasts with the pixels under it: dark text
  over bright ground (fields, snow, a saturated star), light text elsewhere.
- Each shape of a captioned or labelled Shapes layer gets a numbered badge (a light
  number on a dark square of constant screen size) at its lower-left corner, in a
  Points layer that follows the shapes: the number is the shape's index in the layer,
  the same number as in the docks' tables.
- A field-of-view caption is written just inside the top of the view, not above it.
"""

from __future__ import annotations

import weakref

import numpy as np

from .layers import META_KEY, camera_of

#: Text colours: over dark ground the docks' own colours, over bright ground this one.
DARK_TEXT = "#101418"
#: Mean sRGB luminance (0..1) above which dark text contrasts more than light text.
BRIGHT = 0.45
#: Rough size of one character of canvas text, in screen pixels (size 10-11 text).
CHAR_PX, LINE_PX = 7.0, 16.0
#: Badge size in screen pixels.
BADGE_PX = 20


def screen_pixel(plane, zoom: float) -> float:
    """Image pixels per screen pixel for ``plane`` (a :class:`~.layers.Plane`) at ``zoom``."""
    world_per_pixel = float(np.sqrt(abs(np.linalg.det(np.asarray(plane.affine)[:2, :2]))))
    return 1.0 / max(zoom * world_per_pixel, 1e-12)


def text_rect(box, text: str, pixel: float, *, inside: bool = False) -> tuple:
    """Where text anchored at the upper left of ``box`` lies, in image pixels.

    ``(x0, y0, x1, y1)``: above the box (napari's ``upper_left`` anchor), or with
    ``inside`` the first line inside it (see :func:`inside_translation`).
    """
    x0, y0 = float(box[0]), float(box[1])
    width, height = max(len(text), 1) * CHAR_PX * pixel, LINE_PX * pixel
    top = y0 + (height + 4 * pixel if inside else 0.0) - height
    return (x0, top, x0 + width, top + height)


def ground_luminance(image: np.ndarray, rects) -> list[float]:
    """Mean luminance of ``image`` (H x W x 3 in [0, 1]) under each rect.

    Parts outside the image count as the canvas (black); NaN pixels are ignored.
    """
    height, width = image.shape[:2]
    out = []
    for x0, y0, x1, y1 in rects:
        c0, c1 = int(np.clip(np.floor(x0), 0, width)), int(np.clip(np.ceil(x1), 0, width))
        r0, r1 = int(np.clip(np.floor(y0), 0, height)), int(np.clip(np.ceil(y1), 0, height))
        total = max((np.ceil(x1) - np.floor(x0)) * (np.ceil(y1) - np.floor(y0)), 1.0)
        patch = np.asarray(image[r0:r1, c0:c1], dtype=np.float32)
        if patch.size == 0:
            out.append(0.0)
            continue
        lum = patch[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
        inside = float(np.nansum(lum))
        out.append(inside / total if np.isfinite(inside) else 0.0)
    return out


def contrast_colours(luminance, light: str) -> list[str]:
    """``light`` over dark ground, :data:`DARK_TEXT` over bright ground."""
    return [DARK_TEXT if v > BRIGHT else light for v in luminance]


def inside_translation(pixel_world: float, hidden: tuple[float, float] = (0.0, 0.0)) -> list:
    """Text translation (rows, columns; world units) that puts ``upper_left`` text
    inside the top-left corner of its box, a margin below the top; ``pixel_world`` is
    world units per screen pixel (``1 / zoom``), ``hidden`` how far (world rows,
    columns) the box's corner lies outside the view (a field-of-view box reaches to
    the pixel edges past the canvas)."""
    return [hidden[0] + (LINE_PX + 10) * pixel_world, hidden[1] + 8 * pixel_world]


def hidden_corner(viewer, rectangle) -> tuple[float, float]:
    """How far (world rows, columns) the top-left of ``rectangle`` (4 x 2 world
    vertices) lies above and left of the canvas's view."""
    camera = camera_of(viewer)
    height, width = viewer.canvas.size
    top = float(camera.center[-2]) - height / 2 / camera.zoom
    left = float(camera.center[-1]) - width / 2 / camera.zoom
    corner = np.asarray(rectangle, dtype=float).min(axis=0)
    return (max(top - corner[0], 0.0), max(left - corner[1], 0.0))


def set_text(layer, column: str, colours: list[str], light: str, **kwargs) -> None:
    """Show feature ``column`` as the text of ``layer`` in per-shape ``colours``."""
    features = layer.features.copy()
    n = len(layer.data)
    colours = list(colours)[:n] + [light] * max(n - len(colours), 0)
    features["clipcap_text_colour"] = colours
    layer.features = features
    layer.text = {
        "string": "{" + column + "}", "size": 10, "anchor": "upper_left",
        "color": {"feature": "clipcap_text_colour", "fallback": light}, **kwargs,
    }  # fmt: skip
    layer.refresh_text()


def outside_note(skipped: list[int], verb: str) -> str:
    """The status line part that reports shapes outside the image ('' if none)."""
    if not skipped:
        return ""
    nums = ", ".join(str(i) for i in skipped)
    if len(skipped) == 1:
        return f" Shape {nums} is outside the image: not {verb}."
    return f" Shapes {nums} are outside the image: not {verb}."


def fall_outside_note(outside: int, total: int) -> str:
    """What an import says of ``outside`` of its ``total`` regions that miss the image
    ('' if none): "3 regions fall outside the image", "all 5 regions ..."."""
    if not outside:
        return ""
    if outside == 1:
        return (
            "the region falls outside the image"
            if total == 1
            else ("1 region falls outside the image")
        )
    every = "all " if outside == total else ""
    return f"{every}{outside} regions fall outside the image"


# -- numbered badges -------------------------------------------------------------------
def badge_positions(shapes) -> np.ndarray:
    """The lower-left corner of each shape's bounding box, in the layer's data units."""
    if len(shapes.data) == 0:
        return np.zeros((0, shapes.ndim))
    out = []
    for vertices in shapes.data:
        v = np.asarray(vertices, dtype=float)
        corner = v.min(axis=0)
        corner[-2] = v[:, -2].max()
        out.append(corner)
    return np.array(out)


def numbers_layer_name(shapes) -> str:
    return f"{shapes.name} numbers"


def number_shapes(viewer, shapes):
    """Add (or refresh) the badge layer numbering the shapes of ``shapes``; it follows
    later edits of the shapes (added, moved, deleted) and their visibility."""
    name = numbers_layer_name(shapes)
    active = viewer.layers.selection.active
    if name in viewer.layers:
        layer = viewer.layers[name]
        _refresh_numbers(shapes, layer)
        return layer
    layer = viewer.add_points(
        badge_positions(shapes), name=name, ndim=shapes.ndim, symbol="square",
        size=1, canvas_size_limits=(BADGE_PX, BADGE_PX), face_color="#101418d0",
        border_color="#101418d0", border_width=0, border_width_is_relative=False,
        features={"number": [str(i) for i in range(len(shapes.data))]},
        text={"string": "{number}", "color": "white", "size": 9, "anchor": "center"},
        scale=shapes.scale, translate=shapes.translate, rotate=shapes.rotate,
        shear=shapes.shear, affine=shapes.affine, metadata={META_KEY: {"numbers": shapes.name}},
    )  # fmt: skip
    viewer.layers.selection.active = active

    def follow(event=None) -> None:
        action = str(getattr(event, "action", "") or "")
        if not action.endswith("ing") and layer in viewer.layers:
            _refresh_numbers(shapes, layer)

    def show(event=None) -> None:
        if layer in viewer.layers:
            layer.visible = shapes.visible

    def removed(event) -> None:
        if event.value is shapes and layer in viewer.layers:
            viewer.layers.remove(layer)

    shapes.events.data.connect(follow)
    shapes.events.visible.connect(show)
    viewer.layers.events.removed.connect(removed)
    return layer


def _refresh_numbers(shapes, layer) -> None:
    positions = badge_positions(shapes)
    layer.data = positions
    layer.features = {"number": [str(i) for i in range(len(positions))]}
    layer.refresh_text()


# -- caption text --------------------------------------------------------------------
def caption_shapes(shapes, kept: list[int], out: list[tuple[str, list[list[str]]]], colours=()):
    """Show captions on shapes: ``caption`` (first captioner) as text, in ``colours``
    (one per kept shape), and one ``caption:<captioner>`` feature per captioner; shapes
    not captioned get ''."""
    n = len(shapes.data)
    features = shapes.features.copy()
    for k, (label, caps) in enumerate(out):
        col = [""] * n
        for i, c in zip(kept, caps):
            col[i] = c[0] if c else ""
        features[f"caption:{label}"] = col
        if k == 0:
            features["caption"] = list(col)
    shapes.features = features
    per_shape = ["white"] * n
    for i, colour in zip(kept, colours):
        per_shape[i] = colour
    set_text(shapes, "caption", per_shape, "white")


def caption_boxes(viewer, name: str, rects, captions: list[str], colours=(), translation=0):
    """Add, or update in place, a Shapes layer of captioned boxes (world rectangles);
    ``translation`` (world units) moves the text, e.g. inside a field-of-view box."""
    # the text colour column stays while the text refers to it (napari warns
    # "Applying the encoding failed" when features drop it); set_text fills it below
    features = {"caption": captions, "clipcap_text_colour": ["white"] * len(captions)}
    if name in viewer.layers:
        layer = viewer.layers[name]
        layer.data = []
        layer.add_rectangles(rects)
        layer.features = features
    else:
        layer = viewer.add_shapes(
            rects, shape_type="rectangle", name=name, features=features,
            edge_color="white", face_color="transparent", edge_width=2,
        )  # fmt: skip
    set_text(layer, "caption", list(colours) or ["white"] * len(rects), "white",
             size=11, translation=translation)  # fmt: skip
    return layer


# -- text colour that follows the view ------------------------------------------------
def shown_luminance(image_layer, plane, rects) -> list[float]:
    """Mean luminance of ``image_layer``'s plane as the canvas shows it now (scaled by
    the layer's contrast limits and gamma) under each rect; outside the image counts
    as the black canvas. Only the pixels under the rects are read."""
    lo, hi = (float(v) for v in image_layer.contrast_limits)
    span = hi - lo if hi > lo else 1.0
    gamma = float(getattr(image_layer, "gamma", 1.0) or 1.0)
    index = tuple(plane.index or ())
    weights = np.array([0.299, 0.587, 0.114], np.float32)
    out = []
    for x0, y0, x1, y1 in rects:
        total = max((np.ceil(x1) - np.floor(x0)) * (np.ceil(y1) - np.floor(y0)), 1.0)
        c0, c1 = (int(np.clip(v, 0, plane.width)) for v in (np.floor(x0), np.ceil(x1)))
        r0, r1 = (int(np.clip(v, 0, plane.height)) for v in (np.floor(y0), np.ceil(y1)))
        patch = np.asarray(plane.data[(*index, slice(r0, r1), slice(c0, c1))], np.float32)
        if patch.size == 0:
            out.append(0.0)
            continue
        shown = np.clip((patch - lo) / span, 0.0, 1.0) ** gamma
        lum = shown[..., :3] @ weights if plane.rgb else shown
        inside = float(np.nansum(lum))
        out.append(inside / total if np.isfinite(inside) else 0.0)
    return out


#: The colour follower of each text layer (one: the latest result's).
_FOLLOWERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def follow_view(viewer, text_layer, image_layer, plane, placed, light: str) -> None:
    """Keep the text of ``text_layer`` legible as the view changes: its colours are
    recomputed from the pixels under each text when the camera zooms or the image's
    contrast limits (or gamma) change.

    ``placed`` is ``[(shape index, box, text, inside), ...]``: where each text sits
    (see :func:`text_rect`).
    """

    def recolour(event=None) -> None:
        if text_layer not in viewer.layers or image_layer not in viewer.layers:
            return
        if "clipcap_text_colour" not in text_layer.features:
            return
        pixel = screen_pixel(plane, camera_of(viewer).zoom)
        rects = [text_rect(box, text, pixel, inside=inside) for _, box, text, inside in placed]
        colours = contrast_colours(shown_luminance(image_layer, plane, rects), light)
        current = list(text_layer.features["clipcap_text_colour"])
        new = list(current)
        for (i, *_), colour in zip(placed, colours):
            if i < len(new):
                new[i] = colour
        if new != current:
            features = text_layer.features.copy()
            features["clipcap_text_colour"] = new
            text_layer.features = features
            text_layer.refresh_text()

    previous = _FOLLOWERS.get(text_layer)
    if previous is not None:  # one follower per text layer: the latest result's
        _disconnect(viewer, *previous)
    _FOLLOWERS[text_layer] = (image_layer, recolour)
    camera_of(viewer).events.zoom.connect(recolour)
    image_layer.events.contrast_limits.connect(recolour)
    image_layer.events.gamma.connect(recolour)
    recolour()


def _disconnect(viewer, image_layer, callback) -> None:
    for emitter in (
        camera_of(viewer).events.zoom,
        image_layer.events.contrast_limits,
        image_layer.events.gamma,
    ):
        try:
            emitter.disconnect(callback)
        except (TypeError, ValueError, RuntimeError):
            pass
