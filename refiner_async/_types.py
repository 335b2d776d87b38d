"""Marker values of the public signatures: :data:`NOT_GIVEN`, an option left out."""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["NOT_GIVEN", "NotGiven"]


class NotGiven:
    """The type of :data:`NOT_GIVEN`: an option the caller left out, so that ``None`` can keep a
    meaning of its own (``with_options(deadline=None)`` means "no deadline")."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"  # pickles as the module attribute: one instance, always


#: An option left out: the setting keeps the value it had.
NOT_GIVEN: Final = NotGiven()
