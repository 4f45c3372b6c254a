"""GeoJSON (RFC 7946) of regions and napari shapes over a georeferenced image.

Longitude/latitude in WGS84 through the image's transform and CRS
(:func:`~napari_clipcap.core.io.geoexport.region_to_map`); rings counter-clockwise (the
right-hand rule), ellipses as outlines of :data:`ELLIPSE_VERTICES` points (area within
0.1 %), every polygon valid. The dock's Export and the CLI's ``--out-regions
FILE.geojson`` both write through :func:`write_shapes_geojson`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...coords.georef import map_to_lonlat, pixel_to_map
from ...errors import InvalidInputError
from ..geoexport import _require_geo, region_to_map

#: Vertices of an ellipse's outline in GeoJSON: the inscribed 128-gon holds 99.96 % of
#: the ellipse's area (within 0.1 %).
ELLIPSE_VERTICES = 128


def _ring_area(ring: np.ndarray) -> float:
    """Signed area of a ring (shoelace): positive when counter-clockwise in x/y."""
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _lonlat_ring(region: Any, georef: Mapping[str, Any]) -> list:
    """The closed lon/lat ring of a region, counter-clockwise (RFC 7946 right-hand rule),
    without repeated vertices."""
    geo = region_to_map(region, georef)
    ring = np.asarray(geo["lonlat_polygon"], float)
    keep = np.ones(len(ring), bool)
    keep[1:] = np.any(np.abs(np.diff(ring, axis=0)) > 0, axis=1)
    ring = ring[keep]
    if len(ring) > 1 and np.all(ring[0] == ring[-1]):
        ring = ring[:-1]
    if _ring_area(ring) < 0:
        ring = ring[::-1]
    return np.vstack([ring, ring[:1]]).tolist()


def _valid_polygon(ring: list) -> dict[str, Any]:
    """A GeoJSON Polygon of ``ring``; a self-crossing ring is mended with shapely's
    ``make_valid`` when shapely is installed (the project's own shapes never cross)."""
    geometry: dict[str, Any] = {"type": "Polygon", "coordinates": [ring]}
    try:
        import shapely
        from shapely.geometry import mapping, shape
    except ImportError:
        return geometry
    poly = shape(geometry)
    if poly.is_valid:
        return geometry
    mended = shapely.make_valid(poly)
    if mended.geom_type == "GeometryCollection":
        mended = shapely.union_all([g for g in mended.geoms if g.area > 0])
    mended = shapely.geometry.polygon.orient(mended) if mended.geom_type == "Polygon" else mended
    if mended.geom_type == "MultiPolygon":
        mended = shapely.geometry.MultiPolygon(
            [shapely.geometry.polygon.orient(g) for g in mended.geoms]
        )
    return json_safe(mapping(mended))


def json_safe(value: Any) -> Any:
    """Tuples (shapely's coordinates) as lists, recursively."""
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    return value


def regions_to_geojson(
    regions: Sequence[Any],
    georef: Mapping[str, Any],
    properties: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (WGS84 longitude/latitude, RFC 7946) of regions.

    Rings are counter-clockwise (the right-hand rule) and valid.

    Parameters
    ----------
    regions : sequence
        Boxes or polygons in pixel coordinates.
    georef : mapping
        Source metadata with ``transform`` and a ``crs``.
    properties : sequence of mapping, optional
        One dict per region (labels, probabilities, captions); each feature also gets
        ``pixel_region``, ``map_bounds`` and ``crs``.

    Returns
    -------
    dict
        JSON-serialisable FeatureCollection.
    """
    _, crs = _require_geo(georef)
    if not crs:
        raise InvalidInputError("GeoJSON needs a CRS to give longitude/latitude")
    if properties is not None and len(properties) != len(regions):
        raise InvalidInputError(f"{len(properties)} property sets for {len(regions)} regions")
    features = []
    for i, region in enumerate(regions):
        geo = region_to_map(region, georef)
        props = {
            "pixel_region": np.asarray(region, dtype=float).tolist(),
            "map_bounds": geo["map_bounds"],
            "crs": geo["crs"],
            **(dict(properties[i]) if properties is not None else {}),
        }
        features.append(
            {
                "type": "Feature",
                "geometry": _valid_polygon(_lonlat_ring(region, georef)),
                "properties": props,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def shape_outline(shape: Any) -> np.ndarray:
    """Pixel-edge ``(x, y)`` outline of a napari shape (a ``FileRegion``): an ellipse as
    :data:`ELLIPSE_VERTICES` points, a rectangle as its corners, a polygon as is."""
    from ...coords.region_shapes import ellipse_outline

    xy = np.asarray(shape.vertices, float)[:, ::-1] + 0.5
    if shape.shape_type == "ellipse" and len(xy) == 4:
        return ellipse_outline(xy, ELLIPSE_VERTICES)
    return xy


def shapes_to_geojson(
    shapes: Sequence[Any], georef: Mapping[str, Any], description: Sequence[str] = ()
) -> dict[str, Any]:
    """GeoJSON of napari shapes (``FileRegion``): ellipses as outlines, points as Points,
    each with its ``text`` (and ``exclude`` for exclude regions)."""
    polygons = [s for s in shapes if s.shape_type != "point"]
    props = [_shape_properties(s) for s in polygons]
    doc = regions_to_geojson([shape_outline(s) for s in polygons], georef, props)
    transform, crs = _require_geo(georef)
    for s in shapes:
        if s.shape_type != "point":
            continue
        x, y = np.asarray(s.vertices, float)[0, ::-1] + 0.5
        mx, my = pixel_to_map(transform, np.array([x]), np.array([y]))
        lon, lat = map_to_lonlat(crs, mx, my)
        doc["features"].append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [float(lon[0]), float(lat[0])]},
                "properties": {"pixel_point": [float(x), float(y)], **_shape_properties(s)},
            }
        )
    if description:
        doc["description"] = list(description)
    return doc


def _shape_properties(shape: Any) -> dict[str, Any]:
    props: dict[str, Any] = {"text": shape.text, "shape": shape.shape_type}
    if getattr(shape, "exclude", False):
        props["exclude"] = True
    return props


def write_shapes_geojson(
    path: str | os.PathLike,
    shapes: Sequence[Any],
    georef: Mapping[str, Any],
    *,
    description: Sequence[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write :func:`shapes_to_geojson` to ``path`` whole or not at all (the dock's Export
    and the CLI's ``--out-regions FILE.geojson``)."""
    import json

    from ..atomic import write_text

    doc = shapes_to_geojson(shapes, georef, description)
    doc.update(extra or {})
    return write_text(Path(path), json.dumps(doc, indent=2, default=str))


def label_properties(scores: np.ndarray, labels: Sequence[str]) -> list[dict[str, Any]]:
    """Per-region properties from a ``(R, L)`` score matrix: probabilities and the best label."""
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2 or scores.shape[1] != len(labels):
        raise InvalidInputError(f"scores of shape {scores.shape} do not fit {len(labels)} labels")
    return [
        {
            "label": labels[int(np.argmax(row))],
            "probabilities": {lab: float(p) for lab, p in zip(labels, row)},
        }
        for row in scores
    ]
