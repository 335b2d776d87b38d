"""Forms (surveys), their change history, and the answers of form writes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ._base import extra_field

__all__ = ["DuplicateFormResult", "Form", "FormHistoryEntry", "FormRef"]


@attrs.frozen(weakref_slot=False)
class Form:
    """A survey from ``client.forms.list()``.

    Only ``uuid`` and ``name`` are always sent; the info fields come with ``include_info=True`` and
    ``config`` with ``include_config=True`` (None otherwise).
    """

    uuid: str
    name: str | None = None
    # include_info=True:
    channels: tuple[str, ...] | None = None  # e.g. "web", "link", "mobile"
    created_at: datetime | None = None
    updated_at: datetime | None = None
    published_at: datetime | None = None
    archived_at: datetime | None = None
    first_form_view_at: datetime | None = None
    last_form_view_at: datetime | None = None
    responses_count: int | None = None
    views_count: int | None = None
    folder: Any = None  # an object or null; its shape is not documented
    page_url: str | None = None  # the public survey link
    # include_config=True:
    config: Any = None  # the full survey configuration; its shape is not documented
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(weakref_slot=False)
class FormRef:
    """The survey a response belongs to."""

    uuid: str
    name: str | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(weakref_slot=False)
class FormHistoryEntry:
    """One change of a survey, from ``client.forms.history()``."""

    uuid: str
    action: str | None = None  # what happened (an open set of values)
    snapshot: Any = None  # the configuration after the change
    created_at: datetime | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(weakref_slot=False)
class DuplicateFormResult:
    """The answer to ``client.forms.duplicate()``: the new draft's UUID."""

    new_form_uuid: str | None = None
    source_form_uuid: str | None = None
    message: str | None = None
    extra: Mapping[str, Any] = extra_field()
