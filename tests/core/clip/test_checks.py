"""Loading reads every image-normalisation file transformers writes, and checks the
tokenizer against the text model."""

from __future__ import annotations

import copy
import json
import shutil
import uuid

import pytest
import torch

from fixtures.clip_models import TINY_CLIP_CONFIG
from napari_clipcap.core.clip.loaders import OPENAI_MEAN
from napari_clipcap.core.clip.model import load_clip
from napari_clipcap.core.errors import CheckpointFormatError


def _means(clip):
    return tuple(round(float(v), 6) for v in clip._mean.flatten()), tuple(
        round(float(v), 6) for v in clip._std.flatten()
    )


def test_transformers5_processor_config_is_read(tmp_path, tiny_clip_files):
    from transformers import AutoTokenizer, CLIPImageProcessor, CLIPProcessor

    folder = tmp_path / "hf-half"
    shutil.copytree(tiny_clip_files.hf_dir, folder)
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessor(image_mean=[0.5] * 3, image_std=[0.5] * 3),
        tokenizer=AutoTokenizer.from_pretrained(folder),
    )
    processor.save_pretrained(folder)
    assert (folder / "processor_config.json").is_file()
    assert not (folder / "preprocessor_config.json").exists()
    clip = load_clip(str(folder), None, "cpu")
    assert _means(clip) == ((0.5,) * 3, (0.5,) * 3)


def test_processor_config_wins_over_preprocessor_config(tmp_path, tiny_clip_files):
    folder = tmp_path / "hf-both"
    shutil.copytree(tiny_clip_files.hf_dir, folder)
    pp = {"image_mean": [0.25] * 3, "image_std": [0.75] * 3}
    (folder / "processor_config.json").write_text(json.dumps({"image_processor": pp}))
    old = {"image_mean": [0.1] * 3, "image_std": [0.2] * 3}
    (folder / "preprocessor_config.json").write_text(json.dumps(old))
    assert _means(load_clip(str(folder), None, "cpu")) == ((0.25,) * 3, (0.75,) * 3)


def test_preprocessor_config_alone_and_neither(tmp_path, tiny_clip_files):
    folder = tmp_path / "hf-old"
    shutil.copytree(tiny_clip_files.hf_dir, folder)
    old = {"image_mean": [0.1] * 3, "image_std": [0.2] * 3}
    (folder / "preprocessor_config.json").write_text(json.dumps(old))
    assert _means(load_clip(str(folder), None, "cpu")) == ((0.1,) * 3, (0.2,) * 3)
    plain = tmp_path / "hf-plain"  # a new path: load_clip caches by path
    shutil.copytree(tiny_clip_files.hf_dir, plain)
    mean, _ = _means(load_clip(str(plain), None, "cpu"))
    assert mean == pytest.approx(OPENAI_MEAN, abs=1e-6)


def test_open_clip_vocab_smaller_than_its_tokenizer_is_named(tmp_path):
    cfg = copy.deepcopy(TINY_CLIP_CONFIG)
    cfg["text_cfg"]["vocab_size"] = 1000  # CLIP's BPE gives ids up to 49407
    path = tmp_path / f"small-vocab-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(cfg))
    with pytest.raises(CheckpointFormatError) as excinfo:
        load_clip(str(path), None, "cpu")
    msg = str(excinfo.value)
    assert "text_cfg.vocab_size" in msg and "1000" in msg and "49407" in msg
    assert "SimpleTokenizer" in msg and "at least 49408" in msg


def test_transformers_vocab_smaller_than_its_tokenizer_is_named(tmp_path, tiny_clip_files):
    from transformers import CLIPModel

    folder = tmp_path / "hf-small"
    shutil.copytree(tiny_clip_files.hf_dir, folder)
    model = CLIPModel.from_pretrained(folder)
    config = model.config
    config.text_config.vocab_size = 10  # the tokenizer has 27 tokens
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(folder, safe_serialization=True)
    with pytest.raises(CheckpointFormatError, match=r"text_config\.vocab_size = 10"):
        load_clip(str(folder), None, "cpu")


def test_the_tiny_models_pass_the_check(tiny_clip, tiny_hf_clip):
    assert tiny_clip.encode_texts(["river"]).shape[0] == 1
    assert tiny_hf_clip.encode_texts(["river"]).shape[0] == 1
