"""ClipCap checkpoints: original layouts (MLP, transformer, linear), own format, bad files."""

from __future__ import annotations

import json

import pytest
import torch

from fixtures.text_models import CLIP_DIM, make_clipcap
from napari_clipcap.core.captioning.clipcap.mapping import MappingConfig, build_mapping
from napari_clipcap.core.captioning.clipcap.model import load_clipcap_checkpoint, save_clipcap
from napari_clipcap.core.errors import CheckpointFormatError, ModelNotFoundError


def _same_weights(model, path):
    state = torch.load(path, weights_only=True)
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_original_mlp_checkpoint_loads_strictly(clipcap_mlp_pt, gpt2_dir):
    model = load_clipcap_checkpoint(clipcap_mlp_pt, decoder=gpt2_dir)
    cfg = model.mapping_config
    assert (cfg.mapping, cfg.prefix_length, cfg.clip_dim, cfg.embed_dim) == (
        "mlp",
        4,
        CLIP_DIM,
        32,
    )
    assert cfg.hidden_sizes == (32 * 4 // 2,)
    _same_weights(model, clipcap_mlp_pt)
    # the tied head follows the loaded embeddings
    assert torch.equal(model.gpt.lm_head.weight, model.gpt.transformer.wte.weight)


def test_original_transformer_checkpoint_infers_shape(clipcap_transformer_pt, gpt2_dir):
    model = load_clipcap_checkpoint(clipcap_transformer_pt, decoder=gpt2_dir)
    cfg = model.mapping_config
    assert (cfg.mapping, cfg.prefix_length, cfg.clip_length, cfg.num_layers) == (
        "transformer",
        6,
        3,
        2,
    )
    assert cfg.mlp_ratio == 2.0
    _same_weights(model, clipcap_transformer_pt)
    out = model.prefix_embeddings(torch.randn(3, CLIP_DIM))
    assert out.shape == (3, 6, 32)


def test_transformer_mapping_matches_original_algorithm():
    """Same maths as the original TransformerMapper: keys/values split, no q/kv bias,
    post-softmax over keys, relu MLP of ratio 2, outputs at the constant positions."""
    torch.manual_seed(0)
    cfg = MappingConfig("transformer", 5, 16, 3, clip_length=2, num_layers=1, num_heads=4)
    net = build_mapping(cfg).eval()
    x = torch.randn(2, 5)
    layer = net.transformer.layers[0]
    h = torch.cat((net.linear(x).view(2, 2, 16), net.prefix_const.expand(2, -1, -1)), 1)
    y = layer.norm1(h)
    q = layer.attn.to_queries(y).reshape(2, 5, 4, 4)
    kv = layer.attn.to_keys_values(y).reshape(2, 5, 2, 4, 4)
    att = torch.einsum("bnhd,bmhd->bnmh", q, kv[:, :, 0]) * 4**-0.5
    a = torch.einsum("bnmh,bmhd->bnhd", att.softmax(dim=2), kv[:, :, 1]).reshape(2, 5, 16)
    h = h + layer.attn.project(a)
    h = h + layer.mlp.fc2(torch.relu(layer.mlp.fc1(layer.norm2(h))))
    expected = h[:, 2:].reshape(2, -1)
    assert torch.allclose(net(x), expected, atol=1e-5)


def test_linear_mapping_layout(gpt2_dir, tmp_path):
    model = make_clipcap(gpt2_dir, "linear", 12)
    path = tmp_path / "long_prefix.pt"
    torch.save(model.state_dict(), path)
    loaded = load_clipcap_checkpoint(path, decoder=gpt2_dir)
    assert (loaded.mapping_config.mapping, loaded.prefix_length) == ("linear", 12)


def test_mapping_only_checkpoint_takes_decoder_weights(gpt2_dir, tmp_path):
    model = make_clipcap(gpt2_dir, "mlp", 2)
    state = {k: v for k, v in model.state_dict().items() if k.startswith("clip_project.")}
    torch.save({"state_dict": state}, tmp_path / "prefix_only.pt")
    loaded = load_clipcap_checkpoint(tmp_path / "prefix_only.pt", decoder=gpt2_dir)
    from transformers import GPT2LMHeadModel

    ref = GPT2LMHeadModel.from_pretrained(str(gpt2_dir))
    assert torch.equal(loaded.gpt.transformer.wpe.weight, ref.transformer.wpe.weight)


def test_own_format_round_trip(clipcap_own_dir, tmp_path):
    model = load_clipcap_checkpoint(clipcap_own_dir)  # decoder from the saved folder
    assert model.normalize_prefix and model.prefix_length == 5
    x = torch.randn(2, CLIP_DIM)
    again = load_clipcap_checkpoint(save_clipcap(model, tmp_path / "again") / "clipcap.json")
    assert torch.equal(model.prefix_embeddings(x), again.prefix_embeddings(x))
    assert model.generate(x, max_tokens=8) == again.generate(x, max_tokens=8)
    # normalisation really applies: scaling the embedding changes nothing
    assert torch.allclose(model.prefix_embeddings(x), model.prefix_embeddings(3 * x), atol=1e-5)


def test_own_format_without_decoder_weights(gpt2_dir, tmp_path):
    model = make_clipcap(gpt2_dir, "mlp", 3)
    save_clipcap(model, tmp_path / "m", include_decoder_weights=False)
    loaded = load_clipcap_checkpoint(tmp_path / "m")
    from safetensors.torch import load_file

    assert all(
        k.startswith("clip_project.") for k in load_file(tmp_path / "m" / "model.safetensors")
    )
    assert loaded.meta["decoder"] == str(gpt2_dir)


def test_unknown_layout_names_the_keys(gpt2_dir, tmp_path):
    path = tmp_path / "weird.pt"
    torch.save({"clip_project.foo.weight": torch.zeros(3, 3), "gpt.x": torch.zeros(1)}, path)
    with pytest.raises(CheckpointFormatError, match=r"clip_project\.': \[foo\.weight\]"):
        load_clipcap_checkpoint(path, decoder=gpt2_dir)


def test_extra_and_missing_gpt_keys_are_listed(clipcap_mlp_pt, gpt2_dir, tmp_path):
    state = torch.load(clipcap_mlp_pt, weights_only=True)
    state["gpt.transformer.h.0.attn.extra"] = torch.zeros(1)  # not an old buffer name
    del state["gpt.transformer.ln_f.bias"]
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(CheckpointFormatError) as err:
        load_clipcap_checkpoint(tmp_path / "bad.pt", decoder=gpt2_dir)
    assert "gpt.transformer.ln_f.bias" in str(err.value)
    assert "gpt.transformer.h.0.attn.extra" in str(err.value)


def test_decoder_that_does_not_fit_the_checkpoint(clipcap_mlp_pt, gpt2_dir, tmp_path):
    from transformers import AutoTokenizer

    from fixtures.text_models import make_gpt2

    tok = AutoTokenizer.from_pretrained(str(gpt2_dir))
    make_gpt2(tok, n_embd=16).save_pretrained(tmp_path / "small")
    tok.save_pretrained(tmp_path / "small")
    with pytest.raises(CheckpointFormatError, match="32-d embeddings but the decoder's"):
        load_clipcap_checkpoint(clipcap_mlp_pt, decoder=tmp_path / "small")
    short = make_gpt2(tok)
    short.config.n_positions = 64
    type(short)(short.config).save_pretrained(tmp_path / "short")
    tok.save_pretrained(tmp_path / "short")
    with pytest.raises(CheckpointFormatError, match=r"shape mismatches: gpt.transformer.wpe"):
        load_clipcap_checkpoint(clipcap_mlp_pt, decoder=tmp_path / "short")


def test_tokenizer_larger_than_embeddings(clipcap_mlp_pt, gpt2_dir, tmp_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(gpt2_dir))
    tok.add_tokens([f"<extra{i}>" for i in range(10)])
    tok.save_pretrained(tmp_path / "dec")
    (tmp_path / "dec" / "config.json").write_text((gpt2_dir / "config.json").read_text())
    with pytest.raises(CheckpointFormatError, match="tokenizer has"):
        load_clipcap_checkpoint(clipcap_mlp_pt, decoder=tmp_path / "dec")


def test_given_prefix_length_is_checked(clipcap_mlp_pt, gpt2_dir):
    with pytest.raises(CheckpointFormatError, match="prefix_length=10"):
        load_clipcap_checkpoint(clipcap_mlp_pt, decoder=gpt2_dir, prefix_length=10)


def test_missing_files(tmp_path, gpt2_dir, clipcap_mlp_pt):
    with pytest.raises(ModelNotFoundError):
        load_clipcap_checkpoint(tmp_path / "nope.pt", decoder=gpt2_dir)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointFormatError):
        load_clipcap_checkpoint(tmp_path / "junk.pt", decoder=gpt2_dir)
    with pytest.raises(ModelNotFoundError, match="decoder"):
        load_clipcap_checkpoint(clipcap_mlp_pt, decoder=tmp_path / "no-decoder")
    (tmp_path / "config-only").mkdir()  # a decoder folder without its tokenizer files
    (tmp_path / "config-only" / "config.json").write_text((gpt2_dir / "config.json").read_text())
    with pytest.raises(ModelNotFoundError, match="config-only"):
        load_clipcap_checkpoint(clipcap_mlp_pt, decoder=tmp_path / "config-only")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "clipcap.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(CheckpointFormatError, match="not a"):
        load_clipcap_checkpoint(tmp_path / "d")


def test_teacher_forced_logits_align_with_tokens(clipcap_mlp_pt, gpt2_dir):
    model = load_clipcap_checkpoint(clipcap_mlp_pt, decoder=gpt2_dir)
    x = torch.randn(1, CLIP_DIM)
    with torch.no_grad():
        ids = model.generate(x, max_tokens=5)
        tokens = torch.tensor([model.tokenizer.encode(ids[0][0])])
        logits = model(x, tokens)
    assert logits.shape == (1, tokens.shape[1], len(model.tokenizer))
