"""An int8 screen of a language-model head: approximate logits with a rigorous error bound.

The head ``W`` (vocabulary x width) is the largest single matrix a decoding step reads.
:class:`Int8Screen` keeps it quantized to int8 (one scale per vocabulary entry, a quarter
of the float32 bytes) and multiplies it by the hidden states quantized to uint8, with
oneDNN's integer matmul. On a CPU with VNNI that is both the fewest bytes and the fastest
arithmetic on offer: for GPT-2 at 8 rows on a 2-core Xeon, 5.8 ms with the candidates'
recomputation against 10.3 ms for a bfloat16 screen and 10.5 ms for the float32 head
(``benchmarks/bench_decoding.py``, ``greedy_head_ms``).

Every approximate logit ``a_v`` comes with a bound ``e_v >= |a_v - z_v|``, ``z_v`` being
the float32 logit, so :mod:`.screened_argmax` can keep only the entries that may still
win. With ``x = x^ + dx`` and ``w = w^ + dw`` (the dequantized values and the rounding
left over, ``|dx_i| <= s_x / 2`` and ``|dw_i| <= s_w / 2``), exactly

    x . w - x^ . w^ = dx . w + x^ . dw,

so ``|x . w - x^ . w^| <= (s_x / 2) |w|_1 + (s_w / 2) |x^|_1``. The integer products are
summed exactly in int32 (VNNI has no 16-bit intermediate that could saturate, hence the
requirement); dequantizing adds a few float32 roundings of at most ``127 s_w |x^|_1``,
and the float32 logit itself differs from ``x . w`` by at most ``D 2^-24 / (1 - D 2^-24)
sum |x_i w_i|``, with ``sum |x_i w_i| <= |x|_inf |w|_1 <= 127 s_x |w|_1``. Results that
underflow to subnormal numbers lose up to ``2^-149`` each, whatever their size. The
constants below cover these with room to spare.
"""

from __future__ import annotations

from functools import cache

import torch

from .operators import INT8_OPERATORS, missing, op, probe

_U = 2.0**-24  # float32 unit roundoff
_SLACK = 1 + 2.0**-10  # covers the float32 rounding of computing the bound itself
_TINY = torch.finfo(torch.float32).tiny  # the smallest normal float32


@cache
def int8_screen_available() -> bool:
    """Whether oneDNN's int8 matmul is here and the CPU sums int8 products exactly and
    fast (VNNI or AMX)."""
    checks = ("_is_vnni_supported", "_is_amx_tile_supported")
    return not missing(INT8_OPERATORS) and any(probe(name) for name in checks)


class Int8Screen:
    """``hidden (B, D) -> (approx (B, V), coeffs (B, 3), basis (3, V))`` for
    ``hidden @ weight.T + bias``; the bound is ``coeffs @ basis`` (see
    :mod:`.screened_argmax`).

    Parameters
    ----------
    weight : torch.Tensor
        ``(V, D)`` float32 weight on the CPU.
    bias : torch.Tensor or None
        ``(V,)``.
    rows_hint : int
        Typical number of rows, which oneDNN uses to pick the weight's layout.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None = None, *, rows_hint=8):
        weight = weight.detach()
        vocab, width = weight.shape
        norm = torch.linalg.vector_norm  # one pass, no |weight| temporary
        largest = norm(weight, float("inf"), dim=1)
        # kept normal (all-zero rows included): a subnormal scale would round, and
        # |w / s_w| could then exceed 127
        scale = (largest / 127).clamp_min(_TINY)
        quantized = torch.round(weight / scale[:, None]).clamp_(-127, 127).to(torch.int8)
        self.packed = op("onednn.qlinear_prepack")(quantized, [rows_hint, width])
        self.scale = scale.float()
        self.zero_points = torch.zeros(vocab, dtype=torch.int32)
        self.bias = None if bias is None else bias.detach().float()
        self.max_bias = 0.0 if bias is None else float(bias.abs().max())
        l1 = norm(weight, 1, dim=1)
        # the bound is coeffs @ basis, basis rows: s_w, |w|_1, 1
        self.basis = torch.stack([self.scale, l1, torch.ones_like(l1)])
        self.max_scale, self.max_l1 = float(self.scale.max()), float(l1.max())
        # all-zero rows give exact zeros, whatever their scale
        nonzero = self.scale[largest > 0]
        self.min_scale = float(nonzero.min()) if len(nonzero) else 1.0
        # float32 rounding of the exact logit (a dot product, then the bias added), of
        # sum |x_i w_i| <= |x|_inf |w|_1 <= 127 s_x |w|_1; results that underflow to
        # subnormals lose up to 2^-149 each, whatever their size
        terms = width + 2
        self.rounding = 127 * terms * _U / (1 - terms * _U)
        self.underflow = (width + 16) * 2.0**-149

    def __call__(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = hidden.float()
        step = max(float(x.abs().max()), 1e-30) / 127 * (1 + 2.0**-20)  # |x / step| < 127
        quantized = torch.round(x / step).add_(128).clamp_(0, 255).to(torch.uint8)
        approx = op("onednn.qlinear_pointwise")(
            quantized, step, 128, self.packed, self.scale, self.zero_points,
            None, 1.0, 0, torch.float32, "none", [], "",
        )  # fmt: skip
        if self.bias is not None:
            approx += self.bias
        x_l1 = (quantized.float() - 128).abs_().sum(dim=1, keepdim=True) * step
        # (s_x / 2) |w|_1 + (s_w / 2) |x^|_1, each rounding error a few units of 127 u
        per_scale = x_l1 * ((0.5 + 1024 * _U) * _SLACK)
        per_l1 = torch.full_like(per_scale, step * (0.5 + 127 * _U + self.rounding) * _SLACK)
        per_row = torch.full_like(per_scale, self.underflow)
        # the float32 sums that apply the bound err by a few u of the logits' size
        largest = 127 * self.max_scale * x_l1 + self.max_bias
        widest = per_scale * self.max_scale + per_l1 * self.max_l1 + per_row
        per_row += 16 * _U * (largest + widest) + 4 * _U * self.max_bias
        if step * self.min_scale < _TINY:
            # oneDNN may multiply the two scales first, and a subnormal product has lost
            # relative precision: no bound, the next screen decides
            per_row.fill_(float("inf"))
        return approx, torch.cat([per_scale, per_l1, per_row], dim=1), self.basis
