"""Survey responses (views and answers) and the answer to storing one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ._base import EMPTY, extra_field
from .contacts import ContactAccount
from .forms import FormRef

__all__ = ["ContactRef", "Response", "StoreResponseResult"]


@attrs.frozen(weakref_slot=False)
class ContactRef:
    """The contact on a response: basic fields, plus ``attributes`` when listed with ``with_attributes=True``."""

    uuid: str
    remote_id: str | None = None
    email: str | None = None
    display_name: str | None = None
    account: ContactAccount | None = None
    attributes: Mapping[str, Any] | None = None  # None unless requested with with_attributes=True
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(weakref_slot=False)
class Response:
    """A survey view or response from ``client.responses.list()``.

    ``data`` holds the answers keyed by question identifier (strings, numbers, booleans, lists of
    those, or null). ``completed_at`` is None for partial responses and plain views.
    """

    uuid: str
    form: FormRef | None = None
    contact: ContactRef | None = None
    data: Mapping[str, Any] = EMPTY
    first_shown_at: datetime | None = None
    last_shown_at: datetime | None = None
    show_counter: int | None = None
    first_data_reception_at: datetime | None = None
    last_data_reception_at: datetime | None = None
    completed_at: datetime | None = None
    received_at: datetime | None = None
    dismissed_at: datetime | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(weakref_slot=False)
class StoreResponseResult:
    """The answer to ``client.responses.store()``: the stored response's UUID."""

    uuid: str | None = None
    message: str | None = None
    extra: Mapping[str, Any] = extra_field()
