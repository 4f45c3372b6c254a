"""Loading CLIP models in every supported format, encoding, caching, missing models."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import torch

from napari_clipcap.core.clip import model as clip_mod
from napari_clipcap.core.clip.model import load_clip, unload_all, unload_clip
from napari_clipcap.core.errors import (
    Cancelled,
    CheckpointFormatError,
    InvalidInputError,
    ModelNotFoundError,
)


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return [rng.random((32, 32, 3), dtype=np.float32), rng.random((48, 40, 3), dtype=np.float32)]


def test_every_weight_format_gives_the_same_model(tiny_clip_files, tiny_clip, images):
    ref = tiny_clip.encode_images(images)
    for weights in (tiny_clip_files.pt, tiny_clip_files.checkpoint):
        other = load_clip(str(tiny_clip_files.config), str(weights), "cpu")
        assert other is not tiny_clip
        np.testing.assert_allclose(other.encode_images(images), ref, atol=1e-6)


def test_attributes(tiny_clip):
    assert tiny_clip.embed_dim == 32
    assert tiny_clip.image_size == (32, 32)
    assert tiny_clip.patch_size == 8
    assert tiny_clip.device == "cpu" and tiny_clip.dtype == torch.float32
    assert tiny_clip.logit_scale == pytest.approx(1 / 0.07, rel=1e-5)


def test_encode_images_matches_the_model_directly(tiny_clip, images):
    got = tiny_clip.encode_images(images[:1], normalize=False)
    x = torch.from_numpy(images[0]).permute(2, 0, 1)[None]
    mean = torch.tensor(clip_mod.clip_loaders.OPENAI_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(clip_mod.clip_loaders.OPENAI_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        want = tiny_clip.model.encode_image((x - mean) / std).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    normed = tiny_clip.encode_images(images[:1])
    np.testing.assert_allclose(normed, want / np.linalg.norm(want), atol=1e-5)
    assert np.linalg.norm(want) != pytest.approx(1.0)


def test_batches_and_mixed_sizes_match_one_at_a_time(tiny_clip, images):
    batch = tiny_clip.encode_images(images * 3, batch_size=4)
    single = np.concatenate([tiny_clip.encode_images([im]) for im in images * 3])
    np.testing.assert_allclose(batch, single, atol=1e-5)
    assert batch.dtype == np.float32 and batch.shape == (6, 32)


def test_resize_shortest_side_then_centre_crop(tiny_clip):
    # A 32 x 64 image: the short side already fits, the centre 32 x 32 is what counts.
    rng = np.random.default_rng(1)
    wide = rng.random((32, 64, 3), dtype=np.float32)
    np.testing.assert_allclose(
        tiny_clip.encode_images([wide]), tiny_clip.encode_images([wide[:, 16:48]]), atol=1e-5
    )


def test_uint8_grey_and_4d_inputs(tiny_clip, images):
    u8 = (images[0] * 255).round().astype(np.uint8)
    np.testing.assert_allclose(
        tiny_clip.encode_images([u8]),
        tiny_clip.encode_images([u8 / np.float32(255)]),
        atol=1e-5,
    )
    grey = images[0][..., 0]
    np.testing.assert_allclose(
        tiny_clip.encode_images([grey]),
        tiny_clip.encode_images([np.repeat(grey[..., None], 3, axis=2)]),
        atol=1e-6,
    )
    stack = np.stack([images[0], images[0]])
    assert tiny_clip.encode_images(stack).shape == (2, 32)
    assert tiny_clip.encode_images([]).shape == (0, 32)


def test_bad_image_shape(tiny_clip):
    with pytest.raises(InvalidInputError, match="HxWx3"):
        tiny_clip.encode_images([np.zeros((4, 4, 5), np.float32)])


def test_encode_texts(tiny_clip):
    got = tiny_clip.encode_texts(["a river", "a forest"], normalize=False)
    with torch.no_grad():
        want = tiny_clip.model.encode_text(tiny_clip.tokenizer(["a river", "a forest"])).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    normed = tiny_clip.encode_texts(["a river"])
    assert np.linalg.norm(normed[0]) == pytest.approx(1.0, abs=1e-5)


def test_progress_and_cancel(tiny_clip, images):
    calls = []
    tiny_clip.encode_images(images * 3, batch_size=2, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(2, 6), (4, 6), (6, 6)]
    flag = threading.Event()
    flag.set()
    with pytest.raises(Cancelled):
        tiny_clip.encode_images(images, cancel=flag)


def test_cache_and_unload(tiny_clip_files):
    args = (str(tiny_clip_files.config), str(tiny_clip_files.pt))
    first = load_clip(*args, device="cpu")
    assert load_clip(*args, device="cpu") is first
    assert (args[0], args[1], "cpu", "fp32") in clip_mod.loaded_models()
    assert unload_clip(*args, device="cpu")
    assert not unload_clip(*args, device="cpu")
    assert load_clip(*args, device="cpu") is not first
    assert unload_all() >= 1
    assert clip_mod.loaded_models() == []


def test_transformers_directory(tiny_hf_clip, images):
    assert tiny_hf_clip.backend == "transformers"
    assert tiny_hf_clip.embed_dim == 24 and tiny_hf_clip.patch_size == 8
    got = tiny_hf_clip.encode_images(images[:1], normalize=False)
    x = torch.from_numpy(images[0]).permute(2, 0, 1)[None]
    x = (x - torch.tensor(clip_mod.clip_loaders.OPENAI_MEAN).view(1, 3, 1, 1)) / torch.tensor(
        clip_mod.clip_loaders.OPENAI_STD
    ).view(1, 3, 1, 1)
    m = tiny_hf_clip.model
    with torch.no_grad():
        want = m.visual_projection(m.vision_model(pixel_values=x).pooler_output).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    texts = tiny_hf_clip.encode_texts(["a river", "the red spiral galaxy"])
    assert texts.shape == (2, 24)
    assert not np.allclose(texts[0], texts[1])


def test_missing_weights_file_names_model_path_and_fix(tiny_clip_files, tmp_path):
    missing = tmp_path / "nowhere.safetensors"
    with pytest.raises(ModelNotFoundError) as err:
        load_clip(str(tiny_clip_files.config), str(missing), "cpu")
    text = str(err.value)
    assert str(missing) in text and "--clip-weights" in text


def test_missing_pretrained_tag_offline_names_hub_cache(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from napari_clipcap.core.cache import hub_cache_dir

    with pytest.raises(ModelNotFoundError) as err:
        load_clip("ViT-B-32", "openai", "cpu")
    text = str(err.value)
    assert "ViT-B-32" in text and "openai" in text and str(hub_cache_dir()) in text


def test_unknown_tag_unknown_model_and_missing_hub_model():
    with pytest.raises(ModelNotFoundError, match="pretrained tags"):
        load_clip("ViT-B-32", "no-such-tag", "cpu")
    with pytest.raises(ModelNotFoundError, match="neither an open_clip architecture"):
        load_clip("NoSuchArchitecture", None, "cpu")
    with pytest.raises(ModelNotFoundError, match="nobody/no-such-clip") as err:
        load_clip("nobody/no-such-clip", None, "cpu")
    assert "Hugging Face cache" in str(err.value)  # tried as a transformers hub id
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        load_clip("./no/such/dir", None, "cpu")


def test_weights_that_do_not_fit(tiny_clip_files):
    with pytest.raises(CheckpointFormatError, match="do not fit"):
        load_clip(
            str(tiny_clip_files.config), str(tiny_clip_files.hf_dir / "model.safetensors"), "cpu"
        )


def test_pickled_code_is_refused(tiny_clip_files, tmp_path):
    bad = tmp_path / "evil.pt"
    torch.save({"state_dict": {"x": torch.zeros(1)}, "obj": threading.Event}, bad)
    with pytest.raises(CheckpointFormatError, match="pickled code"):
        load_clip(str(tiny_clip_files.config), str(bad), "cpu")


def test_corrupt_safetensors_is_a_checkpoint_error(tiny_clip_files, tmp_path):
    bad = tmp_path / "truncated.safetensors"
    bad.write_bytes(tiny_clip_files.safetensors.read_bytes()[:100])
    with pytest.raises(CheckpointFormatError, match=r"truncated\.safetensors"):
        load_clip(str(tiny_clip_files.config), str(bad), "cpu")


def test_corrupt_transformers_weights_are_a_checkpoint_error(tiny_clip_files, tmp_path):
    import shutil

    bad = tmp_path / "hf-truncated"
    shutil.copytree(tiny_clip_files.hf_dir, bad)
    weights = bad / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])
    with pytest.raises(CheckpointFormatError, match="hf-truncated"):
        load_clip(str(bad), None, "cpu")


def test_preset_names_resolve_to_model_and_weights():
    spec = clip_mod.resolve_clip("ViT-B-32/openai", None)
    assert (spec.name, spec.weights) == ("ViT-B-32", "openai")
    spec = clip_mod.resolve_clip("ViT-B-32", "x.pt")
    assert (spec.name, spec.weights) == ("ViT-B-32", "x.pt")


def test_resize_modes():
    from napari_clipcap.core.clip.preprocess import resize_batch

    x = torch.rand(2, 3, 16, 32)
    squash = resize_batch(x, (32, 32), "squash")
    want = torch.nn.functional.interpolate(x, size=(32, 32), mode="bicubic", antialias=True)
    torch.testing.assert_close(squash, want.clamp(0, 1))
    longest = resize_batch(x, (32, 32), "longest")
    assert longest.shape == (2, 3, 32, 32)
    assert torch.all(longest[..., :8, :] == 0) and torch.all(longest[..., 24:, :] == 0)
    torch.testing.assert_close(longest[..., 8:24, :], x)
    shortest = resize_batch(x, (8, 8), "shortest")
    assert shortest.shape == (2, 3, 8, 8)
    assert resize_batch(x, (16, 32), "shortest") is x


def _fake_hub_cache(root, repo_id, filename, source):
    """Lay out a Hugging Face cache entry as huggingface_hub writes it."""
    import shutil

    rev = "0123456789abcdef0123456789abcdef01234567"
    folder = root / f"models--{repo_id.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(rev)
    snap = folder / "snapshots" / rev
    snap.mkdir(parents=True)
    shutil.copy(source, snap / filename)


def test_hf_hub_weights_from_the_hub_cache(
    tiny_clip_files, tiny_clip, tmp_path, monkeypatch, images
):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    _fake_hub_cache(tmp_path, "tester/tiny-clip", "tiny.safetensors", tiny_clip_files.safetensors)
    clip = load_clip(
        str(tiny_clip_files.config), "hf-hub:tester/tiny-clip/tiny.safetensors", "cpu"
    )
    np.testing.assert_allclose(
        clip.encode_images(images), tiny_clip.encode_images(images), atol=1e-6
    )
    with pytest.raises(ModelNotFoundError, match=str(tmp_path)):
        load_clip(str(tiny_clip_files.config), "hf-hub:tester/other/x.safetensors", "cpu")


def test_download_progress_is_forwarded():
    from napari_clipcap.core.clip.hub import progress_tqdm as _progress_tqdm

    calls = []
    bar = _progress_tqdm(lambda d, t: calls.append((d, t)))(total=100)
    bar.update(30)
    bar.update(70)
    bar.close()
    assert calls == [(30, 100), (100, 100)]


def test_open_clip_directory_layout(tiny_clip_files, tiny_clip, tmp_path, images):
    import json
    import shutil

    from fixtures.clip_models import TINY_CLIP_CONFIG

    folder = tmp_path / "oc"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CLIP_CONFIG}))
    shutil.copy(tiny_clip_files.safetensors, folder / "open_clip_model.safetensors")
    clip = load_clip(str(folder), None, "cpu")
    np.testing.assert_allclose(
        clip.encode_images(images), tiny_clip.encode_images(images), atol=1e-6
    )
    with pytest.raises(InvalidInputError, match="own weights"):
        load_clip(str(folder), str(tiny_clip_files.pt), "cpu")


def test_bad_model_config_files(tmp_path):
    from fixtures.clip_models import TINY_CLIP_CONFIG

    clash = tmp_path / "ViT-B-32.json"
    clash.write_text(json.dumps(TINY_CLIP_CONFIG))
    with pytest.raises(InvalidInputError, match="rename"):
        load_clip(str(clash), None, "cpu")
    broken = tmp_path / "broken-cfg.json"
    broken.write_text("{not json")
    with pytest.raises(CheckpointFormatError, match="not valid JSON"):
        load_clip(str(broken), None, "cpu")
    partial = tmp_path / "partial-cfg.json"
    partial.write_text(json.dumps({"embed_dim": 8}))
    with pytest.raises(CheckpointFormatError, match="vision_cfg"):
        load_clip(str(partial), None, "cpu")
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    with pytest.raises(ModelNotFoundError, match="neither a transformers CLIP"):
        load_clip(str(empty_dir), None, "cpu")
