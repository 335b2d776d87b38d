"""The emulator's store: its read queries (filtered listings and reports) over the live data.

No aiohttp here: handlers in ``_server`` pass :class:`~._params.Params` in and get bytes or dicts
out; every refusal is an :class:`~._params.ApiError`. :class:`Store` joins the data
(``_store_data``), the writes (``_store_writes``) and the queries below; a listing's filters are read
by ``_store_filters``, kept as cached views and paged by number or keyset cursor (``_store_views``);
reports count answers (``_store_reports``).
"""

from __future__ import annotations

import calendar
import random
import time
from bisect import bisect_left
from collections.abc import Callable
from typing import Any, Final

from ._params import Params, bad_request
from ._records import (
    COMPLETED,
    DAY,
    INCLUDE_KINDS,
    PARTIAL,
    Contact,
    Response,
    fmt_iso,
    new_uuid,
)
from ._store_data import history_key, name_key, response_key
from ._store_filters import (
    ResponseQuery,
    form_in,
    key_bounds,
    matches,
    reads_contacts,
    scalar_filters,
    uuid_filter,
)
from ._store_reports import fmt_report, report_values, summarize
from ._store_views import (
    Key,
    ListResult,
    PageRequest,
    View,
    envelope,
    fingerprint,
    paginate,
    remember_view,
)
from ._store_writes import StoreWrites

__all__ = ["ListResult", "Store"]

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


class Store(StoreWrites):
    """The live data set of one emulator: its data, writes and read queries."""

    def page_request(self, params: Params, *, cursors: bool = True) -> PageRequest:
        length = params.get_int("page_length", self.page_length_default)
        if length > PAGE_LENGTH_MAX:
            if self.strict_page_length:
                raise bad_request(f"page_length must be at most {PAGE_LENGTH_MAX}")
            length = PAGE_LENGTH_MAX
        page = params.get_int("page", 1)
        cursor = params.get_str("page_cursor") if cursors else None
        return PageRequest(page, length, cursor)

    def response_query(self, params: Params) -> ResponseQuery:
        include = params.get_str("include") or "completed"
        if include not in INCLUDE_KINDS:
            raise bad_request("include must be one of completed, partials, all")
        search = params.get_str("search")
        return ResponseQuery(
            include=include,
            forms=uuid_filter(params, "form_uuid"),
            segments=uuid_filter(params, "segment_uuid"),
            start=params.get_timestamp("date_range_start"),
            end=params.get_timestamp("date_range_end"),
            search=search.strip().lower() if search and search.strip() else None,
            tag=params.get_str("tag_uuid"),
            response_data=scalar_filters(params, "response_data"),
            contact_data=scalar_filters(params, "contact_data"),
            account_data=scalar_filters(params, "account_data"),
        )

    def response_view(self, q: ResponseQuery) -> tuple[list[Response], int, int]:
        """The matching responses as ``seq[lo:hi]``, newest first."""
        base = self.lists[q.include]
        first, past = key_bounds(q)
        lo = 0 if first is None else bisect_left(base, first, key=response_key)
        hi = len(base) if past is None else max(lo, bisect_left(base, past, key=response_key))
        checks = self._response_checks(q)
        if not checks:
            return base, lo, hi
        kinds = INCLUDE_KINDS[q.include]

        def match(r: Response) -> bool:
            key = response_key(r)
            return (
                r.kind in kinds
                and (first is None or first <= key)
                and (past is None or key < past)
                and all(check(r) for check in checks)
            )

        def build() -> View[Response]:
            items = base[lo:hi]
            for check in checks:  # one C-level pass per check: views of big sets build fast
                items = list(filter(check, items))
            return View(match, response_key, items, reads_contacts=reads_contacts(q))

        view = remember_view(self._response_views, q.fingerprint(), build)
        return view.items, 0, len(view.items)

    def _response_checks(self, q: ResponseQuery) -> list[Callable[[Response], bool]]:
        """The filters of ``q`` beyond ``include`` and the sort-key bounds of ``key_bounds``."""
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
            checks.append(lambda r: matches(r.data(), wanted))
        if q.contact_data:
            wanted_c = q.contact_data
            checks.append(lambda r: matches(r.contact.traits, wanted_c))
        if q.account_data:
            wanted_a = q.account_data
            checks.append(
                lambda r: (
                    r.contact.account is not None
                    and matches(r.contact.account.attributes, wanted_a)
                )
            )
        return checks

    def list_responses(self, params: Params) -> bytes:
        q = self.response_query(params)
        request = self.page_request(params)
        with_attributes = params.get_bool("with_attributes")
        seq, lo, hi = self.response_view(q)
        page = paginate(seq, lo, hi, response_key, request, fp=q.fingerprint(), shape=(int, str))
        parts = [
            b"".join((self.response_head(r), self.contact_embed(r.contact, with_attributes), b"}"))
            for r in page.items
        ]
        return envelope(parts, page.pagination)

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

        items = remember_view(self._contact_views, fp, build).items
        shape: tuple[type, ...] = (
            (int, str, str) if order_by in ("display_name", "email") else (int, int, str)
        )
        page = paginate(items, 0, len(items), key, request, fp=fp, shape=shape)
        return envelope([self.contact_json(c) for c in page.items], page.pagination)

    def list_forms(self, params: Params) -> dict[str, Any]:
        state = params.get_str("list") or "all"
        if state not in FORM_LISTS:
            raise bad_request("list must be one of " + ", ".join(FORM_LISTS))
        include_info = params.get_bool("include_info")
        include_config = params.get_bool("include_config")
        request = self.page_request(params, cursors=False)
        selected = [f for f in self.forms.values() if form_in(f, state)]
        selected.sort(key=name_key)
        page = paginate(selected, 0, len(selected), name_key, request, fp=None)
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

    def list_history(self, params: Params) -> dict[str, Any]:
        form = self.form_param(params)
        request = self.page_request(params)
        entries = sorted(form.history, key=history_key)
        fp = fingerprint("history", form.uuid)
        page = paginate(entries, 0, len(entries), history_key, request, fp=fp, shape=(int, str))
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
        items = sorted(self.segments.values(), key=name_key)
        page = paginate(
            items, 0, len(items), name_key, request, fp=fingerprint("segments"), shape=(str, str)
        )
        return {
            "items": [
                {"uuid": s.uuid, "name": s.name, "is_manual": s.is_manual} for s in page.items
            ],
            "pagination": page.pagination,
        }

    def account_info(self) -> dict[str, Any]:
        now = self.now()
        today = time.gmtime(now)
        month_start = calendar.timegm((today.tm_year, today.tm_mon, 1, 0, 0, 0, 0, 0, 0))
        completed = self.lists["completed"]
        views = self.lists["all"]
        msr = bisect_left(completed, (-month_start + 1, ""), key=response_key)
        mpv = bisect_left(views, (-month_start + 1, ""), key=response_key)
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
        forms = uuid_filter(params, "form_uuid")
        segments = uuid_filter(params, "segment_uuid")
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
                response_data=scalar_filters(params, "response_data"),
                contact_data=scalar_filters(params, "contact_data"),
                account_data=scalar_filters(params, "account_data"),
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
                got = report_values(r, wanted, questions)
                if got:
                    responding += 1
                    values.extend(got)
            out.update(summarize(kind, values, responding))
        out["date_range_start"] = fmt_report(start)
        out["date_range_end"] = fmt_report(end)
        return out


def _response_matches_search(r: Response, needle: str) -> bool:
    c = r.contact
    if needle in (r.uuid, c.uuid):
        return True
    return any(needle in v.lower() for v in (c.remote_id, c.email, c.display_name) if v)


def _contact_matches_search(c: Contact, needle: str) -> bool:
    if needle == c.uuid:
        return True
    return any(needle in v.lower() for v in (c.remote_id, c.email, c.display_name) if v)
