"""client.contacts: get, delete, identify and list, with their wire encoding."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from refiner_async import (
    Contact,
    ContactAccount,
    IdentifyResult,
    InvalidParameterError,
    NotFoundError,
    Page,
    Paginator,
    RefinerClient,
    SegmentRef,
)


@pytest.mark.parametrize(
    ("kwargs", "query"),
    [
        ({"id": "Your-Contact-ID"}, [("id", "Your-Contact-ID")]),
        ({"email": "jane@awesome.com"}, [("email", "jane@awesome.com")]),
        ({"uuid": "15cce3d0-ed5d-11ea"}, [("uuid", "15cce3d0-ed5d-11ea")]),
    ],
)
async def test_get_sends_the_one_identifier_in_the_query(
    api: Any, client: RefinerClient, payloads: Any, kwargs: dict[str, str], query: list[Any]
) -> None:
    """contacts.get(id=|email=|uuid=) sends GET /contact with exactly that one query parameter."""
    api.add("GET", "/contact", query, payload=payloads.contact)
    contact = await client.contacts.get(**kwargs)
    assert isinstance(contact, Contact)
    sent = api.only()
    assert (sent.method, sent.path, sent.params, sent.json) == ("GET", "/contact", query, None)


async def test_get_reads_the_documented_contact(
    api: Any, client: RefinerClient, payloads: Any
) -> None:
    """The reference's contact example reads into Contact, ContactAccount and SegmentRef."""
    api.add("GET", "/contact", {"id": "Your-Contact-ID"}, payload=payloads.contact)
    contact = await client.contacts.get(id="Your-Contact-ID")
    assert contact.uuid == "15cce3d0-ed5d-11ea-aaef-e58a2a43e996"
    assert contact.remote_id == "Your-Contact-ID"
    assert contact.email == "jane@awesome.com"
    assert contact.first_seen_at == datetime(2020, 9, 2, 20, 44, 24, tzinfo=UTC)
    assert contact.attributes == {"a_user_attribute": "Manager", "a_survey_answer": "9"}
    assert contact.segments == (
        SegmentRef(uuid="0ff87720-9ae5-11ea-bce5-65a395204572", name="Power Users Segment"),
    )
    assert contact.account == ContactAccount(
        uuid="15d08cc0-ed5d-11ea-b2ce-c1b46bd4b7c4",
        remote_id="Your-Account-Id",
        domain="awesome.com",
        display_name="Awesome Inc.",
        first_seen_at=datetime(2020, 9, 2, 20, 44, 24, tzinfo=UTC),
        last_seen_at=datetime(2020, 9, 2, 21, 57, 50, tzinfo=UTC),
        attributes={"an_account_attribute": "Computer Software"},
    )
    assert contact.extra == {}


async def test_get_tolerates_nulls_and_unknown_fields(
    api: Any, client: RefinerClient, payloads: Any
) -> None:
    """Null account/email, PHP's [] for attributes and new fields parse; new fields land in .extra."""
    payload = payloads.contact
    payload.update(
        email=None,
        remote_id=None,
        account=None,
        attributes=[],
        last_tracking_event_at="2021-01-01 10:00:00",
        lifecycle_stage="trial",
    )
    payload["segments"][0]["created_at"] = "2020-09-03T00:00:00.000000Z"
    payload["segments"][0]["color"] = "red"
    api.add("GET", "/contact", {"uuid": "u"}, payload=payload)
    contact = await client.contacts.get(uuid="u")
    assert contact.email is None
    assert contact.account is None
    assert contact.attributes == {}
    assert contact.last_tracking_event_at == datetime(2021, 1, 1, 10, tzinfo=UTC)
    assert contact.extra == {"lifecycle_stage": "trial"}
    assert contact.segments[0].created_at == datetime(2020, 9, 3, tzinfo=UTC)
    assert contact.segments[0].extra == {"color": "red"}


async def test_get_unknown_contact_is_not_found(api: Any, client: RefinerClient) -> None:
    """A 404 for an unknown contact raises NotFoundError after one attempt."""
    api.add(
        "GET", "/contact", {"email": "x@y.io"}, payload={"error": "Contact not found"}, status=404
    )
    with pytest.raises(NotFoundError, match="Contact not found"):
        await client.contacts.get(email="x@y.io")
    assert len(api.sent()) == 1


async def test_delete_sends_the_identifier_in_the_query(api: Any, client: RefinerClient) -> None:
    """contacts.delete(email=) sends DELETE /contact?email=... with no body and returns None."""
    api.add("DELETE", "/contact", {"email": "jane@awesome.com"}, payload={"message": "ok"})
    assert await client.contacts.delete(email="jane@awesome.com") is None
    sent = api.only()
    assert (sent.method, sent.params, sent.json) == (
        "DELETE",
        [("email", "jane@awesome.com")],
        None,
    )


async def test_delete_is_retried_as_idempotent(api: Any, client: RefinerClient) -> None:
    """A DELETE answered 503 then 200 succeeds on the second attempt."""
    api.add("DELETE", "/contact", {"id": "u1"}, payload={"error": "busy"}, status=503)
    api.add("DELETE", "/contact", {"id": "u1"}, payload={"message": "ok"})
    await client.contacts.delete(id="u1")
    assert len(api.sent()) == 2


async def test_identify_sends_traits_flat_and_account_nested(
    api: Any, client: RefinerClient
) -> None:
    """identify() posts traits at the top level of the JSON body, account nested with its id."""
    api.add(
        "POST",
        "/identify-user",
        payload={"message": "ok", "contact_uuid": "e5365340-ed47-11ea-9a73-61d23f380055"},
    )
    result = await client.contacts.identify(
        id="Your-User-Id",
        email="user@email.com",
        attributes={
            "some_attribute": "Manager",
            "seats": 12,
            "score": 4.5,
            "is_admin": True,
            "created_at": datetime(2026, 1, 2, 3, 4, 5),
            "renewed_at": "2026-02-01T00:00:00Z",
        },
        account={"id": "acme", "name": "Acme Inc."},
    )
    assert result == IdentifyResult(
        contact_uuid="e5365340-ed47-11ea-9a73-61d23f380055", message="ok"
    )
    sent = api.only()
    assert (sent.method, sent.path, sent.params) == ("POST", "/identify-user", [])
    assert sent.json == {
        "some_attribute": "Manager",
        "seats": 12,
        "score": 4.5,
        "is_admin": True,
        "created_at": "2026-01-02T03:04:05Z",
        "renewed_at": "2026-02-01T00:00:00Z",
        "id": "Your-User-Id",
        "email": "user@email.com",
        "account": {"id": "acme", "name": "Acme Inc."},
    }


async def test_identify_reserved_keys_never_override_the_call(
    api: Any, client: RefinerClient
) -> None:
    """Traits named id, email or account never override the call's own id, email and account:
    they are refused before sending, and the call without them sends only its own."""
    api.add("POST", "/identify-user", payload={"message": "ok", "contact_uuid": "c"})
    for key in ("id", "email", "account"):
        with pytest.raises(InvalidParameterError, match=f"attributes\\['{key}'\\]"):
            await client.contacts.identify(id="real-id", attributes={key: "fake", "plan": "pro"})
    assert api.sent() == []
    await client.contacts.identify(id="real-id", attributes={"plan": "pro"})
    assert api.only().json == {"plan": "pro", "id": "real-id"}


async def test_identify_tolerates_a_201_and_extra_fields(api: Any, client: RefinerClient) -> None:
    """Any 2xx is success; unknown answer fields land in IdentifyResult.extra."""
    api.add(
        "POST",
        "/identify-user",
        payload={"message": "ok", "contact_uuid": "c", "created": True},
        status=201,
    )
    result = await client.contacts.identify(email="new@user.io")
    assert result.contact_uuid == "c"
    assert result.extra == {"created": True}
    assert api.only().json == {"email": "new@user.io"}


async def test_identify_is_retried_as_an_idempotent_upsert(api: Any, client: RefinerClient) -> None:
    """identify-user is an upsert: a 502 is retried and the second answer is used."""
    api.add("POST", "/identify-user", payload={"error": "bad gateway"}, status=502)
    api.add("POST", "/identify-user", payload={"message": "ok", "contact_uuid": "c2"})
    result = await client.contacts.identify(id="u")
    assert result.contact_uuid == "c2"
    assert len(api.sent()) == 2


async def test_list_sends_every_filter_and_page_length(
    api: Any, client: RefinerClient, payloads: Any, make_envelope: Any
) -> None:
    """contacts.list() sends order_by, form_uuid, segment_uuid, search and page_length in the query."""
    api.add(
        "GET", "/contacts", pattern=True, payload=make_envelope([payloads.contact], cursor=None)
    )
    paginator = client.contacts.list(
        order_by="last_seen_at",
        form_uuid="f-1",
        segment_uuid="s-1",
        search="jane",
        page_length=10,
    )
    assert isinstance(paginator, Paginator)
    page = await paginator
    assert isinstance(page, Page)
    assert [c.email for c in page.items] == ["jane@awesome.com"]
    sent = api.only()
    assert sent.filters() == [
        ("order_by", "last_seen_at"),
        ("form_uuid", "f-1"),
        ("segment_uuid", "s-1"),
        ("search", "jane"),
    ]
    assert sent.param("page_length") == "10"


async def test_list_without_filters_sends_only_paging(
    api: Any, client: RefinerClient, payloads: Any, make_envelope: Any
) -> None:
    """With no filters given, only the paginator's page parameters are sent (page_length=1000)."""
    api.add("GET", "/contacts", pattern=True, payload=make_envelope([payloads.contact]))
    await client.contacts.list()
    sent = api.only()
    assert sent.filters() == []
    assert sent.param("page_length") == "1000"


async def test_list_collects_every_page(
    api: Any, client: RefinerClient, payloads: Any, make_envelope: Any
) -> None:
    """collect() over two numbered pages returns both pages' contacts in order."""
    first = [{**payloads.contact, "uuid": f"c{i}"} for i in range(2)]
    second = [{**payloads.contact, "uuid": "c2"}]
    api.add_pages(
        "/contacts",
        [
            make_envelope(first, page=1, last_page=2, page_length=2, items_count=3),
            make_envelope(second, page=2, last_page=2, page_length=2, items_count=3),
        ],
    )
    contacts = await client.contacts.list(page_length=2, pagination="pages").collect()
    assert [c.uuid for c in contacts] == ["c0", "c1", "c2"]
