"""Segment: every instance of a phrase (or example boxes) as a label image and a table;
boxes to masks with SAM.

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "request": ["DEFAULT_SEGMENTER", "SegmentRequest", "SegmentResult", "segment"],
        "instances": ["InstanceTasks", "instance_polygons"],
        "exports": [
            "LABEL_SUFFIXES",
            "TABLE_COLUMNS",
            "instance_columns",
            "instance_shapes",
            "write_outputs",
            "write_table",
        ],
    },
)
