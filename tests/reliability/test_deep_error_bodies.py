"""Error bodies nested up to orjson's 1024 levels (T27): the typed status error, never RecursionError."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
import pytest
from aiohttp import web

from refiner_async import APIStatusError, BadRequestError, RefinerClient, ServerError
from refiner_async._protocol import MAX_BODY_DEPTH, TOO_DEEP, redact_body
from tests.conftest import call

DEPTH = 1023  # the deepest document orjson decodes


def nested_lists(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def nested_objects(depth: int, secret: str) -> bytes:
    """``{"error": "...", "echo": {"a": {"a": ... {"Authorization": "Bearer KEY"} ...}}}``."""
    inner = orjson.dumps({"Authorization": f"Bearer {secret}"})
    return b'{"error":"no","echo":' + b'{"a":' * (depth - 2) + inner + b"}" * (depth - 2) + b"}"


def depth_of(value: object) -> int:
    """Levels of containers in ``value`` (walked without recursion)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth + 1)
            stack += [(v, depth + 1) for v in (item.values() if isinstance(item, dict) else item)]
    return deepest


@pytest.mark.parametrize(("status", "expected"), [(500, ServerError), (400, BadRequestError)])
@pytest.mark.parametrize("shape", ["lists", "objects"])
async def test_t27_a_deeply_nested_error_body_is_a_typed_error(
    raw_server: Callable[..., Awaitable[str]],
    api_key: str,
    status: int,
    expected: type[APIStatusError],
    shape: str,
) -> None:
    """A 1023-deep error body: the status error, its body cut to MAX_BODY_DEPTH levels, the key scrubbed."""
    body = nested_lists(DEPTH) if shape == "lists" else nested_objects(DEPTH, api_key)
    assert orjson.loads(body) is not None  # orjson itself accepts it

    async def deep(request: web.Request) -> web.Response:
        return web.Response(body=body, status=status, content_type="application/json")

    base = await raw_server(deep)
    async with RefinerClient(api_key, base_url=base, rate_limit=None, max_retries=0) as client:
        with pytest.raises(expected) as caught:
            await call(client, "GET", "/responses")
    error = caught.value
    assert error.status == status
    assert depth_of(error.body) == MAX_BODY_DEPTH  # and the placeholder below its last level
    assert TOO_DEEP in repr(error.body)
    assert api_key not in repr(error.body)


def test_redaction_keeps_shallow_bodies_whole_and_scrubs_keys_and_values() -> None:
    """Bodies within the depth bound come back equal, with the secret replaced in keys and values."""
    body = {"error": "bad key sk-1", "headers": [{"sk-1": "Bearer sk-1"}], "n": 3, "ok": None}
    assert redact_body(body, "sk-1") == {
        "error": "bad key <redacted>",
        "headers": [{"<redacted>": "Bearer <redacted>"}],
        "n": 3,
        "ok": None,
    }
    assert redact_body(orjson.loads(nested_lists(5000 // 5)), "k", max_depth=3) == [[[TOO_DEEP]]]
