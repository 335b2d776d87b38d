"""client.responses: list (filters, arrays, dates, 1/0 flags), store and tag."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from refiner_async import (
    ContactAccount,
    FormRef,
    OutcomeUnknownError,
    RefinerClient,
    Response,
    ResponseValidationError,
    StoreResponseResult,
)


async def test_list_sends_every_filter_encoded(
    api: Any, client: RefinerClient, payloads: Any, make_envelope: Any
) -> None:
    """responses.list() sends uuids, key[] arrays, include, ISO UTC dates, search and with_attributes=1."""
    api.add("GET", "/responses", pattern=True, payload=make_envelope([payloads.response]))
    await client.responses.list(
        form_uuid="f0",
        form_uuids=["f1", "f2"],
        segment_uuid="s0",
        segment_uuids=("s1",),
        include="partials",
        date_range_start=datetime(2026, 1, 1),
        date_range_end=datetime(2026, 2, 1, 1, tzinfo=timezone(timedelta(hours=1))),
        search="jane",
        with_attributes=True,
        page_length=250,
    )
    sent = api.only()
    assert sent.filters() == [
        ("form_uuid", "f0"),
        ("form_uuids[]", "f1"),
        ("form_uuids[]", "f2"),
        ("segment_uuid", "s0"),
        ("segment_uuids[]", "s1"),
        ("include", "partials"),
        ("date_range_start", "2026-01-01T00:00:00Z"),
        ("date_range_end", "2026-02-01T00:00:00Z"),
        ("search", "jane"),
        ("with_attributes", "1"),
    ]
    assert sent.param("page_length") == "250"


async def test_list_defaults(
    api: Any, client: RefinerClient, payloads: Any, make_envelope: Any
) -> None:
    """responses.list() sends include=completed and with_attributes=0 by default."""
    api.add("GET", "/responses", pattern=True, payload=make_envelope([payloads.response]))
    await client.responses.list()
    assert api.only().filters() == [("include", "completed"), ("with_attributes", "0")]


async def test_list_passes_iso_date_strings_through(
    api: Any, client: RefinerClient, payloads: Any, make_envelope: Any
) -> None:
    """ISO-8601 strings (date-only or date-time) are checked and sent as given."""
    api.add("GET", "/responses", pattern=True, payload=make_envelope([payloads.response]))
    await client.responses.list(
        date_range_start="2026-01-01", date_range_end="2026-01-31T10:00:00Z"
    )
    filters = api.only().filters()
    assert ("date_range_start", "2026-01-01") in filters
    assert ("date_range_end", "2026-01-31T10:00:00Z") in filters


async def test_list_reads_the_documented_response(
    api: Any, client: RefinerClient, payloads: Any, make_envelope: Any
) -> None:
    """The reference's response example reads with UTC timestamps, form and contact refs and data."""
    api.add(
        "GET",
        "/responses",
        pattern=True,
        payload=make_envelope([payloads.response], cursor="next-please", last_page=3),
    )
    page = await client.responses.list()
    (response,) = page.items
    assert isinstance(response, Response)
    assert response.completed_at == datetime(2020, 9, 2, 21, 53, 33, tzinfo=UTC)
    assert response.dismissed_at is None
    assert response.show_counter == 1
    assert response.form == FormRef(
        uuid="3894dc20-8fe9-11ea-892e-d13af52e06ae", name="My first survey"
    )
    assert response.data == {"first_question": "First Reply", "second_question": "Second Reply"}
    assert response.contact is not None
    assert response.contact.remote_id == "YOUR-USER-ID-123"
    assert response.contact.attributes is None
    assert response.contact.account == ContactAccount(
        uuid="5ab55ab0-ebf3-11ea-a442-4fa2c72e1cf7",
        remote_id="Your account ID",
        display_name="Awesome Inc.",
    )
    assert (page.next_page_cursor, page.last_page, page.current_page) == ("next-please", 3, 1)


async def test_list_with_attributes_and_unknown_fields(
    api: Any, client: RefinerClient, payloads: Any, make_envelope: Any
) -> None:
    """contact.attributes (with_attributes) and unknown keys such as tags are reachable; data is not copied."""
    item = payloads.response
    item["contact"]["attributes"] = {"is_admin": True, "plan": "pro"}
    item["tags"] = ["vip"]
    item["form"]["folder"] = "NPS"
    item["contact"]["account"] = None
    api.add("GET", "/responses", pattern=True, payload=make_envelope([item]))
    (response,) = (await client.responses.list(with_attributes=True)).items
    assert response.contact is not None
    assert response.contact.attributes == {"is_admin": True, "plan": "pro"}
    assert response.contact.account is None
    assert response.extra == {"tags": ["vip"]}
    assert response.form is not None
    assert response.form.extra == {"folder": "NPS"}


async def test_list_reports_the_field_path_of_a_bad_item(
    api: Any, client: RefinerClient, payloads: Any, make_envelope: Any
) -> None:
    """An item whose contact.uuid is not a string raises ResponseValidationError naming items[1].contact.uuid."""
    bad = copy.deepcopy(payloads.response)
    bad["contact"]["uuid"] = {"not": "a string"}
    api.add(
        "GET",
        "/responses",
        pattern=True,
        payload=make_envelope([payloads.response, bad]),
        repeat=True,
    )
    with pytest.raises(ResponseValidationError) as caught:
        await client.responses.list()
    assert caught.value.field_path == "items[1].contact.uuid"
    assert caught.value.path == "/responses"
    assert caught.value.attempts == 1 + client.max_retries  # a malformed body is asked for again


async def test_store_posts_answers_flat(api: Any, client: RefinerClient) -> None:
    """store() posts form_uuid, the identifier, flat answers, date, prevent_duplicates, tags and account."""
    api.add("POST", "/responses", payload={"message": "ok", "uuid": "r-new"})
    result = await client.responses.store(
        "f1",
        id="u1",
        data={"nps": 9, "what_do_you_value_most": "Speed", "features": ["a", "b"]},
        date=datetime(2026, 1, 5, 12, 0, tzinfo=UTC),
        prevent_duplicates=False,
        tags=["imported"],
        account={"id": "acme"},
    )
    assert result == StoreResponseResult(uuid="r-new", message="ok")
    assert api.only().json == {
        "nps": 9,
        "what_do_you_value_most": "Speed",
        "features": ["a", "b"],
        "form_uuid": "f1",
        "id": "u1",
        "date": "2026-01-05T12:00:00Z",
        "prevent_duplicates": False,
        "tags": ["imported"],
        "account": {"id": "acme"},
    }


async def test_store_minimal(api: Any, client: RefinerClient) -> None:
    """store() with only form_uuid and email sends prevent_duplicates=true and nothing else extra."""
    api.add("POST", "/responses", payload={"message": "ok", "uuid": "r1"})
    await client.responses.store("f1", email="a@b.io")
    assert api.only().json == {"form_uuid": "f1", "email": "a@b.io", "prevent_duplicates": True}


async def test_store_is_not_repeated_after_a_timeout_like_failure(
    api: Any, client: RefinerClient
) -> None:
    """A connection lost after sending a store raises OutcomeUnknownError after one attempt."""
    api.mock.post(api.url("/responses"), exception=__import__("aiohttp").ServerDisconnectedError())
    with pytest.raises(OutcomeUnknownError):
        await client.responses.store("f1", id="u1", data={"nps": 10})


async def test_tag_posts_uuid_and_tags(api: Any, client: RefinerClient) -> None:
    """tag() posts {"uuid", "tags": [...]} to /responses/tags and returns None."""
    api.add("POST", "/responses/tags", payload={"message": "ok"})
    assert await client.responses.tag("r1", ["vip", "churn-risk"]) is None
    sent = api.only()
    assert (sent.path, sent.json) == (
        "/responses/tags",
        {"uuid": "r1", "tags": ["vip", "churn-risk"]},
    )
