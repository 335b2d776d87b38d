"""Aggregated reporting."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ._base import extra_field

__all__ = ["Report"]


@attrs.frozen(weakref_slot=False)
class Report:
    """The answer to ``client.reporting.get()``; fields the report type does not produce are None.

    - ``nps``: ``nps``, ``count``, ``data`` (``detractors``, ``passives``, ``promoters``)
    - ``csat``: ``csat``, ``count``, ``data``
    - ``ratings``: ``average``, ``sum``, ``count``, ``data`` (answer value -> count)
    - ``distribution``: ``datapoints``, ``responses``, ``data``
    - ``count``: ``views``, ``responses``
    """

    nps: float | None = None
    csat: float | None = None
    average: float | None = None
    sum: float | None = None
    count: int | None = None
    views: int | None = None
    responses: int | None = None
    datapoints: int | None = None
    data: Mapping[str, Any] | None = None
    date_range_start: datetime | None = None  # the range the server used
    date_range_end: datetime | None = None
    extra: Mapping[str, Any] = extra_field()
