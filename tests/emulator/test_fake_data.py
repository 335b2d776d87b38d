"""The seeded data set: deterministic, realistic, fast to build; bad requests are clean 400s."""

from __future__ import annotations

import re
import time

import aiohttp
import orjson
import pytest

from refiner_async.testing import ASSUMPTIONS, FakeRefiner
from refiner_async.testing._records import fmt_iso, fmt_space

NOW = 1_767_225_600  # 2026-01-01 00:00:00 UTC
SPACE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


async def test_same_seed_same_data(fake_refiner_factory):
    """Two emulators with the same seed serve byte-identical data; another seed differs."""
    bodies = []
    for seed in (7, 7, 8):
        fake = await fake_refiner_factory(seed=seed, responses=300, now=NOW)
        headers = {"Authorization": f"Bearer {fake.api_key}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            chunk = b""
            for path in ("/responses?page_length=1000&include=all", "/contacts?page_length=1000"):
                async with session.get(fake.base_url + path) as response:
                    chunk += await response.read()
        bodies.append(chunk)
    assert bodies[0] == bodies[1]
    assert bodies[0] != bodies[2]


async def test_responses_look_real(api):
    """Responses are about 1 KB with NPS, rating and text answers, contacts and accounts."""
    items = await api.walk("/responses", {"include": "all", "page_length": 1000})
    completed = [i for i in items if i["completed_at"]]
    sizes = [len(orjson.dumps(i)) for i in completed]
    assert 700 <= sum(sizes) / len(sizes) <= 1500
    answers = [v for i in completed for v in i["data"].values()]
    assert any(isinstance(v, int) and 0 <= v <= 10 for v in answers)
    assert any(isinstance(v, str) and len(v) > 100 for v in answers)
    assert any(i["completed_at"] is None and i["data"] for i in items)  # partials
    assert any(i["dismissed_at"] for i in items)
    assert any(i["contact"]["account"] for i in items)
    for item in items[:50]:
        assert "@" in (item["contact"]["email"] or "@")
        for field in ("first_shown_at", "last_shown_at", "received_at"):
            assert SPACE.match(item[field]), item[field]
    contact = (await api.ok("/contacts", {"page_length": 1}))["items"][0]
    assert ISO.match(contact["first_seen_at"])
    assert ISO.match(contact["last_seen_at"])
    form = (await api.ok("/forms", {"include_info": 1}))["items"][0]
    assert ISO.match(form["created_at"])


def test_hundred_thousand_responses_build_fast():
    """A 100,000-response data set builds whole (its time in the test output)."""
    started = time.perf_counter()
    fake = FakeRefiner(seed=3, responses=100_000, now=NOW)
    elapsed = time.perf_counter() - started
    assert len(fake.store.responses) == 100_000
    assert len(fake.live_response_uuids("all")) == 100_000
    print(f"built 100k responses in {elapsed:.2f} s")


@pytest.mark.fake_refiner(responses=20_000)
async def test_a_1000_item_page_is_cheap_to_serve(api, fake_refiner):
    """A warm 1000-item page is served whole, the same bytes each time (time in the test output)."""
    await api.ok("/responses", {"page_length": 1000})
    started = time.perf_counter()
    bodies = [await api.ok("/responses", {"page_length": 1000, "page": 1}) for _ in range(5)]
    per_page = (time.perf_counter() - started) / 5
    print(f"warm 1000-item page round trip: {per_page * 1000:.1f} ms")
    assert len(bodies[0]["items"]) == 1000
    assert all(body == bodies[0] for body in bodies)


@pytest.mark.parametrize(
    "ts", [0, -1, 59, 86_399, 86_400, 951_782_400, NOW - 1, NOW, 4_102_444_799, -86_401]
)
def test_timestamps_read_as_the_c_library_writes_them(ts):
    """The emulator's two timestamp formats, day and time of day looked up, match strftime's."""
    assert fmt_space(ts) == time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))
    assert fmt_iso(ts) == time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(ts))


async def test_a_data_set_larger_than_the_head_cache_is_served_the_same(fake_refiner_factory):
    """With room for 100 of 300 responses' JSON, listings are what an emulator caching every one
    serves, read after read; a response whose answers moved is served as it is now."""

    async def listing(fake: FakeRefiner) -> bytes:
        async with aiohttp.ClientSession() as session:
            url = f"{fake.base_url}/responses?page_length=1000&include=all"
            headers = {"Authorization": f"Bearer {fake.api_key}"}
            async with session.get(url, headers=headers) as response:
                return await response.read()

    small = await fake_refiner_factory(seed=5, responses=300, now=NOW, cache_items=100)
    every = await fake_refiner_factory(seed=5, responses=300, now=NOW, cache_items=None)
    first = await listing(small)
    assert first == await listing(small) == await listing(every)
    assert sum(r.head is not None for r in small.store.responses.values()) == 100

    moved = next(r.uuid for r in small.store.responses.values() if r.head is not None)
    for fake in (small, every):
        fake.receive_data(moved, NOW + 60)
    items = orjson.loads(await listing(small))["items"]
    assert items[0]["uuid"] == moved
    assert items[0]["last_data_reception_at"] == fmt_space(NOW + 60)
    assert await listing(small) == await listing(every)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/responses", {"page": "abc"}),
        ("/responses", {"page_length": "0"}),
        ("/responses", {"page": "-1"}),
        ("/responses", {"with_attributes": "perhaps"}),
        ("/responses", {"date_range_end": "13/45/2020"}),
        ("/responses", {"response_data[nps][x]": "1"}),
        ("/contacts", {"order_by": "height"}),
        ("/forms", {"list": "everything"}),
        ("/forms/history", {}),
        ("/contact", {}),
        ("/reporting", {"type": "nps", "date_range_start": "nope"}),
        ("/segments", {"page_cursor": "%%%"}),
        ("/responses", {"bad[": "1"}),
    ],
)
async def test_bad_requests_are_400_json(api, path, params):
    """Bad parameters answer 400 {"error": text}, never a traceback or a 500."""
    status, body = await api.get(path, params)
    assert status == 400, body
    assert isinstance(body, dict)
    assert set(body) == {"error"}
    assert isinstance(body["error"], str)


async def test_unknown_paths_and_methods(api):
    """Unknown paths are 404 JSON; a known path with another method is 405 JSON."""
    assert await api.get("/nothing-here") == (404, {"error": "Not found"})
    status, body = await api.call("PUT", "/contacts")
    assert status == 405
    assert "error" in body


def test_assumptions_are_listed():
    """ASSUMPTIONS names the choices made where the API is undocumented."""
    for topic in (
        "auth.malformed_vs_unknown",
        "pagination.page_length_over_1000",
        "pagination.cursor_invalid",
        "rate_limit.retry_after",
        "reporting.computation",
    ):
        assert ASSUMPTIONS[topic]
