"""The package uses nothing newer than the lowest Python that pyproject declares."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "check_python_floor.py"


def floor() -> str:
    """``"3.10"`` from ``requires-python = ">=3.10"``."""
    text = (ROOT / "pyproject.toml").read_text()
    return re.search(r'requires-python\s*=\s*">=\s*(\d+\.\d+)', text).group(1)


def floor_python() -> list[str] | None:
    """A command running the floor's interpreter: ``$PYTHON_FLOOR``, ``python3.X`` on the
    PATH, or pyenv's copy; None when there is none."""
    if os.environ.get("PYTHON_FLOOR"):
        return [os.environ["PYTHON_FLOOR"]]
    version = floor()
    for cmd in ([f"python{version}"], ["pyenv", "exec", f"python{version}"]):
        if shutil.which(cmd[0]) is None:
            continue
        env = {**os.environ, "PYENV_VERSION": ""}
        if cmd[0] == "pyenv":
            found = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True,
                                   text=True).stdout.split()  # fmt: skip
            matches = [v for v in found if v.startswith(f"{version}.")]
            if not matches:
                continue
            env["PYENV_VERSION"] = matches[-1]
        probe = subprocess.run([*cmd, "-c", "import sys; print(sys.version_info[:2])"],
                               capture_output=True, text=True, env=env)  # fmt: skip
        if probe.returncode == 0:
            return ["env", f"PYENV_VERSION={env['PYENV_VERSION']}", *cmd]
    return None


def test_the_checker_catches_a_name_newer_than_its_python(tmp_path, monkeypatch):
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import check_python_floor as checker
    finally:
        sys.path.pop(0)
    (tmp_path / "src").mkdir()
    bad = tmp_path / "src" / "bad.py"
    bad.write_text("import typing\nfrom typing import NoSuchName\nx = typing.AlsoMissing\n")
    monkeypatch.setattr(checker, "ROOT", tmp_path)
    assert checker.problems_in(bad) == [
        "src/bad.py:2: typing.NoSuchName is newer",
        "src/bad.py:3: typing.AlsoMissing is newer",
    ]


def test_the_package_runs_on_the_declared_floor():
    cmd = floor_python()
    if cmd is None:
        pytest.skip(f"no Python {floor()} here (set PYTHON_FLOOR to its interpreter)")
    done = subprocess.run([*cmd, str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Python {floor()}." in done.stdout
