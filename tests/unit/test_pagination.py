"""The pagination engine on an in-memory list endpoint: order, concurrency and its bounds, cursors and
their guards, max_items, resume tokens, errors mid-iteration, clean shutdown, and exactly-once delivery
while the data changes. No HTTP: the fake serves offsets over live data and keyset cursors."""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import math
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from refiner_async._codec import peek_cursor
from refiner_async._pagination import Fetch, Paginator, decode_resume_token, query_fingerprint
from refiner_async.errors import (
    InvalidParameterError,
    PaginationError,
    ResponseDecodeError,
    ServerError,
)
from refiner_async.models.page import Page


@attrs.frozen
class Item:
    uuid: str
    seq: float  # the sort key, descending: the newest first


def uuid_of(item: Item) -> str:
    return item.uuid


@attrs.frozen
class Reply:
    """A page's reply as a test's fetch leaves it: the bytes a cursor may be read from, and how it
    decodes into the page."""

    body: bytes
    decode: Callable[[], Page[Item]]


class Codec:
    """The paginator's codec for these tests: a Page is already decoded; a :class:`Reply` is decoded when
    it is handed out, and its bytes may tell the next cursor before that."""

    async def decode(self, reply: Any) -> Page[Any]:
        page: Page[Any] = reply.decode() if isinstance(reply, Reply) else reply
        return page

    def next_cursor(self, reply: Any) -> str | None:
        return peek_cursor(reply.body) if isinstance(reply, Reply) else None


def replying(reply: Callable[[dict[str, Any]], Awaitable[Any]]) -> Fetch:
    """The paginator's ``fetch(params, decode)`` around a function replying to one request."""

    async def fetch(params: dict[str, Any], decode: Callable[[Any], Awaitable[Any]] | None) -> Any:
        got = await reply(params)
        return got if decode is None else await decode(got)

    return fetch


def paginate(reply: Callable[[dict[str, Any]], Awaitable[Any]], **options: Any) -> Paginator[Any]:
    return Paginator(replying(reply), Codec(), **options)


def server_error(page: object) -> ServerError:
    return ServerError(
        f"page {page} failed", status=500, body=None, method="GET", path="/responses"
    )


class FakeList:
    """A list endpoint over live data: items newest first, ``page`` offsets read at request time,
    keyset cursors (``c<seq>``: the items older than seq), and hooks to change the data, add latency,
    hold requests back and fail pages."""

    def __init__(self, count: int = 0, *, cursors: bool = True, latency: float = 0.0) -> None:
        self.items = [Item(f"u{seq}", seq) for seq in range(count, 0, -1)]
        self.next_seq = count + 1
        self.cursors = cursors  # False: a forms-like endpoint without next_page_cursor
        self.latency = latency  # seconds each request takes before the data is read
        self.requests: list[dict[str, Any]] = []  # every request, in the order they were sent
        self.in_flight = 0
        self.max_in_flight = 0
        self.cancelled = 0  # requests cancelled while in flight
        self.fail_pages: dict[int, Exception] = {}  # page number -> error raised for it
        self.fail_requests: dict[int, Exception] = {}  # 1-based request index -> error
        self.before_read: Callable[[dict[str, Any]], None] | None = (
            None  # runs as a request is read
        )
        self.gate: Callable[[], Awaitable[None]] | None = None  # awaited before a request is read

    def insert_head(self, count: int = 1) -> list[Item]:
        new = [
            Item(f"u{seq}", seq) for seq in range(self.next_seq + count - 1, self.next_seq - 1, -1)
        ]
        self.next_seq += count
        self.items[:0] = new
        return new

    def insert_at(self, index: int) -> Item:
        """A new item at ``index`` in the order (a sort key between its neighbours)."""
        above = self.items[index - 1].seq if index > 0 else self.next_seq
        below = self.items[index].seq if index < len(self.items) else 0
        item = Item(f"m{self.next_seq}", (above + below) / 2)
        self.next_seq += 1
        self.items.insert(index, item)
        return item

    def delete(self, uuid: str) -> None:
        self.items = [item for item in self.items if item.uuid != uuid]

    async def fetch(self, params: dict[str, Any]) -> Page[Item]:
        self.requests.append(dict(params))
        index = len(self.requests)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate()
            if self.latency:
                await asyncio.sleep(self.latency)
            if index in self.fail_requests:
                raise self.fail_requests[index]
            if params.get("page") in self.fail_pages and "page_cursor" not in params:
                raise self.fail_pages[params["page"]]
            if self.before_read is not None:
                self.before_read(params)
            return self.read(params)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1

    def read(self, params: dict[str, Any]) -> Page[Item]:
        length, count = params["page_length"], len(self.items)
        current: int | None
        if "page_cursor" in params:
            after = float(params["page_cursor"][1:])
            start = next((i for i, item in enumerate(self.items) if item.seq < after), count)
            current = None
        else:
            current = params["page"]
            start = (current - 1) * length
        chunk = tuple(self.items[start : start + length])
        more = start + length < count
        return Page(
            items=chunk,
            current_page=current,
            last_page=max(1, math.ceil(count / length)),
            items_count=count,
            page_length=length,
            next_page_cursor=f"c{chunk[-1].seq}" if self.cursors and more and chunk else None,
        )

    def paginator(self, **options: Any) -> Paginator[Item]:
        options.setdefault("params", {"form_uuid": "f1"})
        options.setdefault("page_length", 10)
        options.setdefault("endpoint", "/responses")
        options.setdefault("key", uuid_of)
        options.setdefault("supports_cursor", self.cursors)
        return paginate(options.pop("replies", self.fetch), **options)

    def page_numbers(self) -> list[int]:
        return [r["page"] for r in self.requests if "page_cursor" not in r]


def scripted(chain: dict[str | None, tuple[list[int], str | None]]) -> tuple[Any, list[Any]]:
    """A fetch replying to each cursor (None: the first request) with fixed items and next cursor."""
    requests: list[dict[str, Any]] = []

    async def fetch(params: dict[str, Any]) -> Page[int]:
        requests.append(params)
        items, cursor = chain[params.get("page_cursor")]
        return Page(items=tuple(items), items_count=10**6, next_page_cursor=cursor)

    return fetch, requests


async def drain(paginator: Paginator[Any], into: list[Any]) -> None:
    """Iterate the items into a list, so what arrived before an error stays visible."""
    async for item in paginator:
        into.append(item)


async def no_other_tasks(ticks: int = 50) -> set[asyncio.Task[Any]]:
    """Let finalizers run, then the tasks other than this one that are still pending."""
    for _ in range(ticks):
        others = asyncio.all_tasks() - {asyncio.current_task()}
        if not others:
            break
        await asyncio.sleep(0)
    gc.collect()
    return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]


# -- order and modes ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["pages", "cursor", "auto"])
async def test_every_item_once_in_server_order(mode: str) -> None:
    """Each mode yields every item once, in server order, with one request per page."""
    server = FakeList(200)
    paginator = server.paginator(mode=mode)
    assert await paginator.collect() == server.items
    assert len(server.requests) == 20
    assert server.requests[0] == {"form_uuid": "f1", "page": 1, "page_length": 10}


async def test_pages_come_out_in_page_order_with_server_figures() -> None:
    """pages() hands out numbered pages in order, keeping the server's pagination figures."""
    server = FakeList(95, latency=0.001)
    pages = [page async for page in server.paginator(mode="pages", window=4).pages()]
    assert [page.current_page for page in pages] == list(range(1, 11))
    assert {page.items_count for page in pages} == {95}
    assert [len(page.items) for page in pages] == [10] * 9 + [5]


@pytest.mark.parametrize(
    ("count", "cursors", "window", "expected"),
    [
        (50, True, 8, "pages"),  # small: offsets are cheap, concurrency pays
        (10_000, True, 8, "pages"),
        (10_001, True, 8, "cursor"),  # beyond the vendor's 10,000 rows: cursors
        (10_001, False, 8, "pages"),  # forms: no cursor
        (5_000, True, 1, "cursor"),  # no concurrency to gain from page numbers
    ],
)
async def test_auto_rule_decides_after_page_one(
    count: int, cursors: bool, window: int, expected: str
) -> None:
    """auto picks page numbers or cursors from page 1's figures, without a wasted request."""
    server = FakeList(count, cursors=cursors)
    paginator = server.paginator(page_length=1000, window=window)
    assert len(await paginator.collect()) == count
    assert paginator.stats.mode == expected
    assert len(server.requests) == max(1, math.ceil(count / 1000))
    later = server.requests[1:]
    assert all(("page_cursor" in r) == (expected == "cursor") for r in later)


async def test_auto_reads_by_cursor_when_new_items_are_not_first() -> None:
    """new_items_first=False makes auto read a small list by cursor (page numbers could miss items)."""
    server = FakeList(50)
    paginator = server.paginator(new_items_first=False)
    assert await paginator.collect() == server.items
    assert paginator.stats.mode == "cursor"
    forms = FakeList(50, cursors=False)
    paginator = forms.paginator(new_items_first=False)
    assert await paginator.collect() == forms.items
    assert paginator.stats.mode == "pages"


async def test_cursor_reading_survives_a_balanced_change_across_a_boundary() -> None:
    """A delete above a page boundary and an insert below it, between two reads, leave items_count
    unchanged; reading by cursor still yields every item that stayed."""
    server = FakeList(8)
    original = list(server.items)

    def change() -> None:
        server.delete("u8")
        server.insert_at(3)

    change_once_by_request(server, 2, change)
    items = await server.paginator(mode="cursor", page_length=2).collect()
    assert set(original[1:]) <= set(items)
    assert len(items) == len(set(items))


def test_bad_options_are_refused_before_anything_is_sent() -> None:
    """Invalid options raise InvalidParameterError (a ValueError) when the Paginator is built."""
    server = FakeList(5, cursors=False)
    for options in (
        {"mode": "cursor"},  # forms have no cursors
        {"mode": "sideways"},
        {"page_length": 0},
        {"max_items": -1},
        {"window": 0},
        {"max_pages": 0},
    ):
        with pytest.raises(InvalidParameterError):
            server.paginator(**options)
    assert server.requests == []


# -- concurrency and its bounds ----------------------------------------------------------------


async def test_pages_are_fetched_concurrently_up_to_the_window() -> None:
    """With latency, 20 pages are read 8 at a time: concurrency reaches the window, never more."""
    server = FakeList(200, latency=0.05)
    assert await server.paginator(mode="pages", window=8).collect() == server.items
    assert server.max_in_flight == 8


async def test_slow_consumer_bounds_the_pages_held() -> None:
    """Page k+window is not requested before page k is handed out, however slow the consumer."""
    server = FakeList(120, latency=0.001)
    seen_limits = []
    async for page in server.paginator(mode="pages", window=3).pages():
        await asyncio.sleep(0.01)  # the slow consumer: every prefetch has landed by now
        assert page.current_page is not None
        assert max(server.page_numbers()) <= page.current_page + 3
        seen_limits.append(max(server.page_numbers()) - page.current_page)
    assert server.max_in_flight <= 3
    assert max(seen_limits) == 3  # the window is used, not just respected


async def test_cursor_mode_reads_one_page_ahead() -> None:
    """Cursor mode keeps exactly one request ahead of the consumer, never more."""
    server = FakeList(50, latency=0.001)
    handed = 0
    async for _page in server.paginator(mode="cursor").pages():
        handed += 1
        await asyncio.sleep(0.01)  # the slow consumer: the read-ahead has landed by now
        assert len(server.requests) <= handed + 1
    assert server.max_in_flight == 1
    assert len(server.requests) == 5


# -- cursors and their guards ------------------------------------------------------------------


async def test_repeated_cursor_raises_without_extra_requests() -> None:
    """A page whose next cursor equals its own raises PaginationError at once."""
    fetch, requests = scripted({None: ([1], "A"), "A": ([2], "A")})
    paginator = paginate(fetch, params={}, mode="cursor", endpoint="/contacts")
    got = []
    with pytest.raises(PaginationError) as caught:
        await drain(paginator, got)
    assert got == [1]
    assert len(requests) == 2
    assert caught.value.items_yielded == 1
    assert caught.value.resume_token is not None


async def test_cursor_cycle_raises_within_two_extra_requests() -> None:
    """A cycle A -> B -> A raises PaginationError before A is requested a second time."""
    fetch, requests = scripted({None: ([1], "A"), "A": ([2], "B"), "B": ([3], "A")})
    with pytest.raises(PaginationError, match="cycle"):
        await paginate(fetch, params={}, mode="cursor").collect()
    assert [r.get("page_cursor") for r in requests] == [None, "A", "B"]


async def test_max_pages_guard_stops_an_endless_cursor_chain() -> None:
    """Pages with ever-new cursors (and items) stop at max_pages requests with PaginationError."""
    requests = []

    async def fetch(params: dict[str, Any]) -> Page[int]:
        requests.append(params)
        return Page(items=(len(requests),), items_count=10**6, next_page_cursor=f"n{len(requests)}")

    with pytest.raises(PaginationError, match="max_pages"):
        await paginate(fetch, params={}, mode="cursor", max_pages=50).collect()
    assert len(requests) == 50


async def test_empty_pages_with_a_cursor_are_followed() -> None:
    """An empty page with a cursor is skipped and followed; the items after it arrive."""
    fetch, requests = scripted(
        {None: ([], "a"), "a": ([], "b"), "b": ([1, 2], "c"), "c": ([3], None)}
    )
    pages = [page async for page in paginate(fetch, params={}, mode="cursor").pages()]
    assert [page.items for page in pages] == [(1, 2), (3,)]
    assert pages[-1].resume_token is None
    assert len(requests) == 4


async def test_empty_list_gives_one_empty_page() -> None:
    """An empty list yields one empty page with no resume token, and collect() gives []."""
    server = FakeList(0)
    pages = [page async for page in server.paginator().pages()]
    assert [(page.items, page.resume_token) for page in pages] == [((), None)]
    assert await server.paginator().collect() == []


# -- max_items, the first page -----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["pages", "cursor"])
async def test_max_items_caps_the_total_and_the_requests(mode: str) -> None:
    """max_items caps the items, not the page size, and no page beyond those needed is requested."""
    server = FakeList(200, latency=0.001)
    items = await server.paginator(mode=mode, max_items=25, window=8).collect()
    assert items == server.items[:25]
    assert {r["page_length"] for r in server.requests} == {10}
    assert len(server.requests) == 3


async def test_awaiting_gives_the_first_page_alone() -> None:
    """await paginator returns page 1 with its resume token and fetches nothing else."""
    server = FakeList(200)
    paginator = server.paginator(mode="pages")
    first = await paginator
    assert first.items == tuple(server.items[:10])
    assert first.current_page == 1
    assert len(server.requests) == 1
    rest = await server.paginator(resume=first.resume_token).collect()
    assert rest == server.items[10:]


# -- resume tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "cursors"), [("pages", True), ("cursor", True), ("pages", False)])
async def test_every_page_token_resumes_with_exactly_the_rest(mode: str, cursors: bool) -> None:
    """Resuming from any page's token yields exactly the items after that page; the last has None."""
    server = FakeList(57, cursors=cursors)
    pages = [page async for page in server.paginator(mode=mode).pages()]
    assert pages[-1].resume_token is None
    done = 0
    for page in pages[:-1]:
        done += len(page.items)
        assert page.resume_token is not None
        rest = await server.paginator(mode=mode, resume=page.resume_token).collect()
        assert rest == server.items[done:]


@pytest.mark.parametrize("mode", ["pages", "cursor"])
async def test_max_items_cut_resumes_mid_page(mode: str) -> None:
    """A page cut by max_items carries a token that resumes right after the last item yielded."""
    server = FakeList(60)
    pages = [page async for page in server.paginator(mode=mode, max_items=25).pages()]
    assert sum(len(page.items) for page in pages) == 25
    rest = await server.paginator(mode=mode, resume=pages[-1].resume_token).collect()
    assert rest == server.items[25:]
    chunk = await server.paginator(mode=mode, resume=pages[-1].resume_token, max_items=7).collect()
    assert chunk == server.items[25:32]


async def test_foreign_or_corrupt_tokens_are_refused_before_any_request() -> None:
    """A token from another query, endpoint or page size, or a mangled one, raises PaginationError
    when the Paginator is built; nothing is fetched."""
    server = FakeList(30)
    token = (await server.paginator()).resume_token
    forms = FakeList(30, cursors=False)
    forms_token = (await forms.paginator()).resume_token
    server.requests.clear()
    assert token is not None
    assert forms_token is not None
    refused: list[dict[str, Any]] = [
        {"params": {"form_uuid": "f2"}},
        {"endpoint": "/contacts"},
        {"page_length": 20},
    ]
    for options in refused:
        with pytest.raises(PaginationError):
            server.paginator(resume=token, **options)
    for junk in ("", "junk", "r1.", "r1.!!!", token[:-3], "r2." + token[3:], "r1.WzEsMl0"):
        with pytest.raises(PaginationError):
            server.paginator(resume=junk)
    with pytest.raises(PaginationError, match="no cursors"):
        FakeList(30, cursors=False).paginator(resume=token)
    assert server.requests == []
    assert await forms.paginator(resume=forms_token).collect() == forms.items[10:]


def crafted_token(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload).encode()
    return "r1." + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_tokens_with_bad_fields_are_refused() -> None:
    """A token with our fingerprint but impossible fields is refused as corrupt."""
    server = FakeList(30)
    fingerprint = query_fingerprint("/responses", {"form_uuid": "f1"}, 10)
    assert server.paginator(resume=crafted_token({"f": fingerprint, "n": 0, "p": 2}))
    for payload in (
        {"f": fingerprint, "n": -1, "p": 2},
        {"f": fingerprint, "n": True, "p": 2},
        {"f": fingerprint, "n": 0, "p": 0},
        {"f": fingerprint, "n": 0, "p": 2, "c": "c5"},
        {"f": fingerprint, "n": 0},
        {"f": fingerprint, "n": 0, "c": ""},
        {"f": fingerprint, "n": 0, "c": "x" * 5000},
        {"f": fingerprint, "n": 0, "p": 2, "s": -3},
        {"f": fingerprint, "n": 0, "p": 2, "extra": 1},
        {"f": fingerprint[::-1], "n": 0, "p": 2},
    ):
        with pytest.raises(PaginationError):
            server.paginator(resume=crafted_token(payload))
    with pytest.raises(PaginationError, match="too long"):
        server.paginator(resume="r1." + "A" * 9000)
    assert server.requests == []


# -- errors and shutdown -----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["pages", "cursor"])
async def test_failed_page_fails_loudly_after_the_pages_before_it(mode: str) -> None:
    """A failing page raises its typed error after pages 1..4 were yielded, carrying the token of
    the last good page and the count; resuming from it gives exactly the rest."""
    server = FakeList(100, latency=0.001)
    error = server_error(5)
    if mode == "pages":
        server.fail_pages[5] = error
    else:
        server.fail_requests[5] = error
    got = []
    with pytest.raises(ServerError) as caught:
        await drain(server.paginator(mode=mode, window=4), got)
    assert caught.value is error
    assert got == server.items[:40]
    assert caught.value.items_yielded == 40
    assert caught.value.resume_token is not None
    server.fail_pages.clear()
    server.fail_requests.clear()
    rest = await server.paginator(mode=mode, resume=caught.value.resume_token).collect()
    assert rest == server.items[40:]
    assert await no_other_tasks() == set()


async def test_first_page_failure_carries_a_token_for_the_start() -> None:
    """When page 1 fails, the error still names where to resume: the start."""
    server = FakeList(30)
    server.fail_pages[1] = server_error(1)
    with pytest.raises(ServerError) as caught:
        await server.paginator().collect()
    server.fail_pages.clear()
    assert caught.value.items_yielded == 0
    assert await server.paginator(resume=caught.value.resume_token).collect() == server.items


async def test_break_leaves_no_task_behind() -> None:
    """break out of async for with 8 prefetches in flight: every prefetch ends, nothing pending."""
    server = FakeList(300, latency=0.01)
    got = []
    async for item in server.paginator(mode="pages", window=8):
        got.append(item)
        if len(got) == 15:
            break
    assert got == server.items[:15]
    assert await no_other_tasks() == set()
    assert server.in_flight == 0
    assert server.cancelled >= 1


async def test_aclose_ends_prefetches_at_once() -> None:
    """aclose() on pages() returns only after every prefetch has ended."""
    server = FakeList(300, latency=0.01)
    pages = server.paginator(mode="pages", window=8).pages()
    await anext(pages)
    await asyncio.sleep(0.001)  # the prefetches have started and are waiting on the server
    assert server.in_flight == 8
    await pages.aclose()
    assert server.in_flight == 0
    assert asyncio.all_tasks() == {asyncio.current_task()}


@pytest.mark.parametrize("mode", ["pages", "cursor"])
async def test_cancelling_the_consumer_ends_every_prefetch(mode: str) -> None:
    """Cancelling the task that iterates propagates CancelledError and leaves nothing running."""
    server = FakeList(300, latency=0.01)
    first_page = asyncio.Event()

    async def consume() -> None:
        async for _ in server.paginator(mode=mode, window=8).pages():
            first_page.set()

    task = asyncio.create_task(consume())
    await first_page.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await no_other_tasks() == set()
    assert server.in_flight == 0


async def test_dropped_failed_prefetch_is_not_reported_unretrieved() -> None:
    """A prefetch that failed but was never reached (the consumer broke off) logs nothing."""
    server = FakeList(300)
    server.fail_pages[3] = server_error(3)
    reports: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: reports.append(context))
    try:
        pages = server.paginator(mode="pages", window=8).pages()
        await anext(pages)
        await asyncio.sleep(0.01)  # page 3 has failed by now
        await pages.aclose()
        del pages
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert reports == []


# -- exactly once while the data changes ---------------------------------------------------------


def change_once_by_request(server: FakeList, at: int, change: Callable[[], object]) -> None:
    """Apply ``change`` once, just before request number ``at`` (1-based) is read."""

    def hook(params: dict[str, Any]) -> None:
        if len(server.requests) == at and server.before_read is hook:
            server.before_read = None
            change()

    server.before_read = hook


def change_once(server: FakeList, at_page: int, change: Callable[[], object]) -> None:
    """Apply ``change`` once, just before the request for page ``at_page`` is read."""
    done = []

    def hook(params: dict[str, Any]) -> None:
        if not done and params.get("page") == at_page:
            done.append(change())

    server.before_read = hook


@pytest.mark.parametrize("cursors", [True, False])
@pytest.mark.parametrize("window", [1, 4])
@pytest.mark.parametrize(
    ("name", "at_page"),
    [("insert", 2), ("insert", 4), ("delete-early", 2), ("delete-early", 5), ("delete-many", 3)],
)
async def test_changes_between_pages_lose_and_repeat_nothing(
    cursors: bool, window: int, name: str, at_page: int
) -> None:
    """Inserts at the head and deletes ahead of the read position, between page reads: every item
    present throughout is yielded exactly once, and the change is detected and repaired."""
    server = FakeList(100, cursors=cursors, latency=0.001)
    original = list(server.items)
    deleted: set[str] = set()

    def change() -> None:
        if name == "insert":
            server.insert_head(3)
            return
        victims = original[2:5] if name == "delete-early" else original[1:25]
        for item in victims:
            server.delete(item.uuid)
            deleted.add(item.uuid)

    change_once(server, at_page, change)
    paginator = server.paginator(mode="pages", window=window)
    uuids = [item.uuid for item in await paginator.collect()]
    assert len(uuids) == len(set(uuids))
    assert {item.uuid for item in original} - deleted <= set(uuids)
    assert paginator.stats.repairs >= 1
    assert paginator.stats.mode == ("cursor" if cursors else "pages")


async def test_items_without_a_key_are_deduplicated_by_value() -> None:
    """With key=None, hashable items are their own identity: a shift still yields no repeat."""
    server = FakeList(60, cursors=False)
    change_once(server, 3, lambda: server.insert_head(4))
    items = await server.paginator(key=None, mode="pages").collect()
    assert len(items) == len(set(items))
    assert set(server.items) - set(items) <= set(server.items[:4])


async def test_change_without_identity_or_cursor_raises() -> None:
    """Unhashable items without a key in a list without cursors: a change raises PaginationError
    (carrying the resume token) instead of risking repeats."""

    server = FakeList(60, cursors=False)

    async def fetch(params: dict[str, Any]) -> Page[dict[str, int]]:
        page = await server.fetch(params)
        return attrs.evolve(page, items=tuple({"seq": item.seq} for item in page.items))  # type: ignore[arg-type]

    change_once(server, 3, lambda: server.insert_head(4))
    with pytest.raises(PaginationError) as caught:
        await paginate(fetch, params={}, page_length=10, supports_cursor=False).collect()
    assert caught.value.items_yielded == 20
    assert caught.value.resume_token is not None


# -- servers that say less, or something odd -----------------------------------------------------


async def test_page_numbers_without_any_figures_stop_at_a_short_page() -> None:
    """A server sending no items_count, last_page or cursor is read page by page until a short page."""
    server = FakeList(45, cursors=False)

    async def fetch(params: dict[str, Any]) -> Page[Item]:
        page = await server.fetch(params)
        return Page(items=page.items)

    paginator = paginate(fetch, params={}, page_length=10, supports_cursor=False, key=uuid_of)
    assert await paginator.collect() == server.items
    assert server.page_numbers() == [1, 2, 3, 4, 5]
    assert server.max_in_flight == 1


async def test_last_page_with_a_cursor_is_followed() -> None:
    """When the last numbered page still carries a cursor, reading continues by cursor."""
    numbered = {
        1: Page(items=(1, 2), items_count=4, last_page=2, current_page=1, next_page_cursor="a"),
        2: Page(items=(3, 4), items_count=4, last_page=2, current_page=2, next_page_cursor="b"),
    }
    requests = []

    async def fetch(params: dict[str, Any]) -> Page[int]:
        requests.append(params)
        if "page_cursor" in params:
            assert params["page_cursor"] == "b"
            return Page(items=(5,), items_count=5)
        return numbered[params["page"]]

    paginator = paginate(fetch, params={}, page_length=2, mode="pages")
    assert await paginator.collect() == [1, 2, 3, 4, 5]
    assert paginator.stats.mode == "cursor"
    assert len(requests) == 3


@pytest.mark.parametrize("mode", ["pages", "cursor"])
async def test_invalid_server_cursor_raises(mode: str) -> None:
    """An empty or over-long next_page_cursor from the server raises PaginationError."""
    for bad in ("", "x" * 3000):

        async def fetch(params: dict[str, Any], bad: str = bad) -> Page[int]:
            return Page(
                items=(1,), items_count=3, last_page=3, current_page=1, next_page_cursor=bad
            )

        with pytest.raises(PaginationError, match="invalid next_page_cursor"):
            await paginate(fetch, params={}, page_length=1, mode=mode).collect()


async def test_awaiting_a_failing_first_page_carries_a_token() -> None:
    """await paginator raises the page's error with a token for the start and 0 items."""
    server = FakeList(30)
    server.fail_pages[1] = server_error(1)
    with pytest.raises(ServerError) as caught:
        await server.paginator()
    assert caught.value.items_yielded == 0
    server.fail_pages.clear()
    assert await server.paginator(resume=caught.value.resume_token).collect() == server.items


async def test_cursor_endpoint_whose_server_sends_no_cursor_repairs_by_offsets() -> None:
    """supports_cursor=True but no cursor on the pages: a change is repaired by re-reading, still
    exactly once for the items that stayed."""
    server = FakeList(100, cursors=False, latency=0.001)
    original = list(server.items)
    change_once(server, 4, lambda: [server.delete(item.uuid) for item in original[5:20]])
    paginator = server.paginator(mode="pages", supports_cursor=True, window=4)
    uuids = [item.uuid for item in await paginator.collect()]
    assert len(uuids) == len(set(uuids))
    assert {item.uuid for item in original[:5] + original[20:]} <= set(uuids)
    assert paginator.stats.repairs >= 1


async def test_resume_tokens_never_move_back_during_a_re_read() -> None:
    """While a list without cursors is re-read after a change, page tokens never name an earlier
    page than one already handed out."""
    server = FakeList(100, cursors=False, latency=0.001)
    original = list(server.items)
    change_once(server, 5, lambda: [server.delete(item.uuid) for item in original[10:35]])
    fingerprint = query_fingerprint("/responses", {"form_uuid": "f1"}, 10)
    numbers = []
    async for page in server.paginator(mode="pages", window=4).pages():
        if page.resume_token is not None:
            position, _ = decode_resume_token(page.resume_token, fingerprint, supports_cursor=False)
            numbers.append(position.page)
    assert numbers == sorted(numbers)


# -- the state machine: reads interleaved with inserts and deletes --------------------------------


async def ticks(count: int) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


class ExactlyOnceMachine(RuleBasedStateMachine):
    """One iteration over a FakeList whose requests wait at a gate: the machine replies to them one at
    a time (the data is read when replied to), and in between inserts at the head or deletes any item.
    No item is ever yielded twice; every item present from start to end is yielded.

    ``any_order``: reply to any waiting request, as a server running requests in parallel may (else
    the oldest first). ``anywhere``: inserts may also land anywhere in the order, which page numbers
    cannot always see (see the module docstring), so only cursor reading runs with it.
    """

    mode = "pages"
    cursors = True
    any_order = False
    anywhere = False
    options: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.waiting: list[asyncio.Event] = []  # requests held at the gate, oldest first
        self.consumer: asyncio.Task[None] | None = None
        self.yielded: list[str] = []

    async def gate(self) -> None:
        event = asyncio.Event()
        self.waiting.append(event)
        try:
            await event.wait()
        finally:
            if event in self.waiting:
                self.waiting.remove(event)

    def settle(self) -> None:
        """Run the loop until the iteration is blocked on the gate again."""
        self.loop.run_until_complete(ticks(60))

    @initialize(count=st.integers(0, 30), page_length=st.integers(1, 4), window=st.integers(1, 4))
    def start(self, count: int, page_length: int, window: int) -> None:
        self.server = FakeList(count, cursors=self.cursors)
        self.server.gate = self.gate
        self.throughout = {item.uuid for item in self.server.items}  # present from start to end
        self.ever = set(self.throughout)  # present at any time
        paginator = self.server.paginator(
            mode=self.mode, page_length=page_length, window=window, **self.options
        )

        async def consume() -> None:
            async for item in paginator:
                self.yielded.append(item.uuid)

        self.consumer = self.loop.create_task(consume())
        self.settle()

    @rule(index=st.integers(0, 10**6))
    def reply_a_request(self, index: int) -> None:
        if self.waiting:
            self.waiting.pop(index % len(self.waiting) if self.any_order else 0).set()
            self.settle()

    @rule(count=st.integers(1, 3))
    def insert_at_head(self, count: int) -> None:
        self.ever |= {item.uuid for item in self.server.insert_head(count)}

    @rule(index=st.integers(0, 10**6))
    def insert_anywhere(self, index: int) -> None:
        if self.anywhere:
            self.ever.add(self.server.insert_at(index % (len(self.server.items) + 1)).uuid)

    @rule(index=st.integers(0, 10**6))
    def delete_one(self, index: int) -> None:
        if self.server.items:
            victim = self.server.items[index % len(self.server.items)]
            self.server.delete(victim.uuid)
            self.throughout.discard(victim.uuid)

    @invariant()
    def never_a_repeat(self) -> None:
        assert len(self.yielded) == len(set(self.yielded))

    def teardown(self) -> None:
        consumer = self.consumer
        try:
            if consumer is None:
                return
            for _ in range(5000):  # no more changes: reply until the iteration ends
                if consumer.done():
                    break
                if self.waiting:
                    self.waiting.pop(0).set()
                self.settle()
            assert consumer.done()
            consumer.result()
            assert len(self.yielded) == len(set(self.yielded))
            assert self.throughout <= set(self.yielded)
            assert set(self.yielded) <= self.ever
            assert asyncio.all_tasks(self.loop) == set()
        finally:
            if consumer is not None and not consumer.done():
                consumer.cancel()
                self.loop.run_until_complete(asyncio.wait([consumer]))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()


def machine_case(mode: str, cursors: bool, **attributes: Any) -> type[Any]:
    attributes.update(mode=mode, cursors=cursors)
    machine = type(f"ExactlyOnce_{mode}_{cursors}", (ExactlyOnceMachine,), attributes)
    case: type[Any] = machine.TestCase
    case.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
    return case


TestPagesWithCursors = machine_case("pages", True)
TestPagesWithoutCursors = machine_case("pages", False)
TestPagesWithCursorsAnyOrder = machine_case("pages", True, any_order=True)
TestPagesWithoutCursorsAnyOrder = machine_case("pages", False, any_order=True)
TestCursorsInsertsAnywhere = machine_case("cursor", True, anywhere=True)
TestAutoNotNewestFirst = machine_case(
    "auto", True, anywhere=True, options={"new_items_first": False}
)


async def test_fetch_page_sends_exactly_one_request_by_number_or_cursor() -> None:
    """fetch_page asks for one page with the call's filters, by page number or cursor, never both."""
    sent: list[dict[str, Any]] = []

    async def fetch(params: dict[str, Any]) -> Page[int]:
        sent.append(params)
        return Page(items=(1, 2), current_page=params.get("page"), last_page=5)

    paginator = paginate(fetch, params={"include": "all"}, page_length=2)
    await paginator.fetch_page(page=3)
    await paginator.fetch_page(cursor="abc")
    await paginator.fetch_page()
    assert sent == [
        {"include": "all", "page_length": 2, "page": 3},
        {"include": "all", "page_length": 2, "page_cursor": "abc"},
        {"include": "all", "page_length": 2, "page": 1},
    ]
    with pytest.raises(ValueError, match="page"):
        await paginator.fetch_page(page=2, cursor="abc")
    with pytest.raises(ValueError, match="page"):
        await paginator.fetch_page(page=0)
    assert len(sent) == 3


@pytest.mark.parametrize("mode", ["pages", "cursor"])
async def test_pages_read_ahead_are_decoded_when_handed_out(mode: str) -> None:
    """Pages read ahead wait undecoded until their turn; one that does not decode (its body is not
    JSON) is requested again, and the listing stays exact."""
    fake = FakeList(95)
    decoded: list[int] = []  # first items' sequence numbers, in the order their pages were decoded
    bad_once = {3}  # the third request's reply does not decode the first time

    async def fetch_later(params: dict[str, Any]) -> Reply:
        page = await fake.fetch(params)
        index = len(fake.requests)

        def decode_page() -> Page[Item]:
            if index in bad_once:
                bad_once.discard(index)
                raise ResponseDecodeError("not JSON", method="GET", path="/responses", status=200)
            decoded.append(-page.items[0].seq)
            return page

        return Reply(b"", decode_page)

    listing = fake.paginator(mode=mode, window=4, replies=fetch_later)
    items = await listing.collect()
    assert [item.uuid for item in items] == [f"u{seq}" for seq in range(95, 0, -1)]
    assert listing.stats.refetched == 1
    assert len(fake.requests) == 11  # 10 pages and the one requested again
    assert decoded == sorted(decoded)  # decoded in order, never ahead of their turn
    assert len(decoded) == 10


@pytest.mark.parametrize(("window", "max_items"), [(1, None), (3, None), (1, 35), (3, 35)])
async def test_the_next_request_leaves_before_a_page_is_decoded(
    window: int, max_items: int | None
) -> None:
    """By page number, the request ``window`` pages ahead leaves once a page has arrived and
    before it is decoded, so that its decoding overlaps that request's latency; never further ahead,
    past the last page or past what max_items needs."""
    fake = FakeList(50)  # 5 pages of 10
    sent_at_decoding: dict[int, list[int]] = {}  # page -> the pages requested when it was decoded

    async def fetch_later(params: dict[str, Any]) -> Reply:
        page = await fake.fetch(params)

        def decode_page() -> Page[Item]:
            sent_at_decoding[params["page"]] = fake.page_numbers()
            return page

        return Reply(b"", decode_page)

    listing = fake.paginator(mode="pages", window=window, max_items=max_items, replies=fetch_later)
    items = await listing.collect()
    last = 5 if max_items is None else 4
    assert len(items) == (50 if max_items is None else 35)
    assert fake.page_numbers() == list(range(1, last + 1))  # each page once, none beyond
    assert sent_at_decoding.pop(1) == [1]  # page 1 is decoded as it arrives: it tells what follows
    for page, sent in sent_at_decoding.items():
        assert sent == list(range(1, min(page + window, last) + 1))


def cursor_bytes(cursor: str | None) -> bytes:
    """The tail of a list reply's body carrying ``cursor``."""
    return json.dumps({"items": [], "pagination": {"next_page_cursor": cursor}}).encode()


@pytest.mark.parametrize("guess", ["right", "wrong", "none"])
async def test_by_cursor_the_next_request_leaves_before_a_page_is_decoded(guess: str) -> None:
    """By cursor, the next page is requested by the cursor an arrived page's bytes carry, before
    the page is decoded; a wrong guess is dropped and the right cursor followed, and a body without
    a readable cursor waits for the page. Every item once either way."""
    fake = FakeList(50)  # 5 pages of 10
    sent_at_decoding: list[list[str]] = []  # the cursors requested when each page was decoded

    async def fetch_later(params: dict[str, Any]) -> Reply:
        page = await fake.fetch(params)
        told = {"right": page.next_page_cursor, "wrong": "c999", "none": None}[guess]

        def decode_page() -> Page[Item]:
            sent_at_decoding.append([r["page_cursor"] for r in fake.requests[1:]])
            return page

        return Reply(cursor_bytes(told) if guess != "none" else b"", decode_page)

    listing = fake.paginator(mode="cursor", replies=fetch_later)
    items = await listing.collect()
    assert [item.uuid for item in items] == [f"u{seq}" for seq in range(50, 0, -1)]
    followed = [f"c{seq}" for seq in (41, 31, 21, 11)]
    right = [r["page_cursor"] for r in fake.requests[1:] if r["page_cursor"] != "c999"]
    assert right == followed  # each page once, in order
    assert sent_at_decoding.pop(0) == []  # page 1 is decoded as it arrives: it tells what follows
    if guess == "right":
        assert len(fake.requests) == 5
        assert sent_at_decoding == [followed[: n + 2] for n in range(3)] + [followed]
    elif guess == "wrong":
        assert len(fake.requests) == 5 + 4  # one dropped guess per page decoded
        assert fake.in_flight == 0


async def test_a_guessed_cursor_is_not_requested_when_max_items_may_end_the_page() -> None:
    """No request by a guessed cursor while the page about to be decoded may hold the last items wanted,
    or when the guess is a cursor already followed."""
    fake = FakeList(50)

    async def fetch_later(params: dict[str, Any]) -> Reply:
        page = await fake.fetch(params)
        return Reply(cursor_bytes(page.next_page_cursor), lambda: page)

    items = await fake.paginator(mode="cursor", max_items=25, replies=fetch_later).collect()
    assert len(items) == 25
    assert len(fake.requests) == 3  # pages 1-3; page 3's guess (page 4) never sent
    fake.requests.clear()

    async def repeating(params: dict[str, Any]) -> Reply:
        page = await fake.fetch(params)
        # the cursor just used
        return Reply(cursor_bytes(params.get("page_cursor")), lambda: page)

    assert len(await fake.paginator(mode="cursor", replies=repeating).collect()) == 50
    assert len(fake.requests) == 5


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"items":[],"pagination":{"next_page_cursor":"eyJwIjoyfQ=="}}', "eyJwIjoyfQ=="),
        (b'{"pagination": {"next_page_cursor" : "abc"}, "items": [{"a": 1}]}', "abc"),
        (
            b'{"items":[{"data":{"next_page_cursor":"x"}}],"pagination":{"next_page_cursor":"y"}}',
            "y",
        ),
        (b'{"items":[],"pagination":{"next_page_cursor":null}}', None),
        (b'{"items":[],"pagination":{"next_page_cursor":"a\\"b"}}', None),
        (b'{"items":[],"pagination":{"next_page_cursor":""}}', None),
        (b'{"items":[],"pagination":{"next_page_cursor":"\xff"}}', None),
        (b'{"items":[],"pagination":{}}', None),
        (b"not json", None),
    ],
)
def test_peek_cursor_reads_a_plain_cursor_from_bytes(body: bytes, expected: str | None) -> None:
    assert peek_cursor(body) == expected


@pytest.mark.parametrize("odd", [None, {}, {"uuid": None}, {"uuid": 7}, {"uuid": ["x"]}], ids=repr)
def test_plain_objects_are_told_apart_by_their_uuid_strings_alone(odd: Any) -> None:
    """A page of plain objects is keyed by each one's uuid; one without a string uuid gets an
    identity of its own, whatever the others are, and matches nothing."""
    from refiner_async._pagination._keys import SeenKeys, uuids

    page = [{"uuid": "a"}, {"uuid": "b", "x": 1}]
    assert uuids(page) == ["a", "b"]
    if odd is None:
        return
    idents = uuids([*page, odd, dict(odd)])
    assert idents[:2] == ["a", "b"]
    assert idents[2] != idents[3]
    seen = SeenKeys(uuids, pages_kept=None)
    seen.remember(idents, new=True)
    again = seen.identities((dict(odd),))
    assert again is not None
    assert not seen.overlaps(again)


def test_seen_keys_forget_the_oldest_pages_but_not_keys_a_newer_page_holds() -> None:
    """The key set holds the last ``pages_kept`` pages: a page's keys go with it, except those a
    newer page also holds (an item read again after the data moved)."""
    from refiner_async._pagination import SeenKeys

    seen = SeenKeys(None, pages_kept=2)
    seen.remember(["a", "b"], new=True)
    seen.remember(["c"], new=True)
    seen.remember(["d"], new=True)  # the page holding a and b is forgotten
    assert ("a" in seen, "b" in seen, "c" in seen, "d" in seen) == (False, False, True, True)
    seen.remember(["c", "e"])  # c read again on a newer page
    seen.remember(["f"], new=True)  # forgets the first page holding c, and d's page
    assert ("c" in seen, "d" in seen, "e" in seen, "f" in seen) == (True, False, True, True)
    seen.remember(["g"], new=True)
    seen.remember(["h"], new=True)
    assert [key for key in "cdefgh" if key in seen] == ["g", "h"]


def test_seen_keys_hold_on_to_a_page_only_when_asked_and_only_until_the_next_call() -> None:
    """Keys computed with ``keep=True`` (a page checked for drift) are taken by the next call for
    the same items; after that, or when not asked, nothing in the key set refers to the page."""
    from refiner_async._pagination._keys import SeenKeys

    counted: list[int] = []

    def identify(items: Any) -> list[object]:
        counted.append(len(items))
        return list(items)

    seen = SeenKeys(identify, pages_kept=None)
    page = tuple("ab")  # built here: no constant of the code refers to it

    def held() -> bool:
        return any(isinstance(ref, tuple) for ref in gc.get_referrers(page))

    assert seen.identities(page) == ["a", "b"]
    assert not held()
    assert seen.identities(page, keep=True) == ["a", "b"]
    assert held()
    assert seen.identities(page) == ["a", "b"]  # taken: not computed again
    assert counted == [2, 2]
    assert not held()
    seen.identities(page, keep=True)
    assert seen.identities(("c",)) == ["c"]  # a call for other items drops the kept page
    assert not held()
    assert seen.identities(page) == ["a", "b"]
    assert counted == [2, 2, 2, 1, 2]
