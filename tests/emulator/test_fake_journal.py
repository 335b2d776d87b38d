"""The journal: stats() from Python and GET /__admin/stats over HTTP."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson


async def test_stats_count_requests_faults_and_arrivals(api, fake_refiner):
    """stats() counts requests by path and status, faults by kind, 429s, arrivals and peak rps."""
    fake_refiner.faults.add("503", path="/segments", times=1)
    fake_refiner.faults.add("429", path="/segments", times=1)
    for _ in range(3):
        await api.get("/segments")
    await api.get("/nope")
    await api.get("/", auth=False)
    stats = fake_refiner.stats()
    assert stats["requests"]["/v1/segments"] == {"503": 1, "429": 1, "200": 1}
    assert stats["requests"]["/v1/nope"] == {"404": 1}
    assert stats["requests"]["/v1/"] == {"401": 1}
    assert stats["faults"] == {"503": 1, "429": 1}
    assert stats["faults_total"] == 2
    assert stats["responses_429"] == 1
    assert stats["rate_limited"] == 0
    assert stats["requests_total"] == len(stats["arrivals"]) == 5
    assert stats["arrivals"] == sorted(stats["arrivals"])
    assert 1 <= stats["peak_rps"] <= 5
    assert stats["open_connections"] >= 1
    assert stats["data"]["responses"] == len(fake_refiner.live_response_uuids("all"))


async def test_admin_stats_need_no_key_and_match_python(api, fake_refiner):
    """GET /__admin/stats answers without a key, with the same counts as stats()."""
    await api.post("/track-event", {"id": "journal-user", "event": "a"})
    await api.post("/track-event", {"id": "journal-user", "event": "b"})
    async with (
        aiohttp.ClientSession() as session,
        session.get(fake_refiner.url + "/__admin/stats") as response,
    ):
        assert response.status == 200
        over_http = orjson.loads(await response.read())
    local = fake_refiner.stats()
    for key in ("requests", "faults", "events_per_user", "events_total", "requests_total"):
        assert over_http[key] == local[key], key
    assert over_http["events_per_user"] == {"journal-user": 2}


async def test_admin_paths_script_faults_and_mutations(api, fake_refiner):
    """POST /__admin/faults adds a rule, DELETE clears; POST /__admin/mutate inserts/deletes."""
    async with aiohttp.ClientSession() as session:
        admin = fake_refiner.url + "/__admin"
        async with session.post(
            admin + "/faults", json={"kind": "503", "path": "/forms", "times": 1}
        ) as r:
            assert r.status == 200
        assert (await api.get("/forms"))[0] == 503
        async with session.post(admin + "/faults", json={"kind": "500"}) as r:
            assert r.status == 200
        async with session.delete(admin + "/faults") as r:
            assert r.status == 200
        assert (await api.get("/forms"))[0] == 200
        async with session.post(admin + "/faults", json={"kind": "bogus"}) as r:
            assert r.status == 400
        before = len(fake_refiner.live_response_uuids("all"))
        async with session.post(admin + "/mutate", json={"insert": 4, "delete": 1}) as r:
            body = await r.json()
        assert len(body["inserted"]) == 4
        assert len(body["deleted"]) == 1
        assert len(fake_refiner.live_response_uuids("all")) == before + 3
        async with session.post(admin + "/reset-stats") as r:
            assert r.status == 200
    assert fake_refiner.stats()["requests_total"] == 0


async def test_journal_never_holds_the_api_key(api, fake_refiner):
    """The api_key query parameter is left out of journal entries."""
    await api.get("/forms", {"api_key": fake_refiner.api_key, "page": 2}, auth=False)
    entry = fake_refiner.journal.entries[-1]
    assert entry.status == 200
    assert fake_refiner.api_key not in repr(fake_refiner.journal.entries)
    assert entry.query == "page=2"
    assert fake_refiner.api_key not in orjson.dumps(fake_refiner.stats()).decode()


async def test_idempotency_key_and_user_are_recorded(api, fake_refiner):
    """Journal entries keep the Idempotency-Key header and the user a request named."""
    await api.post("/identify-user", {"id": "idem-1"}, headers={"Idempotency-Key": "k-123"})
    entry = fake_refiner.journal.entries[-1]
    assert (entry.idempotency_key, entry.user, entry.status) == ("k-123", "idem-1", 200)


async def test_open_connections_counts_only_connections_still_open(fake_refiner, until):
    """Of 5 client connections (3 waiting on a delayed answer, 2 idle) the client closes 2 busy
    ones and 1 idle one: open_connections() says 2, although 3 handlers still run."""
    fake_refiner.faults.add("delay", path="/account", delay=30)
    request = (
        f"GET /v1/account HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {fake_refiner.api_key}\r\n"
        "\r\n"
    ).encode()
    writers = [
        (await asyncio.open_connection(fake_refiner.host, fake_refiner.port))[1] for _ in range(5)
    ]
    busy, idle = writers[:3], writers[3:]
    for writer in busy:
        writer.write(request)
    assert await until(lambda: len(fake_refiner.journal.entries) == 3)
    assert fake_refiner.open_connections() == 5
    for writer in (busy[0], busy[1], idle[0]):
        writer.close()
        await writer.wait_closed()
    assert await until(lambda: fake_refiner.open_connections() == 2)
    assert fake_refiner.stats()["open_connections"] == 2
    for writer in (busy[2], idle[1]):
        writer.close()
        await writer.wait_closed()
    assert await until(lambda: fake_refiner.open_connections() == 0)
