"""ClipCap training: a short run, mode-collapse warning, interrupt and resume."""

from __future__ import annotations

import threading

import pytest
import torch

from napari_clipcap.core.captioning.clipcap.model import load_clipcap_checkpoint
from napari_clipcap.core.errors import Cancelled, InvalidInputError
from napari_clipcap.core.samples.learning_set import make_synthetic_dataset
from napari_clipcap.core.training.clipcap.train import (
    ClipcapTrainConfig,
    split_train_val,
    train_clipcap,
)
from napari_clipcap.core.training.datasets import (
    CaptionDataset,
    CaptionRecord,
    read_caption_dataset,
)
from napari_clipcap.core.training.decoder_init import make_decoder, parse_decoder_spec
from napari_clipcap.core.training.monitor import mode_collapse


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    d = tmp_path_factory.mktemp("synth")
    ds = read_caption_dataset(make_synthetic_dataset(d, n_train=48, n_val=8, n_test=0))
    dec = make_decoder([c for r in ds.records for c in r.captions], d / "dec", n_embd=16)
    return ds, dec


def _cfg(**kw):
    base = dict(epochs=2, batch_size=16, lr=3e-3, prefix_length=2, num_samples=3)
    return ClipcapTrainConfig(**{**base, **kw})


def _kw(tiny_clip_files, dec):
    return dict(
        clip_model=str(tiny_clip_files.config),
        clip_weights=str(tiny_clip_files.safetensors),
        decoder=str(dec),
        device="cpu",
    )


def test_short_run_saves_a_loadable_model(synth, tiny_clip_files, tmp_path):
    ds, dec = synth
    steps, lines = [], []
    res = train_clipcap(
        ds,
        tmp_path / "run",
        config=_cfg(),
        progress=lambda d, t: steps.append((d, t)),
        log=lines.append,
        **_kw(tiny_clip_files, dec),
    )
    assert steps[-1] == (6, 6)  # 48 pairs / 16 per batch x 2 epochs
    assert [h["epoch"] for h in res.history] == [1, 2]
    assert res.history[1]["train_loss"] < res.history[0]["train_loss"]
    assert all(len(h["samples"]) == 3 for h in res.history)
    assert any("val loss" in line for line in lines)
    model = load_clipcap_checkpoint(res.model_dir)
    assert model.meta["clip_model"] == str(tiny_clip_files.config)
    assert model.normalize_prefix and model.stop_token == "."
    assert (tmp_path / "run" / "cache").is_dir()  # CLIP embeddings cached
    # the captioning engine loads it, with the CLIP model the run recorded
    from napari_clipcap.core.captioning.protocol import load_captioner
    from napari_clipcap.core.training.data import load_image

    captioner = load_captioner("clipcap", str(res.model_dir), device="cpu")
    caps = captioner.caption([load_image(ds.records[0].image)], max_tokens=12)
    assert len(caps) == 1 and isinstance(caps[0][0], str)


def test_frozen_gpt_transformer_mapping_keeps_gpt_weights(synth, tiny_clip_files, tmp_path):
    ds, dec = synth
    res = train_clipcap(
        ds,
        tmp_path / "run",
        config=_cfg(
            epochs=1, mapping="transformer", num_layers=1, freeze_gpt=True, prefix_length=3
        ),
        **_kw(tiny_clip_files, dec),
    )
    from transformers import GPT2LMHeadModel

    before = GPT2LMHeadModel.from_pretrained(dec).state_dict()
    after = load_clipcap_checkpoint(res.model_dir).gpt.state_dict()
    assert torch.equal(
        before["transformer.h.0.mlp.c_fc.weight"], after["transformer.h.0.mlp.c_fc.weight"]
    )


def test_interrupted_run_resumes_to_the_same_weights(synth, tiny_clip_files, tmp_path):
    ds, dec = synth
    kw = _kw(tiny_clip_files, dec)
    full = train_clipcap(ds, tmp_path / "full", config=_cfg(), **kw)
    cancel = threading.Event()

    def stop_in_epoch_two(done, total):
        if done == 4:  # second step of epoch 2
            cancel.set()

    with pytest.raises(Cancelled):
        train_clipcap(
            ds, tmp_path / "cut", config=_cfg(), progress=stop_in_epoch_two, cancel=cancel, **kw
        )
    resumed = train_clipcap(ds, tmp_path / "cut", config=_cfg(), **kw)
    assert resumed.resumed_from_epoch == 1
    assert [h["epoch"] for h in resumed.history] == [1, 2]
    a = load_clipcap_checkpoint(full.model_dir).state_dict()
    b = load_clipcap_checkpoint(resumed.model_dir).state_dict()
    assert all(torch.allclose(a[k], b[k]) for k in a)
    with pytest.raises(InvalidInputError, match=r"other settings.*prefix_length"):
        train_clipcap(ds, tmp_path / "cut", config=_cfg(prefix_length=3), **kw)
    # the same architecture with other weights gives other embeddings: refused, not resumed
    other_clip = {**kw, "clip_weights": str(tiny_clip_files.pt)}
    with pytest.raises(InvalidInputError, match="trained on CLIP"):
        train_clipcap(ds, tmp_path / "cut", config=_cfg(), **other_clip)


@pytest.mark.parametrize(
    "bad",
    [{"batch_size": 0}, {"epochs": 0}, {"prefix_length": 0}, {"lr": -1.0}, {"val_fraction": 1.5}],
)
def test_bad_training_settings_are_invalid_input(bad):
    with pytest.raises(InvalidInputError):
        _cfg(**bad)


def test_output_folder_that_is_a_file_is_refused(synth, tiny_clip_files, tmp_path):
    ds, dec = synth
    a_file = tmp_path / "run.txt"
    a_file.write_text("")
    with pytest.raises(InvalidInputError, match="is a file"):
        train_clipcap(ds, a_file, config=_cfg(), **_kw(tiny_clip_files, dec))


def test_mode_collapse_warning():
    same = [{"prediction": "a cat.", "references": [r]} for r in ("a cat.", "a dog.")]
    assert "mode collapse" in mode_collapse(same)
    assert mode_collapse([{**same[0]}, {**same[1], "prediction": "a dog."}]) is None


def test_split_train_val_holds_out_when_no_val(tmp_path):
    recs = [CaptionRecord(tmp_path / f"{i}.png", ["x."], "train") for i in range(10)]
    train, val = split_train_val(CaptionDataset(recs), 0.2, seed=0)
    assert len(train) == 8 and len(val) == 2
    assert not {r.image for r in train} & {r.image for r in val}
    with pytest.raises(InvalidInputError, match="no 'train' split"):
        split_train_val(CaptionDataset([CaptionRecord(tmp_path / "a", ["x."], "test")]), 0.1, 0)


def test_decoder_spec():
    assert parse_decoder_spec("2x64") == (2, 64)
    with pytest.raises(InvalidInputError, match="LAYERSxWIDTH"):
        parse_decoder_spec("big")


def test_corrupt_train_state_is_a_clear_error(synth, tiny_clip_files, tmp_path):
    from napari_clipcap.core.errors import CheckpointFormatError

    ds, dec = synth
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "train_state.pt").write_bytes(b"truncated")
    with pytest.raises(CheckpointFormatError, match=r"train_state\.pt"):
        train_clipcap(ds, tmp_path / "run", config=_cfg(), **_kw(tiny_clip_files, dec))
