"""Each class gets its own process-wide object, made on first use and forgotten by reset."""

from __future__ import annotations

from napari_clipcap._qt.process_singleton import ProcessSingleton


class _First(ProcessSingleton):
    made = 0

    def __init__(self):
        type(self).made += 1


class _Second(_First):
    made = 0


def test_one_object_per_class_until_reset():
    _First.reset(), _Second.reset()
    first, second = _First.instance(), _Second.instance()
    assert first is _First.instance() and second is _Second.instance()
    assert type(first) is _First and type(second) is _Second
    assert (_First.made, _Second.made) == (1, 1)
    _First.reset()
    assert _First.instance() is not first and _Second.instance() is second
    assert (_First.made, _Second.made) == (2, 1)
