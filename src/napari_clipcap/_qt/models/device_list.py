"""The compute devices offered by the model panel, found once per process off the Qt thread.

Listing the devices needs torch, whose import takes seconds (and setting up CUDA
more): done on the Qt thread it would stall napari each time a dock widget opens.
The panel offers ``auto`` and ``cpu`` at once (both always exist) and the whole list
when :class:`DeviceProbe` has found it in a background thread; later panels get it at
once. The probe starts a moment after the first panel is built, so that the dock is
drawn before torch's import competes with the Qt thread for the interpreter.
"""

from __future__ import annotations

import logging
import threading

from qtpy.QtCore import QObject, QTimer, Signal

from ..._napari._compat import guard_triton
from ...core.errors import error_line
from ..process_singleton import ProcessSingleton

log = logging.getLogger(__name__)

#: What the device combo offers before the probe has answered (or when it failed).
FALLBACK = ("auto", "cpu")
#: How long after the first panel the probe starts (ms): time to draw the dock.
START_DELAY_MS = 150


def list_devices() -> list[str]:
    """``auto`` and the name of every device of this machine, GPUs first.

    Imports torch: call it in a worker thread, not on the Qt thread.

    Returns
    -------
    list of str
        E.g. ``["auto", "cuda:0", "cpu"]``.
    """
    guard_triton()
    from ...core.devices import available_devices

    return ["auto", *[d.name for d in available_devices()]]


class DeviceProbe(ProcessSingleton, QObject):
    """The device list of this process, found once in a background thread.

    Signals
    -------
    found(list)
        The device names (as :func:`list_devices` gives them), in the Qt thread.
    """

    found = Signal(list)
    _answered = Signal(object, str)  # from the probe thread: names or None, error

    def __init__(self) -> None:
        super().__init__()
        #: The device names once found; None while unknown.
        self.names: list[str] | None = None
        #: Why the probe failed, if it did (the panels then keep :data:`FALLBACK`).
        self.error: str = ""
        self._thread: threading.Thread | None = None
        self._scheduled = False
        self._answered.connect(self._deliver)  # queued: emitted in the probe thread

    @property
    def busy(self) -> bool:
        """Whether a probe is scheduled or under way."""
        return self._scheduled or self._thread is not None

    def start(self, delay_ms: int = START_DELAY_MS) -> None:
        """Look for the devices in a background thread, after ``delay_ms``.

        Does nothing when the devices are known or a probe is scheduled or running.
        """
        if self.names is not None or self.busy:
            return
        self._scheduled = True
        QTimer.singleShot(max(0, delay_ms), self._run)

    def _run(self) -> None:
        self._scheduled = False
        if self.names is not None or self._thread is not None:
            return
        # not a daemon: quitting napari waits for torch's import instead of cutting it
        self._thread = threading.Thread(
            target=self._probe, args=(list_devices,), name="napari-clipcap-devices"
        )
        self._thread.start()

    def _probe(self, lister) -> None:
        try:
            names, error = list(lister()), ""
        except Exception as exc:  # a broken torch or driver: keep auto and cpu
            names, error = None, error_line(exc)
        try:
            self._answered.emit(names, error)
        except RuntimeError:  # the application is gone (napari quit meanwhile)
            pass

    def _deliver(self, names: list[str] | None, error: str) -> None:
        self._thread = None
        if names is None:
            log.warning("could not list the compute devices: %s", error)
            self.error, names = error, list(FALLBACK)
        self.names = names
        self.found.emit(self.names)
