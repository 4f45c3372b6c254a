"""The model chooser of the docks: presets and local files, devices, loading, downloads."""
