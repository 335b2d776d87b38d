"""refiner_async.to_dict: models and pages as the API's plain JSON values."""

from __future__ import annotations

import json
from typing import Any

import pytest

from refiner_async import Contact, Page, RefinerClient, to_dict
from refiner_async._serialize import to_json
from refiner_async.testing import FakeRefiner


def connect(fake: FakeRefiner) -> RefinerClient:
    return RefinerClient(fake.api_key, base_url=fake.base_url, rate_limit=None)


async def test_models_convert_to_the_api_json_they_came_from() -> None:
    """Each contact of a page converts to a dict with every key the API sent, same identifiers."""
    async with FakeRefiner(seed=4, responses=60) as fake, connect(fake) as client:
        page = await client.contacts.list(page_length=5)
        sent = await client.get("/contacts", params={"page_length": 5, "page": 1})
    assert len(page.items) == 5
    for model, original in zip(page.items, sent["items"], strict=True):
        data = to_dict(model)
        assert set(original) <= set(data)
        assert data["uuid"] == original["uuid"]
        assert data["email"] == original["email"]
        assert json.loads(json.dumps(data)) == data  # plain JSON values only
        assert data == to_json(model)  # the one serializer the actions use


async def test_a_page_converts_to_the_api_page_shape() -> None:
    """to_dict(page) gives {"items": [...], "pagination": {...}} as the API sends it."""
    async with FakeRefiner(seed=4, responses=60) as fake, connect(fake) as client:
        page = await client.responses.list(page_length=4)
    data = to_dict(page)
    assert set(data) == {"items", "pagination"}
    assert [item["uuid"] for item in data["items"]] == [r.uuid for r in page.items]
    assert data["pagination"]["page_length"] == 4
    assert isinstance(data["items"][0]["last_data_reception_at"], str | None)


@pytest.mark.parametrize("value", [5, "x", {"uuid": "c1"}, Contact, None, [Page(items=())]])
def test_anything_but_a_model_is_a_type_error(value: Any) -> None:
    """to_dict refuses what is not a model or page, naming the argument."""
    with pytest.raises(TypeError, match=r"^model:"):
        to_dict(value)
