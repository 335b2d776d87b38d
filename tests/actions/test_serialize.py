"""Models become plain JSON: API field names, unknown fields kept, datetimes as ISO-8601 text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from refiner_async import Contact, Page, Report, Segment
from refiner_async._converters import structure
from refiner_async._serialize import page_to_json, to_json

CONTACT = {
    "uuid": "15cce3d0-ed5d-11ea-aaef-e58a2a43e996",
    "remote_id": "user-1",
    "email": "jane@awesome.com",
    "display_name": "Jane Doe",
    "first_seen_at": "2020-09-02T20:44:24.000000Z",
    "last_seen_at": "2020-09-02 21:57:50",
    "attributes": {"role": "Manager", "nps": "9"},
    "segments": [{"uuid": "0ff87720", "name": "Power Users", "joined_via": "rule"}],
    "account": {
        "uuid": "15d08cc0",
        "remote_id": "acme",
        "domain": "awesome.com",
        "display_name": "Awesome Inc.",
        "attributes": {"industry": "Software"},
    },
    "favourite_color": "teal",
    "custom": {"nested": [1, 2]},
}


def test_contact_round_trip_keeps_names_and_unknown_fields() -> None:
    """A contact comes back with the API's keys, its unknown keys, and UTC timestamps with Z."""
    data = to_json(structure(CONTACT, Contact))
    assert data["uuid"] == CONTACT["uuid"]
    assert data["first_seen_at"] == "2020-09-02T20:44:24Z"
    assert data["last_seen_at"] == "2020-09-02T21:57:50Z"
    assert data["favourite_color"] == "teal"
    assert data["custom"] == {"nested": [1, 2]}
    assert data["segments"] == [
        {"uuid": "0ff87720", "name": "Power Users", "created_at": None, "joined_via": "rule"}
    ]
    assert data["account"]["attributes"] == {"industry": "Software"}
    assert data["attributes"] == {"role": "Manager", "nps": "9"}
    assert json.loads(json.dumps(data, allow_nan=False)) == data


def test_known_fields_win_over_extra_of_the_same_name() -> None:
    """A model's own field is never overwritten by an ``extra`` entry."""
    segment = Segment(uuid="s1", name="A", extra={"name": "B", "size": 3})
    assert to_json(segment) == {"uuid": "s1", "name": "A", "is_manual": None, "size": 3}


def test_page_to_json_gives_items_and_pagination() -> None:
    """A page reads like the API's list envelope; the resume token stays out."""
    page: Page[Any] = Page(
        items=(Segment(uuid="s1"),),
        current_page=2,
        last_page=3,
        items_count=9,
        page_length=4,
        next_page_cursor="abc",
        resume_token="r1.xyz",
    )
    assert page_to_json(page) == {
        "items": [{"uuid": "s1", "name": None, "is_manual": None}],
        "pagination": {
            "current_page": 2,
            "last_page": 3,
            "items_count": 9,
            "page_length": 4,
            "next_page_cursor": "abc",
        },
    }


def test_datetimes_anywhere_become_text() -> None:
    """Datetimes in fields and mappings are ISO-8601 UTC; microseconds kept when present."""
    report = Report(
        nps=40,
        date_range_start=datetime(2026, 1, 1, tzinfo=UTC),
        date_range_end=datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC),
    )
    data = to_json(report)
    assert data["date_range_start"] == "2026-01-01T00:00:00Z"
    assert data["date_range_end"] == "2026-01-02T03:04:05.600000Z"
    assert to_json({"when": datetime(2026, 1, 1), "tags": ("a", "b")}) == {
        "when": "2026-01-01T00:00:00Z",
        "tags": ["a", "b"],
    }


def test_unrepresentable_values_are_refused() -> None:
    """A value with no JSON form raises TypeError instead of leaking a repr."""
    with pytest.raises(TypeError, match="object"):
        to_json({"x": object()})
