"""Embedding on a local Dask cluster gives the collection a local run gives."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.collection_data import colour_image, make_image_folder, write_png
from napari_clipcap.core.clip.model import load_clip
from napari_clipcap.core.collection.distributed import open_cluster
from napari_clipcap.core.collection.indexing import index_paths
from napari_clipcap.core.collection.records import ModelMismatchError
from napari_clipcap.core.collection.store import Collection
from napari_clipcap.core.errors import InvalidInputError


@pytest.fixture(scope="module")
def client():
    with open_cluster(workers=2) as c:
        yield c


def _spec(files) -> dict:
    return {"model": str(files.config), "weights": str(files.safetensors), "device": "cpu"}


def _contents(folder) -> dict:
    with Collection(folder) as col:
        items = col.items()
        ids, vecs = col.vectors()
        by_id = dict(zip(ids.tolist(), vecs))
        return {
            (it.path, it.hdu): (it.width, it.height, it.hash, it.model, by_id[it.id],
                                col.thumbnail(it.id))
            for it in items
        }  # fmt: skip


def test_two_workers_build_the_same_collection_as_a_local_run(tmp_path, tiny_clip_files, client):
    images = make_image_folder(tmp_path / "images")
    (images / "broken.png").write_bytes(b"not a png")
    spec = _spec(tiny_clip_files)
    clip = load_clip(spec["model"], spec["weights"], "cpu")
    local = index_paths(tmp_path / "local", [images], clip, **spec, batch_size=4)
    remote = index_paths(tmp_path / "dask", [images], None, **spec, batch_size=4, client=client)
    assert client.scheduler_info()["workers"] and len(client.scheduler_info()["workers"]) == 2
    for key in ("added", "updated", "unchanged", "items", "embedded", "files"):
        assert getattr(remote, key) == getattr(local, key), key
    assert [f["path"] for f in remote.failed] == [f["path"] for f in local.failed]
    assert remote.items == 12 and remote.embedded == 12
    a, b = _contents(tmp_path / "local"), _contents(tmp_path / "dask")
    assert a.keys() == b.keys()
    for key in a:
        *meta_a, vec_a, thumb_a = a[key]
        *meta_b, vec_b, thumb_b = b[key]
        assert meta_a == meta_b and thumb_a == thumb_b
        np.testing.assert_allclose(vec_a, vec_b, atol=1e-5)
    with Collection(tmp_path / "dask") as col:
        assert col.model_id == clip.name and col.model_spec == (spec["model"], spec["weights"])

    # incremental on the cluster: nothing to embed; the failed file is retried
    again = index_paths(tmp_path / "dask", [images], None, **spec, client=client)
    assert (again.added, again.unchanged, again.embedded) == (0, 11, 0)
    assert again.failed[0]["unchanged"] is True
    write_png(images / "broken.png", colour_image("red", seed=3))
    fixed = index_paths(tmp_path / "dask", [images], None, **spec, client=client)
    assert (fixed.added, fixed.embedded, fixed.failed, fixed.items) == (1, 1, [], 13)


def test_the_cluster_refuses_another_model(tmp_path, tiny_clip_files, client):
    images = make_image_folder(tmp_path / "images", per_colour=1)
    with Collection(tmp_path / "col", create=True) as col:
        col.bind_model("another-model", "another-model")
    with pytest.raises(ModelMismatchError, match="another-model"):
        index_paths(tmp_path / "col", [images], None, **_spec(tiny_clip_files), client=client)
    with Collection(tmp_path / "col") as col:
        assert len(col) == 0 and col.file_paths() == []


def test_cluster_settings_are_checked(tmp_path):
    with pytest.raises(InvalidInputError, match="either a number of workers"):
        with open_cluster(workers=2, scheduler="tcp://127.0.0.1:1"):
            pass
    with pytest.raises(InvalidInputError, match="at least 1"):
        with open_cluster(workers=-1):
            pass
    with pytest.raises(InvalidInputError, match="an encoder, or workers"):
        index_paths(tmp_path / "col", [tmp_path], None, model="ViT-B-32")


def test_a_stopped_cluster_run_keeps_what_it_wrote_and_the_next_run_finishes(
    tmp_path, tiny_clip_files, client
):
    from napari_clipcap.core.jobs import Cancelled

    images = make_image_folder(tmp_path / "images", per_colour=2)  # 10 PNGs + 1 FITS
    spec, done = _spec(tiny_clip_files), []

    class StopAfterFirstGroup:
        def is_set(self) -> bool:
            return len(done) > 2  # the files of the first group are written

    def progress(n, total):
        done.append(n)

    with pytest.raises(Cancelled):
        index_paths(tmp_path / "col", [images], None, **spec, batch_size=2, client=client,
                    progress=progress, cancel=StopAfterFirstGroup())  # fmt: skip
    with Collection(tmp_path / "col") as col:
        written = {it.path for it in col.items()}
        assert 0 < len(written) < 11 and len(col.file_paths()) == len(written)
    rep = index_paths(tmp_path / "col", [images], None, **spec, client=client)
    assert rep.unchanged == len(written) and rep.added == 11 - len(written)
    assert rep.items == 12 and rep.failed == []


@pytest.mark.parametrize("batch_size", [1, 2, 5])
def test_many_small_groups_on_a_cluster_lose_no_file(tmp_path, tiny_clip_files, batch_size):
    # issue 21 item 12: `index --workers 2 --batch-size 2` added 58 of 60 files
    from distributed import Client, LocalCluster

    for i in range(60):
        write_png(tmp_path / "images" / f"im{i:02d}.png", colour_image("red", size=16, seed=i))
    with LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster:
        with Client(cluster) as c:
            rep = index_paths(
                tmp_path / "col", [tmp_path / "images"], None, **_spec(tiny_clip_files),
                batch_size=batch_size, client=c,
            )  # fmt: skip
    assert (rep.files, rep.added, rep.failed, rep.items, rep.embedded) == (60, 60, [], 60, 60)


def test_a_report_that_does_not_add_up_is_refused():
    from napari_clipcap.core.collection.indexing import IndexReport
    from napari_clipcap.core.errors import CountMismatchError

    IndexReport(added=2, unchanged=1, failed=[{"path": "x"}], files=4).prove()
    with pytest.raises(CountMismatchError, match="60 files found but 58 counted"):
        IndexReport(added=58, files=60).prove()
