"""napari layers in and out: the displayed plane, regions in pixels, results placed over.

The maths lives in :mod:`napari_clipcap.core.coords.geometry`; this module reads the napari
objects (layer transforms, camera, dims) and makes the result layers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from ..core.coords.geometry import (
    Box,
    bounding_box,
    map_points,
    plane_affine,
    plane_index,
    view_box,
)
from ..core.coords.region_shapes import shape_region
from ..core.coords.worldcoords import world_metadata
from ..core.errors import InvalidInputError
from ..core.model_cache import on_reset

#: Key of napari-clipcap results in ``layer.metadata``.
META_KEY = "napari_clipcap"


def data_to_world(layer) -> np.ndarray:
    """The layer's full homogeneous data-to-world matrix.

    Rebuilt from the public ``layer.data_to_world`` (the image of the origin and of
    each unit vector), so scale, translate, rotate, shear and affine all count.
    """
    n = layer.ndim
    origin = np.asarray(layer.data_to_world(np.zeros(n)), dtype=float)
    m = np.eye(n + 1)
    for i in range(n):
        m[:n, i] = np.asarray(layer.data_to_world(np.eye(n)[i]), dtype=float) - origin
    m[:n, n] = origin
    return m


def spatial_shape(layer) -> tuple[int, ...]:
    """Shape of an image layer without RGB channels (level 0 of a multiscale)."""
    data = layer.data[0] if layer.multiscale else layer.data
    shape = tuple(int(n) for n in data.shape)
    return shape[:-1] if layer.rgb else shape


def guess_domain(layer, setting: str = "auto") -> str:
    """The scaling domain: the panel's setting; when auto, the layer's
    ``metadata["domain"]`` (set by the readers), else astronomy for FITS layers."""
    if setting != "auto":
        return setting
    meta = layer.metadata or {}
    if meta.get("domain") in ("photo", "satellite", "astronomy"):
        return meta["domain"]
    keys = " ".join(str(k).lower() for k in meta)
    return "astronomy" if ("fits" in keys or "wcs" in keys) else "photo"


@dataclass
class Plane:
    """The 2D plane of an image layer that the canvas shows.

    Made in the Qt thread from the layer (cheap: no pixels are read);
    :meth:`model_input` reads and scales the pixels, in the worker thread.
    """

    layer_name: str
    index: tuple[int, ...]
    data: object  # the layer's array (numpy, dask, zarr), level 0 of a multiscale
    rgb: bool
    domain: str
    affine: np.ndarray  # 3 x 3 data-to-world of the plane
    height: int
    width: int
    metadata: dict = field(default_factory=dict)  # the layer's, for nodata lookups

    def model_input(self) -> np.ndarray:
        """The plane as float32 ``H x W x 3`` in ``[0, 1]`` (see ``to_model_input``).

        The last few planes are kept, so re-scoring edited shapes does not rescale the
        whole image each time.
        """
        from ..core.scaling.model_input import to_model_input

        key = self.key()
        with _INPUT_LOCK:
            if key in _INPUT_CACHE:
                return _INPUT_CACHE[key][1]
        image = to_model_input(
            self.data, rgb=self.rgb, plane=self.index or None, domain=self.domain
        )
        with _INPUT_LOCK:
            # holding the data keeps its id() from being reused by another array
            _INPUT_CACHE[key] = (self.data, image)
            while len(_INPUT_CACHE) > _INPUT_CACHE_SIZE:
                del _INPUT_CACHE[next(iter(_INPUT_CACHE))]
        return image

    def key(self) -> tuple:
        """Identity of the plane's pixels, for caching results."""
        shape = tuple(getattr(self.data, "shape", ()))
        return (self.layer_name, id(self.data), shape, self.index, self.domain)


_INPUT_CACHE: dict[tuple, tuple] = {}
_INPUT_CACHE_SIZE = 2
_INPUT_LOCK = threading.Lock()


@on_reset
def _forget_inputs() -> None:
    with _INPUT_LOCK:
        _INPUT_CACHE.clear()


def displayed_plane(viewer, layer, domain: str = "auto") -> Plane:
    """Describe the displayed plane of ``layer`` (3D/time/channel stacks, RGB, multiscale).

    Raises
    ------
    InvalidInputError
        If the layer is not an image or the displayed axes are not its last two.
    """
    from napari.layers import Image

    if not isinstance(layer, Image):
        raise InvalidInputError(f"layer {getattr(layer, 'name', layer)!r} is not an image layer")
    shape = spatial_shape(layer)
    world_ndim = viewer.dims.ndim
    displayed = list(viewer.dims.displayed[-2:])
    if displayed != [world_ndim - 2, world_ndim - 1]:
        raise InvalidInputError(
            "napari-clipcap works on the plane of the last two axes; reset the axis order"
        )
    point = layer.world_to_data(viewer.dims.point)
    data = layer.data[0] if layer.multiscale else layer.data
    return Plane(
        layer.name,
        plane_index(point, shape),
        data,
        bool(layer.rgb),
        guess_domain(layer, domain),
        plane_affine(data_to_world(layer)),
        shape[-2],
        shape[-1],
        dict(layer.metadata or {}),
    )


def shape_regions(shapes_layer, image_layer) -> tuple[list[int], list[Box], list]:
    """Each shape as a region in ``image_layer``'s pixel data coordinates.

    Returns the indices of the shapes that overlap the image, their pixel boxes, and
    the regions to score (:func:`~napari_clipcap.core.coords.region_shapes.shape_region`):
    polygons, ellipses and rotated rectangles as ``(N, 2)`` outlines of ``(x, y)`` in the
    pixel-edge convention of :mod:`napari_clipcap.core.coords.regions`, other shapes as
    their pixels' boxes (clipped when they are cut). The
    leading (stack) coordinates of the vertices are ignored, so a shape applies to
    whichever plane is displayed. Exclude regions imported from a region file (the
    ``exclude`` feature) are not scored.
    """
    shape = spatial_shape(image_layer)
    height, width = shape[-2:]
    src, dst = data_to_world(shapes_layer), data_to_world(image_layer)
    kept, boxes, regions = [], [], []
    features = shapes_layer.features
    n = len(shapes_layer.data)
    excluded = (
        [bool(v) for v in features["exclude"]]
        if "exclude" in features and len(features["exclude"]) == n
        else [False] * n
    )
    for i, (vertices, kind) in enumerate(zip(shapes_layer.data, shapes_layer.shape_type)):
        if excluded[i]:
            continue
        yx = map_points(np.asarray(vertices), src, dst)[:, -2:]
        try:
            box = bounding_box(yx, height, width)
        except InvalidInputError:
            continue
        kept.append(i)
        boxes.append(box)
        # the one shape -> region rule of every door: ellipses and rotated rectangles
        # as their outlines, polygons on pixel edges, other shapes as their pixels' box
        regions.append(shape_region(kind, yx))
    return kept, boxes, regions


def shapes_signature(shapes_layer) -> tuple:
    """Each shape's type and vertices: results indexed by shape are stale once it changes."""
    return tuple(
        (kind, np.asarray(v, dtype=float).tobytes())
        for v, kind in zip(shapes_layer.data, shapes_layer.shape_type)
    )


def region_key(region) -> tuple:
    """Hashable identity of a box or polygon (for result caches)."""
    if isinstance(region, tuple):
        return region
    return tuple(np.round(np.asarray(region, dtype=float), 2).ravel().tolist())


def camera_of(viewer):
    """The viewer's camera: ``viewer.scene.camera`` from napari 0.9 on (where
    ``viewer.camera`` is deprecated), ``viewer.camera`` before.

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer.

    Returns
    -------
    napari.components.Camera
        Its camera model (center, zoom and their events).
    """
    scene = getattr(viewer, "scene", None)
    camera = getattr(scene, "camera", None)
    return camera if camera is not None else viewer.camera


def field_of_view_box(viewer, image_layer) -> Box:
    """The box of ``image_layer`` seen in the canvas."""
    height, width = spatial_shape(image_layer)[-2:]
    camera = camera_of(viewer)
    return view_box(
        camera.center[-2:],
        viewer.canvas.size,
        camera.zoom,
        plane_affine(data_to_world(image_layer)),
        height,
        width,
    )


def box_to_rectangle(box: Box, image_layer) -> np.ndarray:
    """A rectangle (4 x 2 vertices in world units of the image) around a pixel box."""
    x0, y0, x1, y1 = box
    corners = np.array([[y0, x0], [y0, x1], [y1, x1], [y1, x0]], dtype=float) - 0.5  # pixel edges
    m = plane_affine(data_to_world(image_layer))
    return corners @ m[:2, :2].T + m[:2, 2]


def placement(image_layer) -> dict:
    """Keyword arguments that put a 2D layer exactly over the image's displayed plane."""
    if image_layer.ndim == 2:
        return {
            "scale": tuple(image_layer.scale),
            "translate": tuple(image_layer.translate),
            "rotate": np.asarray(image_layer.rotate),
            "shear": np.asarray(image_layer.shear),
            "affine": np.asarray(image_layer.affine.affine_matrix),
        }
    return {"affine": plane_affine(data_to_world(image_layer))}


def add_or_update_image(
    viewer,
    name: str,
    data: np.ndarray,
    source,
    result: tuple[str, dict],
    where: dict | None = None,
    **kwargs,
):
    """Update the data of layer ``name`` in place, or add it over ``source``.

    ``result`` is ``(key, value)`` stored in the layer's napari-clipcap metadata (at
    creation, so layer choosers know at once that the layer is a result). In-place
    updates keep the layer object and its place in the layer list. ``where``: the
    placement (default :func:`placement` of ``source``).
    """
    where = placement(source) if where is None else where
    if name in viewer.layers and viewer.layers[name].ndim != np.ndim(data):
        viewer.layers.remove(name)  # another stack shape: replace, do not reshape
    if name in viewer.layers:
        layer = viewer.layers[name]
        layer.data = data
        for key, value in where.items():
            setattr(layer, key, value)
        for key, value in kwargs.items():
            setattr(layer, key, value)
        store_result(layer, *result)
        return layer
    metadata = {**world_metadata(source.metadata), META_KEY: {result[0]: result[1]}}
    return viewer.add_image(data, name=name, metadata=metadata, **where, **kwargs)


def store_result(layer, key: str, value) -> None:
    """Store a JSON-able result under ``layer.metadata['napari_clipcap'][key]``."""
    meta = dict(layer.metadata)
    entry = dict(meta.get(META_KEY, {}))
    entry[key] = value
    meta[META_KEY] = entry
    layer.metadata = meta
