"""Contrastive CLIP fine-tuning: augmentations, loss, a short run loadable by load_clip."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from napari_clipcap.core.clip.model import load_clip
from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.samples.learning_set import make_synthetic_dataset
from napari_clipcap.core.training.datasets import read_caption_dataset
from napari_clipcap.core.training.finetune_clip import (
    FinetuneConfig,
    augment_batch,
    contrastive_loss,
    finetune_clip,
)


def test_augment_batch_keeps_shape_and_content():
    x = torch.zeros(8, 3, 16, 16)
    x[:, :, :4, :4] = 1.0  # a bright top-left corner
    gen = torch.Generator().manual_seed(0)
    y = augment_batch(x, ("flip", "rot90"), generator=gen)
    assert y.shape == x.shape
    assert torch.allclose(y.sum((1, 2, 3)), x.sum((1, 2, 3)))  # pixels moved, not lost
    corners = {
        int(
            np.argmax(
                [
                    y[i, 0, :4, :4].sum(),
                    y[i, 0, :4, -4:].sum(),
                    y[i, 0, -4:, :4].sum(),
                    y[i, 0, -4:, -4:].sum(),
                ]
            )
        )
        for i in range(8)
    }
    assert len(corners) > 1  # the corner lands in different places
    z = augment_batch(x, ("crop",), crop_scale=(0.25, 0.25), generator=gen)
    assert z.shape == x.shape and not torch.equal(z, x)
    with pytest.raises(InvalidInputError, match="unknown augmentations"):
        augment_batch(x, ("shear",))


def test_contrastive_loss_by_hand():
    emb = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    # logits [[1, 0], [0, 1]] both ways: each row pays log(1 + e^-1)
    loss = contrastive_loss(emb, emb, torch.tensor(1.0))
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-1)), abs=1e-6)
    swapped = contrastive_loss(emb, emb.flip(0), torch.tensor(1.0))
    assert swapped.item() == pytest.approx(math.log(1 + math.exp(1)), abs=1e-6)


def test_short_finetune_is_loadable_and_reports_zero_shot(tiny_clip_files, tmp_path):
    csv = make_synthetic_dataset(tmp_path / "d", n_train=32, n_val=0, n_test=48)
    ds = read_caption_dataset(csv)
    steps = []
    res = finetune_clip(
        ds,
        tmp_path / "out",
        clip_model=str(tiny_clip_files.config),
        clip_weights=str(tiny_clip_files.safetensors),
        device="cpu",
        config=FinetuneConfig(epochs=2, batch_size=16, lr=1e-3, caption_augment=True),
        progress=lambda d, t: steps.append((d, t)),
    )
    assert steps[-1] == (4, 4)
    assert res.zeroshot["split"] == "test" and res.zeroshot["n_images"] == 48
    assert len(res.zeroshot["classes"]) == 48 and 0 <= res.zeroshot["top1"] <= 1
    tuned = load_clip(res.model, str(res.weights), "cpu")
    base = load_clip(str(tiny_clip_files.config), str(tiny_clip_files.safetensors), "cpu")
    a, b = tuned.encode_texts(["a red circle."]), base.encode_texts(["a red circle."])
    assert not np.allclose(a, b)  # weights changed, and the saved file is what loads
    assert (tmp_path / "out" / "finetune.json").is_file()


@pytest.mark.parametrize(
    "bad",
    [
        {"batch_size": 0},
        {"epochs": 0},
        {"lr": -1.0},
        {"crop_scale": (0.0, 1.0)},
        {"augment": ("crop", "blur")},
    ],
)
def test_bad_settings_are_invalid_input(bad):
    with pytest.raises(InvalidInputError):
        FinetuneConfig(**bad)


def test_output_folder_that_is_a_file_is_refused(tiny_clip_files, tmp_path):
    a_file = tmp_path / "out.txt"
    a_file.write_text("")
    ds = read_caption_dataset(make_synthetic_dataset(tmp_path / "d", n_train=4, n_val=0))
    with pytest.raises(InvalidInputError, match="is a file"):
        finetune_clip(
            ds,
            a_file,
            clip_model=str(tiny_clip_files.config),
            clip_weights=str(tiny_clip_files.safetensors),
            device="cpu",
            config=FinetuneConfig(epochs=1, batch_size=4),
        )


def test_same_seed_from_random_weights_gives_the_same_model(tiny_clip_files, tmp_path):
    from safetensors.torch import load_file

    from napari_clipcap.core.clip.model import unload_clip

    csv = make_synthetic_dataset(tmp_path / "d", n_train=16, n_val=0, n_test=0)
    ds = read_caption_dataset(csv)
    config = str(tiny_clip_files.config)  # no weights: drawn at random when built
    weights = []
    for run, other_state in enumerate((1, 2)):
        torch.manual_seed(other_state)  # whatever the caller did before,
        if run == 0:  # including loading the weightless model itself
            load_clip(config, None, "cpu")
        else:
            unload_clip(config, None, "cpu")
        res = finetune_clip(
            ds,
            tmp_path / f"out{run}",
            clip_model=config,
            device="cpu",
            config=FinetuneConfig(epochs=1, batch_size=8, lr=1e-3, seed=7),
        )
        weights.append(load_file(str(res.weights)))
    assert weights[0].keys() == weights[1].keys()
    for name, value in weights[0].items():
        torch.testing.assert_close(weights[1][name], value, rtol=0, atol=1e-6)
