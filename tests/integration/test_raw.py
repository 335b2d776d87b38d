"""``Paginator.raw()``: the same listing as the API's own objects, for data that leaves as data."""

from __future__ import annotations

from typing import Any

import pytest

from refiner_async import Paginator, ResponseValidationError
from refiner_async.testing import FakeRefiner
from tests.conftest import connect_to

pytestmark = pytest.mark.fake_refiner(seed=4, responses=1_200, contacts=300)


async def test_raw_gives_the_apis_objects_in_the_same_order(fake_refiner: FakeRefiner) -> None:
    """raw() yields the API's JSON objects exactly (as GET /responses returns them), in the
    order and number the typed listing yields its models."""
    async with connect_to(fake_refiner) as client:
        query: dict[str, Any] = {"include": "all", "page_length": 100, "pagination": "cursor"}
        typed = [r.uuid async for r in client.responses.list(**query)]
        raw = client.responses.list(**query).raw()
        objects = [item async for item in raw]
        page_1 = await client.get("/responses", params={"include": "all", "page_length": 100})
    assert raw.stats.mode == "cursor"
    assert [o["uuid"] for o in objects] == typed
    assert len(typed) == 1_200
    assert objects[:100] == page_1["items"]  # untouched: the API's field names, values, formats


async def test_raw_in_windows_gives_every_response_once(fake_refiner: FakeRefiner) -> None:
    """raw() of a listing in windows cuts the windows from the plain objects' times: every
    response once, as many requests as the typed listing in windows."""
    async with connect_to(fake_refiner) as client:
        typed = client.responses.list(page_length=100, pagination="windows")
        models = {r.uuid async for r in typed}
        raw = client.responses.list(page_length=100, pagination="windows").raw()
        objects = [o["uuid"] async for o in raw]
    assert raw.stats.mode == typed.stats.mode == "windows"
    assert len(objects) == len(set(objects))
    assert set(objects) == models == set(fake_refiner.live_response_uuids())
    assert raw.stats.requests == typed.stats.requests


async def test_raw_pages_carry_figures_and_tokens_both_forms_resume(
    fake_refiner: FakeRefiner,
) -> None:
    """raw().pages() gives pages of dicts with the figures and resume tokens of the typed pages; a
    token of either form resumes the other, exactly after it."""
    async with connect_to(fake_refiner) as client:
        listing = client.contacts.list(page_length=100)
        first: list[str] = []
        token = None
        async for page in listing.raw().pages():
            assert page.items_count == 300
            first += [c["uuid"] for c in page.items]
            token = page.resume_token
            break
        assert token is not None
        rest = [c.uuid async for c in client.contacts.list(page_length=100, resume=token)]
        typed_page = await client.contacts.list(page_length=100)
        raw_rest = client.contacts.list(page_length=100, resume=typed_page.resume_token).raw()
        raw_uuids = [c["uuid"] async for c in raw_rest]
    assert len(first) == 100
    assert len(rest) == 200
    assert set(first).isdisjoint(rest)
    assert raw_uuids == rest


async def test_raw_refuses_what_is_not_a_list_of_objects(fake_refiner: FakeRefiner) -> None:
    """An item that is not an object is a ResponseValidationError naming it, as for models; a
    Paginator built without a codec for plain objects says so."""
    from refiner_async._codec import Decoding, DictPageCodec
    from refiner_async._http import RawResponse

    codec = DictPageCodec(Decoding())
    body = b'{"items": [{"uuid": "a"}, 3], "pagination": {}}'
    with pytest.raises(ResponseValidationError, match=r"items\[1\]"):
        await codec.decode(RawResponse(200, {}, body, "GET", "/responses"))
    page = await codec.decode(RawResponse(200, {}, body.replace(b", 3", b""), "GET", "/x"))
    assert page.items == ({"uuid": "a"},)

    async def fetch(params: dict[str, Any], decode: Any) -> Any:
        raise AssertionError("nothing is sent")

    with pytest.raises(TypeError, match="plain objects"):
        Paginator(fetch, codec, params={}).raw()
