"""The int8 screen's bound holds: every approximate logit is within it of the exact one."""

from __future__ import annotations

import pytest
import torch

from napari_clipcap.core.decoding._cpu.int8_screen import Int8Screen, int8_screen_available

pytestmark = pytest.mark.skipif(not int8_screen_available(), reason="no VNNI int8 matmul here")


def _weights(kind, gen):
    weight = torch.randn(3000, 96, generator=gen) * 0.02
    if kind == "heavy_tailed":
        weight *= torch.empty_like(weight).exponential_(generator=gen) ** 2
    if kind == "zero_rows":
        weight[::7] = 0
    return weight


def _hidden(kind, gen):
    hidden = torch.randn(8, 96, generator=gen) * 2
    if kind == "outlier_dims":  # a few huge activations, as trained transformers have
        hidden[:, [3, 40]] *= 60
    if kind == "tiny":
        hidden *= 1e-6
    if kind == "zeros":
        hidden.zero_()
    return hidden


@pytest.mark.parametrize("weights", ["gaussian", "heavy_tailed", "zero_rows"])
@pytest.mark.parametrize("hidden_kind", ["gaussian", "outlier_dims", "tiny", "zeros"])
@pytest.mark.parametrize("with_bias", [False, True])
def test_every_logit_is_within_the_bound(weights, hidden_kind, with_bias):
    gen = torch.Generator().manual_seed(hash((weights, hidden_kind, with_bias)) % 2**31)
    weight, hidden = _weights(weights, gen), _hidden(hidden_kind, gen)
    bias = torch.randn(3000, generator=gen) * 0.1 if with_bias else None
    approx, coeffs, basis = Int8Screen(weight, bias)(hidden)
    bound = coeffs @ basis
    exact = hidden.double() @ weight.double().T
    if bias is not None:
        exact += bias.double()
    assert approx.shape == bound.shape == (8, 3000)
    assert bool(((approx.double() - exact).abs() <= bound.double()).all())


def test_the_bound_is_tight_enough_to_screen():
    gen = torch.Generator().manual_seed(0)
    weight, hidden = torch.randn(3000, 96, generator=gen) * 0.02, torch.randn(8, 96) * 2
    approx, coeffs, basis = Int8Screen(weight)(hidden)
    bound = coeffs @ basis
    spread = (hidden @ weight.T).std()
    assert float(bound.mean()) < 0.5 * float(spread)  # well inside the logits' spread
    assert float((approx - hidden @ weight.T).abs().max()) < float(bound.min())


def test_any_number_of_rows():
    gen = torch.Generator().manual_seed(1)
    weight = torch.randn(500, 32, generator=gen)
    screen = Int8Screen(weight)
    for rows in (1, 3, 8, 40):
        hidden = torch.randn(rows, 32, generator=gen)
        approx, coeffs, basis = screen(hidden)
        bound = coeffs @ basis
        assert bool(((approx - hidden @ weight.T).abs() <= bound).all())


def test_weights_with_subnormal_scales_keep_the_bound():
    tiny = 2.0**-149  # the smallest subnormal float32
    weight = torch.full((2, 64), 190 * tiny)
    weight[1] = 189 * tiny
    weight[1, 0] = 191 * tiny
    hidden = torch.full((1, 64), 1e17)
    approx, coeffs, basis = Int8Screen(weight)(hidden)
    exact = hidden.double() @ weight.double().T
    assert bool(((approx.double() - exact).abs() <= (coeffs @ basis).double()).all())


@pytest.mark.parametrize("size", [1e-10, 1e-18, 1e-25])
def test_tiny_magnitudes_keep_the_bound_or_give_none(size):
    gen = torch.Generator().manual_seed(0)
    weight = torch.randn(500, 64, generator=gen) * size
    hidden = torch.randn(8, 64, generator=gen) * size
    approx, coeffs, basis = Int8Screen(weight)(hidden)
    bound = (coeffs @ basis).double()  # inf where the screen cannot bound its result
    exact = hidden.double() @ weight.double().T
    assert bool(((approx.double() - exact).abs() <= bound).all())


def test_tiny_logits_still_give_the_float32_argmax():
    from napari_clipcap.core.decoding._cpu.screened_argmax import ScreenedArgmaxHead

    gen = torch.Generator().manual_seed(2)
    weight = torch.randn(300, 64, generator=gen) * 1e-20
    hidden = torch.randn(4, 64, generator=gen) * 1e-22
    ids = ScreenedArgmaxHead(weight, screens=["int8"])(hidden)
    assert torch.equal(ids, (hidden @ weight.T).argmax(-1))


def test_all_zero_rows_do_not_stop_the_screen():
    from napari_clipcap.core.decoding._cpu.screened_argmax import ScreenedArgmaxHead

    gen = torch.Generator().manual_seed(3)
    weight = torch.randn(400, 32, generator=gen) * 0.02
    weight[[0, 17]] = 0  # padding entries, say
    hidden = torch.randn(4, 32, generator=gen)
    head = ScreenedArgmaxHead(weight, screens=["int8"])
    head.exact = lambda h: pytest.fail("the int8 screen should have decided")
    assert torch.equal(head(hidden), (hidden @ weight.T).argmax(-1))
    assert head.last_screen == "int8"
