"""Contacts (the people who answer surveys), their account and segment memberships."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ._base import EMPTY, extra_field

__all__ = ["Contact", "ContactAccount", "IdentifyResult", "SegmentRef"]


@attrs.frozen(weakref_slot=False)
class ContactAccount:
    """The account (company) a contact is grouped into.

    On a contact from ``/contact(s)`` every field may be set; on a response's contact only ``uuid``,
    ``remote_id``, ``display_name`` and ``domain`` are sent.
    """

    uuid: str
    remote_id: str | None = None  # the ``id`` the account was identified with
    domain: str | None = None
    display_name: str | None = None
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    attributes: Mapping[str, Any] = EMPTY  # account traits
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(weakref_slot=False)
class SegmentRef:
    """A segment a contact belongs to."""

    uuid: str
    name: str | None = None
    created_at: datetime | None = None  # when the contact entered it (not always sent)
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(weakref_slot=False)
class Contact:
    """A contact (user) as returned by ``client.contacts.get()`` and ``client.contacts.list()``."""

    uuid: str  # Refiner's contact UUID
    remote_id: str | None = (
        None  # your user ID (the ``id`` given to identify); None for email-only users
    )
    email: str | None = None
    display_name: str | None = None
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    last_form_submission_at: datetime | None = None
    last_tracking_event_at: datetime | None = None
    attributes: Mapping[str, Any] = (
        EMPTY  # traits merged with auto-generated fields and survey answers
    )
    segments: tuple[SegmentRef, ...] = ()
    account: ContactAccount | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(weakref_slot=False)
class IdentifyResult:
    """The answer to ``client.contacts.identify()``."""

    contact_uuid: str | None = None  # the contact created or updated
    message: str | None = None  # usually "ok"
    extra: Mapping[str, Any] = extra_field()
