"""The runtime validator agrees with jsonschema, and its errors name the parameter."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from refiner_async import InvalidParameterError
from refiner_async.actions import ACTIONS
from refiner_async.actions._schema import check

# Formats jsonschema asserts here: email only (date-time is an annotation; the resources check dates).
FORMATS = FormatChecker(formats=["email"])


def _jsonschema_accepts(name: str, params: Any) -> bool:
    validator = Draft202012Validator(ACTIONS[name].parameters, format_checker=FORMATS)
    return validator.is_valid(params)


def _ours(name: str, params: Any) -> str | None:
    """None when the validator accepts ``params``, else the parameter its error names."""
    try:
        check(ACTIONS[name].parameters, params)
    except InvalidParameterError as exc:
        return exc.param
    return None


VALID = [
    ("REFINER_GET_ACCOUNT_INFO", {}),
    ("REFINER_UPDATE_CONTACT", {"id": "u1", "account": {"id": 5}}),
    ("REFINER_DELETE_CONTACT", {"uuid": "c-1"}),
    ("REFINER_GET_CONTACT", {"email": "jane@acme.com"}),
    ("REFINER_GET_CONTACTS", {"page": 2, "page_length": 1000, "order_by": "last_seen_at"}),
    ("REFINER_GET_CONTACTS", {"page": 1.0, "page_length": 1}),
    ("REFINER_GET_FORMS", {"list": "drafts", "include_info": True, "include_config": False}),
    ("REFINER_GET_REPORTING", {"type": "nps", "form_uuids": ["f1", "f2"], "tag_uuids": []}),
    ("REFINER_GET_REPORTING", {"type": "count", "date_range_start": "2026-01-01T00:00:00Z"}),
    ("REFINER_GET_RESPONSES", {"include": "all", "segment_uuids": ["s"], "with_attributes": True}),
    ("REFINER_GET_SEGMENTS", {"page_cursor": "abc", "page_length": 10}),
    ("REFINER_TRACK_EVENT", {"event": "Exported", "id": "u1"}),
    ("REFINER_UPDATE_CONTACT", {"id": "u1", "attributes": {"plan": "pro", "seats": 3}}),
    ("REFINER_UPDATE_CONTACT", {"email": "a@b.io", "account": {"id": "acme", "vip": True}}),
]

# (action, params, the parameter the error must name)
INVALID = [
    ("REFINER_GET_ACCOUNT_INFO", {"verbose": True}, "verbose"),
    ("REFINER_DELETE_CONTACT", {"uuid": 42}, "uuid"),
    ("REFINER_GET_CONTACT", {"email": "not-an-email"}, "email"),
    ("REFINER_GET_CONTACTS", {"page": 0}, "page"),
    ("REFINER_GET_CONTACTS", {"page": 1.5}, "page"),
    ("REFINER_GET_CONTACTS", {"page": "2"}, "page"),
    ("REFINER_GET_CONTACTS", {"page_length": 1001}, "page_length"),
    ("REFINER_GET_CONTACTS", {"page_length": 0}, "page_length"),
    ("REFINER_GET_CONTACTS", {"order_by": "email"}, "order_by"),
    ("REFINER_GET_CONTACTS", {"search": "jane"}, "search"),
    ("REFINER_GET_FORMS", {"list": "everything"}, "list"),
    ("REFINER_GET_FORMS", {"include_info": 1}, "include_info"),
    ("REFINER_GET_FORMS", {"page_cursor": "x"}, "page_cursor"),
    ("REFINER_GET_REPORTING", {}, "type"),
    ("REFINER_GET_REPORTING", {"type": "score"}, "type"),
    ("REFINER_GET_REPORTING", {"type": "nps", "form_uuids": "f1"}, "form_uuids"),
    ("REFINER_GET_REPORTING", {"type": "nps", "tag_uuids": ["t", 7]}, "tag_uuids[1]"),
    ("REFINER_GET_RESPONSES", {"include": "dismissed"}, "include"),
    ("REFINER_GET_RESPONSES", {"with_attributes": "yes"}, "with_attributes"),
    ("REFINER_GET_RESPONSES", {"date_range_start": 20260101}, "date_range_start"),
    ("REFINER_GET_SEGMENTS", {"page": True}, "page"),
    ("REFINER_TRACK_EVENT", {"id": "u1"}, "event"),
    ("REFINER_TRACK_EVENT", {"event": "x", "email": "nobody"}, "email"),
    ("REFINER_UPDATE_CONTACT", {"id": "u1", "account": {"name": "Acme"}}, "account.id"),
    ("REFINER_UPDATE_CONTACT", {"id": "u1", "attributes": {"tags": ["a"]}}, "attributes.tags"),
    ("REFINER_UPDATE_CONTACT", {"id": "u1", "attributes": []}, "attributes"),
    ("REFINER_GET_SEGMENTS", [], "params"),
]


@pytest.mark.parametrize(("name", "params"), VALID)
def test_valid_samples_pass_both(name: str, params: dict[str, Any]) -> None:
    """Samples jsonschema accepts, the validator accepts."""
    assert _jsonschema_accepts(name, params)
    assert _ours(name, params) is None


@pytest.mark.parametrize(("name", "params", "param"), INVALID)
def test_invalid_samples_fail_both_naming_the_parameter(
    name: str, params: dict[str, Any], param: str
) -> None:
    """Samples jsonschema refuses, the validator refuses, naming the offending parameter."""
    assert not _jsonschema_accepts(name, params)
    assert _ours(name, params) == param


def test_integral_floats_become_ints() -> None:
    """2.0 is a JSON Schema integer; the checked value is the int 2 (what the resources take)."""
    checked = check(ACTIONS["REFINER_GET_SEGMENTS"].parameters, {"page": 2.0, "page_length": 5})
    assert checked == {"page": 2, "page_length": 5}
    assert type(checked["page"]) is int


def test_unknown_parameter_error_lists_the_accepted_ones() -> None:
    """An unknown parameter's error names it and the parameters the action takes."""
    with pytest.raises(InvalidParameterError) as info:
        check(ACTIONS["REFINER_GET_SEGMENTS"].parameters, {"limit": 5})
    assert info.value.param == "limit"
    assert "page, page_cursor, page_length" in str(info.value)


# Values where jsonschema (email: contains "@") and the stricter email rule agree.
_SCALARS = st.sampled_from(
    [
        *(None, True, False, 0, 1, -3, 50, 1000, 1001, 2.5, 3.0, "", "x", "jane@acme.com"),
        *("2026-01-01T00:00:00Z", "first_seen_at", "all", "nps", "completed", "published"),
    ]
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["id", "name", "seats", "x"]), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def _calls(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    name = draw(st.sampled_from(list(ACTIONS)))
    keys = [*ACTIONS[name].parameters["properties"], "unknown"]
    params = draw(st.dictionaries(st.sampled_from(keys), _VALUES, max_size=4))
    return name, params


@settings(max_examples=400, deadline=None)
@given(_calls())
def test_validator_agrees_with_jsonschema(call: tuple[str, dict[str, Any]]) -> None:
    """On arbitrary JSON parameters the validator and jsonschema accept and refuse alike."""
    name, params = call
    assert (_ours(name, params) is None) == _jsonschema_accepts(name, params)


def test_python_values_outside_json_are_refused() -> None:
    """Non-string keys and values with no JSON type (a datetime object) are refused by name."""
    from datetime import datetime

    schema = ACTIONS["REFINER_GET_RESPONSES"].parameters
    with pytest.raises(InvalidParameterError, match="keys must be strings"):
        check(schema, {1: "x"})
    with pytest.raises(InvalidParameterError, match="got datetime") as info:
        check(schema, {"date_range_start": datetime(2026, 1, 1)})
    assert info.value.param == "date_range_start"
