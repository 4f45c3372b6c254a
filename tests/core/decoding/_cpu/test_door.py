"""The CPU fast path has one door, cpu_stepper, and an opt-out (argument, environment)."""

from __future__ import annotations

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from napari_clipcap.core.decoding import _cpu
from napari_clipcap.core.decoding._cpu import ENV_VAR, cpu_stepper, prepacked
from napari_clipcap.core.decoding._cpu.stepper import GPT2Stepper
from napari_clipcap.core.decoding.loops import CausalLMStepper, generate, greedy_reference
from napari_clipcap.core.errors import InvalidInputError


@pytest.fixture(scope="module")
def lm():
    torch.manual_seed(0)
    config = GPT2Config(n_embd=32, n_layer=2, n_head=2, vocab_size=101, n_positions=48)
    return GPT2LMHeadModel(config).eval()


@pytest.fixture
def prefix():
    torch.manual_seed(1)
    return torch.randn(3, 4, 32)


def test_the_package_exports_one_door():
    assert _cpu.__all__ == ["ENV_VAR", "cpu_stepper", "fast_path_enabled"]


def test_a_float32_gpt2_on_the_cpu_gets_the_stepper(lm, prefix, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert isinstance(cpu_stepper(lm, prefix), GPT2Stepper)
    assert cpu_stepper(lm, prefix.double()) is None
    assert cpu_stepper(torch.nn.Linear(2, 2), prefix) is None


def test_the_argument_turns_it_off(lm, prefix, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert cpu_stepper(lm, prefix, enabled=False) is None
    monkeypatch.setenv(ENV_VAR, "0")
    assert isinstance(cpu_stepper(lm, prefix, enabled=True), GPT2Stepper)  # argument wins


@pytest.mark.parametrize("value", ["0", "false", "OFF", "no"])
def test_the_environment_variable_turns_it_off(lm, prefix, monkeypatch, value):
    monkeypatch.setenv(ENV_VAR, value)
    assert cpu_stepper(lm, prefix) is None


@pytest.mark.parametrize("value", ["1", "true", "on", ""])
def test_the_environment_variable_keeps_it_on(lm, prefix, monkeypatch, value):
    monkeypatch.setenv(ENV_VAR, value)
    assert isinstance(cpu_stepper(lm, prefix), GPT2Stepper)


def test_a_bad_environment_value_is_one_clear_error(lm, prefix, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "fast")
    with pytest.raises(InvalidInputError, match=ENV_VAR):
        cpu_stepper(lm, prefix)


def test_without_onednn_there_is_no_fast_path(lm, prefix, monkeypatch):
    monkeypatch.setattr(prepacked, "onednn_linear_available", lambda: False)
    assert cpu_stepper(lm, prefix) is None


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_generate_opted_out_uses_transformers_with_the_same_tokens(lm, prefix, monkeypatch, how):
    monkeypatch.delenv(ENV_VAR, raising=False)
    fast = generate(lm, prefix, max_tokens=12)
    made = []
    original = CausalLMStepper.__init__

    def record(self, model):
        made.append(self)
        original(self, model)

    monkeypatch.setattr(CausalLMStepper, "__init__", record)
    if how == "argument":
        slow = generate(lm, prefix, max_tokens=12, cpu_fast_path=False)
    else:
        monkeypatch.setenv(ENV_VAR, "0")
        slow = generate(lm, prefix, max_tokens=12)
    assert made, "the opt-out did not reach transformers' forward"
    assert slow == fast
    assert [c[0] for c in fast] == greedy_reference(lm, prefix, max_tokens=12)
