"""One object per process for the panels to share, made on first use."""

from __future__ import annotations

from typing import TypeVar

_T = TypeVar("_T", bound="ProcessSingleton")


class ProcessSingleton:
    """Mixin: ``instance()`` gives the one object of the class, ``reset()`` forgets it.

    Every subclass keeps its own object; the first call of ``instance()`` builds it with
    no arguments. ``reset()`` exists for tests (and for a fresh start after settings
    changed on disk): the next ``instance()`` builds a new one.
    """

    @classmethod
    def instance(cls: type[_T]) -> _T:
        """The object of this process (created on first use)."""
        made = cls.__dict__.get("_instance")
        if made is None:
            made = cls()
            cls._instance = made
        return made

    @classmethod
    def reset(cls) -> None:
        """Forget the object, so that the next :meth:`instance` makes a new one."""
        cls._instance = None
