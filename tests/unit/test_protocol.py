"""Pure wire rules: parameter encoding, status -> error, Retry-After."""

from __future__ import annotations

import email.utils
from datetime import date, datetime, timedelta, timezone

import pytest

from refiner_async import _protocol, errors

NOW = 1_800_000_000.0


def test_query_encoding_arrays_booleans_dates_and_nested() -> None:
    """Lists become key[], mappings key[sub], booleans 1/0, datetimes ISO UTC, None is dropped."""
    pairs = _protocol.encode_query(
        {
            "form_uuids": ["a", "b"],
            "with_attributes": True,
            "include_info": False,
            "date_range_start": datetime(2026, 1, 2, 3, 4, 5),
            "date_range_end": datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))),
            "day": date(2026, 1, 3),
            "response_data": {"nps": 9},
            "search": None,
            "page": 2,
        }
    )
    assert pairs == [
        ("form_uuids[]", "a"),
        ("form_uuids[]", "b"),
        ("with_attributes", "1"),
        ("include_info", "0"),
        ("date_range_start", "2026-01-02T03:04:05Z"),
        ("date_range_end", "2026-01-02T03:04:05Z"),
        ("day", "2026-01-03"),
        ("response_data[nps]", "9"),
        ("page", "2"),
    ]


def test_json_body_keeps_booleans_drops_none_and_formats_dates() -> None:
    """JSON bodies keep JSON types, drop None at every level and format datetimes."""
    body = _protocol.encode_json(
        {
            "id": "u1",
            "email": None,
            "active": True,
            "signed_up_at": datetime(2026, 1, 1, 0, 0, 0, 250000),
            "account": {"id": "acme", "name": None},
            "tags": ["a", datetime(2026, 1, 1)],
        }
    )
    assert body == {
        "id": "u1",
        "active": True,
        "signed_up_at": "2026-01-01T00:00:00.250000Z",
        "account": {"id": "acme"},
        "tags": ["a", "2026-01-01T00:00:00Z"],
    }


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, {"error": "No API key found in headers"}, errors.AuthenticationError),
        (401, {"error": "API key does not look valid"}, errors.AuthenticationError),
        (404, {"message": "API key not valid or does not exist"}, errors.AuthenticationError),
        (404, {"error": "Contact not found"}, errors.NotFoundError),
        (400, {"error": "type is required"}, errors.BadRequestError),
        (422, {"error": "bad"}, errors.BadRequestError),
        (403, {"error": "plan"}, errors.PermissionDeniedError),
        (429, {"error": "You are doing this too often."}, errors.RateLimitError),
        (500, "Internal Server Error", errors.ServerError),
        (503, None, errors.ServerError),
        (302, None, errors.APIStatusError),
    ],
)
def test_status_maps_to_error_class(
    status: int, body: object, expected: type[errors.APIStatusError]
) -> None:
    """Each status (and the API's three auth refusals) maps to one error class."""
    error = _protocol.error_for_status(status, body, method="GET", path="/contacts", attempts=3)
    assert type(error) is expected
    assert error.status == status
    assert (error.method, error.path, error.attempts) == ("GET", "/contacts", 3)


def test_error_message_and_body_are_truncated() -> None:
    """A huge error body is cut on the error and in its message."""
    error = _protocol.error_for_status(500, "x" * 10_000, method="GET", path="/")
    assert isinstance(error.body, str)
    assert len(error.body) == errors.BODY_EXCERPT_CHARS
    assert len(str(error)) < errors.BODY_EXCERPT_CHARS + 100


def test_rate_limit_error_carries_retry_after() -> None:
    """A 429 error exposes the server's Retry-After."""
    error = _protocol.error_for_status(429, {}, method="GET", path="/", retry_after=7.0)
    assert isinstance(error, errors.RateLimitError)
    assert error.retry_after == 7.0


def test_status_error_carries_headers_and_request_id() -> None:
    """An error keeps the answer's headers (read-only, case-insensitive) and the id they name."""
    headers = _protocol.response_headers(
        [("Retry-After", "3"), ("x-request-id", "req-1"), ("Vary", "a"), ("Vary", "b")]
    )
    error = _protocol.error_for_status(
        429, {}, method="GET", path="/", retry_after=3.0, headers=headers
    )
    assert error.headers["retry-after"] == "3"
    assert error.headers["RETRY-AFTER"] == "3"
    assert list(error.headers.getall("Vary")) == ["a", "b"]  # type: ignore[attr-defined]
    assert error.request_id == "req-1"
    with pytest.raises(TypeError):
        error.headers["X-Added"] = "1"  # type: ignore[index]


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([], None),
        ([("Request-Id", "r2")], "r2"),
        ([("Request-Id", "r2"), ("X-Request-Id", "r1")], "r1"),  # X-Request-Id is looked up first
        ([("X-Request-Id", "")], None),
    ],
)
def test_request_id_is_the_first_common_header_present(
    pairs: list[tuple[str, str]], expected: str | None
) -> None:
    """request_id reads X-Request-Id, then Request-Id; none (or empty) gives None."""
    assert _protocol.request_id(_protocol.response_headers(pairs)) == expected


def test_response_headers_replace_the_key_in_values() -> None:
    """A header echoing the key (a proxy repeating the request's Authorization) is redacted."""
    headers = _protocol.response_headers([("X-Echo", "Bearer sekrit-key")], "sekrit-key")
    assert headers["x-echo"] == "Bearer <redacted>"


def test_error_without_headers_has_an_empty_mapping() -> None:
    """An error built without headers has an empty mapping and no request id."""
    error = _protocol.error_for_status(500, None, method="GET", path="/")
    assert dict(error.headers) == {}
    assert error.request_id is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("2", 2.0),
        ("2.5", 2.5),
        ("0", 0.0),
        (" 3 ", 3.0),
        ("-5", None),
        ("garbage", None),
        ("nan", None),
        ("inf", None),
        ("3600", 3600.0),
        (email.utils.formatdate(NOW + 3, usegmt=True), 3.0),
        (email.utils.formatdate(NOW - 60, usegmt=True), 0.0),
        ("Mon, 99 Foo 2026 00:00:00 GMT", None),
    ],
)
def test_retry_after_table(header: str | None, expected: float | None) -> None:
    """Retry-After as seconds or HTTP date; garbage and negatives are ignored, past dates mean now."""
    assert _protocol.parse_retry_after(header, NOW) == expected


def test_user_key_prefers_first_identifier_found() -> None:
    """Calls carrying id, email or uuid are keyed for the per-user limit; others are not."""
    assert _protocol.user_key({"id": "u1", "email": "a@b.co"}) == "id:u1"
    assert _protocol.user_key(None, {"email": "a@b.co"}) == "email:a@b.co"
    assert _protocol.user_key({"page": 1}, None) is None


def test_join_url_handles_root_and_paths() -> None:
    """Paths join the base URL with one slash; the key check is the base with a trailing slash."""
    assert _protocol.join_url("https://api.refiner.io/v1", "/") == "https://api.refiner.io/v1/"
    assert (
        _protocol.join_url("https://api.refiner.io/v1/", "/contacts")
        == "https://api.refiner.io/v1/contacts"
    )
