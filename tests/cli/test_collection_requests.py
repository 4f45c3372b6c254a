"""``index`` and ``search`` run an ``IndexRequest`` / ``SearchRequest``: the recorded
``--json`` command is ``request.to_argv()`` and recomputes the same result."""

from __future__ import annotations

import json
import shlex

import pytest

from fixtures.collection_data import make_image_folder
from napari_clipcap.cli import build_parser, main

LONG = "a very long astronomy query with many words " * 7  # 300+ characters


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("req_images") / "images", per_colour=1)


def _json(capsys, argv):
    assert main([str(a) for a in argv]) == 0
    return json.loads(capsys.readouterr().out)


def _rerun(capsys, data, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # the command names everything absolutely
    return _json(capsys, shlex.split(data["provenance"]["command"])[1:])


def test_index_and_search_record_their_request_and_recompute(
    images, clip_args, capsys, monkeypatch, tmp_path
):
    from napari_clipcap.core.collection.requests import IndexRequest, SearchRequest

    col = tmp_path / "col"
    argv = ["index", images, "--index", col, *clip_args, "--batch-size", "4", "--json"]
    first = _json(capsys, argv)
    request = IndexRequest.from_args(build_parser().parse_args([str(a) for a in argv]))
    assert first["provenance"]["command"] == shlex.join(request.to_argv())
    again = _rerun(capsys, first, monkeypatch, tmp_path)
    assert again["items"] == first["items"] == 7 and again["unchanged"] == 6

    for query in (
        ["--text", "a red field", "-k", "3"],
        ["--image", images / "sky.fits", "--region", "0,0,8,8", "-k", "2"],
    ):
        argv = ["search", "--index", col, *query, "--json"]
        found = _json(capsys, argv)
        request = SearchRequest.from_args(build_parser().parse_args([str(a) for a in argv]))
        assert found["provenance"]["command"] == shlex.join(request.to_argv())
        assert _rerun(capsys, found, monkeypatch, tmp_path)["hits"] == found["hits"]


def test_a_300_character_text_query_is_recorded(images, clip_args, capsys, tmp_path):
    col = tmp_path / "col"
    _json(capsys, ["index", images / "red", "--index", col, *clip_args, "--json"])
    data = _json(capsys, ["search", "--index", col, "--text", LONG, "-k", "1", "--json"])
    assert len(LONG) > 300 and LONG.strip() in data["provenance"]["command"]
    assert data["query"] == {"text": LONG}


def test_index_refuses_a_collection_folder_under_a_file(images, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code = main(["index", str(images), "--index", str(tmp_path / "file" / "col")])
    err = capsys.readouterr().err
    assert code == 2 and "is a file" in err and "Traceback" not in err
