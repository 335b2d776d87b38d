"""Segments and the answer to adding or removing a contact in a manual segment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._base import extra_field

__all__ = ["Segment", "SyncSegmentResult"]


@attrs.frozen(weakref_slot=False)
class Segment:
    """A segment from ``client.segments.list()``; only manual segments accept ``add_contact``."""

    uuid: str
    name: str | None = None
    is_manual: bool | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(weakref_slot=False)
class SyncSegmentResult:
    """The answer to ``client.segments.add_contact()`` / ``remove_contact()``."""

    contact_uuid: str | None = None
    segment_uuid: str | None = None  # also read from the key ``segment_uid``
    message: str | None = None
    extra: Mapping[str, Any] = extra_field()
