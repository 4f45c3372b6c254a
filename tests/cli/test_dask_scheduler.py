"""``index`` and ``batch`` say the same one line (rc 2) for a scheduler they cannot use."""

from __future__ import annotations

import pytest

from fixtures.collection_data import colour_image, write_png
from napari_clipcap.cli import main
from napari_clipcap.core.distributed import cluster


@pytest.fixture
def one_image(tmp_path):
    return write_png(tmp_path / "images" / "a.png", colour_image("red", size=16))


def _argv(door: str, image, tmp_path, scheduler: str) -> list[str]:
    if door == "index":
        return ["index", str(image), "--index", str(tmp_path / "col"), "--scheduler", scheduler]
    return ["batch", str(image), "--task", "embed", "--out", str(tmp_path / "out"),
            "--scheduler", scheduler]  # fmt: skip


@pytest.mark.parametrize("door", ["index", "batch"])
@pytest.mark.parametrize(
    ("scheduler", "message"),
    [("garbage", "is not a Dask scheduler address"),
     ("tcp://127.0.0.1:1", "cannot reach the Dask scheduler tcp://127.0.0.1:1")],
)  # fmt: skip
def test_a_scheduler_that_cannot_be_used_is_one_line_and_rc_2(
    door, scheduler, message, one_image, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1.0)
    assert main(_argv(door, one_image, tmp_path, scheduler)) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
