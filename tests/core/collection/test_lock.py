"""One indexing run at a time: a second run on the same collection waits or is refused."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fixtures.collection_data import ColourEncoder, make_image_folder
from napari_clipcap.cli import main
from napari_clipcap.core.collection.indexing import index_paths
from napari_clipcap.core.collection.lock import CollectionBusyError, collection_lock
from napari_clipcap.core.collection.store import Collection
from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.io.sources import load_unit


@pytest.fixture
def folder(tmp_path):
    return make_image_folder(tmp_path / "images")


def test_second_run_is_refused_while_the_first_writes(folder, tmp_path):
    col_dir = tmp_path / "col"
    col_dir.mkdir()
    enc = ColourEncoder()
    with collection_lock(col_dir):
        with pytest.raises(CollectionBusyError, match=r"another indexing run \(process \d+\)"):
            index_paths(col_dir, [folder], enc)
    assert enc.image_calls == 0
    with Collection(col_dir) as col:
        assert len(col) == 0
    assert index_paths(col_dir, [folder], enc).items == 12  # free again afterwards


def test_two_concurrent_runs_embed_each_file_once(folder, tmp_path):
    col_dir, started = tmp_path / "col", threading.Event()

    def slow_loader(path, hdu):
        started.set()
        time.sleep(0.05)
        return load_unit(path, hdu)

    encoders, reports = [ColourEncoder(), ColourEncoder()], []
    first = threading.Thread(
        target=lambda: reports.append(
            index_paths(col_dir, [folder], encoders[0], loader=slow_loader, batch_size=2)
        )
    )
    first.start()
    assert started.wait(30)
    second = index_paths(col_dir, [folder], encoders[1], wait=None)  # waits for the first
    first.join()
    assert reports[0].added == 11 and reports[0].embedded == 12
    assert second.added == 0 and second.unchanged == 11 and second.embedded == 0
    assert encoders[0].images_seen + encoders[1].images_seen == 12
    with Collection(col_dir) as col:
        assert len(col) == 12


def test_wait_gives_up_after_its_time(tmp_path):
    tic = time.monotonic()
    with collection_lock(tmp_path):
        with pytest.raises(CollectionBusyError):
            with collection_lock(tmp_path, wait=0.3, poll=0.05):
                pass
    assert 0.3 <= time.monotonic() - tic < 5


def test_a_killed_holder_leaves_the_collection_free(tmp_path):
    code = (
        "import sys, time\n"
        "from napari_clipcap.core.collection.lock import collection_lock\n"
        "with collection_lock(sys.argv[1]):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(CollectionBusyError, match=str(proc.pid)):
            with collection_lock(tmp_path):
                pass
    finally:
        proc.kill()
        proc.wait()
    with collection_lock(tmp_path, wait=5):  # the kill released it
        pass


def test_cli_index_refuses_a_busy_collection(folder, tmp_path, capsys, monkeypatch):
    from napari_clipcap.cli import index as index_cli

    col_dir = tmp_path / "col"
    col_dir.mkdir()
    from napari_clipcap.core.registry import ModelSpec

    spec = ModelSpec("clip", "m", resolved=True)
    monkeypatch.setattr(index_cli, "clip_spec", lambda args, folder: spec)
    monkeypatch.setattr(
        "napari_clipcap.core.clip.model.load_clip", lambda *a, **k: ColourEncoder()
    )
    argv = ["index", str(folder), "--index", str(col_dir), "--json"]
    with collection_lock(col_dir):
        assert main(argv) == 2
    assert "another indexing run" in capsys.readouterr().err
    assert main([*argv[:-1], "--wait", "-1"]) == 2
    assert "--wait" in capsys.readouterr().err
    assert main(argv) == 0
    assert '"items": 12' in capsys.readouterr().out


def test_a_linked_lock_file_never_touches_its_target(folder, tmp_path):
    """Issue 21.2: ``index.lock -> ../user_files/thesis.tex`` must not truncate the thesis."""
    victim = tmp_path / "user_files" / "thesis.tex"
    victim.parent.mkdir()
    victim.write_text("\\chapter{Results}\n" * 500)
    before = victim.read_bytes()
    col_dir = tmp_path / "col"
    col_dir.mkdir()
    (col_dir / "index.lock").symlink_to(Path("..") / "user_files" / "thesis.tex")
    with pytest.raises(InvalidInputError, match=r"index\.lock is not a plain file"):
        with collection_lock(col_dir):
            pass
    enc = ColourEncoder()
    with pytest.raises(InvalidInputError, match=r"index\.lock is not a plain file"):
        index_paths(col_dir, [folder], enc)
    assert enc.image_calls == 0
    assert victim.read_bytes() == before


def test_a_hard_linked_or_odd_lock_file_is_refused(tmp_path):
    victim = tmp_path / "notes.txt"
    victim.write_text("keep me")
    for name, make in {
        "hard": lambda p: os.link(victim, p),
        "folder": lambda p: p.mkdir(),
        "fifo": lambda p: os.mkfifo(p),
    }.items():
        col_dir = tmp_path / name
        col_dir.mkdir()
        make(col_dir / "index.lock")
        with pytest.raises(InvalidInputError, match="not a plain file"):
            with collection_lock(col_dir):
                pass
    assert victim.read_text() == "keep me"


def test_a_linked_lock_is_one_line_from_the_cli(folder, tmp_path, capsys, monkeypatch):
    from napari_clipcap.cli import index as index_cli
    from napari_clipcap.core.registry import ModelSpec

    spec = ModelSpec("clip", "m", resolved=True)
    monkeypatch.setattr(index_cli, "clip_spec", lambda args, folder: spec)
    monkeypatch.setattr(
        "napari_clipcap.core.clip.model.load_clip", lambda *a, **k: ColourEncoder()
    )
    victim = tmp_path / "thesis.tex"
    victim.write_text("draft")
    col_dir = tmp_path / "col"
    col_dir.mkdir()
    (col_dir / "index.lock").symlink_to(victim)
    rc = main(["index", str(folder), "--index", str(col_dir)])
    err = capsys.readouterr().err
    assert rc != 0 and "Traceback" not in err and "not a plain file" in err
    assert victim.read_text() == "draft"
