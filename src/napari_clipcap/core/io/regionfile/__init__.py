"""Region-file rows: DS9 text read and written in one pass (:mod:`.ds9`), and rows
placed on an image or made from napari shapes (:mod:`.records`), and GeoJSON of
regions and shapes over a georeferenced image (:mod:`.geojson`). The front for readers
and writers is :mod:`napari_clipcap.core.io.region_files`.

Names load lazily from their modules on first use.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "ds9": ["parse_ds9"],
        "ds9_write": ["format_ds9", "quote_text"],
        "geojson": ["regions_to_geojson", "shapes_to_geojson", "write_shapes_geojson"],
        "records": ["RegionRecord", "place_records", "records_from_regions", "records_of_shapes"],
    },
)
