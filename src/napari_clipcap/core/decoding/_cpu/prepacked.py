"""Linear layers whose weights are kept in the CPU matmul library's own layout.

A decoding step multiplies a few rows (one per caption) by every weight matrix of the
language model, so it is bound by how fast the weights stream from memory. PyTorch's
default CPU matmul re-reads a weight in its plain row-major layout at every call; oneDNN
(bundled with PyTorch on x86 and ARM) can keep a copy reordered into the blocks its
kernels read, which on a 2-core Xeon streams GPT-2's block weights about 15 % faster at
8 rows (``benchmarks/bench_decoding.py``). Results agree with ``F.linear`` to float32
rounding (~1e-6 relative).

:class:`PrepackedLinear` falls back to ``F.linear`` where oneDNN is missing, off the CPU,
or when reordering fails, so callers need not care.
"""

from __future__ import annotations

from functools import cache

import torch
import torch.nn.functional as F

from .operators import LINEAR_OPERATORS, missing, op, probe


@cache
def onednn_linear_available() -> bool:
    """Whether this PyTorch build has oneDNN's prepacked linear operators."""
    return bool(torch.backends.mkldnn.is_available()) and not missing(LINEAR_OPERATORS)


@cache
def fast_bfloat16_matmul() -> bool:
    """Whether the CPU multiplies bfloat16 natively (AVX512-BF16 or AMX), so that reading
    a bfloat16 copy of a weight is actually faster than reading the float32 one."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return onednn_linear_available() and any(probe(name) for name in checks)


def _reorder(weight: torch.Tensor, rows_hint: int | None) -> torch.Tensor:
    # reads a transposed view directly: no contiguous temporary of the weight
    return op("mkldnn._reorder_linear_weight")(weight, rows_hint)


class PrepackedLinear:
    """``x @ weight.T + bias`` with ``weight`` reordered once for oneDNN.

    Parameters
    ----------
    weight : torch.Tensor
        ``(out, in)`` float weight on the CPU (a view is fine; it is not modified).
    bias : torch.Tensor or None
        ``(out,)``.
    dtype : torch.dtype, optional
        Keep the reordered copy in this dtype (``torch.bfloat16`` halves the bytes read);
        inputs must then be given in it too. Default: the weight's dtype.
    rows_hint : int, optional
        Typical number of input rows, which oneDNN uses to pick the layout.
    """

    def __init__(
        self,
        weight: torch.Tensor,
        bias: torch.Tensor | None = None,
        *,
        dtype: torch.dtype | None = None,
        rows_hint: int | None = None,
    ):
        dtype = dtype or weight.dtype
        self.weight = weight.detach().to(dtype)
        self.bias = None if bias is None else bias.detach().to(dtype)
        self.packed: torch.Tensor | None = None
        if weight.device.type == "cpu" and onednn_linear_available():
            try:
                self.packed = _reorder(self.weight, rows_hint)
            except RuntimeError:  # an unsupported dtype or shape: plain matmul
                self.packed = None

    @classmethod
    def from_conv1d(cls, conv: torch.nn.Module, **kwargs) -> PrepackedLinear:
        """From a transformers ``Conv1D`` (GPT-2), whose weight is stored ``(in, out)``."""
        return cls(conv.weight.T, conv.bias, **kwargs)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.packed is not None:
            return op("mkldnn._linear_pointwise")(x, self.packed, self.bias, "none", [], "")
        return F.linear(x, self.weight, self.bias)

    def plus(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        """``residual + self(x)``, the addition done by the matmul as it writes out."""
        if self.packed is not None:
            binary = op("mkldnn._linear_pointwise.binary")
            return binary(x, residual, self.packed, self.bias, "add")
        return residual + F.linear(x, self.weight, self.bias)

    def gelu_tanh(self, x: torch.Tensor) -> torch.Tensor:
        """``gelu(self(x), approximate="tanh")``, the activation done by the matmul."""
        if self.packed is not None:
            return op("mkldnn._linear_pointwise")(x, self.packed, self.bias, "gelu", [], "tanh")
        return F.gelu(F.linear(x, self.weight, self.bias), approximate="tanh")
