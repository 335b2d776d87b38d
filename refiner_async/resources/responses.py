"""``client.responses``: list survey views and responses, store a response, tag one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from .. import _validate
from .._converters._timestamps import read_timestamp
from .._pagination import Paginator, Windowing
from .._types import Include, PaginationMode
from ..models.responses import Response, StoreResponseResult
from ._base import Resource

__all__ = ["ResponsesResource"]


#: Responses are cut into windows by their date filter, which compares ``last_data_reception_at``
#: (the last-shown time with ``include="all"``, where a view may have no data).
def _filtered_time(response: Response | dict[str, Any]) -> datetime | None:
    """The time the date filter compares, of a model or of the API's own object (None: unknown)."""
    if not isinstance(response, dict):
        return response.last_data_reception_at or response.last_shown_at
    try:
        received = read_timestamp(response.get("last_data_reception_at"))
        return received or read_timestamp(response.get("last_shown_at"))
    except ValueError:  # not a time: the cut is only a guess at balance, never needed
        return None


WINDOWS = Windowing("date_range_start", "date_range_end", _filtered_time)

#: Body keys of ``POST /responses`` that answers may not use as question identifiers.
STORE_KEYS = ("form_uuid", "id", "email", "uuid", "date", "prevent_duplicates", "tags", "account")


class ResponsesResource(Resource):
    """Survey views and responses."""

    def list(
        self,
        *,
        form_uuid: str | None = None,
        form_uuids: Sequence[str] | None = None,
        segment_uuid: str | None = None,
        segment_uuids: Sequence[str] | None = None,
        include: Include = "completed",
        date_range_start: datetime | date | str | None = None,
        date_range_end: datetime | date | str | None = None,
        search: str | None = None,
        with_attributes: bool = False,
        page_length: int = 1000,
        max_items: int | None = None,
        pagination: PaginationMode = "auto",
        resume: str | None = None,
    ) -> Paginator[Response]:
        """``GET /responses``: responses newest first; returns a Paginator.

        ``include``: ``completed`` (completed responses), ``partials`` (partial and completed) or
        ``all`` (every view, dismissed ones included). ``form_uuids``/``segment_uuids`` are sent as
        ``form_uuids[]``/``segment_uuids[]``. The date range applies to the last data reception
        (start inclusive, end exclusive): datetimes (naive = UTC) or ISO-8601 strings.
        ``with_attributes=True`` adds every stored attribute to each response's contact.
        ``pagination="windows"`` reads date windows at once, each by cursor (every response once,
        pages in the order they arrive); ``"auto"`` reads a long listing read whole in windows
        and otherwise by cursor; ``"cursor"`` keeps the server's order.
        """
        start, end = _validate.date_range(date_range_start, date_range_end)
        filters = {
            "form_uuid": _validate.optional_identifier("form_uuid", form_uuid),
            "form_uuids": _validate.identifier_list("form_uuids", form_uuids),
            "segment_uuid": _validate.optional_identifier("segment_uuid", segment_uuid),
            "segment_uuids": _validate.identifier_list("segment_uuids", segment_uuids),
            "include": _validate.choice("include", include, _validate.INCLUDES),
            "date_range_start": start,
            "date_range_end": end,
            "search": _validate.search(search),
            "with_attributes": _validate.boolean("with_attributes", with_attributes),
        }
        return self._list(
            "/responses",
            Response,
            filters=filters,
            page_length=page_length,
            max_items=max_items,
            pagination=pagination,
            resume=resume,
            windowing=WINDOWS,
        )

    async def store(
        self,
        form_uuid: str,
        *,
        id: str | None = None,
        email: str | None = None,
        data: Mapping[str, Any] | None = None,
        date: datetime | str | None = None,
        prevent_duplicates: bool = True,
        tags: Sequence[str] | None = None,
        account: Mapping[str, Any] | None = None,
    ) -> StoreResponseResult:
        """``POST /responses``: store a response to the survey ``form_uuid`` for ``id``/``email``.

        ``data`` maps question identifiers to answers (str, int, float, bool or lists of those), sent
        flat at the top level of the body. ``date`` is when it was recorded (default: now, by the
        server). ``prevent_duplicates=False`` turns off the server's duplicate check. Not idempotent:
        never retried once it may have reached the server. Returns the new response's UUID.
        """
        body: dict[str, Any] = _validate.answers(data, STORE_KEYS)
        body["form_uuid"] = _validate.identifier("form_uuid", form_uuid)
        body.update(_validate.id_or_email(id=id, email=email))
        body["date"] = _validate.timestamp("date", date)
        body["prevent_duplicates"] = _validate.boolean("prevent_duplicates", prevent_duplicates)
        if tags is not None:
            body["tags"] = _validate.tags(tags)
        body["account"] = _validate.account(account)
        return await self._fetch_one(
            "POST", "/responses", StoreResponseResult, json=body, idempotent=False
        )

    async def tag(self, uuid: str, tags: Sequence[str]) -> None:
        """``POST /responses/tags``: add ``tags`` (at most 20 names) to the response ``uuid``."""
        body = {"uuid": _validate.identifier("uuid", uuid), "tags": _validate.tags(tags)}
        await self._json("POST", "/responses/tags", json=body)
