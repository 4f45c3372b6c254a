"""Exceptions raised by napari-clipcap.

Every error a user can cause derives from :class:`ClipcapError`, so the command line
and the widgets can turn it into one clear message instead of a traceback.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager


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


class CountMismatchError(ClipcapError, RuntimeError):
    """A run's counts do not add up (files in != results out + failures): a bug, never
    a short table reported as complete."""


class Cancelled(ClipcapError):
    """A job was cancelled through its cancel flag."""


class LowDataWarning(UserWarning):
    """An image or region holds too little data for a trustworthy result (mostly NaN or
    nodata, or far smaller than the model's input). The result is still computed; the
    command line and the widgets show the warning next to it."""


class RandomWeightsWarning(UserWarning):
    """A model runs with randomly initialised weights (weights ``"none"``, or a model
    config that holds no weights). Its scores and captions mean nothing; it is right only
    for speed measurements. The command line shows it on stderr and in ``--json``
    ``warnings``, provenance marks the model ``random``, and the docks say it beside the
    result."""


_COLLECTORS = threading.local()


@contextmanager
def collect_warnings() -> Iterator[list[str]]:
    """Also collect the texts of this thread's :func:`warn_user` warnings in a list (for a
    GUI job, which shows them beside its result); thread-safe, unlike
    :func:`warnings.catch_warnings`."""
    found: list[str] = []
    stack = getattr(_COLLECTORS, "stack", None)
    if stack is None:
        stack = _COLLECTORS.stack = []
    stack.append(found)
    try:
        yield found
    finally:  # by identity: nested collectors often hold equal lists
        del stack[next(i for i, c in enumerate(stack) if c is found)]


def warn_user(message: str, category: type[Warning], stacklevel: int = 2) -> None:
    """Issue ``message`` as a ``category`` warning and hand it to every collector of this
    thread (:func:`collect_warnings`)."""
    warnings.warn(message, category, stacklevel=stacklevel + 1)
    for collector in getattr(_COLLECTORS, "stack", ()):
        collector.append(str(message))


def error_line(exc: BaseException) -> str:
    """The one-line message for ``exc``, the same in every door.

    The package's own errors (:class:`ClipcapError`) are already written for users and
    come as they are; anything else (a library's error, a bug) gets its type in front so
    the line still says what happened. Line breaks and runs of spaces become one space.

    Parameters
    ----------
    exc : BaseException
        Any exception.

    Returns
    -------
    str
        One line, never empty.
    """
    text = " ".join(str(exc).split())
    if isinstance(exc, ClipcapError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
