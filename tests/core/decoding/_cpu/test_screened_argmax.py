"""The screened head gives the float32 argmax exactly, and falls back when it must."""

from __future__ import annotations

import pytest
import torch

from napari_clipcap.core.decoding._cpu import screened_argmax
from napari_clipcap.core.decoding._cpu.screened_argmax import ScreenedArgmaxHead, available_screens

SCREENS = [
    pytest.param(name, marks=pytest.mark.skipif(
        name not in available_screens(), reason=f"this CPU has no fast {name} matmul"
    ))
    for name in ("int8", "bfloat16")
]  # fmt: skip


def _exact(hidden, weight, bias=None):
    logits = hidden @ weight.T
    return logits if bias is None else logits + bias


def _never_exact(head):
    head.exact = lambda h: pytest.fail("the screen should have sufficed")
    return head


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("seed", range(5))
def test_argmax_is_the_float32_argmax(screen, seed):
    gen = torch.Generator().manual_seed(seed)
    weight = torch.randn(5000, 64, generator=gen) * 0.02
    bias = torch.randn(5000, generator=gen) * 0.01
    hidden = torch.randn(8, 64, generator=gen) * 3
    ids = _never_exact(ScreenedArgmaxHead(weight, bias, screens=[screen]))(hidden)
    assert ids.dtype == torch.long and ids.shape == (8,)
    assert torch.equal(ids, _exact(hidden, weight, bias).argmax(-1))


@pytest.mark.parametrize("screen", SCREENS)
def test_the_screen_keeps_few_candidates(screen):
    torch.manual_seed(0)
    weight, hidden = torch.randn(5000, 64) * 0.02, torch.randn(8, 64) * 3
    head = _never_exact(ScreenedArgmaxHead(weight, screens=[screen], max_candidates=250))
    assert torch.equal(head(hidden), _exact(hidden, weight).argmax(-1))
    assert head.last_screen == screen


@pytest.mark.parametrize("screen", SCREENS)
def test_ties_below_the_screens_resolution_are_resolved_in_float32(screen):
    torch.manual_seed(0)
    hidden = torch.randn(1, 32)
    direction = hidden[0] / hidden[0].norm() ** 2  # w @ hidden grows by 1 along it
    base = torch.randn(32) * 0.1
    base += (10.0 - base @ hidden[0]) * direction  # a logit of 10, far above the rest
    # logits 1e-5 apart: identical after rounding to bfloat16 or int8, distinct in float32
    rows = [base + k * 1e-5 * direction for k in (0, 3, 1, 2)]
    weight = torch.stack(rows + [torch.randn(32) * 0.01 for _ in range(200)])
    head = ScreenedArgmaxHead(weight, screens=[screen])
    assert int(head(hidden)) == 1 == int(_exact(hidden, weight).argmax())


@pytest.mark.parametrize("screen", SCREENS)
def test_exact_ties_go_to_the_lowest_index(screen):
    torch.manual_seed(0)
    weight = torch.randn(100, 16) * 0.01
    weight[[7, 42, 90]] = torch.ones(16)  # three identical rows, far above the rest
    ids = ScreenedArgmaxHead(weight, screens=[screen])(torch.ones(3, 16))
    assert ids.tolist() == [7, 7, 7]


def test_a_loose_screen_hands_over_to_the_next_and_rests(monkeypatch):
    torch.manual_seed(0)
    weight, hidden = torch.randn(300, 16), torch.randn(2, 16)
    calls = {"loose": 0, "tight": 0}

    def loose(h):  # bounds so wide that every entry stays a candidate
        calls["loose"] += 1
        return _exact(h, weight), torch.full((len(h), 1), 1e6), torch.ones(1, 300)

    def tight(h):
        calls["tight"] += 1
        return _exact(h, weight), torch.zeros(len(h), 1), torch.ones(1, 300)

    head = _never_exact(ScreenedArgmaxHead(weight, screens=[], max_candidates=10))
    head.screen_names = ["int8", "bfloat16"]
    head._screens = {"int8": loose, "bfloat16": tight}
    for _ in range(3):
        assert torch.equal(head(hidden), _exact(hidden, weight).argmax(-1))
    assert head.last_screen == "bfloat16"
    assert calls == {"loose": 1, "tight": 3}  # the loose one sat out the next calls


def test_too_many_candidates_computes_every_logit():
    torch.manual_seed(0)
    weight, hidden = torch.randn(300, 16), torch.randn(2, 16)
    head = ScreenedArgmaxHead(weight, max_candidates=0)
    calls = []
    exact = head.exact
    head.exact = lambda h: calls.append(1) or exact(h)
    assert torch.equal(head(hidden), _exact(hidden, weight).argmax(-1)) and calls
    assert head.last_screen is None


def test_non_finite_hidden_falls_back_to_every_logit():
    torch.manual_seed(0)
    weight, hidden = torch.randn(300, 16), torch.randn(2, 16)
    hidden[1, 3] = float("nan")
    assert torch.equal(ScreenedArgmaxHead(weight)(hidden), _exact(hidden, weight).argmax(-1))


def test_width_beyond_the_bfloat16_bound():
    with pytest.raises(ValueError, match="4096"):
        ScreenedArgmaxHead(torch.zeros(3, 5000), screens=["bfloat16"])
    assert "bfloat16" not in ScreenedArgmaxHead(torch.zeros(3, 5000)).screen_names


def test_screens_follow_the_cpu(monkeypatch):
    monkeypatch.setattr(screened_argmax, "int8_screen_available", lambda: False)
    monkeypatch.setattr(screened_argmax, "fast_bfloat16_matmul", lambda: True)
    assert available_screens() == ["bfloat16"]
    monkeypatch.setattr(screened_argmax, "int8_screen_available", lambda: True)
    assert available_screens() == ["int8", "bfloat16"]


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize(
    ("hidden_size", "weight_size"), [(1e-25, 1.0), (1e-20, 1e-20), (1e18, 1e-3), (3.0, 1e-39)]
)
def test_extreme_magnitudes_give_the_float32_argmax(screen, hidden_size, weight_size):
    gen = torch.Generator().manual_seed(4)
    weight = torch.randn(2000, 64, generator=gen) * weight_size
    hidden = torch.randn(6, 64, generator=gen) * hidden_size
    assert torch.equal(
        ScreenedArgmaxHead(weight, screens=[screen])(hidden), _exact(hidden, weight).argmax(-1)
    )


@pytest.mark.skipif("bfloat16" not in available_screens(), reason="no fast bfloat16 here")
@pytest.mark.parametrize(("hidden_size", "weight_size"), [(1e-29, 1e-10), (1e17, 1e-43), (2, 1)])
def test_the_bfloat16_bound_holds_at_extreme_magnitudes(hidden_size, weight_size):
    gen = torch.Generator().manual_seed(5)
    weight = torch.randn(500, 64, generator=gen) * weight_size
    hidden = torch.randn(4, 64, generator=gen) * hidden_size
    approx, coeffs, basis = screened_argmax.Bfloat16Screen(weight)(hidden)
    exact = hidden.double() @ weight.double().T
    assert bool(((approx.double() - exact).abs() <= (coeffs @ basis).double()).all())
