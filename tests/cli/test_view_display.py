"""``napari-clipcap view`` without a display: one line saying how to run headless, rc 2
(not Qt's abort with rc 134)."""

from __future__ import annotations

import os
import subprocess
import sys

from napari_clipcap.cli.view import has_display


def test_has_display_reads_the_environment(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    assert not has_display({})
    assert has_display({"DISPLAY": ":99"}) and has_display({"WAYLAND_DISPLAY": "wayland-0"})
    assert has_display({"QT_QPA_PLATFORM": "offscreen"})


def test_view_without_a_display_says_so_in_one_line():
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "napari_clipcap", "view"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if not sys.platform.startswith("linux"):
        return
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs a display" in lines[0]
    assert "xvfb-run napari-clipcap view" in lines[0] and "Traceback" not in done.stderr
