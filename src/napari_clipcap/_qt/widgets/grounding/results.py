"""The Grounding dock's results on the canvas: a Shapes layer of labelled boxes placed
over the image, and descriptions written on the user's shapes."""

from __future__ import annotations

from collections.abc import Sequence

from ...._napari.layers import META_KEY, placement
from ...._napari.region_text import set_text
from ....core.coords.detections import Detection, layer_vertices

#: Edge colours, one per phrase in the order phrases first appear (cycled).
PALETTE = ("#ffd54f", "#4fc3f7", "#ff8a65", "#aed581", "#ba68c8", "#4db6ac", "#f06292")
#: Longest phrase set kept whole in a layer name.
NAME_CHARS = 48


def result_name(text: str, image_name: str) -> str:
    """``"<phrase set> on <image>"``; a long caption is cut with an ellipsis."""
    text = " ".join(str(text).split())
    if len(text) > NAME_CHARS:
        text = text[: NAME_CHARS - 1].rstrip(" ,") + "…"
    return f"{text} on {image_name}"


def phrase_colours(labels: Sequence[str]) -> list[str]:
    """One edge colour per box: the same colour for the same phrase."""
    order = {label: i for i, label in enumerate(dict.fromkeys(labels))}
    return [PALETTE[order[label] % len(PALETTE)] for label in labels]


def show_boxes(viewer, image, detections: Sequence[Detection], name: str, prov: dict):
    """Add, or update in place, the Shapes layer ``name`` of labelled boxes over ``image``.

    The rectangles are in the image's pixel data coordinates and the layer takes the
    image's placement (scale, translate, rotate, shear, affine; the displayed plane's
    affine for a stack), so each box covers exactly its pixels. ``features`` holds the
    ``phrase``, what the model wrote (``text``) and the ``tile``; the provenance goes to
    ``metadata["napari_clipcap"]``.
    """
    labels = [d.label for d in detections]
    rects = layer_vertices([d.box for d in detections])
    features = {
        "phrase": labels,
        "text": [d.text for d in detections],
        "tile": [",".join(str(int(v)) for v in d.tile) if d.tile else "" for d in detections],
    }
    colours = phrase_colours(labels)
    # set_text's colour column, kept when features are replaced (no encoding fallback)
    features["clipcap_text_colour"] = colours
    where = placement(image)
    meta = {META_KEY: {"grounding": [d.as_dict() for d in detections], "provenance": prov}}
    if name in viewer.layers:
        layer = viewer.layers[name]
        layer.data = []
        for key, value in where.items():
            setattr(layer, key, value)
        if rects:
            layer.add_rectangles(rects, edge_color=colours)
        layer.features = features
        layer.metadata = {**layer.metadata, **meta}
    else:
        layer = viewer.add_shapes(
            rects, shape_type="rectangle", name=name, features=features,
            edge_color=colours or "white", face_color="transparent", edge_width=2,
            metadata=meta, **where,
        )  # fmt: skip
    set_text(layer, "phrase", colours, "white", size=11)
    return layer


def describe_on_shapes(shapes, kept: Sequence[int], texts: Sequence[str]) -> None:
    """Write region descriptions as the ``description`` feature and text of ``shapes``
    (shapes not described get '')."""
    column = [""] * len(shapes.data)
    for i, text in zip(kept, texts):
        column[i] = text
    features = shapes.features.copy()
    features["description"] = column
    shapes.features = features
    set_text(shapes, "description", ["white"] * len(column), "white")
