"""The screened head gives the float32 argmax exactly, and falls back when it must."""

from __future__ import annotations

import pytest
import torch

from napari_clipcap.core.screened_argmax import ScreenedArgmaxHead


def _exact(hidden, weight, bias=None):
    logits = hidden @ weight.T
    return logits if bias is None else logits + bias


@pytest.mark.parametrize("seed", range(5))
def test_argmax_is_the_float32_argmax(seed):
    gen = torch.Generator().manual_seed(seed)
    weight = torch.randn(5000, 64, generator=gen) * 0.02
    bias = torch.randn(5000, generator=gen) * 0.01
    hidden = torch.randn(8, 64, generator=gen) * 3
    ids = ScreenedArgmaxHead(weight, bias)(hidden)
    assert ids.dtype == torch.long and ids.shape == (8,)
    assert torch.equal(ids, _exact(hidden, weight, bias).argmax(-1))


def test_the_screen_keeps_few_candidates(monkeypatch):
    torch.manual_seed(0)
    weight, hidden = torch.randn(5000, 64) * 0.02, torch.randn(8, 64) * 3
    head = ScreenedArgmaxHead(weight)
    head.exact = lambda h: pytest.fail("the screen should have sufficed")
    head.max_candidates = 250  # 5 % of the vocabulary over the 8 rows
    assert torch.equal(head(hidden), _exact(hidden, weight).argmax(-1))


def test_ties_below_bfloat16_resolution_are_resolved_in_float32():
    torch.manual_seed(0)
    hidden = torch.randn(1, 32)
    direction = hidden[0] / hidden[0].norm() ** 2  # w @ hidden grows by 1 along it
    base = torch.randn(32) * 0.1
    base += (10.0 - base @ hidden[0]) * direction  # a logit of 10, far above the rest
    # logits 1e-5 apart: identical after rounding to bfloat16, distinct in float32
    rows = [base + k * 1e-5 * direction for k in (0, 3, 1, 2)]
    weight = torch.stack(rows + [torch.randn(32) * 0.01 for _ in range(200)])
    assert int(ScreenedArgmaxHead(weight)(hidden)) == 1 == int(_exact(hidden, weight).argmax())


def test_exact_ties_go_to_the_lowest_index():
    torch.manual_seed(0)
    weight = torch.randn(100, 16) * 0.01
    weight[[7, 42, 90]] = torch.ones(16)  # three identical rows, far above the rest
    ids = ScreenedArgmaxHead(weight)(torch.ones(3, 16))
    assert ids.tolist() == [7, 7, 7]


def test_too_many_candidates_computes_every_logit():
    torch.manual_seed(0)
    weight, hidden = torch.randn(300, 16), torch.randn(2, 16)
    head = ScreenedArgmaxHead(weight, max_candidates=0)
    calls = []
    exact = head.exact
    head.exact = lambda h: calls.append(1) or exact(h)
    assert torch.equal(head(hidden), _exact(hidden, weight).argmax(-1)) and calls


def test_non_finite_hidden_falls_back_to_every_logit():
    torch.manual_seed(0)
    weight, hidden = torch.randn(300, 16), torch.randn(2, 16)
    hidden[1, 3] = float("nan")
    assert torch.equal(ScreenedArgmaxHead(weight)(hidden), _exact(hidden, weight).argmax(-1))


def test_width_beyond_the_bound_is_refused():
    with pytest.raises(ValueError, match="4096"):
        ScreenedArgmaxHead(torch.zeros(3, 5000))
