"""Issue 21.1: a received collection's index files are data, never file names to follow.

Each test plays a sender who plants a FAISS file that names another file (inverted
lists "on disk" in ``.bashrc``, relative to wherever the receiver runs the plugin) or a
manifest pointing outside its folder, then runs one door of the plugin from a "home"
folder holding a victim ``.bashrc``. The victim must come through byte for byte, and the
search must still be right: the index is rebuilt from the SQLite vectors.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from fixtures.collection_data import ColourEncoder, colour_image, write_png
from napari_clipcap.cli import main
from napari_clipcap.core.collection import store as store_module
from napari_clipcap.core.collection.faissfiles import (
    UntrustedIndexError,
    probe_index,
    read_index,
)
from napari_clipcap.core.collection.ivfpq.index import FOLDER_NAME, IvfPqIndex
from napari_clipcap.core.collection.records import FileRecord, NewItem
from napari_clipcap.core.collection.search import search_text
from napari_clipcap.core.collection.store import Collection
from napari_clipcap.core.collection.vectorindex import VectorIndex
from napari_clipcap.core.errors import FileFormatError

DIM = 16
VICTIM = "echo 'the receiver's own shell settings'\n"


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _add_items(col: Collection, vecs: np.ndarray, start: int = 0) -> None:
    records = [
        (FileRecord(f"/sender/im{start + i:05d}.png", 1, 1, "h", None),
         [NewItem(None, 8, 8, v, b"")])
        for i, v in enumerate(vecs)
    ]  # fmt: skip
    col.write_files(records)


def _received(tmp_path: Path, n: int) -> tuple[Path, np.ndarray]:
    """A collection of ``n`` random vectors bound to the ColourEncoder (as if sent)."""
    folder, vecs = tmp_path / "received", _vectors(n)
    with Collection(folder, create=True) as col:
        col.bind_model(ColourEncoder(dim=DIM).name, "m", "")
        _add_items(col, vecs)
    return folder, vecs


def _ondisk_ivf(vecs: np.ndarray, scratch: Path, name: str = ".bashrc"):
    """An ``IndexIVFFlat`` whose lists live in ``name``, relative to the current folder."""
    import faiss

    cwd = os.getcwd()
    scratch.mkdir(parents=True, exist_ok=True)
    os.chdir(scratch)
    try:
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, 16, faiss.METRIC_INNER_PRODUCT)
        index.train(vecs)
        lists = faiss.OnDiskInvertedLists(index.nlist, index.code_size, name)
        index.replace_invlists(lists, True)
        lists.this.disown()
        index.add_with_ids(vecs, np.arange(1, len(vecs) + 1, dtype=np.int64))
        size = os.path.getsize(name)
    finally:
        os.chdir(cwd)
    return index, size


def _plant_ivf(folder: Path, vecs: np.ndarray, tmp_path: Path, *, stale: bool = True) -> int:
    """Write the sender's ``vectors.faiss``; returns the size its lists file needs."""
    import faiss

    index, size = _ondisk_ivf(vecs, tmp_path / "sender-home")
    faiss.write_index(index, str(folder / "vectors.faiss"))
    with Collection(folder) as col:
        gen = col.generation - (1 if stale else 0)
    info = {"kind": "ivf", "nprobe": 16, "recall": 1.0, "ntotal": len(vecs),
            "generation": gen, "trained_on": len(vecs)}  # fmt: skip
    (folder / "vectors.faiss.json").write_text(json.dumps(info))
    return size


@pytest.fixture
def home(tmp_path, monkeypatch):
    """The receiver's home folder, the current folder, with a ``.bashrc`` to protect."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(home)
    return home


def _victim(home: Path, size: int) -> bytes:
    text = (VICTIM + "#" * 79 + "\n") * (size // 80 + 1)
    (home / ".bashrc").write_text(text)
    return text.encode()


def _patch_cli_clip(monkeypatch) -> None:
    from napari_clipcap.cli import index as index_cli

    monkeypatch.setattr(index_cli, "clip_spec", lambda args, folder: ("m", None))
    monkeypatch.setattr(
        "napari_clipcap.core.clip.model.load_clip", lambda *a, **k: ColourEncoder(dim=DIM)
    )


def _assert_rebuilt(folder: Path, vecs: np.ndarray) -> None:
    assert probe_index(folder / "vectors.faiss") in ("exact", "ivf")
    with Collection(folder) as col:
        hits = col.search(vecs[[5, 300]], k=1)
    assert [h[0][0].path for h in hits] == ["/sender/im00005.png", "/sender/im00300.png"]


def test_the_probe_refuses_lists_in_another_file_without_opening_it(tmp_path):
    vecs = _vectors(700)
    index, _ = _ondisk_ivf(vecs, tmp_path / "scratch", "missing-lists")
    import faiss

    faiss.write_index(index, str(tmp_path / "evil.faiss"))
    (tmp_path / "scratch" / "missing-lists").unlink()
    fifo = tmp_path / "scratch" / "missing-lists"
    os.mkfifo(fifo)  # opening it would block the test forever
    with pytest.raises(UntrustedIndexError, match="another file"):
        read_index(tmp_path / "evil.faiss")
    link = tmp_path / "link.faiss"
    link.symlink_to(tmp_path / "evil.faiss")
    with pytest.raises(UntrustedIndexError, match="not a plain file"):
        probe_index(link)


def test_index_types_the_project_never_writes_are_refused(tmp_path):
    import faiss

    vecs = _vectors(700)
    others = {
        "hnsw": faiss.IndexHNSWFlat(DIM, 8),
        "flat-l2": faiss.IndexIDMap2(faiss.IndexFlatL2(DIM)),
        "idmap-of-ivf": faiss.IndexIDMap2(
            faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, 4, faiss.METRIC_INNER_PRODUCT)
        ),
    }
    for name, index in others.items():
        index.train(vecs)
        if name == "hnsw":
            index.add(vecs)
        path = tmp_path / f"{name}.faiss"
        faiss.write_index(index, str(path))
        with pytest.raises(UntrustedIndexError):
            read_index(path, ("exact", "ivf"))
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, 16, faiss.METRIC_INNER_PRODUCT)
    ivf.train(vecs)
    faiss.write_index(ivf, str(tmp_path / "ivf.faiss"))
    loaded, kind = read_index(tmp_path / "ivf.faiss")
    assert kind == "ivf" and type(faiss.downcast_InvertedLists(loaded.invlists)).__name__ == (
        "ArrayInvertedLists"
    )


def test_cli_index_approximate_yes_never_writes_the_named_file(tmp_path, home, monkeypatch):
    """The attack of the issue: ``index im.png --index received --approximate yes``."""
    folder, vecs = _received(tmp_path, 700)
    before = _victim(home, _plant_ivf(folder, vecs, tmp_path))
    _patch_cli_clip(monkeypatch)
    image = write_png(tmp_path / "mine" / "red.png", colour_image("red"))
    argv = ["index", str(image.parent), "--index", str(folder), "--approximate", "yes"]
    assert main(argv) == 0
    assert (home / ".bashrc").read_bytes() == before
    _assert_rebuilt(folder, vecs)


def test_cli_search_text_never_writes_the_named_file(tmp_path, home, monkeypatch, capsys):
    """``search --text`` on a received collection past the IVF threshold (patched low)."""
    folder, vecs = _received(tmp_path, 700)
    before = _victim(home, _plant_ivf(folder, vecs, tmp_path))
    _patch_cli_clip(monkeypatch)
    monkeypatch.setattr(store_module, "APPROX_THRESHOLD", 500)
    argv = ["search", "--index", str(folder), "--text", "red", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["index_kind"] == "ivf" and len(out["hits"]) == 10
    assert (home / ".bashrc").read_bytes() == before
    _assert_rebuilt(folder, vecs)


def test_search_dock_path_never_follows_the_index(tmp_path, home, monkeypatch):
    """The Search dock's job calls ``search_text`` on its open Collection."""
    folder, vecs = _received(tmp_path, 700)
    before = _victim(home, _plant_ivf(folder, vecs, tmp_path, stale=False))
    monkeypatch.setattr(store_module, "APPROX_THRESHOLD", 500)
    with Collection(folder) as col:
        hits = search_text(col, "red", ColourEncoder(dim=DIM), 5)
        assert len(hits) == 5 and col.vector_index().kind == "ivf"
    assert (home / ".bashrc").read_bytes() == before
    _assert_rebuilt(folder, vecs)


def test_index_from_batch_never_follows_the_index(tmp_path, home, monkeypatch, capsys):
    import pandas as pd

    folder, vecs = _received(tmp_path, 700)
    with Collection(folder) as col:  # the run's model must be the collection's
        col._set_meta(model_id="m", clip_model="m", clip_weights="")
    before = _victim(home, _plant_ivf(folder, vecs, tmp_path))
    monkeypatch.setattr(store_module, "APPROX_THRESHOLD", 500)
    monkeypatch.setattr(
        "napari_clipcap.core.collection.frombatch.clip_name", lambda model, weights: "m"
    )
    run = tmp_path / "run"
    (run / "parts").mkdir(parents=True)
    (run / "batch.json").write_text(json.dumps({"task": "embed", "clip_model": "m"}))
    image = write_png(tmp_path / "mine" / "red.png", colour_image("red"))
    part = run / "parts" / "part-0000000-abc.parquet"
    pd.DataFrame({"path": [str(image)], "hdu": pd.array([None], dtype="Int64"),
                  "width": 24, "height": 24, "error": None,
                  "embedding": list(_vectors(1, seed=9))}).to_parquet(part)  # fmt: skip
    later = os.stat(image).st_mtime_ns + 10**9
    os.utime(part, ns=(later, later))
    argv = ["index", "--from-batch", str(run), "--index", str(folder), "--json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["items"] == 701
    assert (home / ".bashrc").read_bytes() == before
    _assert_rebuilt(folder, vecs)


def test_an_index_holding_other_items_is_rebuilt(tmp_path):
    """Current generation and count, but other ids: the database decides, not the index."""
    from napari_clipcap.core.collection.vectorindex import build_exact

    folder, vecs = _received(tmp_path, 50)
    with Collection(folder) as col:
        gen = col.generation
    build_exact(vecs[::-1].copy(), np.arange(1000, 1050)).save(
        folder / "vectors.faiss", {"generation": gen, "trained_on": 50}
    )
    (folder / "vectors.faiss.json").write_text(
        json.dumps({"kind": "exact", "generation": gen, "nprobe": "x"})
    )  # a garbled setting too
    with Collection(folder) as col:
        hits = col.search(vecs[[7]], k=1)
    assert hits[0][0][0].path == "/sender/im00007.png"
    index, _ = VectorIndex.load(folder / "vectors.faiss")
    assert index.ids().min() == 1


# -- the memory-mapped IVF-PQ index ---------------------------------------------------


def _ivfpq_collection(tmp_path: Path, n: int = 1200) -> tuple[Path, np.ndarray]:
    folder, vecs = _received(tmp_path, n)
    with Collection(folder, memory_budget=100_000) as col:
        assert col.vector_index().kind == "ivfpq"
    return folder, vecs


def _ivfpq_search_ok(folder: Path, vecs: np.ndarray, n_new: int = 0) -> None:
    with Collection(folder, memory_budget=100_000) as col:
        if n_new:
            _add_items(col, _vectors(n_new, seed=5), start=len(vecs))
        hits = col.search(vecs[[3, 700]], k=1)
        assert col.vector_index().kind == "ivfpq"
    assert [h[0][0].path for h in hits] == ["/sender/im00003.png", "/sender/im00700.png"]


def test_a_manifest_naming_files_outside_its_folder_is_refused(tmp_path):
    folder, vecs = _ivfpq_collection(tmp_path)
    index_dir = folder / FOLDER_NAME
    manifest = json.loads((index_dir / "manifest.json").read_text())
    for bad in ({"merged": "../../elsewhere/merged-00000000.faiss"},
                {"removed": "/etc/removed-00000000.npy"},
                {"shards": [{**manifest["shards"][0], "f16": "../x.f16.npy"}]}):  # fmt: skip
        with pytest.raises(UntrustedIndexError):
            IvfPqIndex(index_dir, {**manifest, **bad})
    (index_dir / "manifest.json").write_text(
        json.dumps({**manifest, "merged": "../../x/merged-00000000.faiss"})
    )
    _ivfpq_search_ok(folder, vecs)


def test_merged_lists_are_read_only_from_the_file_the_manifest_names(tmp_path, home):
    """A merged index naming another data file (here a link to the victim) is refused."""
    import faiss

    folder, vecs = _ivfpq_collection(tmp_path)
    index_dir = folder / FOLDER_NAME
    manifest = json.loads((index_dir / "manifest.json").read_text())
    merged = index_dir / manifest["merged"]
    index = faiss.read_index(str(merged), faiss.IO_FLAG_ONDISK_SAME_DIR)
    faiss.downcast_InvertedLists(index.invlists).filename = "other.ivfdata"
    faiss.write_index(index, str(merged))
    del index
    before = _victim(home, 100)
    (index_dir / "other.ivfdata").symlink_to(home / ".bashrc")
    with pytest.raises(FileFormatError, match="names lists"):
        IvfPqIndex.open(index_dir)
    _ivfpq_search_ok(folder, vecs, n_new=30)  # stale: rebuilt, not extended
    assert (home / ".bashrc").read_bytes() == before


def test_extending_never_writes_through_a_planted_trained_index(tmp_path, home):
    """``trained.faiss`` with on-disk lists in ``.bashrc``: extending must not add to it."""
    import faiss

    folder, vecs = _ivfpq_collection(tmp_path)
    trained = folder / FOLDER_NAME / "trained.faiss"
    index = faiss.read_index(str(trained))
    scratch = tmp_path / "sender-home"
    scratch.mkdir()
    cwd = os.getcwd()
    os.chdir(scratch)
    try:
        ivf = faiss.extract_index_ivf(index)
        lists = faiss.OnDiskInvertedLists(ivf.nlist, ivf.code_size, ".bashrc")
        ivf.replace_invlists(lists, True)
        lists.this.disown()
        index.add_with_ids(vecs[:10], np.arange(10, dtype=np.int64))
        faiss.write_index(index, str(trained))
        size = os.path.getsize(".bashrc")
    finally:
        os.chdir(cwd)
    del index
    before = _victim(home, size)
    _ivfpq_search_ok(folder, vecs, n_new=30)
    assert (home / ".bashrc").read_bytes() == before


def test_a_linked_index_folder_is_never_cleaned(tmp_path):
    """``vectors.ivfpq -> ../user_folder``: the user's files there stay."""
    folder, vecs = _ivfpq_collection(tmp_path)
    user = tmp_path / "user_folder"
    (folder / FOLDER_NAME).rename(user)  # a complete index, so extending would clean it
    (user / "my_notes.txt").write_text("mine")
    (folder / FOLDER_NAME).symlink_to(Path("..") / "user_folder")
    names = sorted(p.name for p in user.iterdir())
    _ivfpq_search_ok(folder, vecs, n_new=30)
    assert sorted(p.name for p in user.iterdir()) == names
    assert (user / "my_notes.txt").read_text() == "mine"


def _lists_of(index_dir: Path) -> tuple[dict, Path, list[tuple[int, int, int]], int]:
    """The manifest, the lists' data file, each list's (size, capacity, offset), code size."""
    import faiss

    manifest = json.loads((index_dir / "manifest.json").read_text())
    merged = index_dir / manifest["merged"]
    flags = faiss.IO_FLAG_ONDISK_SAME_DIR | faiss.IO_FLAG_SKIP_IVF_DATA | faiss.IO_FLAG_READ_ONLY
    index = faiss.read_index(str(merged), flags)
    lists = faiss.downcast_InvertedLists(faiss.extract_index_ivf(index).invlists)
    table = [(lists.lists.at(i).size, lists.lists.at(i).capacity, lists.lists.at(i).offset)
             for i in range(lists.nlist)]  # fmt: skip
    return manifest, merged.with_suffix(".ivfdata"), table, int(lists.code_size)


def test_one_tampered_list_is_refused_and_rebuilt_from_sqlite(tmp_path):
    """The lists' total size is right, but one list holds another's row: refused."""
    folder, vecs = _ivfpq_collection(tmp_path)
    index_dir = folder / FOLDER_NAME
    manifest, data, table, code = _lists_of(index_dir)
    used = [(s, c, o) for s, c, o in table if s]
    (_, c0, o0), (_, c1, o1) = used[0], used[1]
    raw = bytearray(data.read_bytes())
    ids0, ids1 = o0 + c0 * code, o1 + c1 * code  # ids follow each list's codes
    raw[ids0 : ids0 + 8] = raw[ids1 : ids1 + 8]  # list 0's first row becomes list 1's
    data.write_bytes(bytes(raw))
    with pytest.raises(FileFormatError, match="listed twice"):
        IvfPqIndex.open(index_dir)
    _ivfpq_search_ok(folder, vecs)  # rebuilt from SQLite: every item found again
    rebuilt = json.loads((index_dir / "manifest.json").read_text())
    assert rebuilt["merged"] != manifest["merged"]
    assert IvfPqIndex.open(index_dir).ntotal == len(vecs)
