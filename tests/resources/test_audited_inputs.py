"""Inputs an audit against an independent server found slipping through: each is refused, naming
the parameter, before anything is sent; the legitimate neighbours of each are still sent."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from refiner_async import InvalidParameterError, RefinerClient

Call = Callable[[RefinerClient], Any]

BIG = 10**30

REFUSED: list[tuple[str, Call, str]] = [
    # integers beyond signed 64 bits: orjson cannot encode them
    (
        "trait 10**30",
        lambda c: c.contacts.identify(id="u1", attributes={"big": BIG}),
        "attributes['big']",
    ),
    (
        "trait below int64",
        lambda c: c.contacts.identify(id="u1", attributes={"n": -(2**63) - 1}),
        "attributes['n']",
    ),
    (
        "account trait 10**30",
        lambda c: c.contacts.identify(id="u1", account={"id": "a", "big": BIG}),
        "account['big']",
    ),
    ("answer 10**30", lambda c: c.responses.store("f1", id="u", data={"q": BIG}), "data['q']"),
    (
        "answer list 2**64",
        lambda c: c.responses.store("f1", id="u", data={"q": [1, 2**64]}),
        "data['q']",
    ),
    # emails with query syntax in the domain
    ("email with a query", lambda c: c.contacts.get(email="x@y.com?a=b&uuid=z"), "email"),
    ("email with an ampersand", lambda c: c.contacts.delete(email="x@y.com&id=1"), "email"),
    ("track email with a query", lambda c: c.events.track("e", email="x@y.com?id=1"), "email"),
    ("email with double dot", lambda c: c.contacts.get(email="a..b@x.io"), "email"),
    ("email with numeric tld", lambda c: c.contacts.get(email="a@b.123"), "email"),
    # search: control characters and a length that does not fit a URL
    ("search with CR/LF", lambda c: c.contacts.list(search="a\r\nX-Injected: 1"), "search"),
    ("search with NUL", lambda c: c.responses.list(search="a\x00"), "search"),
    ("search of 20,000 characters", lambda c: c.responses.list(search="x" * 20_000), "search"),
    ("search of 501 characters", lambda c: c.contacts.list(search="x" * 501), "search"),
    # list filters: a cap on the count, and a budget on the whole query string
    (
        "3,000 form_uuids",
        lambda c: c.responses.list(form_uuids=[f"f{i}" for i in range(3000)]),
        "form_uuids",
    ),
    (
        "101 tag_uuids",
        lambda c: c.reporting.get("nps", tag_uuids=[f"t{i}" for i in range(101)]),
        "tag_uuids",
    ),
    (
        "two long lists over the URL budget",
        lambda c: c.responses.list(form_uuids=["f" * 200] * 20, segment_uuids=["s" * 200] * 20),
        "segment_uuids",
    ),
    (
        "reporting lists over the URL budget",
        lambda c: c.reporting.get("nps", question_identifiers=["q" * 250] * 30),
        "question_identifiers",
    ),
    # identify: trait names the API reads itself
    (
        "trait named email",
        lambda c: c.contacts.identify(id="u", attributes={"email": "a@b.io"}),
        "attributes['email']",
    ),
    (
        "trait named uuid",
        lambda c: c.contacts.identify(id="u", attributes={"uuid": "x"}),
        "attributes['uuid']",
    ),
    (
        "trait named attributes",
        lambda c: c.contacts.identify(id="u", attributes={"attributes": "x"}),
        "attributes['attributes']",
    ),
    (
        "trait named api_key",
        lambda c: c.contacts.identify(id="u", attributes={"api_key": "k"}),
        "attributes['api_key']",
    ),
    (
        "answer named api_key",
        lambda c: c.responses.store("f1", id="u", data={"api_key": "k"}),
        "data['api_key']",
    ),
    # a slash stays refused where a Refiner UUID is expected
    ("uuid with a slash", lambda c: c.contacts.get(uuid="a/b"), "uuid"),
]


async def _invoke(call: Call, client: RefinerClient) -> Any:
    result = call(client)
    return await result if inspect.isawaitable(result) else result


@pytest.mark.parametrize(("call", "param"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
async def test_audited_bad_input_is_refused_before_sending(
    api: Any, client: RefinerClient, call: Call, param: str
) -> None:
    """InvalidParameterError naming the parameter, and no request made."""
    with pytest.raises(InvalidParameterError) as caught:
        await _invoke(call, client)
    assert caught.value.param == param
    assert api.sent() == []


async def test_integers_at_the_int64_bounds_are_sent(api: Any, client: RefinerClient) -> None:
    """The largest and smallest signed 64-bit integers are valid traits and answers."""
    api.add("POST", "/identify-user", payload={"message": "ok", "contact_uuid": "c"})
    api.add("POST", "/responses", payload={"message": "ok", "uuid": "r"})
    await client.contacts.identify(id="u1", attributes={"hi": 2**63 - 1, "lo": -(2**63)})
    await client.responses.store("f1", id="u1", data={"q": [2**63 - 1]})
    identify, store = api.sent()
    assert identify.json == {"hi": 2**63 - 1, "lo": -(2**63), "id": "u1"}
    assert store.json["q"] == [2**63 - 1]


async def test_user_ids_with_a_slash_are_sent(api: Any, client: RefinerClient) -> None:
    """'/' is allowed in the caller's own user and account ids, in bodies and in query strings
    (percent-encoded there): the API sets no rule against it and no id is ever put in a path."""
    api.add("POST", "/identify-user", payload={"message": "ok", "contact_uuid": "c"})
    api.add("POST", "/track-event", payload={"message": "ok"})
    await client.contacts.identify(id="org/7/user/1", account={"id": "org/7"})
    await client.events.track("signed_in", id="org/7/user/1")
    identify, track = api.sent()
    assert identify.json == {"id": "org/7/user/1", "account": {"id": "org/7"}}
    assert track.json == {"event": "signed_in", "id": "org/7/user/1"}


@pytest.mark.parametrize(
    "filters",
    [
        {"search": "é" * 500},
        {"form_uuids": [f"{i:08d}-0000-0000-0000-000000000000" for i in range(100)]},
    ],
    ids=["search of 500 characters", "100 UUIDs"],
)
async def test_filters_at_their_limits_are_sent(
    api: Any, client: RefinerClient, filters: dict[str, Any]
) -> None:
    """A 500-character search (6,000 bytes encoded) or 100 UUIDs are within the limits: sent as given."""
    api.add("GET", "/responses", pattern=True, payload={"items": [], "pagination": {}})
    await client.responses.list(**filters).fetch_page()
    (sent,) = api.sent()
    if "search" in filters:
        assert sent.param("search") == filters["search"]
    else:
        assert [v for k, v in sent.params if k == "form_uuids[]"] == filters["form_uuids"]


@pytest.mark.parametrize(
    "cursor", ["", 123, "c1\r\nX-Injected: 1", "c\x00"], ids=["empty", "int", "crlf", "nul"]
)
async def test_fetch_page_refuses_bad_cursors(api: Any, client: RefinerClient, cursor: Any) -> None:
    """An empty cursor (which would silently restart at page 1), a non-string or one with control
    characters: InvalidParameterError naming the cursor, nothing sent."""
    with pytest.raises(InvalidParameterError) as caught:
        await client.contacts.list().fetch_page(cursor=cursor)
    assert caught.value.param == "cursor"
    assert api.sent() == []
