"""Pure numpy / torch / astropy computations; never imports Qt or napari."""
