"""Whether the model hub answers, asked once in a background thread (never on the Qt
thread: a connection to an unreachable host can take seconds to fail)."""

from __future__ import annotations

import logging
import threading

from qtpy.QtCore import QObject, Signal

from ...core.cache import hub_offline
from ..process_singleton import ProcessSingleton

logger = logging.getLogger(__name__)


def _ask() -> bool:
    from ...core.clip.hub import hub_reachable

    return hub_reachable()


class HubProbe(ProcessSingleton, QObject):
    """The hub's reachability for this process.

    Signals
    -------
    answered(bool)
        Whether the hub answered, in the Qt thread.
    """

    answered = Signal(bool)
    _from_thread = Signal(bool)

    def __init__(self) -> None:
        super().__init__()
        #: True / False once known; None while unknown.
        self.reachable: bool | None = False if hub_offline() else None
        self._thread: threading.Thread | None = None
        self._from_thread.connect(self._deliver)  # queued: emitted in the probe thread

    def start(self, ask=_ask) -> None:
        """Ask in a background thread (once; again after :meth:`forget`)."""
        if hub_offline():
            self.reachable = False
            return
        if self.reachable is not None or self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, args=(ask,), name="napari-clipcap-hub", daemon=True
        )
        self._thread.start()

    def forget(self) -> None:
        """Drop the answer (after a load found the hub after all, or did not)."""
        if self._thread is None:
            self.reachable = False if hub_offline() else None

    def _run(self, ask) -> None:
        try:
            ok = bool(ask())
        except Exception:  # any failure to ask means "not reachable"
            logger.debug("hub probe failed", exc_info=True)
            ok = False
        try:
            self._from_thread.emit(ok)
        except RuntimeError:  # the application is gone
            pass

    def _deliver(self, ok: bool) -> None:
        self._thread = None
        self.reachable = ok
        self.answered.emit(ok)
