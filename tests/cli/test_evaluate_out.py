"""``evaluate --out`` is checked before the dataset is read and before any model runs."""

from __future__ import annotations

import pytest

from napari_clipcap.cli import main


def _load_clip_fails(*args, **kwargs):
    raise AssertionError("a model was loaded before --out was checked")


@pytest.mark.parametrize("kind", ["zeroshot", "retrieval", "captions"])
@pytest.mark.parametrize("where", ["file", "under-file"])
def test_an_unusable_report_folder_is_one_line_before_any_work(
    kind, where, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr("napari_clipcap.core.clip.model.load_clip", _load_clip_fails)
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" if where == "file" else tmp_path / "file" / "report"
    extra = ["--predictions", str(tmp_path / "p.json")] if kind == "captions" else []
    missing = str(tmp_path / "no-such-dataset.json")  # read after --out is checked
    code = main(["evaluate", kind, missing, *extra, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "--out" in err and ("is a file" in err or "lies under" in err)
    assert "no-such-dataset" not in err
