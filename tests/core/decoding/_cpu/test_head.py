"""The CPU decoding head matches the model's own head and follows weight updates.

(Moved from the removed ``lm_head`` module's tests: the fast path now has one head,
:class:`~napari_clipcap.core.decoding._cpu.head.FastHead`, kept with the stepper's
prepared weights.)"""

from __future__ import annotations

import torch
from transformers import GPT2Config, GPT2LMHeadModel

from napari_clipcap.core.decoding._cpu import cpu_stepper, head
from napari_clipcap.core.decoding._cpu.head import FastHead
from napari_clipcap.core.decoding._cpu.stepper import prepared


def _tiny_gpt2():
    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(n_embd=32, n_layer=1, n_head=2, vocab_size=97)).eval()


def test_fast_head_equals_lm_head_and_tracks_in_place_updates():
    lm = _tiny_gpt2()
    hidden = torch.randn(5, 32)
    with torch.no_grad():
        logits = prepared(lm).head(hidden)
        torch.testing.assert_close(logits, lm.lm_head(hidden), rtol=1e-5, atol=1e-5)
        lm.transformer.wte.weight.mul_(2.0)  # tied weights, changed in place (training)
        logits = prepared(lm).head(hidden)
        torch.testing.assert_close(logits, lm.lm_head(hidden), rtol=1e-5, atol=1e-5)


def test_fast_head_argmax_equals_the_argmax_of_the_logits():
    lm = _tiny_gpt2()
    hidden = torch.randn(5, 32)
    with torch.no_grad():
        assert torch.equal(prepared(lm).head.argmax(hidden), lm.lm_head(hidden).argmax(-1))


def test_with_a_bias():
    torch.manual_seed(2)
    weight, bias, hidden = torch.randn(50, 16), torch.randn(50), torch.randn(3, 16)
    fast = FastHead(weight, bias)
    torch.testing.assert_close(fast(hidden), hidden @ weight.T + bias, rtol=1e-5, atol=1e-5)
    assert torch.equal(fast.argmax(hidden), (hidden @ weight.T + bias).argmax(-1))


def test_fast_head_only_for_plain_heads_on_cpu():
    lm = _tiny_gpt2()
    prefix = torch.randn(1, 2, 32)
    assert cpu_stepper(lm, prefix) is not None

    class Other(GPT2LMHeadModel):
        pass

    assert cpu_stepper(Other(lm.config).eval(), prefix) is None  # unknown forward


def test_copy_is_made_once_per_weight_state():
    lm = _tiny_gpt2()
    fast = prepared(lm).head
    assert prepared(lm).head is fast
    hidden = torch.randn(2, 32)
    fast(hidden)
    first = fast._full
    fast(hidden)
    assert fast._full is first  # no copy per decoding step
    with torch.no_grad():
        lm.lm_head.weight.add_(1.0)
    assert prepared(lm).head is not fast


def test_fast_head_of_a_model_built_in_inference_mode():
    with torch.inference_mode():
        lm = _tiny_gpt2()
        hidden = torch.randn(2, 32)
        torch.testing.assert_close(prepared(lm).head(hidden), lm.lm_head(hidden))


def test_without_a_fast_screen_the_argmax_reads_the_float32_head(monkeypatch):
    monkeypatch.setattr(head, "available_screens", lambda: [])
    lm = _tiny_gpt2()
    fast = FastHead(lm.lm_head.weight.detach())
    hidden = torch.randn(3, 32)
    with torch.no_grad():
        assert torch.equal(fast.argmax(hidden), lm.lm_head(hidden).argmax(-1))
    assert fast.screened() is None and fast.last_screen is None
