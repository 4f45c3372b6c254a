"""Layer geometry, regions, and world coordinates (sky and map).

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "detections": ["Detection", "layer_vertices", "merge_detections", "tile_grid"],
        "geometry": ["Box", "bounding_box", "map_points", "view_box"],
        "regions": [
            "as_region",
            "crop",
            "crops",
            "from_napari",
            "is_all_nan",
            "parse_region",
            "polygon_mask",
            "region_text",
        ],
        "worldcoords": ["format_world", "world_metadata"],
        "georef": ["geo_of", "map_to_lonlat", "pixel_to_map"],
    },
)
