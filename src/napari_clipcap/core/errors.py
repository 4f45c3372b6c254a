"""Exceptions raised by napari-clipcap.

Every error a user can cause derives from :class:`ClipcapError`, so the command line
and the widgets can turn it into one clear message instead of a traceback.
"""

from __future__ import annotations


class ClipcapError(Exception):
    """Base class for errors caused by input, files or models, shown to users as text."""


class InvalidInputError(ClipcapError, ValueError):
    """An argument (image, region, label, option) cannot be used as given."""


class ModelNotFoundError(ClipcapError, FileNotFoundError):
    """A model or its weights could not be found locally or downloaded."""


class CheckpointFormatError(ClipcapError, ValueError):
    """A checkpoint file holds tensors that fit no known layout."""


class FileFormatError(ClipcapError, OSError):
    """A data file (FITS, GeoTIFF, dataset) is broken or unsupported."""


class Cancelled(ClipcapError):
    """A job was cancelled through its cancel flag."""


class LowDataWarning(UserWarning):
    """An image or region holds too little data for a trustworthy result (mostly NaN or
    nodata, or far smaller than the model's input). The result is still computed; the
    command line and the widgets show the warning next to it."""
