"""The screened head gives the float32 argmax exactly, and falls back when it must."""

from __future__ import annotations

import pytest
import torch

from napari_clipcap.core.screened_argmax import ScreenedArgmaxHead


def _exact(hidden, weight, bias=None):
    logits = hidden @ weight.T
    return logits if bias is None else logits + bias


@pytest.mark.parametrize("seed", range(5))
def test_argmax_and_candidate_logits_are_exact(seed):
    gen = torch.Generator().manual_seed(seed)
    weight = torch.randn(5000, 64, generator=gen) * 0.02
    bias = torch.randn(5000, generator=gen) * 0.01
    hidden = torch.randn(8, 64, generator=gen) * 3
    head = ScreenedArgmaxHead(weight, bias)
    logits = head(hidden)
    exact = _exact(hidden, weight, bias)
    assert torch.equal(logits.argmax(-1), exact.argmax(-1))
    kept = torch.isfinite(logits)
    assert 1 <= int(kept.sum(1).min()) and int(kept.sum()) < 0.05 * kept.numel()
    torch.testing.assert_close(logits[kept], exact[kept], rtol=1e-5, atol=1e-6)


def test_ties_below_bfloat16_resolution_are_resolved_in_float32():
    torch.manual_seed(0)
    hidden = torch.randn(1, 32)
    direction = hidden[0] / hidden[0].norm() ** 2  # w @ hidden grows by 1 along it
    base = torch.randn(32) * 0.1
    base += (10.0 - base @ hidden[0]) * direction  # a logit of 10, far above the rest
    # logits 1e-5 apart: identical after rounding to bfloat16, distinct in float32
    rows = [base + k * 1e-5 * direction for k in (0, 3, 1, 2)]
    weight = torch.stack(rows + [torch.randn(32) * 0.01 for _ in range(200)])
    logits = ScreenedArgmaxHead(weight)(hidden)
    assert int(logits.argmax()) == 1 == int(_exact(hidden, weight).argmax())
    assert bool(torch.isfinite(logits[0, :4]).all())


def test_too_many_candidates_computes_every_logit():
    torch.manual_seed(0)
    weight, hidden = torch.randn(300, 16), torch.randn(2, 16)
    logits = ScreenedArgmaxHead(weight, max_candidates=0)(hidden)
    torch.testing.assert_close(logits, _exact(hidden, weight))


def test_non_finite_hidden_falls_back_to_every_logit():
    torch.manual_seed(0)
    weight, hidden = torch.randn(300, 16), torch.randn(2, 16)
    hidden[1, 3] = float("nan")
    logits = ScreenedArgmaxHead(weight)(hidden)
    assert torch.isnan(logits[1]).all() and torch.isfinite(logits[0]).all()
    torch.testing.assert_close(logits[0], _exact(hidden, weight)[0])


def test_width_beyond_the_bound_is_refused():
    with pytest.raises(ValueError, match="4096"):
        ScreenedArgmaxHead(torch.zeros(3, 5000))
