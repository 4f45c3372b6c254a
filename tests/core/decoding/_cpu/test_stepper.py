"""The CPU GPT-2 stepper computes what transformers' GPT-2 computes."""

from __future__ import annotations

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from napari_clipcap.core.decoding._cpu import head as fast_head
from napari_clipcap.core.decoding._cpu import stepper as gpt2_stepper
from napari_clipcap.core.decoding._cpu.stepper import GPT2Stepper, prepared, supports
from napari_clipcap.core.decoding.loops import CausalLMStepper, decode, generate, greedy_reference
from napari_clipcap.core.errors import InvalidInputError


def _gpt2(**overrides):
    torch.manual_seed(0)
    config = dict(n_embd=48, n_layer=2, n_head=4, vocab_size=211, n_positions=64)
    return GPT2LMHeadModel(GPT2Config(**{**config, **overrides})).eval()


@pytest.fixture(scope="module")
def lm():
    return _gpt2()


@pytest.fixture(scope="module")
def prefix():
    torch.manual_seed(1)
    return torch.randn(4, 5, 48)


@torch.inference_mode()
def test_logits_equal_transformers_at_every_step(lm, prefix):
    stepper = GPT2Stepper(lm)
    logits = stepper.start(prefix)
    embeds = prefix
    for _ in range(40):  # past the first cache capacity (32): the cache grows
        torch.testing.assert_close(logits, lm(inputs_embeds=embeds).logits[:, -1])
        nxt = logits.argmax(-1)
        embeds = torch.cat([embeds, lm.transformer.wte(nxt)[:, None]], dim=1)
        logits = stepper.step(nxt)


@torch.inference_mode()
def test_argmax_only_returns_the_argmax_ids(lm, prefix):
    full = GPT2Stepper(lm)
    screened = GPT2Stepper(lm)
    screened.argmax_only = True
    logits, ids = full.start(prefix), screened.start(prefix)
    for _ in range(5):
        assert torch.equal(ids, logits.argmax(-1))
        logits, ids = full.step(ids), screened.step(ids)


def test_generate_uses_it_and_equals_the_reference(lm, prefix, monkeypatch):
    made = []
    monkeypatch.setattr(gpt2_stepper.GPT2Stepper, "__init__", _recording(made))
    ids = generate(lm, prefix, max_tokens=30)
    assert made, "generate did not pick the GPT-2 stepper"
    assert [caps[0] for caps in ids] == greedy_reference(lm, prefix, max_tokens=30)


def _recording(made):
    original = gpt2_stepper.GPT2Stepper.__init__

    def init(self, lm):
        made.append(self)
        original(self, lm)

    return init


@pytest.mark.parametrize(
    "opts",
    [
        {"beam_size": 3, "num_captions": 2},
        {"top_p": 0.9, "temperature": 0.8, "seed": 3, "num_captions": 2},
        {"top_p": 0.9, "temperature": 0.0, "num_captions": 2},
    ],
)
def test_beam_and_sampling_equal_the_transformers_stepper(lm, prefix, opts):
    ours = generate(lm, prefix, max_tokens=12, **opts)
    theirs = decode(CausalLMStepper(lm), prefix, max_tokens=12, **opts)
    assert ours == theirs


def test_prepared_weights_are_reused_and_follow_weight_changes(prefix):
    lm = _gpt2()
    first = prepared(lm)
    assert prepared(lm) is first
    with torch.no_grad():
        lm.transformer.h[0].mlp.c_fc.weight.mul_(1.5)  # an optimiser step, in place
    assert prepared(lm) is not first
    with torch.inference_mode():
        torch.testing.assert_close(
            GPT2Stepper(lm).start(prefix), lm(inputs_embeds=prefix).logits[:, -1]
        )


def test_supports_only_what_it_computes_exactly(prefix):
    lm = _gpt2()
    assert supports(lm, prefix)
    assert not supports(lm, prefix.double())
    assert not supports(lm.train(), prefix)  # dropout: leave it to transformers
    assert not supports(_gpt2(scale_attn_by_inverse_layer_idx=True), prefix)
    assert not supports(_gpt2(reorder_and_upcast_attn=True), prefix)
    assert not supports(_gpt2().to(torch.bfloat16), prefix.bfloat16())
    assert not supports(torch.nn.Linear(2, 2), prefix)


def test_unscaled_attention_is_followed(prefix):
    lm = _gpt2(scale_attn_weights=False)
    with torch.inference_mode():
        torch.testing.assert_close(
            GPT2Stepper(lm).start(prefix), lm(inputs_embeds=prefix).logits[:, -1]
        )


def test_running_out_of_positions_is_a_clear_error(lm, prefix):
    with pytest.raises(InvalidInputError, match="positions"):
        generate(lm, prefix, max_tokens=70)


def test_without_a_fast_screen_greedy_uses_the_float32_head(monkeypatch, prefix):
    monkeypatch.setattr(fast_head, "available_screens", lambda: [])
    lm = _gpt2()
    stepper = GPT2Stepper(lm)
    stepper.argmax_only = True
    with torch.inference_mode():
        ids = stepper.start(prefix)
        assert torch.equal(ids, lm(inputs_embeds=prefix).logits[:, -1].argmax(-1))
    assert stepper.p.head._argmax is None


def test_a_model_built_in_inference_mode_decodes(prefix):
    with torch.inference_mode():
        lm = _gpt2()  # inference tensors: no version counter to key the cache on
        ids = generate(lm, prefix, max_tokens=5)
        assert [c[0] for c in ids] == greedy_reference(lm, prefix, max_tokens=5)


@pytest.mark.parametrize("activation", ["gelu_new", "relu", "gelu"])
def test_every_mlp_activation_is_followed(prefix, activation):
    lm = _gpt2(activation_function=activation)
    with torch.inference_mode():
        torch.testing.assert_close(
            GPT2Stepper(lm).start(prefix), lm(inputs_embeds=prefix).logits[:, -1]
        )
