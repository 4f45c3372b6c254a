"""One cache for what the fast path derives from weights: reused, remade on change."""

from __future__ import annotations

import torch

from napari_clipcap.core.decoding._cpu.weights import cached_on, weights_key


class _Owner:
    pass


def test_built_once_and_remade_after_an_in_place_change():
    owner, weight, calls = _Owner(), torch.ones(3), []

    def build():
        calls.append(1)
        return object()

    first = cached_on(owner, "_x", [weight], build)
    assert cached_on(owner, "_x", [weight], build) is first and len(calls) == 1
    weight.add_(1.0)
    assert cached_on(owner, "_x", [weight], build) is not first and len(calls) == 2


def test_a_replaced_tensor_changes_the_key():
    a = torch.ones(3)
    assert weights_key([a]) != weights_key([torch.ones(3)])


def test_inference_tensors_are_keyed_by_address():
    with torch.inference_mode():
        t = torch.ones(2)
    assert weights_key([t]) == ((t.data_ptr(), -1),)
