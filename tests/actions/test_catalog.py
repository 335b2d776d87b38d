"""The action schemas against the catalog: names, types, enums, required fields and limits."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from refiner_async.actions import ACTIONS
from refiner_async.actions._schema import ANNOTATIONS, DRAFT, KEYWORDS

ORDER_BY = ["first_seen_at", "last_seen_at", "last_form_submission_at"]
FORM_LIST = ["all", "published", "drafts", "archived", "all_with_archived"]
REPORT_TYPES = ["nps", "csat", "ratings", "distribution", "count"]
INCLUDE = ["completed", "partials", "all"]

# The catalog's input parameters, as written there: name -> (type, enum or format, required).
# Types: "string", "integer", "boolean", "object", "string[]"; "date-time" is the catalog's
# "any / date-time" (ISO-8601 text). DELETE_CONTACT's email carries format email here too,
# like every other email parameter (the catalog shows no format on that one).
CATALOG: dict[str, dict[str, tuple[str, Any, bool]]] = {
    "REFINER_DELETE_CONTACT": {
        "id": ("string", None, False),
        "uuid": ("string", None, False),
        "email": ("string", "email", False),
    },
    "REFINER_GET_ACCOUNT_INFO": {},
    "REFINER_GET_CONTACT": {
        "id": ("string", None, False),
        "uuid": ("string", None, False),
        "email": ("string", "email", False),
    },
    "REFINER_GET_CONTACTS": {
        "page": ("integer", None, False),
        "order_by": ("string", ORDER_BY, False),
        "form_uuid": ("string", None, False),
        "page_cursor": ("string", None, False),
        "page_length": ("integer", None, False),
        "segment_uuid": ("string", None, False),
    },
    "REFINER_GET_FORMS": {
        "list": ("string", FORM_LIST, False),
        "page": ("integer", None, False),
        "page_length": ("integer", None, False),
        "include_info": ("boolean", None, False),
        "include_config": ("boolean", None, False),
    },
    "REFINER_GET_REPORTING": {
        "type": ("string", REPORT_TYPES, True),
        "tag_uuids": ("string[]", None, False),
        "form_uuids": ("string[]", None, False),
        "segment_uuids": ("string[]", None, False),
        "date_range_end": ("date-time", None, False),
        "date_range_start": ("date-time", None, False),
        "question_identifiers": ("string[]", None, False),
    },
    "REFINER_GET_RESPONSES": {
        "page": ("integer", None, False),
        "search": ("string", None, False),
        "include": ("string", INCLUDE, False),
        "form_uuid": ("string", None, False),
        "form_uuids": ("string[]", None, False),
        "page_cursor": ("string", None, False),
        "page_length": ("integer", None, False),
        "segment_uuid": ("string", None, False),
        "segment_uuids": ("string[]", None, False),
        "date_range_end": ("date-time", None, False),
        "with_attributes": ("boolean", None, False),
        "date_range_start": ("date-time", None, False),
    },
    "REFINER_GET_SEGMENTS": {
        "page": ("integer", None, False),
        "page_cursor": ("string", None, False),
        "page_length": ("integer", None, False),
    },
    "REFINER_TRACK_EVENT": {
        "id": ("string", None, False),
        "email": ("string", "email", False),
        "event": ("string", None, True),
    },
    "REFINER_UPDATE_CONTACT": {
        "id": ("string", None, False),
        "email": ("string", "email", False),
        "account": ("object", None, False),
        "attributes": ("object", None, False),
    },
}


def _described(prop: dict[str, Any]) -> tuple[str, Any]:
    """A schema property in the catalog's words: (type, enum or format)."""
    if prop["type"] == "array":
        assert prop["items"] == {"type": "string"}
        return "string[]", None
    if prop.get("format") == "date-time":
        assert prop["type"] == "string"
        return "date-time", None
    return prop["type"], prop.get("enum", prop.get("format"))


def test_registry_holds_the_ten_catalog_actions_in_order() -> None:
    """The registry names exactly the catalog's ten actions, in catalog order."""
    assert list(ACTIONS) == list(CATALOG)
    assert all(ACTIONS[name].name == name for name in ACTIONS)


@pytest.mark.parametrize("name", list(CATALOG))
def test_schema_matches_catalog(name: str) -> None:
    """Each schema has the catalog's parameter names, types, enums, formats and required fields."""
    schema = ACTIONS[name].parameters
    assert schema["$schema"] == DRAFT
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    properties = schema["properties"]
    assert set(properties) == set(CATALOG[name])
    for param, (kind, detail, required) in CATALOG[name].items():
        assert _described(properties[param]) == (kind, detail), param
        assert (param in schema.get("required", [])) is required, param
        assert properties[param]["description"], param
    assert set(schema.get("required", [])) <= set(properties)


@pytest.mark.parametrize("name", list(CATALOG))
def test_schema_limits(name: str) -> None:
    """page is >= 1 and page_length is 1..1000 wherever they appear; account requires an id."""
    properties = ACTIONS[name].parameters["properties"]
    if "page" in properties:
        assert properties["page"]["minimum"] == 1
        assert "maximum" not in properties["page"]
    if "page_length" in properties:
        assert (properties["page_length"]["minimum"], properties["page_length"]["maximum"]) == (
            1,
            1000,
        )
    if "account" in properties:
        assert properties["account"]["required"] == ["id"]


@pytest.mark.parametrize("name", list(CATALOG))
def test_schemas_are_valid_draft_2020_12(name: str) -> None:
    """Input and output schemas pass Draft202012Validator.check_schema."""
    Draft202012Validator.check_schema(ACTIONS[name].parameters)
    Draft202012Validator.check_schema(ACTIONS[name].output_schema)


def _keywords(schema: dict[str, Any]) -> set[str]:
    found = set(schema)
    for sub in schema.get("properties", {}).values():
        found |= _keywords(sub)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found |= _keywords(schema[key])
    return found


@pytest.mark.parametrize("name", list(CATALOG))
def test_schemas_use_only_keywords_the_validator_reads(name: str) -> None:
    """No schema relies on a keyword the runtime validator would silently skip."""
    assert _keywords(ACTIONS[name].parameters) <= KEYWORDS | ANNOTATIONS


def test_reporting_output_lists_the_report_fields() -> None:
    """GET_REPORTING's envelope carries the catalog's report figures beside data."""
    action = ACTIONS["REFINER_GET_REPORTING"]
    expected = {"nps", "sum", "csat", "count", "views", "average", "responses", "datapoints"}
    expected |= {"date_range_start", "date_range_end"}
    assert set(action.result_fields) == expected
    output = action.output_schema
    assert set(output["properties"]) == expected | {"data", "error", "successful"}
    assert {"data", "successful", "date_range_start", "date_range_end"} <= set(output["required"])


def test_writes_are_marked_not_read_only() -> None:
    """Only DELETE_CONTACT, TRACK_EVENT and UPDATE_CONTACT change data."""
    writes = {name for name, action in ACTIONS.items() if not action.read_only}
    assert writes == {"REFINER_DELETE_CONTACT", "REFINER_TRACK_EVENT", "REFINER_UPDATE_CONTACT"}


def test_parameters_are_copies() -> None:
    """Changing a returned schema does not change the registry."""
    schema = ACTIONS["REFINER_GET_FORMS"].parameters
    schema["properties"]["page"]["minimum"] = 0
    assert ACTIONS["REFINER_GET_FORMS"].parameters["properties"]["page"]["minimum"] == 1
