"""``client.segments``: list segments; add or remove a contact in a manual segment."""

from __future__ import annotations

from .. import _validate
from .._pagination import Paginator
from ..models.segments import Segment, SyncSegmentResult
from ._base import Resource

__all__ = ["SegmentsResource"]


class SegmentsResource(Resource):
    """Segments of the environment."""

    def list(
        self,
        *,
        page_length: int = 1000,
        max_items: int | None = None,
        resume: str | None = None,
    ) -> Paginator[Segment]:
        """``GET /segments``: segments ordered by name; returns a Paginator."""
        return self._list(
            "/segments",
            Segment,
            filters={},
            page_length=page_length,
            max_items=max_items,
            resume=resume,
        )

    async def add_contact(
        self, segment_uuid: str, *, id: str | None = None, email: str | None = None
    ) -> SyncSegmentResult:
        """``POST /sync-segment``: put the contact ``id``/``email`` into the manual segment.

        Creates the contact if no contact matches. Adding twice leaves one membership.
        """
        body = {
            "segment_uuid": _validate.identifier("segment_uuid", segment_uuid),
            **_validate.id_or_email(id=id, email=email),
        }
        return await self._fetch_one("POST", "/sync-segment", SyncSegmentResult, json=body)

    async def remove_contact(
        self, segment_uuid: str, *, id: str | None = None, email: str | None = None
    ) -> SyncSegmentResult:
        """``DELETE /sync-segment`` (query string): take the contact out of the manual segment."""
        params = {
            "segment_uuid": _validate.identifier("segment_uuid", segment_uuid),
            **_validate.id_or_email(id=id, email=email),
        }
        return await self._fetch_one("DELETE", "/sync-segment", SyncSegmentResult, params=params)
