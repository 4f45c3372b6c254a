"""One bad file never stops an index run: it is recorded as failed and the run goes on."""

from __future__ import annotations

import pytest

from fixtures.bad_images import write_bomb_png, write_corrupt_tiles, write_orphan_continue
from fixtures.collection_data import ColourEncoder, make_image_folder
from napari_clipcap.core.collection.indexing import index_paths
from napari_clipcap.core.io.fits.reader import FitsWarning
from napari_clipcap.core.io.sources import load_unit


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = make_image_folder(tmp_path_factory.mktemp("bad") / "images", per_colour=1)
    # named to come first: every file after them must still be indexed
    write_bomb_png(root / "a_bomb.png")
    write_corrupt_tiles(root / "a_tiles.fits")
    write_orphan_continue(root / "a_orphan.fits")
    return root


def _failed(rep) -> dict[str, str]:
    return {f["path"].rsplit("/", 1)[-1]: f["error"] for f in rep.failed}


def test_bad_files_are_recorded_and_later_files_indexed(folder, tmp_path):
    with pytest.warns(FitsWarning, match="orphan CONTINUE"):  # repaired, then indexed
        rep = index_paths(tmp_path / "col", [folder], ColourEncoder())
    failed = _failed(rep)
    assert sorted(failed) == ["a_bomb.png", "a_tiles.fits"]
    assert "decompression-bomb" in failed["a_bomb.png"]
    assert "tile-compressed HDU is corrupt" in failed["a_tiles.fits"]
    assert rep.added == rep.files - 2 and rep.items == 5 + 2 + 1  # PNGs, SCI+ERR, orphan
    again = index_paths(tmp_path / "col", [folder], ColourEncoder())  # orphan: unchanged
    assert sorted(_failed(again)) == ["a_bomb.png", "a_tiles.fits"]
    assert all(f["unchanged"] for f in again.failed) and again.unchanged == again.files - 2


def test_any_exception_from_a_loader_fails_only_its_file(folder, tmp_path):
    def loader(path, hdu):
        if path.endswith("blue_0.png"):
            raise RuntimeError("codec crashed")
        if path.endswith(("bomb.png", "tiles.fits")):
            raise KeyError("not reached")
        return load_unit(path, hdu)

    with pytest.warns(FitsWarning):
        rep = index_paths(tmp_path / "col", [folder], ColourEncoder(), loader=loader)
    failed = _failed(rep)
    assert "RuntimeError: codec crashed" in failed["blue_0.png"]
    assert "blue_0.png" in failed["blue_0.png"]
    assert rep.added == rep.files - 3
