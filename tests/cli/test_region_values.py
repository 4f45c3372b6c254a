"""``--region`` values that are not finite numbers: one clear error, no traceback."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clipcap.cli import main
from napari_clipcap.cli._common import parse_box
from napari_clipcap.core.errors import InvalidInputError


@pytest.mark.parametrize("text", ["0,0,inf,10", "0,0,-inf,10", "nan,0,5,5", "1e400,0,1,1"])
def test_non_finite_region_is_an_input_error(text):
    with pytest.raises(InvalidInputError, match="finite pixel coordinates"):
        parse_box(text)


def test_finite_regions_still_parse():
    assert parse_box("-5.5,0,10,10") == (-6, 0, 10, 10)
    with pytest.raises(InvalidInputError, match="not four numbers"):
        parse_box("1,2,3")


@pytest.mark.parametrize("command", ["labels", "caption"])
def test_infinite_region_on_the_command_line_exits_with_a_message(tmp_path, capsys, command):
    from PIL import Image

    png = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(png)
    extra = ["--labels", "x,y"] if command == "labels" else ["--weights", "w.pt"]
    assert main([command, str(png), *extra, "--region", "0,0,inf,10"]) == 2
    err = capsys.readouterr().err
    assert "region '0,0,inf,10'" in err and "Traceback" not in err
    assert "OverflowError" not in err
