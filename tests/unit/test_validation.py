"""The argument checks: one pure function per rule, each naming the parameter it refuses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from refiner_async import InvalidParameterError
from refiner_async import _validate as v


@pytest.mark.parametrize(
    "address",
    [
        "jane@awesome.com",
        "a.b+tag@sub.example.co.uk",
        "x@y.io",
        "user@xn--bcher-kva.example",
        "o'brien@x.io",
        "a/b=c?d@x.io",
        "jöns@bücher.de",
    ],
)
def test_plausible_emails_pass(address: str) -> None:
    """Ordinary addresses pass unchanged."""
    assert v.email_address(address) == address


@pytest.mark.parametrize(
    "address",
    [
        "plain",
        "@x.io",
        "a@",
        "a@b",
        "a@@b.io",
        "a@b@c.io",
        "a b@x.io",
        "a@x.io\r\nBcc: evil@x.io",
        "a\t@x.io",
        "a@.",
        "a" * 250 + "@x.io",
        "",
        "x@y.com?a=b&uuid=z",
        "x@y.com&id=1",
        "x@y.com#f",
        "x@y.com/path",
        "a..b@x.io",
        ".a@x.io",
        "a.@x.io",
        '"a b"@x.io',
        "a@[127.0.0.1]",
        "a@x_y.io",
        "a@-x.io",
        "a@x.io.",
        "a@x.123",
        "a" * 65 + "@x.io",
        "a@" + "b" * 64 + ".io",
    ],
)
def test_malformed_emails_are_refused(address: str) -> None:
    """Outside the documented RFC 5322 subset (dot-atom local part, two or more letter-digit-hyphen
    labels): missing @, query syntax in the domain, quoted or bracketed forms, whitespace, over-long
    parts: refused."""
    with pytest.raises(InvalidParameterError) as caught:
        v.email_address(address)
    assert caught.value.param == "email"


def test_contact_lookup_picks_the_one_identifier() -> None:
    """Exactly one of id/email/uuid becomes the query parameter."""
    assert v.contact_lookup(id=None, email="a@b.io", uuid=None) == {"email": "a@b.io"}
    assert v.contact_lookup(id="u", email=None, uuid=None) == {"id": "u"}
    with pytest.raises(InvalidParameterError, match="got id, uuid"):
        v.contact_lookup(id="u", email=None, uuid="x")


@pytest.mark.parametrize("length", [1, 1000])
def test_page_length_bounds_are_inclusive(length: int) -> None:
    """1 and 1000 are valid page lengths."""
    assert v.page_length(length) == length


@pytest.mark.parametrize("length", [0, -1, 1001, True, 10.0, "10", None])
def test_page_length_outside_bounds_or_not_int(length: Any) -> None:
    """0, 1001, bools, floats, strings and None are refused."""
    with pytest.raises(InvalidParameterError):
        v.page_length(length)


def test_max_items_allows_zero_and_none() -> None:
    """max_items may be None or 0 (nothing yielded)."""
    assert v.max_items(None) is None
    assert v.max_items(0) == 0


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 1, 1),
        datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=5))),
        date(2026, 1, 1),
        "2026-01-01",
        "2026-01-01T10:00:00Z",
        "2026-01-01 10:00:00",
        "2026-01-01T10:00:00.123+02:00",
    ],
)
def test_timestamps_accept_datetimes_and_iso_strings(value: Any) -> None:
    """datetimes and dates pass as given (the wire layer formats them); ISO strings pass checked."""
    assert v.timestamp("date", value) == value


@pytest.mark.parametrize(
    "value", ["", "tomorrow", "2026-02-30", "01/02/2026", 1700000000, ["2026"]]
)
def test_timestamps_refuse_everything_else(value: Any) -> None:
    """Unparseable strings and other types are refused, naming the parameter."""
    with pytest.raises(InvalidParameterError) as caught:
        v.timestamp("date_range_end", value)
    assert caught.value.param == "date_range_end"


def test_date_range_compares_mixed_forms_in_utc() -> None:
    """A naive datetime is UTC: 10:00 naive is after 11:00+02:00 (09:00 UTC)."""
    with pytest.raises(InvalidParameterError) as caught:
        v.date_range(datetime(2026, 1, 1, 10), "2026-01-01T11:00:00+02:00")
    assert caught.value.param == "date_range_start"
    assert v.date_range("2026-01-01", "2026-01-01") == ("2026-01-01", "2026-01-01")
    assert v.date_range(None, datetime(2026, 1, 1, tzinfo=UTC))[0] is None


def test_identify_body_is_flat_and_reserved_keys_are_refused() -> None:
    """Traits are flat; a trait named id, email or account is refused (it could never override the
    call's own); account keeps its id first."""
    body = v.identify_body(
        id="u1",
        email=None,
        attributes={"plan": "pro", "created_at": "2026-01-01"},
        account_value={"name": "Acme", "id": 42},
    )
    assert body == {
        "plan": "pro",
        "created_at": "2026-01-01",
        "id": "u1",
        "account": {"id": "42", "name": "Acme"},
    }
    for key in ("id", "email", "account"):
        with pytest.raises(InvalidParameterError, match=f"pass it as {key}=") as caught:
            v.identify_body(id="u1", email=None, attributes={key: "x"}, account_value=None)
        assert caught.value.param == f"attributes[{key!r}]"


@pytest.mark.parametrize(
    ("traits", "param"),
    [
        ({"a": None}, "attributes['a']"),
        ({"a": [1]}, "attributes['a']"),
        ({"a": b"bytes"}, "attributes['a']"),
        ({"a": "x" * 256}, "attributes['a']"),
        ({"a": float("inf")}, "attributes['a']"),
        ({"a": datetime(2026, 1, 1)}, "attributes['a']"),
        ({"seen_at": "not a date"}, "attributes['seen_at']"),
        ({"a[b]": 1}, "attributes"),
        ({1: "x"}, "attributes"),
    ],
)
def test_trait_values_outside_the_rules_are_refused(traits: dict[Any, Any], param: str) -> None:
    """Trait values must be str <= 255, int, finite float, bool, or a date for *_at names."""
    with pytest.raises(InvalidParameterError) as caught:
        v.traits("attributes", traits)
    assert caught.value.param == param


def test_trait_values_inside_the_rules_pass() -> None:
    """Every accepted trait type passes, a 255-character string included."""
    traits = {
        "s": "x" * 255,
        "i": 3,
        "f": 1.5,
        "b": False,
        "signed_up_at": datetime(2026, 1, 1),
        "renewed_at": date(2026, 1, 1),
        "ended_at": "2026-01-01T00:00:00Z",
    }
    assert v.traits("attributes", traits) == traits


@pytest.mark.parametrize("value", ["../x", "a/b", "a\x00", "a\nb", "", "  ", "x" * 256])
def test_identifiers_refuse_slashes_control_characters_and_blanks(value: str) -> None:
    """An id or uuid may not be blank, over 255 characters, or hold '/' or control characters."""
    with pytest.raises(InvalidParameterError):
        v.identifier("uuid", value)


def test_choice_lists_the_allowed_values() -> None:
    """An unknown enum value is refused with the allowed values in the message."""
    with pytest.raises(InvalidParameterError, match="completed, partials, all"):
        v.choice("include", "views", v.INCLUDES)
