"""Files in and out: FITS, GeoTIFF, raster windows, plain image files, georeferenced exports.

:func:`open_image` is the one reader of image files; :func:`pixel_budget` bounds it.

Names load lazily from their modules on first use.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "fits": ["FITS_SUFFIXES", "FitsImage", "has_fits_suffix", "is_fits", "read_fits"],
        "geotiff": ["GeoScene", "is_geospatial_tiff", "read_geotiff"],
        "geoimage": ["scene_bands", "scene_image"],
        "images": ["ImageFile", "MAP_SUFFIXES", "read_image", "write_map"],
        "sources": ["file_hash", "find_images", "list_units", "load_unit", "thumbnail_png"],
        "geoexport": ["write_geotiff"],
        "regionfile.geojson": ["regions_to_geojson", "write_shapes_geojson"],
        "reading": ["ImageSource", "Pixels", "open_image"],
        "budget": ["DEFAULT_MAX_PIXELS", "pixel_budget"],
        "image_sets": ["load_image", "load_images"],
    },
)
