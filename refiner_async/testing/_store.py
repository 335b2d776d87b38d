"""The emulator's live data: indexes, filtered views, keyset cursors, cached JSON, and every write.

No aiohttp here: handlers in ``_server`` pass :class:`~._params.Params` in and get bytes or dicts
out; every refusal is an :class:`~._params.ApiError`.

Responses are kept in three lists sorted by ``Response.key`` (newest first, then uuid), one per
value of ``include``; inserts and deletes keep them sorted (bisect), so a page is a slice and a
cursor is a bisect. A filtered listing is a :class:`View`, built once per set of filters and then
kept in step with every write: inserting, deleting or re-tagging a response moves that response
(and its contact) in or out of the cached views, and only a change to contacts themselves drops
the views that read contacts (they are rebuilt when next listed).
Each response's JSON is serialized once, in two parts (the response itself, then the contact
object shared by all responses of that contact), and pages are assembled by joining bytes.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import math
import random
import time
import uuid as uuid_module
from bisect import bisect_left, bisect_right, insort
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

import orjson

from ._data import (
    COMPLETED,
    DAY,
    INCLUDE_KINDS,
    PARTIAL,
    Account,
    Contact,
    Dataset,
    Form,
    HistoryEntry,
    Response,
    Segment,
    answers_for,
    fmt_iso,
    fmt_space,
    new_uuid,
)
from ._params import ApiError, Params, bad_request, parse_datetime

__all__ = ["ListResult", "Store"]

T = TypeVar("T")
Key = tuple[Any, ...]

PAGE_LENGTH_MAX: Final = 1000
CONTACT_ORDERS: Final = (
    "first_seen_at",
    "last_seen_at",
    "last_form_submission_at",
    "display_name",
    "email",
)
FORM_LISTS: Final = ("all", "published", "drafts", "archived", "all_with_archived")
REPORT_TYPES: Final = ("nps", "csat", "ratings", "distribution", "count")
_RESERVED_IDENTIFY: Final = frozenset({"id", "email", "uuid", "account", "api_key", "attributes"})
_RESERVED_STORE: Final = frozenset(
    {"form_uuid", "id", "email", "uuid", "date", "prevent_duplicates", "tags", "account", "api_key"}
)
_TRAIT_MAX: Final = 255
_TAGS_MAX: Final = 20
_VIEW_CACHE: Final = 64


def _rkey(r: Response) -> Key:
    return (-r.sort_at, r.uuid)


def _name_key(item: Form | Segment) -> Key:
    return (item.name.lower(), item.uuid)


def _history_key(h: HistoryEntry) -> Key:
    return (-h.created_at, h.uuid)


def round_half_up(value: float) -> int:
    """Round half away from zero (``round`` in PHP), not Python's half-to-even."""
    return math.floor(abs(value) + 0.5) * (1 if value >= 0 else -1)


def fmt_report(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@dataclass(slots=True)
class ListResult:
    """One page: the items and the ``pagination`` object."""

    items: list[Any]
    pagination: dict[str, Any]


@dataclass(slots=True, eq=False)
class View(Generic[T]):
    """A cached listing: every item that ``match``es, sorted by ``key`` (keys are unique).

    Kept in step one item at a time: an item whose data is about to change is ``discard``ed while
    its key and match are still those it was placed with, and ``place``d again once changed.
    ``reads_contacts``: the view also depends on contact data, which it cannot follow that way.
    """

    match: Callable[[T], bool]
    key: Callable[[T], Key]
    items: list[T]
    reads_contacts: bool = True

    def discard(self, item: T) -> None:
        i = bisect_left(self.items, self.key(item), key=self.key)
        if i < len(self.items) and self.items[i] is item:
            del self.items[i]

    def place(self, item: T) -> None:
        if self.match(item):
            insort(self.items, item, key=self.key)


def _discard(views: Iterable[View[T]], item: T) -> None:
    for view in views:
        view.discard(item)


def _place(views: Iterable[View[T]], item: T) -> None:
    for view in views:
        view.place(item)


def _remember(cache: OrderedDict[str, View[T]], name: str, build: Callable[[], View[T]]) -> View[T]:
    """The view cached as ``name``, built when missing; the least recently used ones are dropped."""
    view = cache.get(name)
    if view is None:
        view = cache[name] = build()
        while len(cache) > _VIEW_CACHE:
            cache.popitem(last=False)
    cache.move_to_end(name)
    return view


@dataclass(slots=True)
class PageRequest:
    page: int
    page_length: int
    cursor: str | None


# --------------------------------------------------------------------------------------------
# Cursors: base64url(JSON [fingerprint, *sort key of the last item])


def encode_cursor(fingerprint: str, key: Key) -> str:
    raw = orjson.dumps([fingerprint, *key])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, fingerprint: str, shape: tuple[type, ...]) -> Key:
    """The sort key in ``cursor``; 400 when it is not one of ours or belongs to other filters."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise bad_request("Invalid page_cursor") from None
    if (
        not isinstance(value, list)
        or len(value) != len(shape) + 1
        or not all(type(v) is t for v, t in zip(value[1:], shape, strict=True))
    ):
        raise bad_request("Invalid page_cursor")
    if value[0] != fingerprint:
        raise bad_request("page_cursor does not belong to this listing (filters or order changed)")
    return tuple(value[1:])


def fingerprint(*parts: Any) -> str:
    return hashlib.sha1(orjson.dumps(parts), usedforsecurity=False).hexdigest()[:12]


# --------------------------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class ResponseQuery:
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


def _scalar_filters(params: Params, name: str) -> tuple[tuple[str, str], ...]:
    value = params.get_dict(name)
    if not value:
        return ()
    out = []
    for key, item in sorted(value.items()):
        if isinstance(item, dict | list):
            raise bad_request(f"{name}[{key}] must be a single value")
        out.append((str(key), _text(item)))
    return tuple(out)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _matches(values: dict[str, Any], wanted: tuple[tuple[str, str], ...]) -> bool:
    for key, expected in wanted:
        got = values.get(key)
        if isinstance(got, list):
            if expected not in (_text(v) for v in got):
                return False
        elif got is None or _text(got) != expected:
            return False
    return True


class Store:
    """The live data set of one emulator."""

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
        self._cached_heads: deque[Response] = deque()
        self.cache_items = cache_items
        self._question_ids = frozenset(q.identifier for f in dataset.forms for q in f.questions)

        # Journal of writes, read by FakeRefiner.stats().
        self.events: list[tuple[float, str, str]] = []  # (time, user key, event name)
        self.events_per_user: Counter[str] = Counter()
        self.inserted_since: set[str] = set()
        self.deleted_since: dict[str, int] = {}
        self.inserted_total = 0
        self.deleted_total = 0
        self._head_ts = 0

    # ---------------------------------------------------------------- helpers

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

    def page_request(self, params: Params, *, cursors: bool = True) -> PageRequest:
        length = params.get_int("page_length", self.page_length_default)
        if length > PAGE_LENGTH_MAX:
            if self.strict_page_length:
                raise bad_request(f"page_length must be at most {PAGE_LENGTH_MAX}")
            length = PAGE_LENGTH_MAX
        page = params.get_int("page", 1)
        cursor = params.get_str("page_cursor") if cursors else None
        return PageRequest(page, length, cursor)

    def paginate(
        self,
        seq: Sequence[T],
        lo: int,
        hi: int,
        key: Callable[[T], Key],
        request: PageRequest,
        *,
        fp: str | None,
        shape: tuple[type, ...] = (),
    ) -> ListResult:
        """Slice one page out of ``seq[lo:hi]`` by page number or by cursor (the cursor wins)."""
        length = request.page_length
        count = max(0, hi - lo)
        last_page = max(1, -(-count // length))
        if fp is not None and request.cursor is not None:
            after = decode_cursor(request.cursor, fp, shape)
            start = bisect_right(seq, after, lo, hi, key=key)
            current = (start - lo) // length + 1
        else:
            start = lo + (request.page - 1) * length
            current = request.page
        stop = min(start + length, hi)
        items = list(seq[start:stop]) if start < stop else []
        pagination: dict[str, Any] = {
            "items_count": count,
            "current_page": current,
            "last_page": last_page,
            "page_length": length,
        }
        if fp is not None:
            more = bool(items) and stop < hi
            pagination["next_page_cursor"] = encode_cursor(fp, key(items[-1])) if more else None
        return ListResult(items, pagination)

    # ---------------------------------------------------------------- serialization

    def response_head(self, r: Response) -> bytes:
        """``r`` as JSON up to its contact object, cached: the documented fields (no ``tags``)."""
        head = r.head
        if head is None:
            obj = {
                "uuid": r.uuid,
                "first_shown_at": fmt_space(r.first_shown_at),
                "last_shown_at": fmt_space(r.last_shown_at),
                "show_counter": r.show_counter,
                "first_data_reception_at": fmt_space(r.first_data_at),
                "last_data_reception_at": fmt_space(r.last_data_at),
                "completed_at": fmt_space(r.completed_at),
                "received_at": fmt_space(
                    r.first_data_at if r.first_data_at is not None else r.first_shown_at
                ),
                "dismissed_at": fmt_space(r.dismissed_at),
                "form": {"uuid": r.form.uuid, "name": r.form.name},
                "data": r.data(),
            }
            head = r.head = orjson.dumps(obj)[:-1] + b',"contact":'
            if self.cache_items is not None:
                self._cached_heads.append(r)
                if len(self._cached_heads) > self.cache_items:
                    self._cached_heads.popleft().head = None
        return head

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

    @staticmethod
    def envelope(item_parts: list[bytes], pagination: dict[str, Any]) -> bytes:
        return b"".join(
            (
                b'{"items":[',
                b",".join(item_parts),
                b'],"pagination":',
                orjson.dumps(pagination),
                b"}",
            )
        )

    # ---------------------------------------------------------------- responses: read

    def response_query(self, params: Params) -> ResponseQuery:
        include = params.get_str("include") or "completed"
        if include not in INCLUDE_KINDS:
            raise bad_request("include must be one of completed, partials, all")
        search = params.get_str("search")
        return ResponseQuery(
            include=include,
            forms=_uuid_filter(params, "form_uuid"),
            segments=_uuid_filter(params, "segment_uuid"),
            start=params.get_timestamp("date_range_start"),
            end=params.get_timestamp("date_range_end"),
            search=search.strip().lower() if search and search.strip() else None,
            tag=params.get_str("tag_uuid"),
            response_data=_scalar_filters(params, "response_data"),
            contact_data=_scalar_filters(params, "contact_data"),
            account_data=_scalar_filters(params, "account_data"),
        )

    def response_view(self, q: ResponseQuery) -> tuple[list[Response], int, int]:
        """The matching responses as ``seq[lo:hi]``, newest first."""
        base = self.lists[q.include]
        first, past = _key_bounds(q)
        lo = 0 if first is None else bisect_left(base, first, key=_rkey)
        hi = len(base) if past is None else max(lo, bisect_left(base, past, key=_rkey))
        checks = self._response_checks(q)
        if not checks:
            return base, lo, hi
        kinds = INCLUDE_KINDS[q.include]

        def match(r: Response) -> bool:
            key = _rkey(r)
            return (
                r.kind in kinds
                and (first is None or first <= key)
                and (past is None or key < past)
                and all(check(r) for check in checks)
            )

        def build() -> View[Response]:
            items = [r for r in base[lo:hi] if all(check(r) for check in checks)]
            return View(match, _rkey, items, reads_contacts=_reads_contacts(q))

        view = _remember(self._response_views, q.fingerprint(), build)
        return view.items, 0, len(view.items)

    def _response_checks(self, q: ResponseQuery) -> list[Callable[[Response], bool]]:
        """The filters of ``q`` beyond ``include`` and the sort-key bounds of ``_key_bounds``."""
        checks: list[Callable[[Response], bool]] = []
        if q.forms:
            forms = frozenset(q.forms)
            checks.append(lambda r: r.form.uuid in forms)
        if q.segments:
            members = [self.segments[s].members for s in q.segments if s in self.segments]
            checks.append(lambda r: any(r.contact in m for m in members))
        if q.include == "all" and (q.start is not None or q.end is not None):
            start = q.start if q.start is not None else -(2**62)
            end = q.end if q.end is not None else 2**62
            checks.append(lambda r: start <= r.last_shown_at < end)
        if q.search is not None:
            needle = q.search
            checks.append(lambda r: _response_matches_search(r, needle))
        if q.tag is not None:
            tag = q.tag
            checks.append(
                lambda r: bool(r.tags) and tag in {self.tag_uuid(t) for t in r.tags or ()}
            )
        if q.response_data:
            wanted = q.response_data
            checks.append(lambda r: _matches(r.data(), wanted))
        if q.contact_data:
            wanted_c = q.contact_data
            checks.append(lambda r: _matches(r.contact.traits, wanted_c))
        if q.account_data:
            wanted_a = q.account_data
            checks.append(
                lambda r: (
                    r.contact.account is not None
                    and _matches(r.contact.account.attributes, wanted_a)
                )
            )
        return checks

    def list_responses(self, params: Params) -> bytes:
        q = self.response_query(params)
        request = self.page_request(params)
        with_attributes = params.get_bool("with_attributes")
        seq, lo, hi = self.response_view(q)
        page = self.paginate(seq, lo, hi, _rkey, request, fp=q.fingerprint(), shape=(int, str))
        parts = [
            b"".join((self.response_head(r), self.contact_embed(r.contact, with_attributes), b"}"))
            for r in page.items
        ]
        return self.envelope(parts, page.pagination)

    # ---------------------------------------------------------------- responses: write

    def _add_response(self, r: Response, *, tracked: bool = True) -> None:
        self.responses[r.uuid] = r
        for include, kinds in INCLUDE_KINDS.items():
            if r.kind in kinds:
                insort(self.lists[include], r, key=_rkey)
        _place(self._response_views.values(), r)
        contact = r.contact
        _discard(self._contact_views.values(), contact)  # its sort key may move with r
        insort(contact.responses, r, key=_rkey)
        _place(self._contact_views.values(), contact)
        r.form.count_view(r)
        self.touch_contact(contact)
        if tracked:
            self.inserted_since.add(r.uuid)
        self.inserted_total += 1

    def _remove_response(self, r: Response) -> None:
        del self.responses[r.uuid]
        key = _rkey(r)
        for include, kinds in INCLUDE_KINDS.items():
            if r.kind in kinds:
                lst = self.lists[include]
                i = bisect_left(lst, key, key=_rkey)
                if i < len(lst) and lst[i] is r:
                    del lst[i]
        _discard(self._response_views.values(), r)
        contact = r.contact
        _discard(self._contact_views.values(), contact)
        if r in contact.responses:
            contact.responses.remove(r)
        _place(self._contact_views.values(), contact)
        r.form.uncount_view(r)
        self.touch_contact(contact)
        if r.uuid in self.inserted_since:
            self.inserted_since.discard(r.uuid)
        self.deleted_since[r.uuid] = r.kind
        self.deleted_total += 1

    def insert_generated(self, n: int, *, where: str, kind: int) -> list[Response]:
        """Insert ``n`` generated responses: newest (``where="head"``) or anywhere in time."""
        eligible = [f for f in self.forms.values() if f.archived_at is None and f.published_at]
        contacts = list(self.contacts.values())
        if not eligible or not contacts:
            return []
        out = []
        all_list = self.lists["all"]
        for _ in range(n):
            if where == "head" or not all_list:
                newest = all_list[0].sort_at if all_list else 0
                ts = max(self.now(), self._head_ts, newest)
                self._head_ts = ts
            else:
                oldest, newest = all_list[-1].sort_at, all_list[0].sort_at
                ts = oldest + int(self.rng.random() * max(1, newest - oldest))
            gen = self.rng.getrandbits(64)
            has_data = kind <= PARTIAL
            r = Response(
                uuid=new_uuid(self.rng),
                form=eligible[int(self.rng.random() * len(eligible))],
                contact=contacts[int(self.rng.random() * len(contacts))],
                kind=kind,
                first_shown_at=ts - 30 if has_data else ts,
                last_shown_at=ts - 30 if has_data else ts,
                show_counter=1,
                first_data_at=ts - 10 if has_data else None,
                last_data_at=ts if has_data else None,
                dismissed_at=ts + 2 if kind == 2 else None,
                gen=gen,
            )
            self._add_response(r)
            out.append(r)
        return out

    def delete_random(self, n: int) -> list[Response]:
        out = []
        for _ in range(n):
            lst = self.lists["all"]
            if not lst:
                break
            r = lst[int(self.rng.random() * len(lst))]
            self._remove_response(r)
            out.append(r)
        return out

    def store_response(self, params: Params) -> Response:
        """POST /responses: a completed response with flat answers and tags (see ASSUMPTIONS)."""
        form = self.form_param(params)
        answers: dict[str, Any] = {}
        for key, value in params.raw.items():
            if key in _RESERVED_STORE:
                continue
            if isinstance(value, dict) or (
                isinstance(value, list) and any(isinstance(v, dict | list) for v in value)
            ):
                raise bad_request(f"Answer {key} must be a value or a list of values")
            answers[key] = value
        ts = params.get_timestamp("date")
        date = ts if ts is not None else self.now()
        tags = params.get_list("tags")
        if len(tags) > _TAGS_MAX:
            raise bad_request(f"At most {_TAGS_MAX} tags are allowed")
        account = _account_fields(params)
        prevent_duplicates = params.get_bool("prevent_duplicates", True)
        contact = self.contact_for_write(params, allow_uuid=True)
        if account is not None:
            self._link_account(contact, account)
        if prevent_duplicates:
            for existing in contact.responses:
                if existing.form is form and existing.answers == answers:
                    return existing
        r = Response(
            uuid=new_uuid(self.rng),
            form=form,
            contact=contact,
            kind=COMPLETED,
            first_shown_at=date,
            last_shown_at=date,
            show_counter=1,
            first_data_at=date,
            last_data_at=date,
            dismissed_at=None,
            gen=0,
            answers=answers,
            tags=tags or None,
        )
        self._add_response(r)
        return r

    def tag_response(self, params: Params) -> None:
        """Add tags to a response: kept for the tag filters, not listed on response items."""
        uuid = params.get_str("uuid")
        if uuid is None:
            raise bad_request("uuid is required")
        tags = params.get_list("tags")
        if not tags:
            raise bad_request("tags is required")
        if len(tags) > _TAGS_MAX:
            raise bad_request(f"At most {_TAGS_MAX} tags are allowed")
        r = self.responses.get(uuid)
        if r is None:
            raise ApiError(404, "Response not found")
        current = r.tags or []
        _discard(self._response_views.values(), r)
        r.tags = current + [t for t in tags if t not in current]
        _place(self._response_views.values(), r)

    # ---------------------------------------------------------------- contacts

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

    def contact_for_write(self, params: Params, *, allow_uuid: bool = False) -> Contact:
        """Find the contact by id (or email; or uuid if allowed), creating it when unknown."""
        rid, email = params.get_str("id"), params.get_str("email")
        uuid = params.get_str("uuid") if allow_uuid else None
        if uuid is not None and rid is None and email is None:
            found = self.contacts.get(uuid)
            if found is None:
                raise ApiError(404, "Contact not found")
            return found
        if rid is None and email is None:
            raise bad_request("id or email is required")
        contact: Contact | None = None
        if rid is not None:
            contact = self.by_remote_id.get(rid)
            if contact is None and email is not None:
                # An email-only contact gets the user ID it is now identified with.
                contact = next(
                    (c for c in self.by_email.get(email.lower(), ()) if c.remote_id is None), None
                )
                if contact is not None:
                    contact.remote_id = rid
                    self.by_remote_id[rid] = contact
        else:
            contact = next(iter(self.by_email.get((email or "").lower(), ())), None)
        now = self.now()
        if contact is None:
            contact = Contact(
                uuid=new_uuid(self.rng),
                remote_id=rid,
                email=email,
                display_name=None,
                first_seen_at=now,
                last_seen_at=now,
                traits={},
            )
            self.contacts[contact.uuid] = contact
            if rid is not None:
                self.by_remote_id[rid] = contact
            if email is not None:
                self.by_email.setdefault(email.lower(), []).append(contact)
        elif email is not None and contact.email != email:
            same = self.by_email.get(contact.email.lower(), []) if contact.email else []
            if contact in same:
                same.remove(contact)
            contact.email = email
            self.by_email.setdefault(email.lower(), []).append(contact)
        contact.last_seen_at = max(contact.last_seen_at, now)
        self.touch_contact(contact)
        self._contacts_changed()
        return contact

    def identify(self, params: Params) -> Contact:
        traits: dict[str, Any] = {}
        nested = params.get_dict("attributes")
        if nested:
            traits.update(nested)
        traits.update({k: v for k, v in params.raw.items() if k not in _RESERVED_IDENTIFY})
        clean = {key: _trait_value(key, value) for key, value in traits.items()}
        account = _account_fields(params)
        contact = self.contact_for_write(params)
        contact.traits.update(clean)
        name = clean.get("name")
        if isinstance(name, str) and name:
            contact.display_name = name
        if account is not None:
            self._link_account(contact, account)
        return contact

    def _link_account(self, contact: Contact, fields: dict[str, Any]) -> None:
        """Create or update the account ``fields`` name (checked by ``_account_fields``)."""
        remote_id = _text(fields["id"])
        now = self.now()
        account = self.accounts.get(remote_id)
        if account is None:
            account = Account(
                uuid=new_uuid(self.rng),
                remote_id=remote_id,
                display_name=None,
                domain=None,
                first_seen_at=now,
                last_seen_at=now,
                attributes={},
            )
            self.accounts[remote_id] = account
        for key, value in fields.items():
            if key == "id":
                continue
            clean = _trait_value(f"account[{key}]", value)
            if key == "name":
                account.display_name = None if clean is None else _text(clean)
            elif key == "domain":
                account.domain = None if clean is None else _text(clean)
            else:
                account.attributes[key] = clean
        account.last_seen_at = max(account.last_seen_at, now)
        if contact.account is not account:
            if contact.account is not None:
                contact.account.members.discard(contact)
            contact.account = account
            account.members.add(contact)
        for member in account.members:
            self.touch_contact(member)
        self._contacts_changed()

    def track(self, params: Params) -> Contact:
        event = params.get_str("event")
        if event is None or not event.strip():
            raise bad_request("event is required")
        contact = self.contact_for_write(params)
        self.events.append((self.clock(), contact.user_key, event))
        self.events_per_user[contact.user_key] += 1
        return contact

    def delete_contact(self, contact: Contact) -> None:
        for r in list(contact.responses):
            self._remove_response(r)
        del self.contacts[contact.uuid]
        if contact.remote_id and self.by_remote_id.get(contact.remote_id) is contact:
            del self.by_remote_id[contact.remote_id]
        if contact.email:
            same = self.by_email.get(contact.email.lower(), [])
            if contact in same:
                same.remove(contact)
        for segment in contact.segments:
            segment.members.discard(contact)
        if contact.account is not None:
            contact.account.members.discard(contact)
        self._contacts_changed()

    def _contact_key(self, order_by: str) -> Callable[[Contact], Key]:
        sign = -1 if self.contacts_desc else 1
        if order_by == "first_seen_at":
            return lambda c: (0, sign * c.first_seen_at, c.uuid)
        if order_by == "last_seen_at":
            return lambda c: (0, sign * c.last_seen_at, c.uuid)
        if order_by == "last_form_submission_at":

            def key(c: Contact) -> Key:
                at = next((r.last_data_at for r in c.responses if r.kind == COMPLETED), None)
                return (1, 0, c.uuid) if at is None else (0, sign * at, c.uuid)

            return key
        if order_by == "display_name":
            return lambda c: (
                (0, c.display_name.lower(), c.uuid) if c.display_name else (1, "", c.uuid)
            )
        return lambda c: (0, c.email.lower(), c.uuid) if c.email else (1, "", c.uuid)

    def _contact_match(
        self, form_uuid: str | None, segment_uuid: str | None, search: str | None
    ) -> Callable[[Contact], bool]:
        """The filters of a contacts listing: answered the form, in the segment, found by search."""
        checks: list[Callable[[Contact], bool]] = []
        if form_uuid is not None:
            checks.append(
                lambda c: any(r.form.uuid == form_uuid and r.kind <= PARTIAL for r in c.responses)
            )
        if segment_uuid is not None:
            segment = self.segments.get(segment_uuid)
            members = segment.members if segment is not None else set()
            checks.append(lambda c: c in members)
        if search is not None:
            checks.append(lambda c: _contact_matches_search(c, search))
        return lambda c: all(check(c) for check in checks)

    def list_contacts(self, params: Params) -> bytes:
        order_by = params.get_str("order_by") or "first_seen_at"
        if order_by not in CONTACT_ORDERS:
            raise bad_request("order_by must be one of " + ", ".join(CONTACT_ORDERS))
        form_uuid = params.get_str("form_uuid")
        segment_uuid = params.get_str("segment_uuid")
        search_raw = params.get_str("search")
        search = search_raw.strip().lower() if search_raw and search_raw.strip() else None
        request = self.page_request(params)
        key = self._contact_key(order_by)
        fp = fingerprint("contacts", order_by, self.contacts_desc, form_uuid, segment_uuid, search)

        def build() -> View[Contact]:
            match = self._contact_match(form_uuid, segment_uuid, search)
            items = [c for c in sorted(self.contacts.values(), key=key) if match(c)]
            return View(match, key, items)

        items = _remember(self._contact_views, fp, build).items
        shape: tuple[type, ...] = (
            (int, str, str) if order_by in ("display_name", "email") else (int, int, str)
        )
        page = self.paginate(items, 0, len(items), key, request, fp=fp, shape=shape)
        return self.envelope([self.contact_json(c) for c in page.items], page.pagination)

    # ---------------------------------------------------------------- forms and segments

    def form_param(self, params: Params) -> Form:
        uuid = params.get_str("form_uuid")
        if uuid is None:
            raise bad_request("form_uuid is required")
        form = self.forms.get(uuid)
        if form is None:
            raise ApiError(404, "Form not found")
        return form

    def list_forms(self, params: Params) -> dict[str, Any]:
        state = params.get_str("list") or "all"
        if state not in FORM_LISTS:
            raise bad_request("list must be one of " + ", ".join(FORM_LISTS))
        include_info = params.get_bool("include_info")
        include_config = params.get_bool("include_config")
        request = self.page_request(params, cursors=False)
        selected = [f for f in self.forms.values() if _form_in(f, state)]
        selected.sort(key=_name_key)
        page = self.paginate(selected, 0, len(selected), _name_key, request, fp=None)
        items = []
        for f in page.items:
            item: dict[str, Any] = {"uuid": f.uuid, "name": f.name}
            if include_info:
                item.update(
                    channels=f.channels,
                    created_at=fmt_iso(f.created_at),
                    updated_at=fmt_iso(f.updated_at),
                    published_at=fmt_iso(f.published_at),
                    archived_at=fmt_iso(f.archived_at),
                    first_form_view_at=fmt_iso(f.first_view_at),
                    last_form_view_at=fmt_iso(f.last_view_at),
                    responses_count=f.responses_count,
                    views_count=f.views_count,
                    folder=None,
                    page_url=f.page_url,
                )
            if include_config:
                item["config"] = f.config()
            items.append(item)
        return {"items": items, "pagination": page.pagination}

    def _history(self, form: Form, action: str) -> None:
        now = self.now()
        form.updated_at = now
        form.history.append(HistoryEntry(new_uuid(self.rng), action, now, form.snapshot()))

    def publish_form(self, params: Params) -> Form:
        form = self.form_param(params)
        published = params.get_bool("published", True)
        form.published_at = (form.published_at or self.now()) if published else None
        self._history(form, "published" if published else "unpublished")
        return form

    def duplicate_form(self, params: Params) -> Form:
        source = self.form_param(params)
        name = params.get_str("name")
        if name is None or not name.strip():
            raise bad_request("name is required")
        now = self.now()
        copy = Form(
            uuid=new_uuid(self.rng),
            name=name.strip(),
            questions=list(source.questions),
            channels=list(source.channels),
            created_at=now,
            updated_at=now,
        )
        self.forms[copy.uuid] = copy
        self._history(copy, "created")
        return copy

    def archive_form(self, params: Params) -> Form:
        form = self.form_param(params)
        if form.archived_at is None:
            form.archived_at = self.now()
        self._history(form, "archived")
        return form

    def list_history(self, params: Params) -> dict[str, Any]:
        form = self.form_param(params)
        request = self.page_request(params)
        entries = sorted(form.history, key=_history_key)
        fp = fingerprint("history", form.uuid)
        page = self.paginate(
            entries, 0, len(entries), _history_key, request, fp=fp, shape=(int, str)
        )
        items = [
            {
                "uuid": h.uuid,
                "action": h.action,
                "snapshot": h.snapshot,
                "created_at": fmt_iso(h.created_at),
            }
            for h in page.items
        ]
        return {"items": items, "pagination": page.pagination}

    def list_segments(self, params: Params) -> dict[str, Any]:
        request = self.page_request(params)
        items = sorted(self.segments.values(), key=_name_key)
        page = self.paginate(
            items, 0, len(items), _name_key, request, fp=fingerprint("segments"), shape=(str, str)
        )
        return {
            "items": [
                {"uuid": s.uuid, "name": s.name, "is_manual": s.is_manual} for s in page.items
            ],
            "pagination": page.pagination,
        }

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

    def sync_segment(self, params: Params, *, add: bool) -> tuple[Contact, Segment]:
        segment = self.manual_segment(params)
        if add:
            contact = self.contact_for_write(params)
            if contact not in segment.members:
                segment.members.add(contact)
                contact.segments.append(segment)
                contact.segments.sort(key=lambda s: s.key)
        else:
            if params.get_str("id") is None and params.get_str("email") is None:
                raise bad_request("id or email is required")
            contact = self.contact_lookup(params)
            if contact in segment.members:
                segment.members.discard(contact)
                contact.segments.remove(segment)
        self.touch_contact(contact)
        self._contacts_changed()
        return contact, segment

    # ---------------------------------------------------------------- account and reporting

    def account_info(self) -> dict[str, Any]:
        now = self.now()
        today = time.gmtime(now)
        month_start = calendar.timegm((today.tm_year, today.tm_mon, 1, 0, 0, 0, 0, 0, 0))
        completed = self.lists["completed"]
        views = self.lists["all"]
        msr = bisect_left(completed, (-month_start + 1, ""), key=_rkey)
        mpv = bisect_left(views, (-month_start + 1, ""), key=_rkey)
        mtu = len(self.contacts)
        mte = len(self.events)
        stamp = fmt_iso(now)
        return {
            "subscription": {
                "plan": "Growth",
                "mtu_count": mtu,
                "mtu_limit": 10000,
                "mtu_count_updated_at": stamp,
                "mte_count": mte,
                "mte_count_updated_at": stamp,
                "mpv_count": mpv,
                "mpv_limit": 1000000,
                "mpv_count_updated_at": stamp,
                "msr_count": msr,
                "msr_limit": 5000,
                "msr_count_updated_at": stamp,
            },
            "environments": [
                {
                    "uuid": self.project_uuid,
                    "name": self.project_name,
                    "mtu": mtu,
                    "mte": mte,
                    "mpv": mpv,
                    "msr": msr,
                },
                {
                    "uuid": new_uuid(random.Random(self.project_uuid)),
                    "name": "Testing",
                    "mtu": 0,
                    "mte": 0,
                    "mpv": 0,
                    "msr": 0,
                },
            ],
        }

    def report(self, params: Params) -> dict[str, Any]:
        kind = params.get_str("type")
        if kind is None:
            raise bad_request("type is required")
        if kind not in REPORT_TYPES:
            raise bad_request("type must be one of " + ", ".join(REPORT_TYPES))
        today = self.now() // DAY * DAY
        start = params.get_timestamp("date_range_start")
        end = params.get_timestamp("date_range_end")
        start = today - 7 * DAY if start is None else start
        end = today + DAY if end is None else end
        forms = _uuid_filter(params, "form_uuid")
        segments = _uuid_filter(params, "segment_uuid")
        tags = frozenset(params.get_list("tag_uuids"))
        questions = frozenset(params.get_list("question_identifiers"))

        def query(include: str) -> list[Response]:
            q = ResponseQuery(
                include=include,
                forms=forms,
                segments=segments,
                start=start,
                end=end,
                search=None,
                tag=None,
                response_data=_scalar_filters(params, "response_data"),
                contact_data=_scalar_filters(params, "contact_data"),
                account_data=_scalar_filters(params, "account_data"),
            )
            seq, lo, hi = self.response_view(q)
            selected = seq[lo:hi]
            if tags:
                selected = [
                    r for r in selected if r.tags and tags & {self.tag_uuid(t) for t in r.tags}
                ]
            return selected

        out: dict[str, Any] = {}
        if kind == "count":
            out["views"] = len(query("all"))
            out["responses"] = len(query("completed"))
        else:
            wanted = {
                "nps": frozenset({"nps"}),
                "csat": frozenset({"csat"}),
                "ratings": frozenset({"rating"}),
                "distribution": frozenset({"choice", "multi"}),
            }[kind]
            values: list[Any] = []
            responding = 0
            for r in query("partials"):
                got = _report_values(r, wanted, questions)
                if got:
                    responding += 1
                    values.extend(got)
            out.update(_summarize(kind, values, responding))
        out["date_range_start"] = fmt_report(start)
        out["date_range_end"] = fmt_report(end)
        return out


# ------------------------------------------------------------------------------------------------


def _account_fields(params: Params) -> dict[str, Any] | None:
    """The nested ``account`` of a write, refused before anything changes when it has no id."""
    account = params.get_dict("account")
    if account is not None and _blank(account.get("id")):
        raise bad_request("account[id] is required")
    return account


def _key_bounds(q: ResponseQuery) -> tuple[Key | None, Key | None]:
    """The date range as sort keys: ``first <= key < past``. Only for completed and partials,
    ordered by the time the dates compare; with include=all they compare last_shown_at instead
    (a check in ``Store._response_checks``)."""
    if q.include == "all":
        return None, None
    first = None if q.end is None else (-q.end + 1, "")
    past = None if q.start is None else (-q.start + 1, "")
    return first, past


def _reads_contacts(q: ResponseQuery) -> bool:
    """Whether the checks of ``q`` read contact data (segments, names, traits, accounts)."""
    return bool(q.segments or q.search or q.contact_data or q.account_data)


def _uuid_filter(params: Params, name: str) -> tuple[str, ...]:
    """The uuids given as ``name`` and as the list ``name + "s"`` together, sorted."""
    return tuple(sorted(set(params.get_list(name + "s")) | set(params.get_list(name))))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _trait_value(key: str, value: Any) -> Any:
    """Traits: strings (cut to 255), numbers, booleans or null; ``*_at`` strings become dates."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if not isinstance(value, str):
        raise bad_request(f"Trait {key} must be a string, number or boolean")
    if key.endswith("_at") and value.strip():
        try:
            return fmt_iso(int(parse_datetime(value, key).timestamp()))
        except ApiError:
            return value[:_TRAIT_MAX]
    return value[:_TRAIT_MAX]


def _form_in(form: Form, state: str) -> bool:
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


def _response_matches_search(r: Response, needle: str) -> bool:
    c = r.contact
    if needle in (r.uuid, c.uuid):
        return True
    return any(needle in v.lower() for v in (c.remote_id, c.email, c.display_name) if v)


def _contact_matches_search(c: Contact, needle: str) -> bool:
    if needle == c.uuid:
        return True
    return any(needle in v.lower() for v in (c.remote_id, c.email, c.display_name) if v)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _report_values(r: Response, types: frozenset[str], questions: frozenset[str]) -> list[Any]:
    """The answers of ``r`` that count for a report over question ``types``."""
    if questions:
        if r.answers is None:
            form_types = r.form.question_types()
            needed = frozenset(form_types[q] for q in questions if q in form_types)
            data = answers_for(r.form, r.kind, r.gen, needed)
        else:
            data = r.answers
        picked = [data[q] for q in questions if q in data]
    else:
        if r.answers is None:
            data = answers_for(r.form, r.kind, r.gen, types)
            picked = list(data.values())
        else:
            form_types = r.form.question_types()
            picked = [v for k, v in r.answers.items() if form_types.get(k) in types]
    out: list[Any] = []
    for value in picked:
        if isinstance(value, list):
            out.extend(value)
        elif value is not None:
            out.append(value)
    return out


def _summarize(kind: str, values: list[Any], responding: int) -> dict[str, Any]:
    if kind == "distribution":
        counts: Counter[str] = Counter(_text(v) for v in values)
        return {"datapoints": len(values), "responses": responding, "data": dict(counts)}
    numbers = [n for n in (_number(v) for v in values) if n is not None]
    if kind == "nps":
        scores = [int(n) for n in numbers if 0 <= n <= 10 and n == int(n)]
        promoters = sum(1 for s in scores if s >= 9)
        passives = sum(1 for s in scores if 7 <= s <= 8)
        detractors = len(scores) - promoters - passives
        count = len(scores)
        nps = round_half_up(100 * (promoters - detractors) / count) if count else 0
        return {
            "nps": nps,
            "count": count,
            "data": {"detractors": detractors, "passives": passives, "promoters": promoters},
        }
    if kind == "csat":
        scores = [int(n) for n in numbers if 1 <= n <= 5 and n == int(n)]
        satisfied = sum(1 for s in scores if s >= 4)
        neutral = sum(1 for s in scores if s == 3)
        count = len(scores)
        return {
            "csat": round_half_up(100 * satisfied / count) if count else 0,
            "count": count,
            "data": {
                "dissatisfied": count - satisfied - neutral,
                "neutral": neutral,
                "satisfied": satisfied,
            },
        }
    # ratings
    total = sum(numbers)
    data: Counter[str] = Counter(str(int(n)) if n == int(n) else str(n) for n in numbers)
    as_int = int(total) if total == int(total) else total
    return {
        "average": round(total / len(numbers), 2) if numbers else 0,
        "sum": as_int,
        "count": len(numbers),
        "data": dict(sorted(data.items(), key=lambda kv: float(kv[0]))),
    }
