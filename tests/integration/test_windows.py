"""``pagination="windows"``: a response listing cut into date windows read at once, each by
cursor. Every response once (in the order pages arrive), within the query's own date bounds,
resumable from a token taken mid-listing, and exact while other writers insert and delete."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from refiner_async import InvalidParameterError, PaginationError
from refiner_async._codec import PageCodec
from refiner_async._pagination._run import Run
from refiner_async._pagination._tokens import Window
from refiner_async._pagination._windows import _left_after, _turn, cuts_to_windows
from refiner_async.models.page import Page
from refiner_async.testing import FakeRefiner
from tests.conftest import connect_to

pytestmark = pytest.mark.fake_refiner(seed=8, responses=6_000, contacts=900)


def at(day: int, second: int = 0) -> datetime:
    return datetime(2026, 11, day, 0, 0, second, tzinfo=UTC)


def test_cuts_make_disjoint_windows_newest_first() -> None:
    """Cuts become windows newest first, open at both ends; repeats, cuts outside the query's own
    bounds and fractions of a second are dropped."""
    windows = cuts_to_windows(
        [at(3), at(9), at(3), at(6, 0).replace(microsecond=500), at(20)], None, at(15)
    )
    assert windows == (
        Window(start="2026-11-09T00:00:00Z", end=None),
        Window(start="2026-11-06T00:00:00Z", end="2026-11-09T00:00:00Z"),
        Window(start="2026-11-03T00:00:00Z", end="2026-11-06T00:00:00Z"),
        Window(start=None, end="2026-11-03T00:00:00Z"),
    )
    assert cuts_to_windows([], None, None) == (Window(start=None, end=None),)


def test_of_pages_that_came_together_the_window_with_most_left_goes_first() -> None:
    """A window not yet counted goes first, then the one with the most items left, then the
    newest: windows end together rather than one after the other."""
    left = [120.0, math.inf, 500.0, 500.0, 0.0]
    assert sorted(range(5), key=lambda index: _turn(left, index)) == [1, 2, 3, 0, 4]

    def page(n: int, count: int | None) -> Page[Any]:
        return Page(items=tuple(range(n)), items_count=count)

    assert _left_after(page(250, 900), math.inf) == 650  # a window's first page counts it
    assert _left_after(page(250, None), math.inf) == math.inf  # a server that does not count
    assert _left_after(page(250, 900), 650) == 400  # later pages take theirs off


async def test_windows_end_together_when_the_reader_is_slower_than_the_server(
    fake_refiner: FakeRefiner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader slower than the replies finds several windows' pages waiting at once; taking the
    window with the most left first keeps every window going, so none is left to be read alone
    at the end (newest first would read the windows one after the other)."""
    order: list[int] = []
    emit = Run._emit_window

    def recording(self: Any, page: Any, slots: Any, index: int, *args: Any, **kw: Any) -> Any:
        order.append(index)
        return emit(self, page, slots, index, *args, **kw)

    monkeypatch.setattr(Run, "_emit_window", recording)
    async with connect_to(fake_refiner, max_concurrency=4) as client:
        listing = client.responses.list(include="all", page_length=250, pagination="windows")
        async for _ in listing.pages():
            await asyncio.sleep(0.02)  # the reader's own work: the other windows' pages arrive
    assert listing.stats.mode == "windows"
    windows = sorted(set(order))
    assert len(windows) == 4
    # every window is still being read when the last quarter of the pages is handed out
    tail = order[-len(order) // 4 :]
    assert set(tail) == set(windows), order


async def test_every_response_once_in_windows(fake_refiner: FakeRefiner) -> None:
    """Every response once, read in windows, a few requests more than by cursor: page 1, which
    the newest window reads again, and one-item probes for the cuts."""
    async with connect_to(fake_refiner) as client:
        listing = client.responses.list(include="all", page_length=250, pagination="windows")
        uuids = [r.uuid async for r in listing]
    assert listing.stats.mode == "windows"
    assert len(uuids) == len(set(uuids)) == 6_000
    assert set(uuids) == fake_refiner.all_response_uuids(include="all")
    assert 24 < listing.stats.requests <= 24 + 1 + 7 + 8  # pages, page 1, probes, window tails


async def test_a_windows_next_page_is_asked_for_before_its_page_is_decoded(
    fake_refiner: FakeRefiner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each window's next page is requested by the cursor an arrived page's bytes carry, before
    that page is decoded, and only once: no request more than the window's own pages."""
    launched: list[str] = []
    unasked: list[str] = []  # the cursors of pages decoded before they were asked for
    launch, decode = Run._launch_params, PageCodec.decode

    def recording_launch(self: Run[Any], params: dict[str, Any]) -> Any:
        launched.append(params.get("page_cursor", ""))
        return launch(self, params)

    async def checking_decode(self: PageCodec[Any], raw: Any) -> Any:
        page = await decode(self, raw)
        if page.next_page_cursor is not None and page.next_page_cursor not in launched:
            unasked.append(page.next_page_cursor)
        return page

    monkeypatch.setattr(Run, "_launch_params", recording_launch)
    monkeypatch.setattr(PageCodec, "decode", checking_decode)
    async with connect_to(fake_refiner) as client:
        listing = client.responses.list(include="all", page_length=250, pagination="windows")
        uuids = [r.uuid async for r in listing]
    assert len(uuids) == len(set(uuids)) == 6_000
    assert len(unasked) == 8  # page 1 and the probes, whose cursors no window follows
    assert not set(unasked) & set(launched)
    cursors = [c for c in launched if c]
    assert len(cursors) == len(set(cursors))  # each cursor asked for once
    assert listing.stats.requests <= 24 + 1 + 7 + 8


async def test_windows_stay_inside_the_querys_dates(fake_refiner: FakeRefiner) -> None:
    """With date_range_start and date_range_end, the windows cut inside them: the same responses
    as a cursor listing of that query."""
    newest = fake_refiner.store.responses[fake_refiner.live_response_uuids("all")[0]].sort_at
    start = datetime.fromtimestamp(newest - 20 * 86_400, UTC)
    end = datetime.fromtimestamp(newest - 5 * 86_400, UTC)
    query = {"include": "all", "date_range_start": start, "date_range_end": end}
    async with connect_to(fake_refiner) as client:
        by_cursor = await client.responses.list(**query, pagination="cursor").collect()
        windows = client.responses.list(**query, page_length=100, pagination="windows")
        in_windows = await windows.collect()
    assert windows.stats.mode == "windows"
    assert len(by_cursor) > 200
    assert sorted(r.uuid for r in in_windows) == sorted(r.uuid for r in by_cursor)


async def test_a_token_taken_mid_listing_resumes_the_windows(fake_refiner: FakeRefiner) -> None:
    """The token of a page handed out names every window not done; resuming from it gives exactly
    the responses not yet yielded."""
    async with connect_to(fake_refiner) as client:
        first: list[str] = []
        token = None
        async for page in client.responses.list(page_length=200, pagination="windows").pages():
            first += [r.uuid for r in page.items]
            token = page.resume_token
            if len(first) >= 1_000:
                break
        assert token is not None
        assert token.startswith("r2.")
        rest = client.responses.list(page_length=200, pagination="windows", resume=token)
        second = [r.uuid async for r in rest]
        with pytest.raises(PaginationError, match="different list call"):
            client.responses.list(page_length=100, pagination="windows", resume=token)
    assert rest.stats.mode == "windows"
    everything = first + second
    assert len(everything) == len(set(everything))
    assert set(everything) == set(fake_refiner.live_response_uuids())


async def test_max_items_in_windows(fake_refiner: FakeRefiner) -> None:
    """max_items gives that many responses, each once (any of them: windows arrive in any
    order), and its last page's token resumes after them."""
    async with connect_to(fake_refiner) as client:
        listing = client.responses.list(page_length=100, pagination="windows", max_items=450)
        pages = [page async for page in listing.pages()]
        uuids = [r.uuid for page in pages for r in page.items]
        token = pages[-1].resume_token
        assert token is not None
        rest = [
            r.uuid
            async for r in client.responses.list(
                page_length=100, pagination="windows", resume=token
            )
        ]
    assert len(uuids) == len(set(uuids)) == 450
    assert len(rest) + 450 == len(set(rest) | set(uuids))
    assert set(rest) | set(uuids) == set(fake_refiner.live_response_uuids())


async def test_windows_stay_exact_while_responses_change(fake_refiner: FakeRefiner) -> None:
    """With inserts and deletes anywhere every two requests, every response present throughout
    is yielded once, and nothing that never existed."""
    fake_refiner.mutate(every=2, insert=30, delete=10, where="random")
    async with connect_to(fake_refiner) as client:
        fake_refiner.reset_tracking()
        uuids = [r.uuid async for r in client.responses.list(pagination="windows")]
    fake_refiner.stop_mutation()
    assert len(uuids) == len(set(uuids))
    assert fake_refiner.stable_response_uuids() <= set(uuids)
    assert set(uuids) <= fake_refiner.all_response_uuids()


async def test_only_lists_with_a_date_filter_take_windows(fake_refiner: FakeRefiner) -> None:
    """Contacts cannot be cut by date: asking is refused before any request (segments and forms
    take no pagination argument); a token that is not an r1/r2 token is refused too."""
    async with connect_to(fake_refiner) as client:
        with pytest.raises(InvalidParameterError, match="date windows"):
            client.contacts.list(pagination="windows")
        with pytest.raises(PaginationError, match="r2"):
            client.responses.list(pagination="windows", resume="r9.abc")
        with pytest.raises(PaginationError, match="corrupt"):
            client.responses.list(pagination="windows", resume="r2.bm90IGpzb24")
    assert fake_refiner.stats()["requests_total"] == 0
