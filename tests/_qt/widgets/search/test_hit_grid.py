"""The Search dock pages its hits: a large result shows its first page at once."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from napari_clipcap._qt.widgets.search.hit_grid import PAGE
from napari_clipcap._qt.widgets.search.widget import SearchWidget
from napari_clipcap.core.collection.search import Hit
from napari_clipcap.core.collection.store import Collection, FileRecord, NewItem
from napari_clipcap.core.io.sources import THUMB_MAX_SIDE, decode_thumbnail, decode_thumbnails

N = 20_000  # items in the fake large collection
K = 1000  # hits asked for


def _png(i: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((96, 96, 3), i % 255, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    folder = tmp_path_factory.mktemp("large") / "col"
    rng = np.random.default_rng(0)
    pngs = [_png(i) for i in range(50)]
    with Collection(folder, create=True) as col:
        col.bind_model("fake", "fake")
        for start in range(0, N, 5000):
            vecs = rng.standard_normal((5000, 16)).astype(np.float32)
            col.write_files([
                (FileRecord(f"/big/im{start + i:06d}.png", 1, 1, "h", None),
                 [NewItem(None, 96, 96, v, pngs[i % 50])])
                for i, v in enumerate(vecs)
            ])  # fmt: skip
    return folder


@pytest.fixture
def widget(make_napari_viewer, qtbot, large):
    w = SearchWidget(make_napari_viewer())
    qtbot.addWidget(w)
    assert w.open_collection(str(large))
    return w


def _hits(col: Collection) -> list[Hit]:
    q = np.random.default_rng(1).standard_normal(16).astype(np.float32)
    results = col.search(q / np.linalg.norm(q), K)[0]
    return [Hit(r, s, it) for r, (it, s) in enumerate(results, 1)]


def test_a_thousand_hits_show_their_first_page_at_once(widget, monkeypatch, qtbot):
    col = widget.collection
    hits = _hits(col)
    assert len(hits) == K and f"{N} images" in widget.info.text()
    read = []
    real = col.thumbnails
    monkeypatch.setattr(col, "thumbnails", lambda ids: read.append(len(ids)) or real(ids))
    t0 = time.perf_counter()
    first = decode_thumbnails(col.thumbnails([h.item.id for h in hits[:PAGE]]))  # the job's
    widget.show_hits((hits, first))
    elapsed = time.perf_counter() - t0
    assert elapsed < 0.5, f"first page took {elapsed:.2f} s"
    assert widget.results.count() == PAGE and read == [PAGE]
    assert all(not widget.results.item(i).icon().isNull() for i in range(PAGE))
    assert (
        widget.grid.page_label.isVisibleTo(widget) and "of 1000" in widget.grid.page_label.text()
    )
    assert not widget.grid.prev_button.isEnabled() and widget.grid.next_button.isEnabled()

    widget.grid.next_button.click()  # page two reads its own thumbnails, one query, in a job
    assert widget.grid.page == 1
    entry = widget.results.item(0)
    assert entry.text().startswith(f"{hits[PAGE].score:.3f}")
    qtbot.waitUntil(lambda: not widget.results.item(0).icon().isNull(), timeout=10_000)
    assert read == [PAGE, PAGE]
    widget.grid.show_page(10**6)  # clipped to the last page
    assert widget.results.count() == K - PAGE * (widget.grid.pages - 1)
    assert not widget.grid.next_button.isEnabled()
    widget.grid.prev_button.click()
    assert widget.results.count() == PAGE


def test_clicking_a_hit_on_a_later_page_opens_that_hit(widget, monkeypatch):
    hits = _hits(widget.collection)
    widget.show_hits((hits, {}))
    widget.grid.show_page(2)
    opened = []
    monkeypatch.setattr(widget, "open_hit", lambda i: opened.append(i))
    widget.grid.opened.disconnect()
    widget.grid.opened.connect(widget.open_hit)
    widget.results.itemClicked.emit(widget.results.item(3))
    assert opened == [2 * PAGE + 3]


def test_few_hits_need_no_page_controls_and_missing_thumbnails_show_names(widget):
    hits = _hits(widget.collection)[:5]
    widget.show_hits((hits, {}))
    assert widget.results.count() == 5 and not widget.grid.next_button.isVisibleTo(widget)
    widget.grid.set_hits(hits, {}, lambda ids: {})  # imported items have no thumbnail
    assert widget.results.item(0).icon().isNull()
    assert "im" in widget.results.item(0).text()


def _bomb(side: int = 8000) -> bytes:
    """A small PNG declaring ``side x side`` pixels (a received "thumbnail" bomb)."""
    buf = io.BytesIO()
    Image.new("L", (side, side)).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def test_thumbnail_bombs_are_refused_by_their_header_before_decoding(monkeypatch):
    """Issue 21.5: an 8000 x 8000 PNG thumbnail is never decoded (PIL never asked)."""
    bomb = _bomb()
    assert len(bomb) < 200_000
    jpeg = io.BytesIO()
    Image.new("RGB", (THUMB_MAX_SIDE + 1, 8)).save(jpeg, "JPEG")
    opened = []
    real_open = Image.open
    monkeypatch.setattr(Image, "open", lambda *a, **k: opened.append(1) or real_open(*a, **k))
    for data in (bomb, jpeg.getvalue(), b"GIF89a...", b"\x89PNG\r\n\x1a\n", b""):
        assert decode_thumbnail(data) is None
    assert opened == []
    assert decode_thumbnail(_png(3)).shape == (96, 96, 3)
    small_jpeg = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(small_jpeg, "JPEG")
    assert decode_thumbnail(small_jpeg.getvalue()).shape == (30, 40, 3)


def test_a_page_of_bombs_keeps_the_qt_thread_free(widget, qtbot, monkeypatch):
    """Paging to bombs: the Qt thread neither decodes nor waits; names show instead."""
    hits = _hits(widget.collection)[: PAGE * 2]
    bombs = {h.item.id: _bomb() for h in hits}
    widget.show_hits((hits, {}))
    widget.grid.set_hits(hits, {}, lambda ids: {i: bombs[i] for i in ids})
    t0 = time.perf_counter()
    widget.grid.show_page(1)
    assert time.perf_counter() - t0 < 0.3
    qtbot.waitUntil(lambda: not widget.grid._pending, timeout=10_000)
    assert all(widget.results.item(i).icon().isNull() for i in range(PAGE))
    assert "im" in widget.results.item(0).text()
