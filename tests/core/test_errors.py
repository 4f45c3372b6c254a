"""One way to say what went wrong: error_line, and fallbacks that leave a trace."""

from __future__ import annotations

import logging

import pytest

from napari_clipcap.core.errors import (
    ClipcapError,
    CountMismatchError,
    FileFormatError,
    InvalidInputError,
    error_line,
)


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        (InvalidInputError("--window must be\n  positive"), "--window must be positive"),
        (FileFormatError(""), "FileFormatError"),
        (ValueError("bad  value\nhere"), "ValueError: bad value here"),
        (KeyError("x"), "KeyError: 'x'"),
        (RuntimeError(), "RuntimeError"),
        (FileNotFoundError(2, "No such file or directory", "a.png"),
         "FileNotFoundError: [Errno 2] No such file or directory: 'a.png'"),
    ],
)  # fmt: skip
def test_error_line_is_one_line_saying_what_happened(exc, line):
    assert error_line(exc) == line


def test_a_count_that_does_not_add_up_is_a_package_error():
    assert issubclass(CountMismatchError, ClipcapError)


def test_io_failure_text_uses_the_one_line(tmp_path):
    from napari_clipcap.core.io.sources import failure_text

    text = failure_text("a.png", ValueError("x\ny"))
    assert text == "a.png: cannot read image (ValueError: x y)"
    assert failure_text("a.png", InvalidInputError("a.png: too big")) == "a.png: too big"


def test_a_failing_world_formatter_is_skipped_and_logged_with_its_traceback(caplog, monkeypatch):
    from napari_clipcap.core.coords import worldcoords

    def broken(metadata, row, col):
        raise RuntimeError("formatter bug")

    monkeypatch.setattr(worldcoords, "_FORMATTERS", {"broken": broken})
    monkeypatch.setattr(worldcoords, "_BUILTINS_DONE", True)
    with caplog.at_level(logging.DEBUG, logger="napari_clipcap.core.coords.worldcoords"):
        assert worldcoords.format_world({"broken": 1}, 0, 0) is None
    (record,) = caplog.records
    assert record.levelno == logging.DEBUG and record.exc_info[1].args == ("formatter bug",)


def test_nested_warning_collectors_each_leave_their_own_list():
    """A job's collector around two runs' collectors (a dock running its request twice):
    each run's exit takes its own list off the stack, not an equal-looking outer one."""
    import warnings

    from napari_clipcap.core.errors import LowDataWarning, collect_warnings, warn_user

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with collect_warnings() as outer:
            for n in range(2):
                with collect_warnings() as inner:
                    warn_user(f"low {n}", LowDataWarning)
                assert inner == [f"low {n}"]
        assert outer == ["low 0", "low 1"]
