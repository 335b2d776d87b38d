"""The emulator's live data: its indexes, its clock, lookups by key, and each record's cached JSON.

Responses are kept in three lists sorted by :func:`response_key` (newest first, then uuid), one per
value of ``include``; writes keep them sorted (bisect). Each response's JSON is serialized once, in
two parts (the response itself, then the contact object shared by all responses of that contact),
and pages are assembled by joining bytes; a change to a contact drops its cached JSON
(:meth:`StoreData.touch_contact`).
"""

from __future__ import annotations

import random
import time
import uuid as uuid_module
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any

import orjson

from ._data import Dataset
from ._params import ApiError, Params, bad_request
from ._records import (
    COMPLETED,
    PARTIAL,
    Account,
    Contact,
    Form,
    HistoryEntry,
    Response,
    Segment,
    fmt_iso,
    fmt_space,
)
from ._store_views import Key, View


def response_key(r: Response) -> Key:
    """A response's sort key: newest first, then uuid."""
    return (-r.sort_at, r.uuid)


def name_key(item: Form | Segment) -> Key:
    """A form's or segment's sort key: name (case-insensitive), then uuid."""
    return (item.name.lower(), item.uuid)


def history_key(h: HistoryEntry) -> Key:
    """A history entry's sort key: newest first, then uuid."""
    return (-h.created_at, h.uuid)


def text_of(value: Any) -> str:
    """A JSON scalar as the API compares it as text (booleans as ``1``/``0``)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


class StoreData:
    """The live data set of one emulator: the records, their indexes and the write journal."""

    def __init__(
        self,
        dataset: Dataset,
        *,
        seed: int,
        project_name: str,
        page_length_default: int,
        strict_page_length: bool,
        contacts_order: str,
        cache_items: int | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.project_uuid = dataset.project_uuid
        self.project_name = project_name
        self.page_length_default = page_length_default
        self.strict_page_length = strict_page_length
        self.contacts_desc = contacts_order == "desc"
        self.clock = clock
        self.rng = random.Random(f"{seed}-writes")
        self.tag_namespace = uuid_module.uuid5(uuid_module.NAMESPACE_URL, f"refiner-fake:{seed}")

        self.accounts: dict[str, Account] = {a.remote_id or a.uuid: a for a in dataset.accounts}
        self.contacts: dict[str, Contact] = {c.uuid: c for c in dataset.contacts}
        self.by_remote_id: dict[str, Contact] = {
            c.remote_id: c for c in dataset.contacts if c.remote_id
        }
        self.by_email: dict[str, list[Contact]] = {}
        for c in dataset.contacts:
            if c.email:
                self.by_email.setdefault(c.email.lower(), []).append(c)
        self.forms: dict[str, Form] = {f.uuid: f for f in dataset.forms}
        self.segments: dict[str, Segment] = {s.uuid: s for s in dataset.segments}
        self.responses: dict[str, Response] = {r.uuid: r for r in dataset.responses}
        self.lists: dict[str, list[Response]] = {
            "all": dataset.responses,
            "partials": [r for r in dataset.responses if r.kind <= PARTIAL],
            "completed": [r for r in dataset.responses if r.kind == COMPLETED],
        }
        self._response_views: OrderedDict[str, View[Response]] = OrderedDict()
        self._contact_views: OrderedDict[str, View[Contact]] = OrderedDict()
        self.cache_items = cache_items  # the most response heads (JSON) kept
        self._cached_heads = 0
        self._question_ids = frozenset(q.identifier for f in dataset.forms for q in f.questions)

        # Journal of writes, read by FakeRefiner.stats().
        self.events: list[tuple[float, str, str]] = []  # (time, user key, event name)
        self.events_per_user: Counter[str] = Counter()
        self.inserted_since: set[str] = set()
        self.deleted_since: dict[str, int] = {}
        self.inserted_total = 0
        self.deleted_total = 0
        self._head_ts = 0

    def now(self) -> int:
        return int(self.clock())

    def _contacts_changed(self) -> None:
        """Contacts changed (traits, names, segments, accounts...): drop the views reading them."""
        self._contact_views.clear()
        for name in [n for n, view in self._response_views.items() if view.reads_contacts]:
            del self._response_views[name]

    def tag_uuid(self, name: str) -> str:
        """The (deterministic) uuid of a response tag."""
        return str(uuid_module.uuid5(self.tag_namespace, name))

    def contact_lookup(self, params: Params) -> Contact:
        """uuid, else id, else email (the first contact with that email)."""
        uuid, rid, email = params.get_str("uuid"), params.get_str("id"), params.get_str("email")
        if uuid is None and rid is None and email is None:
            raise bad_request("One of id, email or uuid is required")
        found: Contact | None
        if uuid is not None:
            found = self.contacts.get(uuid)
        elif rid is not None:
            found = self.by_remote_id.get(rid)
        else:
            found = next(iter(self.by_email.get((email or "").lower(), ())), None)
        if found is None:
            raise ApiError(404, "Contact not found")
        return found

    def form_param(self, params: Params) -> Form:
        uuid = params.get_str("form_uuid")
        if uuid is None:
            raise bad_request("form_uuid is required")
        form = self.forms.get(uuid)
        if form is None:
            raise ApiError(404, "Form not found")
        return form

    def manual_segment(self, params: Params) -> Segment:
        uuid = params.get_str("segment_uuid")
        if uuid is None:
            raise bad_request("segment_uuid is required")
        segment = self.segments.get(uuid)
        if segment is None:
            raise ApiError(404, "Segment not found")
        if not segment.is_manual:
            raise bad_request("Segment is not a manual segment")
        return segment

    def response_head(self, r: Response) -> bytes:
        """``r`` as JSON up to its contact object, cached: the documented fields (no ``tags``)."""
        head = r.head
        if head is None:
            first_shown = fmt_space(r.first_shown_at)
            first_data = fmt_space(r.first_data_at)
            last_data = fmt_space(r.last_data_at)
            obj = {
                "uuid": r.uuid,
                "first_shown_at": first_shown,
                "last_shown_at": fmt_space(r.last_shown_at),
                "show_counter": r.show_counter,
                "first_data_reception_at": first_data,
                "last_data_reception_at": last_data,
                "completed_at": None if r.completed_at is None else last_data,
                "received_at": first_shown if first_data is None else first_data,
                "dismissed_at": fmt_space(r.dismissed_at),
                "form": {"uuid": r.form.uuid, "name": r.form.name},
                "data": r.data(),
            }
            head = orjson.dumps(obj)[:-1] + b',"contact":'
            # The first heads built are kept; a full cache admits no more. Listings read the data
            # set again and again in the same order: evicting the oldest would miss every time.
            if self.cache_items is None or self._cached_heads < self.cache_items:
                r.head = head
                self._cached_heads += 1
        return head

    def forget_head(self, r: Response) -> None:
        """Drop ``r``'s cached head (it is being removed, or its data is about to change), giving
        its place in the cache back."""
        if r.head is not None:
            r.head = None
            self._cached_heads -= 1

    def contact_attributes(self, c: Contact) -> dict[str, Any]:
        """Traits merged with the contact's latest answer to each question (traits win)."""
        attrs: dict[str, Any] = dict(c.traits)
        missing = set(self._question_ids) - attrs.keys()
        for r in c.responses:  # newest first
            if not missing:
                break
            if r.kind > PARTIAL:
                continue
            if r.answers is None and missing.isdisjoint(q.identifier for q in r.form.questions):
                continue
            for k, v in r.data().items():
                if k not in attrs:
                    attrs[k] = v
                    missing.discard(k)
        return attrs

    def contact_embed(self, c: Contact, with_attributes: bool) -> bytes:
        cached = c.embed_attrs if with_attributes else c.embed
        if cached is None:
            a = c.account
            obj: dict[str, Any] = {
                "uuid": c.uuid,
                "remote_id": c.remote_id,
                "email": c.email,
                "display_name": c.display_name,
                "account": None
                if a is None
                else {
                    "uuid": a.uuid,
                    "remote_id": a.remote_id,
                    "display_name": a.display_name,
                    "domain": a.domain,
                },
            }
            if with_attributes:
                obj["attributes"] = self.contact_attributes(c)
                cached = c.embed_attrs = orjson.dumps(obj)
            else:
                cached = c.embed = orjson.dumps(obj)
        return cached

    def contact_json(self, c: Contact) -> bytes:
        if c.full is None:
            a = c.account
            c.full = orjson.dumps(
                {
                    "uuid": c.uuid,
                    "remote_id": c.remote_id,
                    "email": c.email,
                    "display_name": c.display_name,
                    "first_seen_at": fmt_iso(c.first_seen_at),
                    "last_seen_at": fmt_iso(c.last_seen_at),
                    "attributes": self.contact_attributes(c),
                    "segments": [{"uuid": s.uuid, "name": s.name} for s in c.segments],
                    "account": None
                    if a is None
                    else {
                        "uuid": a.uuid,
                        "remote_id": a.remote_id,
                        "domain": a.domain,
                        "display_name": a.display_name,
                        "first_seen_at": fmt_iso(a.first_seen_at),
                        "last_seen_at": fmt_iso(a.last_seen_at),
                        "attributes": a.attributes,
                    },
                }
            )
        return c.full

    @staticmethod
    def touch_contact(c: Contact) -> None:
        c.embed = c.embed_attrs = c.full = None
