"""Listing against FakeRefiner: every mode yields the same items, once each: in server order by page
number and by cursor, pages in arrival order in date windows (what "auto" reads large response
lists with)."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

from refiner_async import RefinerClient
from refiner_async._codec import PageCodec
from refiner_async.models import Response
from refiner_async.resources._base import page_fetch
from refiner_async.testing import FakeRefiner
from tests.conftest import connect_to

pytestmark = pytest.mark.usefixtures("instant")


@pytest.fixture(scope="module")
def dataset_size() -> int:
    return 25_000


async def test_25k_responses_identical_in_every_mode(dataset_size: int) -> None:
    """pages, cursor and auto list the same 25,000 responses, none twice; pages and cursor newest
    first, auto (date windows) each window newest first."""
    async with FakeRefiner(seed=3, responses=dataset_size) as fake:
        expected = fake.all_response_uuids(include="all")
        results = {}
        async with RefinerClient(fake.api_key, base_url=fake.base_url, rate_limit=None) as client:
            for mode in ("pages", "cursor", "auto"):
                items = await client.responses.list(include="all", pagination=mode).collect()
                results[mode] = [r.uuid for r in items]
    assert len(expected) == dataset_size
    for mode, uuids in results.items():
        assert len(uuids) == dataset_size, mode
        assert set(uuids) == expected, mode
    assert results["pages"] == results["cursor"]
    assert results["auto"] != results["cursor"]  # pages as they arrive


async def test_a_cursor_listing_sends_one_request_per_page() -> None:
    """By cursor, each page's successor is requested by the cursor read from its bytes before it is
    opened: the guess holds on the emulator's replies, so no request is wasted."""
    pages = 0
    async with FakeRefiner(seed=3, responses=2_500, contacts=450) as fake:
        async with RefinerClient(fake.api_key, base_url=fake.base_url, rate_limit=None) as client:
            for listing, length in (
                (client.responses.list(include="all", page_length=100, pagination="cursor"), 100),
                (client.contacts.list(page_length=50), 50),
            ):
                items = await listing.collect()
                assert len({item.uuid for item in items}) == len(items)
                assert listing.stats.requests == -(-len(items) // length)
                pages += listing.stats.requests
            codec = PageCodec(client._decoding, Response)
            reply = await page_fetch(client, "/responses")(
                {"include": "all", "page_length": 100, "page": 1}, None
            )
            cursor = codec.next_cursor(reply)
            opened = await codec.decode(reply)
        requests = fake.stats()["requests_total"]
    assert (pages, requests) == (25 + 9, 25 + 9 + 1)
    assert cursor is not None
    assert cursor == opened.next_page_cursor


async def test_every_resource_lists_completely() -> None:
    """contacts, forms and segments list every item the emulator holds."""
    async with FakeRefiner(seed=4, responses=2_000, contacts=1_500, forms=12, segments=7) as fake:
        stats = fake.stats()["data"]
        async with RefinerClient(fake.api_key, base_url=fake.base_url, rate_limit=None) as client:
            contacts = await client.contacts.list(page_length=200).collect()
            forms = await client.forms.list(state="all_with_archived", page_length=5).collect()
            segments = await client.segments.list(page_length=3).collect()
    assert len({c.uuid for c in contacts}) == len(contacts) == stats["contacts"]
    assert len({f.uuid for f in forms}) == len(forms) == stats["forms"]
    assert len({s.uuid for s in segments}) == len(segments) == stats["segments"]


async def test_auto_rule_per_endpoint() -> None:
    """auto reads a large response list in date windows, a small one, contacts and segments by
    cursor (new items can land anywhere: a response stored with a past date), forms (no cursor)
    by concurrent page numbers."""
    async with (
        FakeRefiner(seed=5, responses=3_000, contacts=600) as fake,
        RefinerClient(fake.api_key, base_url=fake.base_url, rate_limit=None) as client,
    ):
        responses = client.responses.list(page_length=100)
        few = client.responses.list(page_length=100, max_items=250)  # the newest 250, in order
        short = client.responses.list(page_length=1000)  # 3 pages: windows would cost more
        contacts = client.contacts.list(page_length=100)
        segments = client.segments.list(page_length=2)
        forms = client.forms.list(page_length=2)
        for paginator in (responses, few, short, contacts, segments, forms):
            assert await paginator.collect()
    assert responses.stats.mode == "windows"
    assert few.stats.mode == short.stats.mode == "cursor"
    assert contacts.stats.mode == "cursor"
    assert segments.stats.mode == "cursor"
    assert forms.stats.mode == "pages"


async def test_listing_stays_exact_while_responses_change() -> None:
    """With inserts and deletes every two requests, every response present throughout is yielded once."""
    async with FakeRefiner(seed=6, responses=20_000) as fake:
        fake.mutate(every=2, insert=30, delete=10, where="random")
        async with RefinerClient(fake.api_key, base_url=fake.base_url, rate_limit=None) as client:
            for mode in ("pages", "cursor", "auto"):
                fake.reset_tracking()
                uuids = [r.uuid async for r in client.responses.list(pagination=mode)]
                assert len(uuids) == len(set(uuids)), mode
                assert fake.stable_response_uuids() <= set(uuids), mode
                assert set(uuids) <= fake.all_response_uuids(), mode
        fake.stop_mutation()


def _live(cls: type) -> int:
    """How many instances of ``cls`` are alive."""
    gc.collect()
    return sum(type(o) is cls for o in gc.get_objects())


@pytest.mark.parametrize("mode", ["pages", "cursor", "windows", "auto"])
async def test_a_page_of_models_lives_only_while_its_items_are_read(mode: str) -> None:
    """Iterating item by item, the models alive are those of the page being read: the listing
    keeps no page it handed out (nor page 1 read to plan windows) while it reads the next one."""
    length = 200
    async with FakeRefiner(seed=5, responses=2_000) as fake, connect_to(fake) as client:
        listing = client.responses.list(include="all", page_length=length, pagination=mode)
        before = _live(Response)
        alive, seen = [], 0
        async for _ in listing:
            seen += 1
            if seen % length == length // 2:  # mid-page, the previous page long handed out
                alive.append(_live(Response) - before)
    assert listing.stats.mode == ("windows" if mode == "auto" else mode)
    assert seen == 2_000
    assert len(alive) == 10
    assert max(alive) <= length, alive


@pytest.mark.parametrize("mode", ["pages", "cursor", "windows"])
async def test_a_pages_body_is_freed_before_the_page_is_handed_out(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bytes a page came as go once it is decoded: the listing holds no body of the page it
    hands out (pages read ahead wait as bytes only until their turn)."""
    bodies: dict[str, weakref.ref[Any]] = {}  # a page's first response -> the reply it came as
    decode = PageCodec.decode

    async def recording(self: PageCodec[Any], raw: Any) -> Any:
        page = await decode(self, raw)
        bodies[page.items[0].uuid] = weakref.ref(raw)
        return page

    monkeypatch.setattr(PageCodec, "decode", recording)
    kept = []  # for each page handed out: whether its body is still alive
    async with FakeRefiner(seed=5, responses=2_000) as fake, connect_to(fake) as client:
        listing = client.responses.list(include="all", page_length=200, pagination=mode)
        async for page in listing.pages():
            kept.append(bodies[page.items[0].uuid]() is not None)
    assert listing.stats.mode == mode
    assert len(kept) >= 10
    assert not any(kept), kept
