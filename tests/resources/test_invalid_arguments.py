"""Every bad argument raises InvalidParameterError (a ValueError) naming it, and nothing is sent."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from refiner_async import InvalidParameterError, RefinerClient

Call = Callable[[RefinerClient], Any]

BAD_CALLS: list[tuple[str, Call, str]] = [
    # contacts.get / delete: exactly one identifier, each well-formed
    ("get no identifier", lambda c: c.contacts.get(), "id/email/uuid"),
    ("get two identifiers", lambda c: c.contacts.get(id="u", email="a@b.io"), "id/email/uuid"),
    ("get empty id", lambda c: c.contacts.get(id=""), "id"),
    ("get uuid with slash", lambda c: c.contacts.get(uuid="../admin"), "uuid"),
    ("get uuid with newline", lambda c: c.contacts.get(uuid="u\nX-Evil: 1"), "uuid"),
    ("get id not a string", lambda c: c.contacts.get(id=123), "id"),
    ("get malformed email", lambda c: c.contacts.get(email="not-an-email"), "email"),
    ("get email with space", lambda c: c.contacts.get(email="a b@x.io"), "email"),
    ("get email without dotted domain", lambda c: c.contacts.get(email="a@localhost"), "email"),
    ("get email too long", lambda c: c.contacts.get(email="a" * 250 + "@x.io"), "email"),
    (
        "delete three identifiers",
        lambda c: c.contacts.delete(id="u", email="a@b.io", uuid="x"),
        "id/email/uuid",
    ),
    ("delete no identifier", lambda c: c.contacts.delete(), "id/email/uuid"),
    # identify
    ("identify no identifier", lambda c: c.contacts.identify(attributes={"a": 1}), "id/email"),
    ("identify bad email", lambda c: c.contacts.identify(email="bad@"), "email"),
    (
        "trait list",
        lambda c: c.contacts.identify(id="u", attributes={"roles": ["a"]}),
        "attributes['roles']",
    ),
    (
        "trait none",
        lambda c: c.contacts.identify(id="u", attributes={"plan": None}),
        "attributes['plan']",
    ),
    (
        "trait dict",
        lambda c: c.contacts.identify(id="u", attributes={"meta": {"a": 1}}),
        "attributes['meta']",
    ),
    (
        "trait too long",
        lambda c: c.contacts.identify(id="u", attributes={"bio": "x" * 256}),
        "attributes['bio']",
    ),
    (
        "trait nan",
        lambda c: c.contacts.identify(id="u", attributes={"score": float("nan")}),
        "attributes['score']",
    ),
    (
        "date trait without _at",
        lambda c: c.contacts.identify(id="u", attributes={"joined": datetime(2026, 1, 1)}),
        "attributes['joined']",
    ),
    (
        "unparseable _at trait",
        lambda c: c.contacts.identify(id="u", attributes={"created_at": "yesterday"}),
        "attributes['created_at']",
    ),
    ("empty trait name", lambda c: c.contacts.identify(id="u", attributes={"": 1}), "attributes"),
    (
        "attributes not a mapping",
        lambda c: c.contacts.identify(id="u", attributes=["a"]),
        "attributes",
    ),
    (
        "account without id",
        lambda c: c.contacts.identify(id="u", account={"name": "Acme"}),
        "account",
    ),
    ("account not a mapping", lambda c: c.contacts.identify(id="u", account="acme"), "account"),
    (
        "account trait bad",
        lambda c: c.contacts.identify(id="u", account={"id": "a", "tags": ["x"]}),
        "account['tags']",
    ),
    # events
    ("empty event", lambda c: c.events.track("", id="u"), "event"),
    ("blank event", lambda c: c.events.track("   ", id="u"), "event"),
    ("event not a string", lambda c: c.events.track(42, id="u"), "event"),
    ("event without identifier", lambda c: c.events.track("Signed Up"), "id/email"),
    ("event bad email", lambda c: c.events.track("Signed Up", email="a@@b.io"), "email"),
    # list options shared by every list call
    ("page_length 0", lambda c: c.contacts.list(page_length=0), "page_length"),
    ("page_length 1001", lambda c: c.responses.list(page_length=1001), "page_length"),
    ("page_length bool", lambda c: c.segments.list(page_length=True), "page_length"),
    ("page_length str", lambda c: c.forms.list(page_length="10"), "page_length"),
    ("max_items negative", lambda c: c.contacts.list(max_items=-1), "max_items"),
    ("max_items bool", lambda c: c.contacts.list(max_items=False), "max_items"),
    ("pagination unknown", lambda c: c.responses.list(pagination="fast"), "pagination"),
    ("resume not a string", lambda c: c.contacts.list(resume=123), "resume"),
    # enums
    ("order_by unknown", lambda c: c.contacts.list(order_by="email"), "order_by"),
    ("state unknown", lambda c: c.forms.list(state="deleted"), "state"),
    ("include_info not bool", lambda c: c.forms.list(include_info=1), "include_info"),
    ("include unknown", lambda c: c.responses.list(include="views"), "include"),
    ("report type unknown", lambda c: c.reporting.get("score"), "type"),
    # dates and lists
    (
        "start after end",
        lambda c: c.responses.list(date_range_start="2026-02-01", date_range_end="2026-01-01"),
        "date_range_start",
    ),
    (
        "start after end datetimes",
        lambda c: c.reporting.get(
            "nps", date_range_start=datetime(2026, 2, 1), date_range_end=datetime(2026, 1, 1)
        ),
        "date_range_start",
    ),
    (
        "unparseable date",
        lambda c: c.responses.list(date_range_end="last tuesday"),
        "date_range_end",
    ),
    (
        "date of wrong type",
        lambda c: c.reporting.get("nps", date_range_start=20260101),
        "date_range_start",
    ),
    ("bare string for a list", lambda c: c.responses.list(form_uuids="f1"), "form_uuids"),
    (
        "bad uuid in a list",
        lambda c: c.reporting.get("nps", tag_uuids=["t1", "a/b"]),
        "tag_uuids[1]",
    ),
    ("bad form_uuid", lambda c: c.contacts.list(form_uuid="f\x00"), "form_uuid"),
    (
        "with_attributes not bool",
        lambda c: c.responses.list(with_attributes="yes"),
        "with_attributes",
    ),
    ("search not a string", lambda c: c.contacts.list(search=5), "search"),
    # forms writes
    ("publish empty uuid", lambda c: c.forms.publish(""), "form_uuid"),
    ("publish published not bool", lambda c: c.forms.publish("f1", published="no"), "published"),
    ("duplicate empty name", lambda c: c.forms.duplicate("f1", name=""), "name"),
    ("archive slash uuid", lambda c: c.forms.archive("f1/../f2"), "form_uuid"),
    ("history bad uuid", lambda c: c.forms.history(""), "form_uuid"),
    # responses writes
    ("store without identifier", lambda c: c.responses.store("f1", data={"nps": 9}), "id/email"),
    (
        "store answer clashes",
        lambda c: c.responses.store("f1", id="u", data={"form_uuid": "x"}),
        "data['form_uuid']",
    ),
    (
        "store answer dict",
        lambda c: c.responses.store("f1", id="u", data={"nps": {"v": 9}}),
        "data['nps']",
    ),
    ("store bad date", lambda c: c.responses.store("f1", id="u", date="soon"), "date"),
    (
        "store too many tags",
        lambda c: c.responses.store("f1", id="u", tags=[f"t{i}" for i in range(21)]),
        "tags",
    ),
    ("tag no tags", lambda c: c.responses.tag("r1", []), "tags"),
    ("tag bare string", lambda c: c.responses.tag("r1", "vip"), "tags"),
    ("tag empty name", lambda c: c.responses.tag("r1", ["ok", ""]), "tags[1]"),
    # segments
    ("add_contact without identifier", lambda c: c.segments.add_contact("s1"), "id/email"),
    ("add_contact empty segment", lambda c: c.segments.add_contact("", id="u"), "segment_uuid"),
    ("remove_contact bad email", lambda c: c.segments.remove_contact("s1", email="x"), "email"),
]


async def _invoke(call: Call, client: RefinerClient) -> Any:
    """Run the call: list calls raise when called, the others when awaited."""
    result = call(client)
    return await result if inspect.isawaitable(result) else result


@pytest.mark.parametrize(
    ("call", "param"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS]
)
async def test_bad_argument_raises_before_sending(
    api: Any, client: RefinerClient, call: Call, param: str
) -> None:
    """The call raises InvalidParameterError (a ValueError) naming the parameter; no request is made."""
    with pytest.raises(InvalidParameterError) as caught:
        await _invoke(call, client)
    assert caught.value.param == param
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(f"{param}: ")
    assert api.mock.requests == {}
    assert api.sent() == []
