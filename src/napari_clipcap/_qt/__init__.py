"""Qt widgets and the worker helper; thin shells over napari_clipcap.core."""
