"""``client.contacts``: get, delete, identify (create or update) and list contacts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import _validate
from .._pagination import Paginator
from .._types import OrderBy, PaginationMode
from ..models.contacts import Contact, IdentifyResult
from ._base import Resource

__all__ = ["ContactsResource"]


class ContactsResource(Resource):
    """Contacts (users) of the environment."""

    async def get(
        self, *, id: str | None = None, email: str | None = None, uuid: str | None = None
    ) -> Contact:
        """``GET /contact`` with exactly one of ``id`` (your user ID), ``email`` or ``uuid``.

        Returns the contact with its attributes, segments and account; an unknown contact raises
        ``NotFoundError``.
        """
        params = _validate.contact_lookup(id=id, email=email, uuid=uuid)
        return await self._fetch_one("GET", "/contact", Contact, params=params)

    async def delete(
        self, *, id: str | None = None, email: str | None = None, uuid: str | None = None
    ) -> None:
        """``DELETE /contact`` with exactly one of ``id``, ``email`` or ``uuid`` (query string).

        Deletes the contact **and all of its survey responses**.
        """
        params = _validate.contact_lookup(id=id, email=email, uuid=uuid)
        await self._json("DELETE", "/contact", params=params)

    async def identify(
        self,
        *,
        id: str | None = None,
        email: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        account: Mapping[str, Any] | None = None,
    ) -> IdentifyResult:
        """``POST /identify-user``: create the contact or update its traits (an idempotent upsert).

        Give ``id`` or ``email`` (or both). ``attributes`` are traits, sent flat at the top level of
        the JSON body: values are ``str`` (at most 255 characters), ``int``, ``float``, ``bool``, or
        for names ending in ``_at`` a ``datetime`` or ISO-8601 string; integers within signed 64
        bits. Trait names the API reads itself (``id``, ``email``, ``account``, ``uuid``,
        ``attributes``, ``api_key``) are refused with ``InvalidParameterError``: pass ``id``,
        ``email`` and ``account`` as arguments. ``account`` groups the contact into an account and
        must include ``"id"``; its other keys are account traits (e.g. ``"name"``).
        """
        body = _validate.identify_body(
            id=id, email=email, attributes=attributes, account_value=account
        )
        return await self._fetch_one("POST", "/identify-user", IdentifyResult, json=body)

    def list(
        self,
        *,
        order_by: OrderBy | None = None,
        form_uuid: str | None = None,
        segment_uuid: str | None = None,
        search: str | None = None,
        page_length: int = 1000,
        max_items: int | None = None,
        pagination: PaginationMode = "auto",
        resume: str | None = None,
    ) -> Paginator[Contact]:
        """``GET /contacts``: every contact, optionally filtered; returns a Paginator.

        ``order_by``: ``first_seen_at`` (the server's default), ``last_seen_at`` or
        ``last_form_submission_at``. ``form_uuid``: contacts who answered that survey;
        ``segment_uuid``: contacts in that segment; ``search``: matches email, user ID or name.
        """
        filters = {
            "order_by": _validate.optional_choice("order_by", order_by, _validate.ORDER_BY),
            "form_uuid": _validate.optional_identifier("form_uuid", form_uuid),
            "segment_uuid": _validate.optional_identifier("segment_uuid", segment_uuid),
            "search": _validate.search(search),
        }
        return self._list(
            "/contacts",
            Contact,
            filters=filters,
            page_length=page_length,
            max_items=max_items,
            pagination=pagination,
            resume=resume,
        )
