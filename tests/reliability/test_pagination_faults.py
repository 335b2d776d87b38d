"""Listing under faults and shifting data (T1, T8, T14-T18, T23's foreign cursor).

Full listings run against FakeRefiner; cursor misbehaviour the emulator never shows (repeats, cycles,
empty pages that go on, cursors that look like URLs) comes from a scripted list server that serves
real response items taken from an emulator.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from refiner_async import PaginationError, RefinerClient, ServerError
from refiner_async._codec import PageCodec
from refiner_async._pagination import MAX_EMPTY_RUN, Paginator
from refiner_async.models import Response
from refiner_async.resources._base import page_fetch
from refiner_async.testing import FakeRefiner
from tests.conftest import call

pytestmark = pytest.mark.usefixtures("instant")


def list_requests(fake: FakeRefiner) -> int:
    return sum(1 for e in fake.journal.entries if e.method == "GET" and e.path == "/v1/responses")


async def drain(listing: Any, into: list[str]) -> None:
    """Iterate ``listing``, keeping each item's uuid (so what came before an error is known)."""
    async for item in listing:
        into.append(item.uuid)


def order_violations(yielded: list[str], server_order: list[str]) -> int:
    """Adjacent yielded items (present at the end) that the server orders the other way round."""
    rank = {uuid: i for i, uuid in enumerate(server_order)}
    ranks = [rank[u] for u in yielded if u in rank]
    return sum(1 for a, b in itertools.pairwise(ranks) if a > b)


# ------------------------------------------------------------------------------------------- T1


async def test_t1_baseline_25000_items(
    connect: Callable[..., Any], report: Callable[..., str]
) -> None:
    """25,000 items at 1000 a page, sequentially, 8 at once and by cursor: all of them, once, in
    server order, in exactly 25 requests."""
    async with FakeRefiner(seed=1, responses=25_000) as fake:
        expected = fake.live_response_uuids("all")
        for label, mode, concurrency in [
            ("pages sequential", "pages", 1),
            ("pages x8", "pages", 8),
            ("cursor", "cursor", 8),
        ]:
            before = list_requests(fake)
            async with connect(fake, max_concurrency=concurrency) as client:
                started = time.monotonic()
                items = await client.responses.list(
                    include="all", page_length=1000, pagination=mode
                ).collect()
                elapsed = time.monotonic() - started
            requests = list_requests(fake) - before
            uuids = [r.uuid for r in items]
            report(
                f"T1 {label}",
                expected=len(expected),
                yielded=len(uuids),
                unique=len(set(uuids)),
                requests=requests,
                seconds=round(elapsed, 2),
            )
            assert uuids == expected, label
            assert requests == 25, label


# ------------------------------------------------------------------------------------------- T8


async def test_t8_persistent_500_fails_the_iteration_with_a_resume_token(
    connect: Callable[..., Any], report: Callable[..., str]
) -> None:
    """Page 7 always answers 500: ServerError after max_retries+1 attempts, the first six pages
    yielded once, and the token resumes exactly at page 7 once the server recovers."""
    max_retries = 3
    async with FakeRefiner(seed=8, responses=1000) as fake:
        expected = fake.live_response_uuids("all")
        fake.faults.add("500", path="/responses", match={"page": 7})
        yielded: list[str] = []
        async with connect(fake, max_retries=max_retries) as client:
            listing = client.responses.list(include="all", page_length=100, pagination="pages")
            with pytest.raises(ServerError) as caught:
                await drain(listing, yielded)
            attempts_on_7 = sum(1 for e in fake.journal.entries if "page=7&" in e.query + "&")
            fake.faults.clear()
            token = caught.value.resume_token
            assert token is not None
            rest = await client.responses.list(
                include="all", page_length=100, pagination="pages", resume=token
            ).collect()
    report(
        "T8 persistent 500",
        attempts_on_page_7=attempts_on_7,
        error_attempts=caught.value.attempts,
        yielded_before_error=len(yielded),
        items_yielded=caught.value.items_yielded,
        resumed=len(rest),
    )
    assert caught.value.attempts == max_retries + 1
    assert attempts_on_7 == max_retries + 1
    assert yielded == expected[:600]
    assert caught.value.items_yielded == 600
    assert yielded + [r.uuid for r in rest] == expected


# ------------------------------------------------------------------------------ scripted cursors


class ScriptedList:
    """``GET /v1/responses`` answered from a script: cursor (None for the first request) ->
    (items, next cursor). Items are real responses taken from an emulator."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items
        self.script: dict[str | None, tuple[list[Any], str | None]] = {}
        self.cursors: list[str | None] = []

    async def handle(self, request: web.Request) -> web.Response:
        cursor = request.query.get("page_cursor")
        self.cursors.append(cursor)
        if cursor not in self.script:
            return web.json_response({"error": "Invalid page_cursor"}, status=400)
        items, following = self.script[cursor]
        pagination = {"page_length": 10, "next_page_cursor": following}
        return web.json_response({"items": items, "pagination": pagination})


@pytest.fixture
async def scripted(
    raw_server: Callable[..., Awaitable[str]], connect: Callable[..., Any]
) -> tuple[ScriptedList, str]:
    async with FakeRefiner(seed=14, responses=200) as fake, connect(fake) as client:
        payload = await call(
            client, "GET", "/responses", params={"include": "all", "page_length": 40}
        )
    server = ScriptedList(payload["items"])
    return server, await raw_server(server.handle)


def chunk(items: list[Any], n: int) -> list[Any]:
    return items[n * 10 : (n + 1) * 10]


@pytest.mark.parametrize(
    ("label", "script", "requests"),
    [
        ("repeat", {None: (0, "A"), "A": (1, "A")}, 2),
        ("cycle", {None: (0, "A"), "A": (1, "B"), "B": (2, "A")}, 3),
    ],
)
async def test_t14_repeated_or_cycling_cursors_stop_the_iteration(
    scripted: tuple[ScriptedList, str],
    api_key: str,
    report: Callable[..., str],
    label: str,
    script: dict[str | None, tuple[int, str]],
    requests: int,
) -> None:
    """A cursor repeated, or leading back to an earlier page: PaginationError, no extra request."""
    server, base = scripted
    server.script = {c: (chunk(server.items, n), nxt) for c, (n, nxt) in script.items()}
    yielded: list[str] = []
    async with RefinerClient(api_key, base_url=base, rate_limit=None) as client:
        listing = client.responses.list(page_length=10, pagination="cursor")
        with pytest.raises(PaginationError) as caught:
            await drain(listing, yielded)
    report(
        f"T14 {label}", requests=len(server.cursors), extra_requests=len(server.cursors) - requests
    )
    assert len(server.cursors) == requests
    assert caught.value.resume_token is not None
    assert len(yielded) == len(set(yielded))


async def test_t14_max_pages_caps_an_endless_listing(
    scripted: tuple[ScriptedList, str], api_key: str
) -> None:
    """A server that always has another (new) cursor: the max_pages cap ends the iteration."""
    server, base = scripted
    server.script = {None: (server.items[:1], "c1")}  # one new item a page, endlessly
    server.script.update({f"c{n}": (server.items[n : n + 1], f"c{n + 1}") for n in range(1, 40)})
    async with RefinerClient(api_key, base_url=base, rate_limit=None) as client:
        listing = Paginator(
            page_fetch(client, "/responses"),
            PageCodec(client._decoding, Response),
            params={},
            page_length=10,
            mode="cursor",
            endpoint="/responses",
            key=lambda r: r.uuid,
            max_pages=25,
        )
        with pytest.raises(PaginationError, match="max_pages"):
            await listing.collect()
    assert len(server.cursors) == 25


async def test_endless_empty_pages_stop_after_a_short_run(
    scripted: tuple[ScriptedList, str], api_key: str
) -> None:
    """Empty pages whose cursors lead on forever raise PaginationError after MAX_EMPTY_RUN pages,
    not after max_pages; the items before them were handed out."""
    server, base = scripted
    server.script = {None: (server.items[:10], "c1")}
    server.script.update({f"c{n}": ([], f"c{n + 1}") for n in range(1, 1000)})
    got: list[str] = []
    async with RefinerClient(api_key, base_url=base, rate_limit=None) as client:
        listing = client.responses.list(page_length=10, pagination="cursor")
        with pytest.raises(PaginationError, match="no new item") as caught:
            await drain(listing, got)
    assert got == [i["uuid"] for i in server.items[:10]]
    # the pages read, and at most one more asked for ahead and dropped
    assert 1 + MAX_EMPTY_RUN <= len(server.cursors) <= 2 + MAX_EMPTY_RUN
    assert caught.value.items_yielded == 10


async def test_t18_empty_page_with_a_cursor_is_followed(
    scripted: tuple[ScriptedList, str], api_key: str, report: Callable[..., str]
) -> None:
    """An empty page that still has a cursor (filtered out server-side) does not end the listing."""
    server, base = scripted
    server.script = {
        None: (chunk(server.items, 0), "A"),
        "A": ([], "B"),
        "B": ([], "C"),
        "C": (chunk(server.items, 1), None),
    }
    async with RefinerClient(api_key, base_url=base, rate_limit=None) as client:
        items = await client.responses.list(page_length=10, pagination="cursor").collect()
    report("T18 empty pages", items=len(items), requests=len(server.cursors))
    assert [r.uuid for r in items] == [i["uuid"] for i in server.items[:20]]
    assert len(server.cursors) == 4


async def test_t23_a_cursor_shaped_like_a_url_is_never_followed(
    scripted: tuple[ScriptedList, str],
    raw_server: Callable[..., Awaitable[str]],
    api_key: str,
) -> None:
    """A next_page_cursor that is another host's URL is sent back as a parameter to the API only."""
    server, base = scripted
    foreign_hits = Counter[str]()

    async def foreign(request: web.Request) -> web.Response:
        foreign_hits[request.path] += 1
        return web.json_response({"items": [], "pagination": {}})

    elsewhere = await raw_server(foreign) + "/responses?page_cursor=x"
    server.script = {
        None: (chunk(server.items, 0), elsewhere),
        elsewhere: (chunk(server.items, 1), None),
    }
    async with RefinerClient(api_key, base_url=base, rate_limit=None) as client:
        items = await client.responses.list(page_length=10, pagination="cursor").collect()
    assert len(items) == 20
    assert server.cursors == [None, elsewhere]
    assert sum(foreign_hits.values()) == 0


# ------------------------------------------------------------------------------ shifting data


@pytest.mark.parametrize(
    ("label", "change", "mode", "concurrency"),
    [
        ("T15 inserts at the head", {"insert": 20, "where": "head"}, "pages", 8),
        ("T16 deletes ahead", {"delete": 20}, "pages", 8),
        ("T15+T16 sequential", {"insert": 10, "delete": 10, "where": "head"}, "pages", 1),
        ("T15+T16 anywhere, cursor", {"insert": 10, "delete": 10, "where": "random"}, "cursor", 8),
    ],
)
async def test_t15_t16_listing_while_the_data_moves(
    connect: Callable[..., Any],
    report: Callable[..., str],
    label: str,
    change: dict[str, Any],
    mode: str,
    concurrency: int,
) -> None:
    """Listing while 200 or more responses are inserted or deleted: every response present for the
    whole run yielded exactly once, nothing that never existed, in server order."""
    async with FakeRefiner(seed=15, responses=5000) as fake:
        fake.reset_tracking()
        fake.mutate(every=2, kind="completed", **change)
        async with connect(fake, max_concurrency=concurrency) as client:
            listing = client.responses.list(include="all", page_length=250, pagination=mode)
            uuids = [r.uuid async for r in listing]
        fake.stop_mutation()
        stable = fake.stable_response_uuids("all")
        ever = fake.all_response_uuids("all")
        final_order = fake.live_response_uuids("all")
        moved = fake.stats()["mutations"]
    duplicates = len(uuids) - len(set(uuids))
    missing = len(stable - set(uuids))
    report(
        label,
        inserted=moved["inserted"],
        deleted=moved["deleted"],
        yielded=len(uuids),
        duplicates=duplicates,
        missing=missing,
        suppressed=listing.stats.duplicates_dropped,
        repairs=listing.stats.repairs,
        order_violations=order_violations(uuids, final_order),
    )
    assert moved["inserted"] + moved["deleted"] >= 150
    assert duplicates == 0
    assert missing == 0
    assert set(uuids) <= ever
    assert order_violations(uuids, final_order) == 0


async def test_page_numbers_with_inserts_anywhere_never_duplicate(
    connect: Callable[..., Any], report: Callable[..., str]
) -> None:
    """The documented limit of offsets: with inserts below a page boundary balanced by deletes above
    it, forced page numbers may miss a moved response (cursors do not, see above), but still never
    yield one twice or one that never existed."""
    async with FakeRefiner(seed=15, responses=5000) as fake:
        fake.reset_tracking()
        fake.mutate(every=2, kind="completed", insert=10, delete=10, where="random")
        async with connect(fake, max_concurrency=1) as client:
            listing = client.responses.list(include="all", page_length=250, pagination="pages")
            uuids = [r.uuid async for r in listing]
        fake.stop_mutation()
        stable = fake.stable_response_uuids("all")
        ever = fake.all_response_uuids("all")
    report(
        "T15+T16 anywhere, pages",
        yielded=len(uuids),
        duplicates=len(uuids) - len(set(uuids)),
        missing=len(stable - set(uuids)),
        repairs=listing.stats.repairs,
    )
    assert len(uuids) == len(set(uuids))
    assert set(uuids) <= ever
    assert len(stable - set(uuids)) < 0.01 * len(stable)


async def test_t17_concurrent_pages_with_moving_data_and_a_failed_page(
    connect: Callable[..., Any], report: Callable[..., str]
) -> None:
    """Window of 8, inserts at the head, then every page request fails: the iteration fails with a
    typed error carrying its resume token; collect() returns no partial list."""
    async with FakeRefiner(seed=17, responses=5000) as fake:
        fake.mutate(every=3, insert=10, where="head")
        answered = 0
        trace = aiohttp.TraceConfig()

        async def outage_after_six(*_: Any) -> None:  # from then on every page request fails
            nonlocal answered
            answered += 1
            if answered == 6:
                fake.faults.add("503", path="/responses")

        trace.on_request_end.append(outage_after_six)
        async with connect(fake, max_concurrency=8, max_retries=2, trace_configs=[trace]) as client:
            listing = client.responses.list(include="all", page_length=250, pagination="pages")
            result: list[Any] | None = None
            with pytest.raises(ServerError) as caught:
                result = await listing.collect()
        fake.stop_mutation()
    report(
        "T17 failed page",
        error=type(caught.value).__name__,
        items_yielded_before=caught.value.items_yielded,
        repairs=listing.stats.repairs,
        partial_results_returned=0 if result is None else len(result),
    )
    assert result is None
    assert caught.value.resume_token is not None
    assert caught.value.items_yielded is not None
    assert 0 < caught.value.items_yielded < 5000


async def test_t18_last_page_exactly_full_needs_no_extra_request(
    connect: Callable[..., Any],
) -> None:
    """5,000 items at 500 a page: exactly 10 requests, by page number and by cursor."""
    async with FakeRefiner(seed=18, responses=5000) as fake, connect(fake) as client:
        counts = {}
        for mode in ("pages", "cursor"):
            before = list_requests(fake)
            items = await client.responses.list(
                include="all", page_length=500, pagination=mode
            ).collect()
            assert len(items) == 5000
            counts[mode] = list_requests(fake) - before
    assert counts == {"pages": 10, "cursor": 10}
