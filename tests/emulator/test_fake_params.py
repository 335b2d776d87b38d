"""Parameters merged from query, JSON body and form body, with key[], repeated keys and key[sub]."""

from __future__ import annotations

import pytest

from refiner_async.testing._params import ApiError, Params, merge, parse_pairs


def test_brackets_make_lists_and_objects():
    """key[] appends, repeated keys make a list, key[sub] makes a dict."""
    parsed = parse_pairs(
        [
            ("form_uuids[]", "a"),
            ("form_uuids[]", "b"),
            ("tag", "x"),
            ("tag", "y"),
            ("account[id]", "acme"),
            ("account[name]", "Acme Inc."),
            ("response_data[nps]", "9"),
            ("page", "2"),
        ]
    )
    assert parsed == {
        "form_uuids": ["a", "b"],
        "tag": ["x", "y"],
        "account": {"id": "acme", "name": "Acme Inc."},
        "response_data": {"nps": "9"},
        "page": "2",
    }


def test_body_wins_over_query_and_json_bracket_keys_are_lists():
    """Body keys override query keys; a JSON key "tags[]" means tags."""
    merged = merge({"page": "1", "id": "q"}, {"id": "b", "tags[]": ["x"]}, json_body=True)
    assert merged == {"page": "1", "id": "b", "tags": ["x"]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("0", False), ("true", True), ("FALSE", False), (True, True), (0, False)],
)
def test_booleans(value, expected):
    """1/0, true/false and JSON booleans read as booleans."""
    assert Params({"with_attributes": value}).get_bool("with_attributes") is expected


def test_bad_values_are_400():
    """A non-integer page, an unknown boolean or a bad date raise a 400 ApiError."""
    for call in (
        lambda: Params({"page": "two"}).get_int("page", 1),
        lambda: Params({"page": "0"}).get_int("page", 1),
        lambda: Params({"x": "maybe"}).get_bool("x"),
        lambda: Params({"d": "yesterday"}).get_timestamp("d"),
    ):
        with pytest.raises(ApiError) as info:
            call()
        assert info.value.status == 400
        assert set(info.value.body) == {"error"}


def test_lists_accept_commas_and_arrays():
    """A list parameter reads key[] arrays, JSON arrays and comma-separated strings alike."""
    assert Params({"q": "a, b,,c"}).get_list("q") == ["a", "b", "c"]
    assert Params({"q": ["a", 1]}).get_list("q") == ["a", "1"]
    assert Params({}).get_list("q") == []


async def test_form_body_with_nested_account(api):
    """identify-user with a form body: traits flat, account[id]/account[name] nested."""
    status, body = await api.call(
        "POST",
        "/identify-user",
        data=[
            ("id", "form-user-1"),
            ("email", "form.user@example.com"),
            ("role", "Manager"),
            ("account[id]", "acme-form"),
            ("account[name]", "Acme Form Inc."),
            ("account[industry]", "Retail"),
        ],
    )
    assert status == 200
    assert body["message"] == "ok"
    contact = await api.ok("/contact", {"id": "form-user-1"})
    assert contact["uuid"] == body["contact_uuid"]
    assert contact["email"] == "form.user@example.com"
    assert contact["attributes"]["role"] == "Manager"
    assert contact["account"]["remote_id"] == "acme-form"
    assert contact["account"]["display_name"] == "Acme Form Inc."
    assert contact["account"]["attributes"] == {"industry": "Retail"}


async def test_query_and_json_body_are_merged(api):
    """id in the query and event in the JSON body make one request."""
    status, body = await api.call(
        "POST", "/track-event", params={"id": "merge-user"}, json={"event": "clicked"}
    )
    assert (status, body) == (200, {"message": "ok"})
    assert (await api.ok("/contact", {"id": "merge-user"}))["remote_id"] == "merge-user"


async def test_array_parameters_in_query(api, fake_refiner):
    """form_uuids[]=a&form_uuids[]=b filters on both forms."""
    forms = (await api.ok("/forms"))["items"]
    wanted = {forms[0]["uuid"], forms[1]["uuid"]}
    items = await api.walk(
        "/responses", [("form_uuids[]", u) for u in sorted(wanted)] + [("page_length", 1000)]
    )
    assert items
    assert {i["form"]["uuid"] for i in items} <= wanted
    everything = await api.walk("/responses", {"page_length": 1000})
    assert len(items) == sum(1 for i in everything if i["form"]["uuid"] in wanted)


async def test_malformed_json_body_is_400(api):
    """A body that is not valid JSON is 400 {"error": ...}."""
    status, body = await api.call(
        "POST",
        "/identify-user",
        data=b'{"id": "x",',
        headers={"Content-Type": "application/json"},
    )
    assert status == 400
    assert "JSON" in body["error"]
