"""The filters of a listing, read from its parameters, and the pure checks they make.

A responses listing's filters are one frozen :class:`ResponseQuery`; its fingerprint names the
listing in cursors and in the cache of views.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._params import Params, bad_request
from ._records import Form
from ._store_data import text_of
from ._store_views import Key, fingerprint


@dataclass(slots=True, frozen=True)
class ResponseQuery:
    """The filters of a responses listing (or a report's selection)."""

    include: str
    forms: tuple[str, ...]
    segments: tuple[str, ...]
    start: int | None
    end: int | None
    search: str | None
    tag: str | None
    response_data: tuple[tuple[str, str], ...]
    contact_data: tuple[tuple[str, str], ...]
    account_data: tuple[tuple[str, str], ...]

    def fingerprint(self) -> str:
        return fingerprint("responses", *(getattr(self, f) for f in self.__slots__))


def scalar_filters(params: Params, name: str) -> tuple[tuple[str, str], ...]:
    """The ``name[key]=value`` filters, sorted; a nested value is refused."""
    value = params.get_dict(name)
    if not value:
        return ()
    out = []
    for key, item in sorted(value.items()):
        if isinstance(item, dict | list):
            raise bad_request(f"{name}[{key}] must be a single value")
        out.append((str(key), text_of(item)))
    return tuple(out)


def matches(values: dict[str, Any], wanted: tuple[tuple[str, str], ...]) -> bool:
    """Whether ``values`` hold every wanted text (a list holds it when one element does)."""
    for key, expected in wanted:
        got = values.get(key)
        if isinstance(got, list):
            if expected not in (text_of(v) for v in got):
                return False
        elif got is None or text_of(got) != expected:
            return False
    return True


def key_bounds(q: ResponseQuery) -> tuple[Key | None, Key | None]:
    """The date range as sort keys: ``first <= key < past``. Only for completed and partials,
    ordered by the time the dates compare; with include=all they compare last_shown_at instead
    (a check in ``Store._response_checks``)."""
    if q.include == "all":
        return None, None
    first = None if q.end is None else (-q.end + 1, "")
    past = None if q.start is None else (-q.start + 1, "")
    return first, past


def reads_contacts(q: ResponseQuery) -> bool:
    """Whether the checks of ``q`` read contact data (segments, names, traits, accounts)."""
    return bool(q.segments or q.search or q.contact_data or q.account_data)


def uuid_filter(params: Params, name: str) -> tuple[str, ...]:
    """The uuids given as ``name`` and as the list ``name + "s"`` together, sorted."""
    return tuple(sorted(set(params.get_list(name + "s")) | set(params.get_list(name))))


def form_in(form: Form, state: str) -> bool:
    """Whether ``form`` is in the forms list ``state`` (``all``, ``published``, ``archived``...)."""
    archived = form.archived_at is not None
    if state == "all_with_archived":
        return True
    if state == "archived":
        return archived
    if archived:
        return False
    if state == "published":
        return form.published_at is not None
    if state == "drafts":
        return form.published_at is None
    return True
