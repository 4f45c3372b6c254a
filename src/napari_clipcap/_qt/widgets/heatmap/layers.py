"""Heatmap result layers: names, placement on one plane, colour scale, thresholds.

- **Name**: ``"heatmap: <query> on <source layer>"``, with ``" plane <i>"`` for a plane
  of a stack, so runs on other layers or planes add layers instead of replacing them.
- **Placement**: over a 2D source the map has the source's transform; over a stack it is
  a ``(1, ..., 1, H, W)`` layer placed on the plane it was computed from, so napari shows
  it on that plane only.
- **Colour scale**: the contrast limits are the 2nd and 98th percentiles of the valid
  pixels of all maps of one run (the queries computed together share one scale), stored
  in ``metadata["napari_clipcap"]["heatmap"]["contrast_limits"]`` and not changed later;
  napari's colorbar is shown. Pixels without data are NaN: transparent.
- **Colorbar titles**: napari's colorbar has no title of its own (0.9), so each map's
  colorbar and its name (``"heatmap: <query> on <source>"``: query and source) sit in the
  canvas's bottom-right corner, which napari tiles vertically in the order the overlays
  were first shown: the bar first, so every bar has its name right above it as its
  title, and the bars of maps shown together stack up the side of the canvas.
- **Cheap on the Qt thread**: the layers are added at once (the dock and its recorded
  command need them), each map's colorbar and title one step later, :data:`STEP_MS`
  apart (the canvas draws the new map in between): each overlay builds its own drawing
  programs, and drawn in one frame with the new map they held the Qt thread over a
  second on a machine without a GPU. (A step for the bar and another for its title
  made one more long gap per map: on an idle 2-core machine the one-job p99 was 98 ms
  with three steps, 23-29 ms with two.)
- **Visibility**: maps blend additively, so of the maps over one plane of a source only
  the last one computed is shown; the others stay in the layer list, hidden.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from functools import partial

import numpy as np
from qtpy.QtCore import QTimer

from ...._napari.layers import add_or_update_image, box_to_rectangle, data_to_world, placement

log = logging.getLogger(__name__)

PREFIX = "heatmap: "
#: Where a map's colorbar and its title sit (napari tiles this corner vertically).
COLORBAR_CORNER = "bottom_right"
#: Milliseconds between the steps that show new maps' colorbars and titles.
STEP_MS = 40
#: How the contrast limits are chosen (stored with every map).
CONTRAST_RULE = "2-98 percentiles of the valid pixels of the run's maps"


def heat_name(query: str, source: str, index: tuple[int, ...] = ()) -> str:
    """Layer name of the map of ``query`` over layer ``source`` (and plane ``index``)."""
    plane = f" plane {','.join(str(i) for i in index)}" if index else ""
    return f"{PREFIX}{query} on {source}{plane}"


def plane_placement(image_layer, index: tuple[int, ...]) -> dict:
    """Keyword arguments that put a ``(1, ..., 1, H, W)`` layer on one plane of a stack.

    The layer has the stack's dimensions, so napari shows it only while that plane is
    displayed (not smeared over every plane). A 2D source gives ``placement``.
    """
    n = image_layer.ndim
    if n == 2 or not index:
        return placement(image_layer)
    shift = np.eye(n + 1)
    shift[: len(index), n] = index
    return {"affine": data_to_world(image_layer) @ shift}


def on_plane(data: np.ndarray, ndim: int) -> np.ndarray:
    """A 2D array with leading size-1 axes up to ``ndim`` dimensions."""
    lead = ndim - 2
    return data.reshape((1,) * lead + data.shape[-2:]) if lead > 0 else data


def placement_like(layer) -> dict:
    """Keyword arguments that put a layer of the same shape exactly over ``layer``."""
    return placement(layer) if layer.ndim == 2 else {"affine": data_to_world(layer)}


def contrast_limits(maps: np.ndarray) -> tuple[float, float]:
    """The shared colour scale of one run's maps (see the module notes)."""
    values = np.asarray(maps, dtype=np.float32)
    values = values[np.isfinite(values)]
    if not values.size:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(values, [2, 98]))
    return lo, hi if hi > lo else lo + 1e-6


def plane_valid_mask(plane) -> np.ndarray | None:
    """Where a :class:`~napari_clipcap._napari.layers.Plane` has data (None: everywhere).

    Reads pixels: call it in the worker thread.
    """
    from ....core.tasks.validity import composite_valid_mask
    from ....core.tasks.validity import plane_valid_mask as data_mask

    mask = data_mask(plane.data, plane.index, rgb=plane.rgb)
    if "composite" in plane.metadata:  # nodata is 0 in a composite: ask the scene
        scene = composite_valid_mask(plane.metadata)
        if scene is not None and scene.shape == (plane.height, plane.width):
            mask = scene if mask is None else mask & scene
    return None if mask is None or mask.all() else mask


def show_maps(viewer, image, plane, queries, maps, info: dict, **style) -> list:
    """Add or update one layer per query over ``image`` on ``plane``; returns them."""
    lo, hi = contrast_limits(maps)
    where = plane_placement(image, plane.index)
    out = []
    for query, heat in zip(queries, maps):
        meta = {
            "query": query,
            "source": image.name,
            "plane": list(plane.index),
            "contrast_limits": [lo, hi],
            "contrast": CONTRAST_RULE,
            "valid_fraction": float(np.isfinite(heat).mean()),
            **info,
        }
        layer = add_or_update_image(
            viewer,
            heat_name(query, image.name, plane.index),
            on_plane(heat, image.ndim),
            image,
            ("heatmap", meta),
            where,
            blending="additive",
            contrast_limits=(lo, hi),
            **style,
        )
        out.append(viewer.layers[layer.name])  # the layer in the list, whatever add returned
    for layer in heat_layers(viewer):  # additive maps add up: the last one alone is shown
        meta = layer.metadata["napari_clipcap"]["heatmap"]
        if (meta["source"], meta["plane"]) == (image.name, list(plane.index)):
            layer.visible = layer.name == out[-1].name
    shown_first = sorted(out, key=lambda layer: not layer.visible)
    run_in_steps([partial(show_titled_colorbar, viewer, layer) for layer in shown_first])
    return out


def run_in_steps(steps: list[Callable[[], None]], step_ms: int = STEP_MS) -> None:
    """Call ``steps`` one by one from the Qt event loop, ``step_ms`` apart, so that
    the canvas is drawn (and the other events handled) between any two of them.

    One queue serves every dock: the steps of two jobs that end together run one at a
    time too, in the order they were asked for. A step that raises is logged and the
    next one still runs.
    """
    idle = not _PENDING
    _PENDING.extend(steps)
    if idle and _PENDING:
        QTimer.singleShot(step_ms, partial(_next_step, step_ms))


#: Steps of :func:`run_in_steps` not run yet, oldest first.
_PENDING: deque[Callable[[], None]] = deque()


def _next_step(step_ms: int) -> None:
    step = _PENDING.popleft()
    try:
        step()
    except Exception:  # a layer or viewer gone meanwhile: the other steps still run
        log.warning("heatmap: a colorbar step failed", exc_info=True)
    finally:
        if _PENDING:
            QTimer.singleShot(step_ms, partial(_next_step, step_ms))


def _alive(viewer, layer) -> bool:
    """Whether ``layer`` is still in ``viewer`` (a plugin dock's viewer hands out
    wrapt proxies of its layers, a new one at each access: compare what they wrap)."""
    if layer.name not in viewer.layers:
        return False
    listed = viewer.layers[layer.name]
    return getattr(listed, "__wrapped__", listed) is getattr(layer, "__wrapped__", layer)


def show_colorbar(viewer, layer) -> None:
    """Show the colorbar of map ``layer`` (if still in ``viewer``) at
    :data:`COLORBAR_CORNER`."""
    if _alive(viewer, layer):
        layer.colorbar.position = COLORBAR_CORNER
        layer.colorbar.visible = True


def show_title(viewer, layer) -> None:
    """Show the title of map ``layer``'s colorbar: its name (query and source), right
    above the bar once the bar is shown (napari 0.9's colorbar has no title; before 0.9
    there is no name overlay and the bar goes untitled)."""
    name = getattr(layer, "name_overlay", None)  # napari >= 0.9
    if name is not None and _alive(viewer, layer):
        name.position = COLORBAR_CORNER
        name.visible = True


def show_titled_colorbar(viewer, layer) -> None:
    """Show map ``layer``'s colorbar, then its title (in this order: the title goes
    above the bar)."""
    show_colorbar(viewer, layer)
    show_title(viewer, layer)


def colorbar_title(layer) -> str:
    """The title shown with map ``layer``'s colorbar ('' while none is shown)."""
    name = getattr(layer, "name_overlay", None)
    titled = name is not None and name.visible and layer.colorbar.visible
    return layer.name if titled and name.position == layer.colorbar.position else ""


def heat_layers(viewer) -> list:
    """The heatmap layers in the viewer (made by the heatmap dock)."""
    from napari.layers import Image

    return [
        ly
        for ly in viewer.layers
        if isinstance(ly, Image) and "heatmap" in ly.metadata.get("napari_clipcap", {})
    ]


def heat_plane(layer) -> np.ndarray:
    """The 2D map of a heatmap layer."""
    data = np.asarray(layer.data)
    return data.reshape(data.shape[-2:])


def threshold_layer(viewer, heat_layer, threshold: float, min_area: int, kind: str):
    """Regions of ``heat_layer`` at or above ``threshold`` with at least ``min_area``
    pixels, as a Labels layer or a Shapes layer of boxes on the map's plane."""
    from ....core.coords.geometry import threshold_regions

    labels, boxes = threshold_regions(heat_plane(heat_layer), threshold, min_pixels=min_area)
    name = heat_layer.name
    base = f"{name[len(PREFIX) :] if name.startswith(PREFIX) else name} > {threshold:.3g}"
    if kind == "labels":
        target, data = f"{base} (labels)", on_plane(labels, heat_layer.ndim)
        if target in viewer.layers and viewer.layers[target].ndim == heat_layer.ndim:
            viewer.layers[target].data = data
            return viewer.layers[target], len(boxes)
        return viewer.add_labels(data, name=target, **placement_like(heat_layer)), len(boxes)
    rects = [box_to_rectangle(b, heat_layer) for b in boxes]
    lead = heat_layer.ndim - 2
    if lead > 0:  # the boxes lie on the map's plane too
        origin = np.asarray(heat_layer.data_to_world(np.zeros(heat_layer.ndim)))[:lead]
        rects = [np.hstack([np.tile(origin, (len(r), 1)), r]) for r in rects]
    layer = viewer.add_shapes(
        rects, shape_type="rectangle", name=f"{base} (boxes)", ndim=heat_layer.ndim,
        edge_color="cyan", face_color="transparent", edge_width=2,
    )  # fmt: skip
    return layer, len(boxes)
