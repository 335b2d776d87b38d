"""``client.reporting``: aggregated results like the Reporting dashboards."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from .. import _validate
from .._types import ReportType
from ..models.reporting import Report
from ._base import Resource

__all__ = ["ReportingResource"]


class ReportingResource(Resource):
    """Aggregated reporting."""

    async def get(
        self,
        type: ReportType,
        *,
        form_uuids: Sequence[str] | None = None,
        segment_uuids: Sequence[str] | None = None,
        tag_uuids: Sequence[str] | None = None,
        question_identifiers: Sequence[str] | None = None,
        date_range_start: datetime | date | str | None = None,
        date_range_end: datetime | date | str | None = None,
    ) -> Report:
        """``GET /reporting``: one report of ``type`` ``nps``, ``csat``, ``ratings``,
        ``distribution`` or ``count``.

        The lists are sent as ``form_uuids[]``, ``segment_uuids[]``, ``tag_uuids[]`` and
        ``question_identifiers[]``. Without a date range the server reports the last 7 days; the
        range it used comes back on the Report.
        """
        start, end = _validate.date_range(date_range_start, date_range_end)
        params = {
            "type": _validate.choice("type", type, _validate.REPORT_TYPES),
            "form_uuids": _validate.identifier_list("form_uuids", form_uuids),
            "segment_uuids": _validate.identifier_list("segment_uuids", segment_uuids),
            "tag_uuids": _validate.identifier_list("tag_uuids", tag_uuids),
            "question_identifiers": _validate.identifier_list(
                "question_identifiers", question_identifiers
            ),
            "date_range_start": start,
            "date_range_end": end,
        }
        _validate.query_budget(params)
        return await self._fetch_one("GET", "/reporting", Report, params=params)
