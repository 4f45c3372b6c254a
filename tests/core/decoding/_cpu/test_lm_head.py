"""The CPU decoding head matches the model's own head and follows weight updates."""

from __future__ import annotations

import torch
from transformers import GPT2Config, GPT2LMHeadModel

from napari_clipcap.core.decoding._cpu.lm_head import fast_head


def _tiny_gpt2():
    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(n_embd=32, n_layer=1, n_head=2, vocab_size=97)).eval()


def test_fast_head_equals_lm_head_and_tracks_in_place_updates():
    lm = _tiny_gpt2()
    head = fast_head(lm)
    assert head is not None
    hidden = torch.randn(5, 32)
    with torch.no_grad():
        torch.testing.assert_close(head(hidden), lm.lm_head(hidden), rtol=1e-5, atol=1e-5)
        lm.transformer.wte.weight.mul_(2.0)  # tied weights, changed in place (training)
        torch.testing.assert_close(head(hidden), lm.lm_head(hidden), rtol=1e-5, atol=1e-5)


def test_fast_head_only_for_plain_heads_on_cpu():
    lm = _tiny_gpt2()
    assert fast_head(lm) is not None

    class Other(GPT2LMHeadModel):
        pass

    assert fast_head(Other(lm.config)) is None  # unknown forward: use the model's own


def test_copy_is_made_once_per_weight_state():
    lm = _tiny_gpt2()
    head = fast_head(lm)
    assert fast_head(lm) is head
    first = head.matrix()
    assert head.matrix() is first  # no copy per decoding step
    with torch.no_grad():
        lm.lm_head.weight.add_(1.0)
    assert head.matrix() is not first


def test_fast_head_of_a_model_built_in_inference_mode():
    with torch.inference_mode():
        lm = _tiny_gpt2()
        hidden = torch.randn(2, 32)
        torch.testing.assert_close(fast_head(lm)(hidden), lm.lm_head(hidden))
