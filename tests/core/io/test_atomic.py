"""Writes are whole or absent: a failing or killed write keeps the previous file."""

from __future__ import annotations

import os

import numpy as np
import pytest

from fixtures.crash import FailingReplace, run_killed
from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.io import atomic
from napari_clipcap.core.io.atomic import (
    atomic_dir,
    atomic_file,
    check_output_folder,
    remove_temporaries,
    replace_dir,
    write_json,
    write_text,
)
from napari_clipcap.core.io.images import write_map


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "state.json"
    write_json(target, {"epoch": 1})
    with pytest.raises(RuntimeError):
        with atomic_file(target, "w") as f:
            f.write('{"epoch": 2')  # cut short: the writer fails
            raise RuntimeError("disk gone")
    monkeypatch.setattr(os, "replace", FailingReplace(1))
    with pytest.raises(OSError, match="injected"):
        write_text(target, '{"epoch": 3}')
    assert target.read_text() == '{\n  "epoch": 1\n}'
    assert _names(tmp_path) == ["state.json"]


def test_atomic_dir_replaces_a_folder_whole_or_not_at_all(tmp_path):
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("one")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "a.txt").write_text("two")
            raise RuntimeError("killed half-way")
    assert (target / "a.txt").read_text() == "one" and _names(tmp_path) == ["model"]
    with atomic_dir(target) as tmp:
        (tmp / "b.txt").write_text("two")
    assert _names(target) == ["b.txt"] and _names(tmp_path) == ["model"]


def test_replace_dir_without_an_exchange_and_recovery(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    old, new = tmp_path / "model", tmp_path / "new"
    old.mkdir()
    (old / "w").write_text("old")
    new.mkdir()
    (new / "w").write_text("new")
    replace_dir(new, old)
    assert (old / "w").read_text() == "new" and _names(tmp_path) == ["model"]
    # a kill between the two renames: the old folder is aside, the new one still a temp
    aside = atomic.temp_sibling(old, ".old-")
    os.replace(old, aside)
    (tmp_path / ".model.tmp-1-abcdef01").mkdir()
    removed = remove_temporaries(tmp_path)
    assert (old / "w").read_text() == "new" and _names(tmp_path) == ["model"]
    assert len(removed) == 1


def test_cleaning_touches_only_the_names_this_module_makes(tmp_path):
    """Issue 21.4: a user's dotfiles in an output folder are not temporaries."""
    users = {".draft.tmp": "draft", ".profile.old-1": "old profile",
             ".settings.old-2023": "2023 settings", ".x.tmp-12-nothex!": "mine",
             ".part-0000001-ab.parquet.tmp": "looks like an old temporary"}  # fmt: skip
    for name, text in users.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "profile").write_text("current profile")
    ours = atomic.temp_sibling(tmp_path / "report.json")
    ours.write_text("cut by a kill")
    aside = atomic.temp_sibling(tmp_path / "model", ".old-")
    aside.mkdir()
    assert sorted(p.name for p in remove_temporaries(tmp_path)) == [ours.name]
    assert (tmp_path / "model").is_dir()  # moved back: it was ours, and model was missing
    for name, text in users.items():
        assert (tmp_path / name).read_text() == text
    assert (tmp_path / "profile").read_text() == "current profile"
    assert not (tmp_path / "settings").exists()


def test_output_folders_of_the_user_are_refused_unless_overwrite(tmp_path):
    from napari_clipcap.core.errors import InvalidInputError

    mine = tmp_path / "myproject"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(InvalidInputError, match=r"did not create.*--overwrite"):
        atomic.check_output_folder(mine, owned=True)
    assert atomic.check_output_folder(mine, owned=True, overwrite=True) == mine
    assert atomic.check_output_folder(mine, owned=lambda p: (p / "notes.txt").exists())
    atomic.check_output_folder(tmp_path / "new", owned=True)  # missing: fine
    (tmp_path / "empty").mkdir()
    atomic.check_output_folder(tmp_path / "empty", owned=True)
    made = atomic.mark_output_folder(tmp_path / "run", "batch")
    (made / "results.parquet").write_text("x")
    atomic.check_output_folder(made, owned=True)  # marked: ours
    assert (mine / "notes.txt").read_text() == "mine"


def test_exchange_swaps_two_folders_in_one_step(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    if not atomic._exchange(a, b):
        pytest.skip("no atomic exchange on this system")
    assert (b / "x").exists() and not (a / "x").exists()


def test_check_output_folder(tmp_path):
    a_file = tmp_path / "f.txt"
    a_file.write_text("")
    with pytest.raises(InvalidInputError, match="is a file"):
        check_output_folder(a_file)
    with pytest.raises(InvalidInputError, match=r"lies under .*f\.txt"):
        check_output_folder(a_file / "run" / "deeper")
    assert check_output_folder(tmp_path / "new" / "run") == tmp_path / "new" / "run"
    assert not (tmp_path / "new").exists()  # checking writes nothing


@pytest.mark.parametrize("suffix", [".npy", ".fits", ".tif"])
def test_write_map_failure_keeps_the_previous_map(tmp_path, monkeypatch, suffix):
    path = tmp_path / f"heat{suffix}"
    first = np.arange(12, dtype=np.float32).reshape(3, 4)
    write_map(path, first)
    before = path.read_bytes()
    monkeypatch.setattr(os, "replace", FailingReplace(1))
    with pytest.raises(OSError, match="injected"):
        write_map(path, first + 1)
    assert path.read_bytes() == before and _names(tmp_path) == [path.name]
    monkeypatch.undo()
    write_map(path, first + 1)  # and the next write goes through
    assert path.read_bytes() != before and _names(tmp_path) == [path.name]


def test_write_geotiff_failure_keeps_the_previous_file(tmp_path, monkeypatch):
    from napari_clipcap.core.io.geoexport import write_geotiff

    geo = {"transform": (10.0, 0.0, 500000.0, 0.0, -10.0, 4000000.0), "crs": "EPSG:32633"}
    path = tmp_path / "map.tif"
    write_geotiff(path, np.ones((4, 5), np.float32), geo, band_names=["q"], tags={"a": 1})
    before = path.read_bytes()
    monkeypatch.setattr(os, "replace", FailingReplace(1))
    with pytest.raises(OSError, match="injected"):
        write_geotiff(path, np.zeros((4, 5), np.float32), geo, band_names=["q"])
    assert path.read_bytes() == before and _names(tmp_path) == ["map.tif"]


def test_a_killed_heatmap_write_leaves_the_previous_file(tmp_path):
    path = tmp_path / "heat.npy"
    code = f"""
    import numpy as np
    from napari_clipcap.core.io.images import write_map
    write_map({str(path)!r}, np.zeros((64, 64), np.float32))
    write_map({str(path)!r}, np.ones((64, 64), np.float32))
    """
    proc = run_killed(code, "heat.npy", nth=2)
    assert proc.returncode == -9, proc.stderr
    assert np.array_equal(np.load(path), np.zeros((64, 64), np.float32))
    assert len(remove_temporaries(tmp_path)) == 1 and _names(tmp_path) == ["heat.npy"]


def test_a_folder_swapped_keeping_foreign_files_replaces_only_its_own(tmp_path):
    """Issue 21.4: a user's notes inside the project's folder survive its replacement;
    the project's files of the old version that it no longer writes do not."""
    from napari_clipcap.core.io.atomic import FILES_MANIFEST, atomic_dir, remove_written

    target = tmp_path / "model"
    with atomic_dir(target, keep_foreign=True) as tmp:
        (tmp / "weights.bin").write_bytes(b"v1")
        (tmp / "old_only.json").write_text("{}")
        (tmp / "decoder").mkdir()
        (tmp / "decoder" / "config.json").write_text("{}")
    (target / "my_notes.txt").write_text("notes")
    (target / "decoder" / "mine.txt").write_text("mine")
    (target / "link").symlink_to(tmp_path / "elsewhere")  # carried as a link, not followed
    with atomic_dir(target, keep_foreign=True) as tmp:
        (tmp / "weights.bin").write_bytes(b"v2")
        (tmp / "decoder").mkdir()
        (tmp / "decoder" / "config.json").write_text('{"v": 2}')
    assert (target / "weights.bin").read_bytes() == b"v2"
    assert (target / "my_notes.txt").read_text() == "notes"
    assert (target / "decoder" / "mine.txt").read_text() == "mine"
    assert (target / "link").is_symlink() and not (target / "old_only.json").exists()
    assert remove_written(target) is False  # the user's files keep the folder
    assert sorted(p.name for p in target.rglob("*")) == ["decoder", "link", "mine.txt",
                                                         "my_notes.txt"]  # fmt: skip
    assert not (target / FILES_MANIFEST).exists()
