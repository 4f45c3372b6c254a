"""The synthetic shapes dataset: deterministic, balanced, readable as a CSV dataset."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.samples import learning_set as synthetic
from napari_clipcap.core.training.datasets import read_caption_dataset


def test_draw_puts_the_shape_in_its_quadrant():
    img = synthetic.draw(
        "circle", "red", "bottom right", size=32, rng=np.random.default_rng(0)
    ).astype(float)
    red = (img[..., 0] > 150) & (img[..., 1] < 100)
    ys, xs = np.nonzero(red)
    assert red.sum() > 20
    assert ys.mean() > 16 and xs.mean() > 16


def test_shapes_differ_in_area():
    rng = np.random.default_rng(1)
    areas = {}
    for shape in synthetic.SHAPES:
        img = synthetic.draw(shape, "blue", "top left", size=64, rng=rng)
        areas[shape] = int((img[..., 2] > 150).sum())
    assert areas["triangle"] < areas["circle"]


def test_dataset_is_balanced_deterministic_and_readable(tmp_path):
    calls = []
    path = synthetic.make_synthetic_dataset(
        tmp_path / "a", n_train=96, n_val=48, n_test=48, progress=lambda d, t: calls.append((d, t))
    )
    ds = read_caption_dataset(path, strict=True)
    assert ds.splits == ["train", "val", "test"]
    train = ds.split("train")
    assert sorted(set(train.labels)) == sorted(synthetic.labels())
    assert all(r.captions == [synthetic.caption_for(r.label)] for r in ds.records)
    assert all(r.captions[0].endswith(".") for r in ds.records)
    assert calls[-1] == (192, 192)
    again = synthetic.make_synthetic_dataset(tmp_path / "b", n_train=96, n_val=48, n_test=48)
    assert path.read_text() == again.read_text()
    assert (tmp_path / "a/images/00005.png").read_bytes() == (
        tmp_path / "b/images/00005.png"
    ).read_bytes()


def test_bad_arguments():
    with pytest.raises(InvalidInputError):
        synthetic.draw("hexagon", "red", "top left")
    with pytest.raises(InvalidInputError, match="at least 16"):
        synthetic.draw("circle", "red", "top left", size=8)


def test_module_entry_point_writes_data_and_a_loadable_clip_config(tmp_path, capsys):
    from napari_clipcap.core.clip.model import load_clip

    assert synthetic.main([str(tmp_path), "--train", "4", "--val", "0", "--test", "0"]) == 0
    assert "captions.csv" in capsys.readouterr().out
    clip = load_clip(str(tmp_path / "synth-clip.json"), None, "cpu")
    assert clip.encode_images([np.zeros((32, 32, 3), np.float32)]).shape == (1, 64)
