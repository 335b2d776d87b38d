"""What every model shares: the immutable empty mapping and the ``extra`` field for unknown keys."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

__all__ = ["EMPTY", "extra_field"]

#: The shared, read-only empty mapping used as the default of mapping fields.
EMPTY: Mapping[str, Any] = MappingProxyType({})


def extra_field() -> Any:
    """The ``extra`` field: keys the server sent that the model does not name (empty by default).

    Left out of ``repr`` to keep it short; part of equality.
    """
    return attrs.field(default=EMPTY, repr=False, kw_only=True)
