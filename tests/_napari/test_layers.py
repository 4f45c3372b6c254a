"""napari glue: transforms read through the public API, regions, domains, placement."""

from __future__ import annotations

import numpy as np
import pytest
from napari.layers import Image, Shapes

from napari_clipcap._napari.layers import (
    camera_of,
    data_to_world,
    displayed_plane,
    field_of_view_box,
    guess_domain,
    placement,
    shape_regions,
)
from napari_clipcap.core.errors import InvalidInputError


def test_data_to_world_includes_rotate_shear_and_affine():
    layer = Image(np.zeros((20, 30)), scale=(2, 3), translate=(5, -1), rotate=30,
                  shear=[0.2], affine=np.array([[1, 0, 4], [0, 1, 0], [0, 0, 1]]))  # fmt: skip
    m = data_to_world(layer)
    for point in ([0, 0], [3, 7], [19, 29]):
        expected = layer.data_to_world(point)
        np.testing.assert_allclose(m[:2, :2] @ point + m[:2, 2], expected, atol=1e-9)


def test_regions_of_rotated_image_and_polygons():
    image = Image(np.zeros((100, 100)), rotate=90)
    # the image rotated by 90 degrees: world (r, c) -> data (c, -r)
    shapes = Shapes(
        [
            np.array([[-10.0, 20.0], [-40.0, 60.0]]),
            np.array([[-1.0, 1.0], [-1.0, 9.0], [-9.0, 1.0]]),
        ],
        shape_type=["rectangle", "polygon"],
    )
    shapes_world = Shapes([np.array([[500.0, 500.0], [600.0, 600.0]])], shape_type="rectangle")
    kept, boxes, regions = shape_regions(shapes, image)
    assert kept == [0, 1]
    assert boxes[0] == (10, 20, 40, 60)
    # polygons are passed as (x, y) with pixel edges on integers (core.regions)
    assert isinstance(regions[1], np.ndarray) and regions[1].shape == (3, 2)
    assert shape_regions(shapes_world, image)[0] == []  # wholly outside: left out


def test_guess_domain_from_metadata():
    assert guess_domain(Image(np.zeros((4, 4)), metadata={"domain": "satellite"})) == "satellite"
    assert guess_domain(Image(np.zeros((4, 4)), metadata={"fits_header": {}})) == "astronomy"
    assert guess_domain(Image(np.zeros((4, 4)))) == "photo"
    assert guess_domain(Image(np.zeros((4, 4))), "astronomy") == "astronomy"


def test_placement_of_a_stack_is_its_plane_affine(make_napari_viewer):
    viewer = make_napari_viewer()
    stack = viewer.add_image(np.zeros((3, 10, 12)), scale=(7, 2, 3), translate=(1, 4, 5))
    heat = viewer.add_image(np.zeros((10, 12)), **placement(stack))
    np.testing.assert_allclose(heat.data_to_world((4, 6)), stack.data_to_world((2, 4, 6))[1:])
    viewer.dims.order = (1, 0, 2)
    with pytest.raises(InvalidInputError, match="axis order"):
        displayed_plane(viewer, stack)


def test_camera_and_field_of_view_without_deprecation_warnings():
    """napari 0.9 deprecates ``viewer.camera``: the glue reads ``viewer.scene.camera``."""
    import warnings

    from napari.components import ViewerModel

    viewer = ViewerModel()
    image = viewer.add_image(np.zeros((40, 60)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        camera = camera_of(viewer)
        camera.zoom = 2.0
        box = field_of_view_box(viewer, image)
    assert camera.zoom == 2.0 and len(box) == 4
