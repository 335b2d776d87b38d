"""A list never ends short of what it announced without saying so: pages whose figures disagree are
read to the larger figure, a page without the envelope is malformed, and a numbered page that lost
its figures mid-listing raises."""

from __future__ import annotations

from typing import Any

import pytest

from refiner_async import PaginationError, RefinerClient, ResponseValidationError


async def drain(listing: Any, into: list[Any]) -> None:
    async for item in listing:
        into.append(item)


def forms(payloads: Any, start: int, stop: int) -> list[dict[str, Any]]:
    return [{**payloads.form, "uuid": f"f{i}", "name": f"Form {i:02d}"} for i in range(start, stop)]


async def test_last_page_zero_with_items_count_reads_every_page(
    api: Any, client: RefinerClient, payloads: Any
) -> None:
    """``last_page: 0`` beside ``items_count: 12`` (5 a page): all 12 forms, three requests."""

    def page(number: int) -> dict[str, Any]:
        figures = {"items_count": 12, "current_page": number, "last_page": 0, "page_length": 5}
        items = forms(payloads, (number - 1) * 5, min(12, number * 5))
        return {"items": items, "pagination": figures}

    api.add_pages("/forms", [page(1), page(2), page(3)])
    got = await client.forms.list(page_length=5).collect()
    assert [f.uuid for f in got] == [f"f{i}" for i in range(12)]
    assert [s.param("page") for s in api.sent()] == ["1", "2", "3"]


@pytest.mark.parametrize("bad", [{}, {"items": []}, {"pagination": {"items_count": 10}}])
async def test_a_page_without_the_envelope_mid_listing_is_malformed(
    api: Any, client: RefinerClient, payloads: Any, make_envelope: Any, bad: dict[str, Any]
) -> None:
    """Page 2 answering without ``items`` or ``pagination`` raises ResponseValidationError (after
    asking again) instead of ending the list at page 1's five forms."""
    first = make_envelope(forms(payloads, 0, 5), last_page=2, page_length=5, items_count=10)
    api.add_pages("/forms", [first, bad])
    got: list[Any] = []
    with pytest.raises(ResponseValidationError) as caught:
        await drain(client.forms.list(page_length=5), got)
    assert len(got) == 5
    assert caught.value.attempts == 1 + client.max_retries
    assert caught.value.resume_token is not None  # where to continue once the server is well


async def test_a_numbered_page_that_lost_its_figures_raises(
    api: Any, client: RefinerClient, payloads: Any, make_envelope: Any
) -> None:
    """Page 2 with an empty ``pagination`` (no count, no last page) after a page 1 announcing ten:
    PaginationError, not a list of five."""
    first = make_envelope(forms(payloads, 0, 5), last_page=2, page_length=5, items_count=10)
    api.add_pages("/forms", [first, {"items": [], "pagination": {}}])
    with pytest.raises(PaginationError, match="page 2 came without the pagination figures"):
        await client.forms.list(page_length=5).collect()
