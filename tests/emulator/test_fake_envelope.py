"""The list envelope: items plus pagination, on every list endpoint."""

from __future__ import annotations

import pytest

FIVE_KEYS = {"items_count", "current_page", "last_page", "page_length", "next_page_cursor"}


async def test_cursor_endpoints_share_the_envelope(api):
    """/contacts, /responses, /segments, /forms/history answer {items, pagination} (5 keys)."""
    forms = await api.ok("/forms")
    form_uuid = forms["items"][0]["uuid"]
    for path, params in [
        ("/contacts", None),
        ("/responses", None),
        ("/segments", None),
        ("/forms/history", {"form_uuid": form_uuid}),
    ]:
        body = await api.ok(path, params)
        assert set(body) == {"items", "pagination"}, path
        assert set(body["pagination"]) == FIVE_KEYS, path
        assert isinstance(body["items"], list), path
        assert body["items"], path


async def test_forms_pagination_has_no_cursor(api):
    """/forms pagination carries the four page-number fields and no next_page_cursor."""
    body = await api.ok("/forms", {"page_length": 2})
    assert set(body["pagination"]) == FIVE_KEYS - {"next_page_cursor"}
    assert body["pagination"]["page_length"] == 2
    assert body["pagination"]["last_page"] == -(-body["pagination"]["items_count"] // 2)


async def test_items_count_is_the_total_and_last_page_follows(api, fake_refiner):
    """items_count is the total across pages and last_page = ceil(total / page_length)."""
    total = len(fake_refiner.live_response_uuids())
    body = await api.ok("/responses", {"page_length": 7})
    pagination = body["pagination"]
    assert pagination["items_count"] == total
    assert pagination["last_page"] == -(-total // 7)
    assert pagination["current_page"] == 1
    assert len(body["items"]) == 7
    assert isinstance(pagination["next_page_cursor"], str)


async def test_page_length_defaults_to_50_and_clamps_above_1000(api, fake_refiner):
    """page_length defaults to 50; above 1000 it is clamped to 1000."""
    default = await api.ok("/responses")
    assert default["pagination"]["page_length"] == 50
    assert len(default["items"]) == 50
    big = await api.ok("/responses", {"page_length": 5000})
    assert big["pagination"]["page_length"] == 1000
    assert len(big["items"]) == min(1000, len(fake_refiner.live_response_uuids()))


@pytest.mark.fake_refiner(strict_page_length=True, page_length_default=20)
async def test_strict_page_length_refuses_over_1000(api):
    """strict_page_length: page_length over 1000 is 400 {"error": ...}; the default is settable."""
    status, body = await api.get("/responses", {"page_length": 1001})
    assert status == 400
    assert isinstance(body["error"], str)
    assert (await api.ok("/responses"))["pagination"]["page_length"] == 20


async def test_empty_result_and_page_past_the_end(api):
    """An empty result: items [], items_count 0, last_page 1; past last_page: [] and no cursor."""
    empty = await api.ok("/responses", {"search": "nobody-matches-this"})
    assert empty["items"] == []
    assert empty["pagination"] == {
        "items_count": 0,
        "current_page": 1,
        "last_page": 1,
        "page_length": 50,
        "next_page_cursor": None,
    }
    past = await api.ok("/contacts", {"page": 999})
    assert past["items"] == []
    assert past["pagination"]["current_page"] == 999
    assert past["pagination"]["next_page_cursor"] is None


async def test_last_page_has_null_cursor(api):
    """The last page of a listing carries next_page_cursor null."""
    first = await api.ok("/segments", {"page_length": 1000})
    assert first["pagination"]["next_page_cursor"] is None
    assert first["pagination"]["last_page"] == 1
