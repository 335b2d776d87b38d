"""client.with_options: other per-call settings over the parent's session, limiter and stats."""

from __future__ import annotations

import asyncio
import itertools
import pickle
from typing import Any

import aiohttp
import pytest

from refiner_async import (
    NOT_GIVEN,
    APITimeoutError,
    ConfigurationError,
    NotGiven,
    RefinerClient,
    ServerError,
)
from refiner_async.testing import FakeRefiner

from ..conftest import connect_to as connect

pytestmark = pytest.mark.usefixtures("instant")


async def test_derived_client_shares_stats_and_session() -> None:
    """Calls through the parent and the derived client are counted in one stats, on one session."""
    async with FakeRefiner(seed=1, responses=10) as fake, connect(fake) as client:
        quick = client.with_options(timeout=5, max_retries=0, deadline=10)
        await client.verify()
        await quick.verify()
        await quick.account.get()
        assert client.stats is quick.stats
        assert client.stats.requests == 3
        assert client.stats.attempts == 3
        assert quick._core.session() is client._core.session()
        assert len(fake.journal.entries) == 3


async def test_derived_client_shares_the_concurrency_limit() -> None:
    """With max_concurrency=1 on the parent, calls through parent and derived never overlap."""
    async with (
        FakeRefiner(seed=1, responses=10, latency=0.02) as fake,
        connect(fake, max_concurrency=1) as client,
    ):
        quick = client.with_options(max_retries=0)
        await asyncio.gather(*(c.verify() for c in (client, quick, client, quick)))
    spans = sorted((e.at, e.at + e.duration) for e in fake.journal.entries)
    assert len(spans) == 4
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end  # each request arrived after the previous one was answered


async def test_parent_stays_usable_after_the_derived_client_is_closed() -> None:
    """Closing a derived client (or leaving its async with) leaves the parent's session open."""
    async with FakeRefiner(seed=1, responses=10) as fake, connect(fake) as client:
        await client.verify()
        session = client._core.shared.session
        async with client.with_options(timeout=5) as quick:
            await quick.verify()
        assert quick.closed
        assert session is not None
        assert not session.closed
        assert (await client.verify()).project_name == fake.store.project_name
        with pytest.raises(RuntimeError, match="closed"):
            await quick.verify()


async def test_a_derived_client_of_a_derived_client_shares_the_root() -> None:
    """with_options on a derived client keeps its settings and the root's session."""
    async with FakeRefiner(seed=1, responses=10) as fake, connect(fake) as client:
        first = client.with_options(timeout=7, max_retries=1)
        second = first.with_options(deadline=None)
        assert (second.timeout, second.max_retries, second.deadline) == (7, 1, None)
        await first.aclose()
        await second.verify()
        assert second._core.session() is client._core.session()
        assert client.stats.requests == 1


async def test_a_derived_client_cannot_send_once_the_parent_is_closed() -> None:
    """The parent owns the session: after it closes, the derived client refuses to send."""
    async with FakeRefiner(seed=1, responses=10) as fake:
        client = connect(fake)
        quick = client.with_options(max_retries=0)
        await quick.verify()
        await client.aclose()
        with pytest.raises(RuntimeError, match="derived from"):
            await quick.verify()
        await quick.aclose()


async def test_a_borrowed_session_stays_open_through_both_closes() -> None:
    """A derived client of a client on a borrowed session uses that session and closes nothing."""
    async with FakeRefiner(seed=1, responses=10) as fake, aiohttp.ClientSession() as session:
        client = connect(fake, session=session)
        async with client.with_options(max_retries=0) as quick:
            assert quick._core.session() is session
            await quick.verify()
        await client.aclose()
        assert not session.closed


async def test_max_retries_zero_makes_exactly_one_attempt() -> None:
    """On an endpoint failing with 503, max_retries=0 tries once; the parent's policy tries 5 times."""
    async with FakeRefiner(seed=1, responses=10) as fake, connect(fake) as client:
        fake.faults.add("503", path="/")
        with pytest.raises(ServerError) as caught:
            await client.with_options(max_retries=0).verify()
        assert caught.value.attempts == 1
        assert len(fake.journal.entries) == 1
        fake.journal.clear()
        with pytest.raises(ServerError) as caught:
            await client.verify()
        assert caught.value.attempts == 5
        assert len(fake.journal.entries) == 5


async def test_timeout_applies_to_the_derived_client_only() -> None:
    """A slow answer times out through a client with a short timeout; the parent waits for it."""
    async with FakeRefiner(seed=1, responses=10) as fake, connect(fake) as client:
        fake.faults.add("delay", path="/", delay=0.5, times=2)
        with pytest.raises(APITimeoutError):
            await client.with_options(timeout=0.05, max_retries=0).verify()
        assert (await client.verify()).project_name == fake.store.project_name


def test_options_left_out_keep_the_parent_values(api_key: str) -> None:
    """Options not given keep the parent's; deadline=None means no deadline; NOT_GIVEN is falsy."""
    client = RefinerClient(api_key, timeout=12, max_retries=2, deadline=60)
    same = client.with_options()
    assert (same.timeout, same.max_retries, same.deadline) == (12, 2, 60)
    assert same.max_response_bytes == client.max_response_bytes
    assert client.with_options(deadline=None).deadline is None
    assert client.with_options(deadline=NOT_GIVEN).deadline == 60
    assert not NOT_GIVEN
    assert repr(NOT_GIVEN) == "NOT_GIVEN"
    assert pickle.loads(pickle.dumps(NOT_GIVEN)) is NOT_GIVEN
    assert NotGiven() is NOT_GIVEN
    assert api_key not in repr(same)


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": None}, "timeout"),
        ({"timeout": "5"}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"deadline": 0}, "deadline"),
        ({"deadline": "10"}, "deadline"),
        ({"max_response_bytes": 0}, "max_response_bytes"),
        ({"max_response_bytes": 1.0}, "max_response_bytes"),
    ],
)
def test_bad_options_raise_configuration_error_naming_them(
    api_key: str, options: dict[str, Any], name: str
) -> None:
    """with_options checks its values like the constructor does, at once, naming the option."""
    client = RefinerClient(api_key)
    with pytest.raises(ConfigurationError, match=f"^{name}:"):
        client.with_options(**options)
