"""The scaling front: what docs/fits.md imports, and one name per kind of preset."""

from __future__ import annotations

import napari_clipcap.core.scaling as scaling
from napari_clipcap.core import registry
from napari_clipcap.core.scaling import bands, composites


def test_front_offers_intervals_stretches_and_composites():
    # the example in docs/fits.md imports these from the front
    from napari_clipcap.core.scaling import LogStretch, PercentileInterval, to_model_input

    assert to_model_input([[0.0, 1.0]], interval=PercentileInterval(100), stretch=LogStretch())[
        0, 1
    ].tolist() == [1.0, 1.0, 1.0]
    for name in ("AsinhStretch", "ManualInterval", "COMPOSITES", "CompositePreset"):
        assert name in scaling.__all__


def test_composite_presets_have_their_own_name():
    assert all(isinstance(p, scaling.CompositePreset) for p in scaling.COMPOSITES.values())
    assert composites.COMPOSITES is bands.COMPOSITES
    for module in (scaling, bands, composites):
        assert not hasattr(module, "PRESETS") and not hasattr(module, "Preset")
    # PRESETS now means model presets only
    assert all(hasattr(p, "kind") for p in registry.PRESETS)
