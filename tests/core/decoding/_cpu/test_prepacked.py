"""Prepacked CPU linear layers equal F.linear, and fall back to it when they must."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from transformers.pytorch_utils import Conv1D

from napari_clipcap.core.decoding._cpu import prepacked
from napari_clipcap.core.decoding._cpu.prepacked import PrepackedLinear


@pytest.fixture
def weight_bias():
    torch.manual_seed(0)
    return torch.randn(48, 40), torch.randn(48)


@pytest.mark.parametrize("rows", [1, 8, 80])
def test_equals_f_linear(weight_bias, rows):
    weight, bias = weight_bias
    layer = PrepackedLinear(weight, bias, rows_hint=8)
    x = torch.randn(rows, 40)
    torch.testing.assert_close(layer(x), F.linear(x, weight, bias), rtol=1e-5, atol=1e-5)
    assert PrepackedLinear(weight)(x).shape == (rows, 48)


def test_uses_onednn_when_present(weight_bias):
    layer = PrepackedLinear(*weight_bias)
    assert (layer.packed is not None) == prepacked.onednn_linear_available()


def test_from_conv1d_equals_the_module():
    torch.manual_seed(1)
    conv = Conv1D(24, 16)  # GPT-2's layer: weight stored (in, out)
    torch.nn.init.normal_(conv.bias)
    x = torch.randn(5, 16)
    with torch.no_grad():
        torch.testing.assert_close(PrepackedLinear.from_conv1d(conv)(x), conv(x))


def test_bfloat16_copy(weight_bias):
    weight, _ = weight_bias
    layer = PrepackedLinear(weight, dtype=torch.bfloat16)
    x = torch.randn(3, 40)
    out = layer(x.bfloat16())
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), x @ weight.T, rtol=0.05, atol=0.3)


def test_falls_back_without_onednn(monkeypatch, weight_bias):
    monkeypatch.setattr(prepacked, "onednn_linear_available", lambda: False)
    weight, bias = weight_bias
    layer = PrepackedLinear(weight, bias)
    assert layer.packed is None
    x = torch.randn(4, 40)
    torch.testing.assert_close(layer(x), F.linear(x, weight, bias))


def test_falls_back_when_reordering_fails(monkeypatch, weight_bias):
    def refuse(weight, rows_hint):
        raise RuntimeError("unsupported")

    monkeypatch.setattr(prepacked, "_reorder", refuse)
    monkeypatch.setattr(prepacked, "onednn_linear_available", lambda: True)
    layer = PrepackedLinear(*weight_bias)
    assert layer.packed is None
    x = torch.randn(2, 40)
    torch.testing.assert_close(layer(x), F.linear(x, *weight_bias))


@pytest.mark.parametrize("packed", [True, False])
def test_fused_residual_add_and_gelu(packed):
    torch.manual_seed(3)
    weight, bias = torch.randn(96, 40) * 0.1, torch.randn(96) * 0.1
    x, residual = torch.randn(8, 40), torch.randn(8, 96)
    linear = PrepackedLinear(weight, bias)
    if not packed:
        linear.packed = None
    plain = F.linear(x, weight, bias)
    torch.testing.assert_close(linear.plus(x, residual), residual + plain)
    torch.testing.assert_close(linear.gelu_tanh(x), F.gelu(plain, approximate="tanh"))
