"""The command line's progress bar: tqdm on stderr, never on stdout, off for --json."""

from __future__ import annotations

import io
import json
import sys

import numpy as np
import pytest

from napari_clipcap.cli import main
from napari_clipcap.cli._common import ProgressBar


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _terminal(monkeypatch) -> _Terminal:
    """Make stderr a stream that says it is a terminal; returns it for reading.

    Called inside each test: pytest's output capture sets sys.stderr again between a
    fixture's set-up and the test call."""
    err = _Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    return err


def test_draws_a_tqdm_bar_on_stderr(monkeypatch, capsys):
    terminal = _terminal(monkeypatch)
    bar = ProgressBar("caption")
    for done in range(4):
        bar(done, 3)
    text = terminal.getvalue()
    assert "caption: 100%|" in text and "3/3" in text  # tqdm's layout
    assert bar.bar is None  # closed when done
    assert capsys.readouterr().out == ""


def test_a_new_total_starts_a_new_bar(monkeypatch):
    terminal = _terminal(monkeypatch)
    bar = ProgressBar("train")
    bar(1, 2)
    first = bar.bar
    bar(1, 5)
    assert bar.bar is not first and bar.bar.total == 5 and bar.bar.n == 1
    bar(0, 5)  # going back: a new phase
    assert bar.bar.n == 0
    bar.close()
    assert "1/2" in terminal.getvalue()


def test_quiet_or_not_a_terminal_draws_nothing(monkeypatch):
    terminal = _terminal(monkeypatch)
    bar = ProgressBar("labels", quiet=True)
    bar(1, 2)
    bar(2, 2)
    assert terminal.getvalue() == "" and bar.bar is None
    plain = io.StringIO()
    monkeypatch.setattr(sys, "stderr", plain)
    ProgressBar("labels")(1, 2)
    assert plain.getvalue() == ""


def test_zero_total_draws_nothing(monkeypatch):
    terminal = _terminal(monkeypatch)
    ProgressBar("index")(0, 0)
    assert terminal.getvalue() == ""


@pytest.fixture
def png(tmp_path):
    from PIL import Image

    path = tmp_path / "scene.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(path)
    return path


def test_labels_shows_the_bar_on_stderr_only(png, clip_args, tiny_clip, monkeypatch, capsys):
    terminal = _terminal(monkeypatch)
    argv = ["labels", str(png), "--labels", "river,forest", "--region", "0,0,32,24"]
    assert main([*argv, *clip_args]) == 0
    assert "labels: 100%|" in terminal.getvalue()
    assert "100%" not in capsys.readouterr().out


def test_labels_json_keeps_stdout_clean_and_stderr_quiet(
    png, clip_args, tiny_clip, monkeypatch, capsys
):
    terminal = _terminal(monkeypatch)
    argv = ["labels", str(png), "--labels", "river,forest", "--json", *clip_args]
    assert main(argv) == 0
    json.loads(capsys.readouterr().out)  # stdout is exactly one JSON document
    assert "%|" not in terminal.getvalue()
