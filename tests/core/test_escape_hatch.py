"""client.get/post and get_raw/post_raw: calls by path through the client's limiter, retries and
errors, with the path checked before anything is sent; errors carry the answer's headers."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from aioresponses import aioresponses

from refiner_async import (
    APIStatusError,
    APITimeoutError,
    InvalidParameterError,
    NotFoundError,
    RateLimitError,
    RawResponse,
    RefinerClient,
    ResponseValidationError,
    ServerError,
)
from refiner_async.testing import FakeRefiner

from ..conftest import connect_to as connect

pytestmark = pytest.mark.usefixtures("instant")


def assert_no_secret(headers: Any, api_key: str) -> None:
    for name, value in headers.items():
        assert api_key not in name
        assert api_key not in value
    assert "Authorization" not in headers


async def test_get_returns_the_decoded_json() -> None:
    """get() sends GET path with encoded params and returns the API's JSON, counted in stats."""
    async with FakeRefiner(seed=2, responses=50) as fake, connect(fake) as client:
        page = await client.get("/forms", params={"page_length": 3, "include_info": True})
        assert isinstance(page, dict)
        assert len(page["items"]) == 3
        assert page["pagination"]["page_length"] == 3
        assert client.stats.requests == 1
        (entry,) = fake.journal.entries
        assert (entry.method, entry.path) == ("GET", "/v1/forms")
        assert "include_info=1" in entry.query


async def test_post_sends_the_json_body() -> None:
    """post() sends a JSON body and returns the answer; the emulator recorded the event."""
    async with FakeRefiner(seed=2, responses=50) as fake, connect(fake) as client:
        answer = await client.post("/track-event", json={"event": "Signed Up", "id": "u-77"})
        assert answer == {"message": "ok"}
        (entry,) = fake.journal.entries
        assert (entry.method, entry.path, entry.user) == ("POST", "/v1/track-event", "u-77")


async def test_get_is_retried_and_post_is_not() -> None:
    """A 500 is retried for get() (then it succeeds); post() raises after one attempt."""
    async with FakeRefiner(seed=2, responses=50) as fake, connect(fake) as client:
        fake.faults.add("500", path="/forms", times=1)
        assert (await client.get("/forms"))["items"]
        assert len(fake.journal.entries) == 2
        fake.journal.clear()
        fake.faults.add("500", path="/track-event", times=1)
        with pytest.raises(ServerError) as caught:
            await client.post("/track-event", json={"event": "Signed Up", "id": "u-1"})
        assert caught.value.attempts == 1
        assert len(fake.journal.entries) == 1


async def test_post_is_retried_after_a_429_refusal() -> None:
    """A 429 did not record the write, so post() retries it."""
    async with FakeRefiner(seed=2, responses=50) as fake, connect(fake) as client:
        fake.faults.add("429", path="/track-event", times=1, retry_after=0)
        assert await client.post("/track-event", json={"event": "E", "id": "u-2"}) == {
            "message": "ok"
        }
        assert [e.status for e in fake.journal.entries] == [429, 200]


async def test_the_deadline_applies_to_get() -> None:
    """A derived client's deadline bounds a get() whose answer is slow."""
    async with FakeRefiner(seed=2, responses=50) as fake, connect(fake) as client:
        fake.faults.add("delay", path="/forms", delay=2.0, times=1)
        with pytest.raises(APITimeoutError):
            await client.with_options(deadline=0.2).get("/forms")


async def test_get_raw_gives_status_headers_and_body() -> None:
    """get_raw() returns the 2xx answer's status, headers and undecoded bytes."""
    async with FakeRefiner(seed=2, responses=50) as fake, connect(fake) as client:
        raw = await client.get_raw("/forms", params={"page_length": 2})
        decoded = await client.get("/forms", params={"page_length": 2})
    assert isinstance(raw, RawResponse)
    assert raw.status == 200
    assert raw.headers["content-type"].startswith("application/json")
    assert orjson.loads(raw.body) == decoded
    assert f"<{len(raw.body)} bytes>" in repr(raw)
    assert_no_secret(raw.headers, fake.api_key)
    with pytest.raises(TypeError):
        raw.headers["X-New"] = "1"  # type: ignore[index]


async def test_post_raw_and_errors_of_raw_calls() -> None:
    """post_raw() gives the answer's bytes; a non-2xx answer raises the usual typed error."""
    async with FakeRefiner(seed=2, responses=50) as fake, connect(fake) as client:
        raw = await client.post_raw("/track-event", json={"event": "E", "email": "a@b.io"})
        assert (raw.status, orjson.loads(raw.body)) == (200, {"message": "ok"})
        with pytest.raises(NotFoundError):
            await client.get_raw("/no-such-endpoint")


async def test_a_404_error_carries_the_server_headers_without_the_key() -> None:
    """A 404 keeps the server's headers on the error; the key is in none of them."""
    async with FakeRefiner(seed=2, responses=50) as fake, connect(fake) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.contacts.get(id="nobody-here")
    error = caught.value
    assert error.status == 404
    assert error.headers["Content-Type"].startswith("application/json")
    assert error.headers["content-type"] == error.headers["CONTENT-TYPE"]
    assert error.request_id is None  # the emulator sends no request id
    assert_no_secret(error.headers, fake.api_key)
    assert fake.api_key not in repr(error.headers)


async def test_a_429_error_carries_retry_after_in_its_headers() -> None:
    """A 429 that is not waited out carries Retry-After among its headers and as retry_after."""
    async with FakeRefiner(seed=2, responses=50) as fake, connect(fake) as client:
        fake.faults.add("429", path="/forms", retry_after=7)
        with pytest.raises(RateLimitError) as caught:
            await client.with_options(max_retries=0).get("/forms")
    error = caught.value
    assert error.headers["Retry-After"] == "7"
    assert error.retry_after == 7.0
    assert len(fake.journal.entries) == 1
    assert_no_secret(error.headers, fake.api_key)


async def test_a_request_id_header_is_read_into_request_id(api_key: str) -> None:
    """An error answer with X-Request-Id exposes it as request_id."""
    with aioresponses() as mock:
        mock.get(
            re.compile(r"^https://api\.refiner\.io/v1/forms$"),
            status=403,
            payload={"error": "plan"},
            headers={"X-Request-Id": "req-42"},
        )
        async with RefinerClient(api_key, rate_limit=None) as client:
            with pytest.raises(APIStatusError) as caught:
                await client.get("/forms")
    assert caught.value.request_id == "req-42"
    assert caught.value.headers["x-request-id"] == "req-42"


async def test_a_2xx_answer_that_is_only_an_error_is_refused(api_key: str) -> None:
    """get() applies the SDK's rule: a 2xx body holding only {"error": ...} is not a success."""
    with aioresponses() as mock:
        mock.get(re.compile(r"^https://api\.refiner\.io/v1/x$"), payload={"error": "no"})
        async with RefinerClient(api_key, rate_limit=None, max_retries=0) as client:
            with pytest.raises(ResponseValidationError, match="only an error"):
                await client.get("/x")


@pytest.mark.parametrize(
    "path",
    [
        "contacts",
        "",
        "https://evil.example/v1/contacts",
        "//evil.example/contacts",
        "/contacts?id=1",
        "/contacts#top",
        "/con tacts",
        "/contacts\r\nX-Injected: 1",
        "/a\x00b",
        "/a\\b",
        "/../admin",
        "/forms/./x",
        "/%2e%2e/admin",
        "/%2E%2e",
        "/contacts%3Fid=1",
        "/a%0Ab",
    ],
)
async def test_bad_paths_are_refused_before_anything_is_sent(path: str) -> None:
    """A path that is not a plain relative path raises InvalidParameterError naming path."""
    async with FakeRefiner(seed=2, responses=10) as fake, connect(fake) as client:
        for call in (client.get, client.post, client.get_raw, client.post_raw):
            with pytest.raises(InvalidParameterError) as caught:
                await call(path)
            assert caught.value.param == "path"
        assert fake.journal.entries == []
        assert client.stats.requests == 0


@pytest.mark.parametrize(
    ("method", "kwargs", "param"),
    [
        ("get", {"path": 42}, "path"),
        ("get", {"path": "/forms", "params": [("page", 1)]}, "params"),
        ("get_raw", {"path": "/forms", "params": "page=1"}, "params"),
        ("get", {"path": "/forms", "params": {"search": "x" * 7000}}, "search"),
        ("post", {"path": "/track-event", "json": ["event"]}, "json"),
        ("post", {"path": "/track-event", "json": {"event": object()}}, "json"),
        ("post_raw", {"path": "/track-event", "json": {"n": 2**70}}, "json"),
    ],
)
async def test_bad_arguments_are_refused_before_anything_is_sent(
    method: str, kwargs: dict[str, Any], param: str
) -> None:
    """Bad params or json raise InvalidParameterError naming them; the journal stays empty."""
    async with FakeRefiner(seed=2, responses=10) as fake, connect(fake) as client:
        with pytest.raises(InvalidParameterError) as caught:
            await getattr(client, method)(**kwargs)
        assert caught.value.param == param
        assert fake.journal.entries == []
