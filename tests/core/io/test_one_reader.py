"""Every caller reads image files through core.io.reading.open_image."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import napari_clipcap
from fixtures.bad_images import write_bomb_png
from napari_clipcap.core.errors import FileFormatError
from napari_clipcap.core.io import reading

SRC = Path(napari_clipcap.__file__).parent
#: Calls that decode an image file; only core/io may make them.
FILE_READS = re.compile(r"Image\.open\(|tifffile\.imread|TiffFile\(|fits\.open\(|fits\.getdata")


def test_no_image_file_is_read_outside_core_io():
    offenders = [
        f"{path.relative_to(SRC)}:{n}"
        for path in SRC.rglob("*.py")
        if "core/io" not in path.relative_to(SRC).as_posix()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if FILE_READS.search(line)
    ]
    assert offenders == []


@pytest.fixture
def calls(monkeypatch):
    seen = []
    real = reading.open_image

    def spy(path, **kwargs):
        seen.append(Path(path).name)
        return real(path, **kwargs)

    monkeypatch.setattr(reading, "open_image", spy)
    return seen


def test_read_image_load_unit_and_training_go_through_open_image(tmp_path, calls):
    from PIL import Image

    from napari_clipcap.core.io.images import read_image
    from napari_clipcap.core.io.sources import load_unit
    from napari_clipcap.core.training.data import load_image

    Image.fromarray(np.zeros((6, 6, 3), np.uint8)).save(tmp_path / "a.png")
    read_image(tmp_path / "a.png")
    load_unit(tmp_path / "a.png")
    load_image(tmp_path / "a.png")
    assert calls == ["a.png"] * 3


def test_training_skips_a_bomb_instead_of_crashing(tmp_path):
    from PIL import Image

    from napari_clipcap.core.training.data import load_images

    Image.fromarray(np.zeros((6, 6, 3), np.uint8)).save(tmp_path / "ok.png")
    bomb = write_bomb_png(tmp_path / "bomb.png")
    images, kept, problems = load_images([bomb, tmp_path / "ok.png"])
    assert kept == [1] and len(images) == 1
    assert "bomb.png" in problems[0] and "decompression-bomb" in problems[0]
    with pytest.raises(FileFormatError, match="decompression-bomb"):
        load_images([bomb], strict=True)
