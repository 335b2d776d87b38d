"""Exactly once when the changes balance out: right after the page holding a response has been
read, another writer deletes that response's contact and stores a back-dated response that lands
further down the list. The count, the last page, page lengths and key overlap all look unchanged,
so page numbers cannot see that an item slid onto a page already read; the default listing must
still yield every response that existed the whole time, once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from refiner_async import PaginationMode, RefinerClient
from refiner_async.testing import FakeRefiner
from tests.conftest import connect_to

PAGE = 100


def lone_response_on_page_1(fake: FakeRefiner) -> tuple[str, str]:
    """A response of the default listing's first page (not its last) whose contact has no other
    completed response, and that contact's uuid."""
    listed = fake.live_response_uuids("completed")
    completed = set(listed)
    for uuid in listed[: PAGE - 1]:
        contact = fake.store.responses[uuid].contact
        if [r.uuid for r in contact.responses if r.uuid in completed] == [uuid]:
            return uuid, contact.uuid
    raise AssertionError("no contact with a single completed response on page 1")


class Writer:
    """The other writer: once the page holding ``victim`` has been served, the next read of the
    list waits while it deletes the victim's contact and stores a response dated three days
    before page 1's last one."""

    def __init__(self, fake: FakeRefiner, client: RefinerClient, seed: int) -> None:
        self.fake, self.client, self.seed = fake, client, seed
        self.before = set(fake.live_response_uuids("completed"))
        self.victim, self.contact = lone_response_on_page_1(fake)
        self.victim_read = False
        self.writing: asyncio.Task[None] | None = None
        self.stored: list[str] = []

    async def writes(self) -> None:
        fake = self.fake
        await self.client.contacts.delete(uuid=self.contact)
        page_1_last = fake.store.responses[fake.live_response_uuids("completed")[PAGE - 1]]
        older = datetime.fromtimestamp(page_1_last.sort_at, UTC) - timedelta(days=3)
        form = next(iter(fake.store.forms))
        result = await self.client.responses.store(form, id=f"late-{self.seed}", date=older)
        self.stored.append(str(result.uuid))
        assert len(fake.live_response_uuids("completed")) == len(self.before)  # -1 +1

    async def before_read(self) -> None:
        if self.victim_read:
            if self.writing is None:
                self.writing = asyncio.ensure_future(self.writes())
            await self.writing

    def after_read(self, body: bytes) -> None:
        self.victim_read = self.victim_read or self.victim.encode() in body


@pytest.mark.parametrize("mode", ["auto", "windows"])
@pytest.mark.parametrize("seed", range(3))
async def test_a_delete_above_and_a_backdated_store_below_lose_nothing(
    seed: int, mode: PaginationMode, monkeypatch: pytest.MonkeyPatch, report: Any
) -> None:
    """The default listing (by cursor) and the one in date windows lose nothing and repeat
    nothing (concurrent page numbers lost the first item of page 2 in every seed)."""
    writers: list[Writer] = []
    dispatch = FakeRefiner._dispatch

    async def watched(self: FakeRefiner, request: web.Request) -> web.StreamResponse:
        listing = bool(writers) and request.method == "GET" and request.path.endswith("/responses")
        if listing:
            await writers[0].before_read()
        response = await dispatch(self, request)
        body = getattr(response, "body", None)
        if listing and isinstance(body, bytes):
            writers[0].after_read(body)
        return response

    monkeypatch.setattr(FakeRefiner, "_dispatch", watched)  # before the emulator binds its routes
    async with (
        FakeRefiner(seed=seed, responses=2500, contacts=1200) as fake,
        connect_to(fake) as client,
        connect_to(fake) as other,
    ):
        writer = Writer(fake, other, seed)
        writers.append(writer)
        listing = client.responses.list(page_length=PAGE, pagination=mode)
        seen = [response.uuid async for response in listing]
    assert writer.writing is not None
    assert writer.writing.done()
    expected = writer.before - {writer.victim}
    report(
        "exactness: delete above, back-dated store below",
        seed=seed,
        asked=mode,
        mode=listing.stats.mode,
        requests=listing.stats.requests,
        yielded=len(seen),
        missing=len(expected - set(seen)),
        duplicates=len(seen) - len(set(seen)),
    )
    assert len(seen) == len(set(seen))  # nothing twice
    assert expected <= set(seen)  # nothing that existed the whole time lost
    assert set(seen) <= writer.before | set(writer.stored)  # nothing that never existed
