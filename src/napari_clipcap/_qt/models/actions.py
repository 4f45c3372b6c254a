"""What the model panel's buttons do: Load (download with bytes and cancel, then load),
Unload, and the error line that belongs to the choices that failed."""

from __future__ import annotations

import re

from ..._napari.models.download import download_choices
from ..._napari.models.offline import Reason, missing_repos, offline_reason
from ..._napari.models.readiness import captioner_problem, clip_problem
from ..._napari.models.store import STORE
from ...core.cache import hub_offline
from ...core.errors import ModelNotFoundError

#: Longest error shown in the panel before "Details" (about two lines of a dock).
SHORT_CHARS = 150


def short_message(text: str) -> str:
    """The first sentence of an error, at most :data:`SHORT_CHARS` characters."""
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    if len(first) > SHORT_CHARS:
        first = first[: SHORT_CHARS - 1].rstrip() + "…"
    return f"Could not load: {first}"


def format_bytes(kib: int) -> str:
    """A size in KiB as people read it: "812 KB", "12.3 MB", "1.40 GB"."""
    n = kib * 1024
    for unit, scale in (("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}" if unit == "GB" else f"{n / scale:.1f} {unit}"
    return f"{n / 1e3:.0f} KB"


class PanelActions:
    """Mixin of :class:`~napari_clipcap._qt.models.panel.ModelPanel`: its jobs."""

    # -- can the dock run? ----------------------------------------------------------
    def problem(self) -> str:
        """Why the dock's models cannot run now, in words for the GUI ('' when they can).

        Only what is known without waiting: a preset not downloaded while the hub is
        offline (``HF_HUB_OFFLINE``) or did not answer. The captioner counts in a panel
        with captioner rows, CLIP otherwise.
        """
        reason = self.problem_reason()
        return reason.short if reason is not None else ""

    def problem_reason(self):
        """The :class:`~napari_clipcap._napari.models.offline.Reason` behind :meth:`problem`."""
        s = self.settings
        choice, kind = (self.captioner, "captioner") if self.show_captioner else (s.clip, "clip")
        local = captioner_problem(choice) if kind == "captioner" else clip_problem(choice)
        if local:
            return Reason(local, local)
        return offline_reason(choice, kind, self._hub.reachable)

    def _hub_answered(self, _ok: bool) -> None:
        self.refresh()

    def _ready_changed(self) -> None:
        reason = self.problem_reason()
        self.load_button.setToolTip(
            reason.detail if reason is not None
            else "Download (if needed) and load the chosen models now"
        )  # fmt: skip
        self.ready_changed.emit()

    # -- jobs ----------------------------------------------------------------------
    def _choices(self) -> list:
        s = self.settings
        # the dock's own model first: the captioner in a panel that shows it
        return (
            [(self.captioner, "captioner"), (s.clip, "clip")]
            if self.show_captioner
            else [(s.clip, "clip")]
        )

    def _owner(self) -> tuple:
        return tuple(c.key() for c, _ in self._choices())

    def load_models(self) -> None:
        """Download what is missing (bytes and cancel) and load the chosen models."""
        s = self.settings
        # the choices as clicked: the shared settings may change while the job runs
        choices, device, precision = self._choices(), s.device, s.precision
        owner = self._owner()

        def job(progress, cancel):
            if any(missing_repos(c, k) for c, k in choices):
                from ...core.clip.hub import hub_reachable

                reachable = not hub_offline() and hub_reachable(3.0, max_age=0)
                for choice, kind in choices:
                    reason = offline_reason(choice, kind, reachable)
                    if reason is not None:
                        raise ModelNotFoundError(reason.detail)
                download_choices(choices, progress, cancel)
            for choice, kind in choices:
                if kind == "clip":
                    STORE.clip(choice, device, precision, lambda d, t: progress(d >> 10, t >> 10))
                else:
                    STORE.captioner(choice, device, precision)
            return STORE.loaded()

        def done(names):
            self.errors.clear()
            self.job_panel.set_status("Loaded: " + ", ".join(names), elide=True)
            self.mark_presets()
            self.refresh()

        job = self._start(job, "Loading models", done)
        if job is not None:
            job.progressed.connect(self._show_bytes)
            job.failed.connect(lambda message: self._load_failed(message, owner, choices))

    def _show_bytes(self, done: int, total: int) -> None:
        if total > 0:
            bar = self.job_panel.bar
            bar.setFormat(f"{format_bytes(done)} of {format_bytes(total)} (%p%)")

    def _load_failed(self, message: str, owner: tuple, choices: list) -> None:
        self.job_panel.set_status("")
        self._hub.forget()
        self._hub.start()
        reasons = [offline_reason(c, k, False) for c, k in choices]
        reason = next((r for r in reasons if r is not None), None)
        short = reason.short if reason is not None and "hub" in message else None
        self.errors.show_error(short or short_message(message), message, owner)
        self.rows.ensureWidgetVisible(self.errors)  # scrolled into view, with Load
        self._ready_changed()

    def unload_models(self) -> None:
        """Free every loaded model, in a worker: it waits for any load in progress
        (the model caches are locked while a model loads), which must not freeze napari."""

        def done(n):
            self.job_panel.set_status(f"Unloaded {n} model{'s' if n != 1 else ''}.")

        self._start(lambda progress, cancel: STORE.unload(), "Unloading models", done)

    def _start(self, fn, label: str, done):
        if self.job_panel.busy:  # one load or unload at a time
            return None
        for button in (self.load_button, self.unload_button):
            button.setEnabled(False)
        job = self.job_panel.run(fn, label, done, parent=self)
        job.ended.connect(self._jobs_ended)
        return job

    def _jobs_ended(self) -> None:
        for button in (self.load_button, self.unload_button):
            button.setEnabled(True)
