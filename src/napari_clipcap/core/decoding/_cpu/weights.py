"""One cache for what the CPU fast path derives from a model's weights.

Prepared copies (prepacked, transposed, quantized) are kept on the model object itself
(not in its state dict), so they live and die with the model and are made once for all
the decoding calls on it. They are remade when any weight they came from is replaced or
changed in place (training updates weights in place).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import torch

T = TypeVar("T")


def weights_key(tensors: Iterable[torch.Tensor]) -> tuple:
    """A key that changes when any of ``tensors`` is replaced or changed in place.

    Inference tensors (a model built under ``torch.inference_mode``) have no version
    counter; they cannot be changed outside inference mode, so their address will do.
    """
    return tuple((t.data_ptr(), -1 if t.is_inference() else t._version) for t in tensors)


def cached_on(owner: Any, name: str, tensors: Iterable[torch.Tensor], build: Callable[[], T]) -> T:
    """``build()``, kept on ``owner`` under ``name`` until a weight in ``tensors`` changes.

    Parameters
    ----------
    owner : object
        The model the result belongs to.
    name : str
        Attribute name in ``owner.__dict__``.
    tensors : iterable of torch.Tensor
        The weights the result is derived from.
    build : callable
        Makes the result; called again after any of ``tensors`` changed.
    """
    key = weights_key(tensors)
    slot = owner.__dict__.get(name)
    if slot is not None and slot[0] == key:
        return slot[1]
    owner.__dict__.pop(name, None)  # free the stale copy before making the new one
    value = build()
    owner.__dict__[name] = (key, value)
    return value
