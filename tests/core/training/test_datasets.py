"""Dataset readers: every layout, and clear messages for bad datasets."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from napari_clipcap.core.errors import FileFormatError, InvalidInputError
from napari_clipcap.core.training.datasets import (
    normalize_caption,
    read_caption_dataset,
    read_image_folder,
)


def _img(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path)
    return path


def test_karpathy_rsicd_layout(tmp_path):
    _img(tmp_path / "a.jpg")
    _img(tmp_path / "b.jpg")
    data = {
        "images": [
            {
                "filename": "a.jpg",
                "split": "train",
                "sentences": [{"raw": "many green trees "}, {"raw": "A forest."}],
            },
            {"filename": "b.jpg", "split": "restval", "sentences": [{"raw": "a river"}]},
        ]
    }
    (tmp_path / "dataset_rsicd.json").write_text(json.dumps(data))
    ds = read_caption_dataset(tmp_path / "dataset_rsicd.json")
    # references are kept as written (only the ends trimmed): no "." added, which would
    # move RefCLIPScore and break exact match
    assert ds.records[0].captions == ["many green trees", "A forest."]
    assert ds.splits == ["train"]  # restval counts as train
    assert ds.records[1].image == tmp_path / "b.jpg"


def test_coco_layout_with_images_dir(tmp_path):
    _img(tmp_path / "imgs" / "1.png")
    data = {
        "images": [{"id": 7, "file_name": "1.png"}],
        "annotations": [
            {"id": 1, "image_id": 7, "caption": "a cat"},
            {"id": 2, "image_id": 7, "caption": "a small cat."},
        ],
    }
    (tmp_path / "captions.json").write_text(json.dumps(data))
    ds = read_caption_dataset(tmp_path / "captions.json", images_dir=tmp_path / "imgs")
    assert ds.records[0].captions == ["a cat", "a small cat."]
    assert ds.splits == ["all"]


def test_csv_and_jsonl_group_rows_by_image(tmp_path):
    _img(tmp_path / "x.png")
    _img(tmp_path / "y.png")
    (tmp_path / "d.csv").write_text(
        "image,caption,split,label\nx.png,one,train,a\nx.png,two,train,a\ny.png,three,val,b\n"
    )
    ds = read_caption_dataset(tmp_path / "d.csv")
    assert [r.captions for r in ds.records] == [["one", "two"], ["three"]]
    assert ds.labels == ["a", "b"]
    assert len(ds.split("validation")) == 1
    rows = [{"filename": "x.png", "text": "hello"}]
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    assert read_caption_dataset(tmp_path / "d.jsonl").records[0].captions == ["hello"]


def test_missing_images_and_empty_captions_are_reported_not_fatal(tmp_path):
    _img(tmp_path / "ok.png")
    (tmp_path / "d.csv").write_text("image,caption\nok.png,fine\nok.png,\ngone.png,lost\n")
    ds = read_caption_dataset(tmp_path / "d.csv")
    assert len(ds) == 1 and ds.records[0].captions == ["fine"]
    text = " ".join(ds.problems)
    assert "row 3: empty caption" in text
    assert str(tmp_path / "gone.png") in text and "not found" in text
    with pytest.raises(InvalidInputError, match=r"gone\.png"):
        read_caption_dataset(tmp_path / "d.csv", strict=True)


def test_all_captions_empty_is_an_error(tmp_path):
    _img(tmp_path / "ok.png")
    (tmp_path / "d.csv").write_text("image,caption\nok.png,  \n")
    with pytest.raises(InvalidInputError, match="no usable image-caption pairs"):
        read_caption_dataset(tmp_path / "d.csv")


def test_split_mistakes_give_clear_messages(tmp_path):
    _img(tmp_path / "x.png")
    (tmp_path / "bad.csv").write_text("image,caption,split\nx.png,a,trian\n")
    with pytest.raises(InvalidInputError, match=r"unknown split 'trian'.*row 2"):
        read_caption_dataset(tmp_path / "bad.csv")
    (tmp_path / "two.csv").write_text("image,caption,split\nx.png,a,train\nx.png,b,test\n")
    with pytest.raises(InvalidInputError, match="given split 'train' before and 'test'"):
        read_caption_dataset(tmp_path / "two.csv")
    (tmp_path / "ok.csv").write_text("image,caption,split\nx.png,a,train\n")
    with pytest.raises(InvalidInputError, match="no 'test' split; it has: train"):
        read_caption_dataset(tmp_path / "ok.csv", split="test")


def test_bad_files_and_columns(tmp_path):
    (tmp_path / "d.csv").write_text("picture,caption\nx.png,a\n")
    with pytest.raises(FileFormatError, match="no image column"):
        read_caption_dataset(tmp_path / "d.csv")
    (tmp_path / "d.json").write_text("{not json")
    with pytest.raises(FileFormatError, match="cannot read"):
        read_caption_dataset(tmp_path / "d.json")
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_caption_dataset(tmp_path / "nope.csv")


def test_image_folder_per_class(tmp_path):
    _img(tmp_path / "Forest" / "1.png")
    _img(tmp_path / "Annual_Crop" / "2.jpg")
    (tmp_path / "Forest" / "notes.txt").write_text("x")
    ds = read_image_folder(tmp_path)
    assert ds.labels == ["Annual Crop", "Forest"]
    assert read_caption_dataset(tmp_path).labels == ds.labels
    with pytest.raises(InvalidInputError, match="no images in class sub-folders"):
        read_image_folder(tmp_path / "Forest")


def test_normalize_caption():
    assert normalize_caption("  a  red   circle ") == "a red circle."
    assert normalize_caption("is it?") == "is it?"


def test_fits_images_and_unreadable_files(tmp_path):
    from astropy.io import fits

    from napari_clipcap.core.training.data import load_images

    data = np.random.default_rng(0).normal(100, 5, (20, 30)).astype(">f4")
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data, name="SCI")]).writeto(
        tmp_path / "sky.fits"
    )
    (tmp_path / "broken.png").write_bytes(b"not a png")
    _img(tmp_path / "ok.png")
    (tmp_path / "d.csv").write_text(
        "image,caption\nsky.fits,a star field\nbroken.png,x\nok.png,y\n"
    )
    ds = read_caption_dataset(tmp_path / "d.csv")
    images, kept, problems = load_images(ds.images)
    assert kept == [0, 2]
    assert images[0].shape == (20, 30, 3) and images[0].dtype == np.float32
    assert 0 <= images[0].min() and images[0].max() <= 1 and images[0].std() > 0
    assert len(problems) == 1 and "broken.png" in problems[0]
    with pytest.raises(FileFormatError, match=r"broken\.png"):
        load_images(ds.images, strict=True)
