"""Filters and ordering of /responses, /contacts, /forms and /segments."""

from __future__ import annotations

import pytest

ALL = {"page_length": 1000}


@pytest.fixture
async def everything(api):
    """Every response (include=all), newest first."""
    return await api.walk("/responses", {**ALL, "include": "all"})


async def test_include_values(api, everything):
    """completed: completed only; partials: + partial answers; all: + dismissed and silent views."""
    completed = await api.walk("/responses", ALL)
    partials = await api.walk("/responses", {**ALL, "include": "partials"})
    assert all(i["completed_at"] is not None for i in completed)
    assert all(i["last_data_reception_at"] is not None for i in partials)
    assert any(i["completed_at"] is None for i in partials)
    assert {i["uuid"] for i in completed} < {i["uuid"] for i in partials}
    assert {i["uuid"] for i in partials} < {i["uuid"] for i in everything}
    assert any(i["dismissed_at"] is not None and i["data"] == {} for i in everything)
    assert any(
        i["dismissed_at"] is None and i["last_data_reception_at"] is None for i in everything
    )
    status, body = await api.get("/responses", {"include": "some"})
    assert status == 400
    assert "error" in body


async def test_form_and_segment_filters(api, everything):
    """form_uuid, form_uuids[] (union), segment_uuid, segment_uuids[] select exactly their items."""
    forms = [f["uuid"] for f in (await api.ok("/forms"))["items"]]
    one = await api.walk("/responses", {**ALL, "include": "all", "form_uuid": forms[0]})
    assert one
    assert [i["uuid"] for i in one] == [
        i["uuid"] for i in everything if i["form"]["uuid"] == forms[0]
    ]
    union = await api.walk(
        "/responses",
        [("include", "all"), ("form_uuid", forms[0]), ("form_uuids[]", forms[1]), *ALL.items()],
    )
    assert {i["form"]["uuid"] for i in union} == {forms[0], forms[1]} - {None}
    segment = next(s for s in (await api.ok("/segments"))["items"] if not s["is_manual"])
    members = {
        c["uuid"] for c in await api.walk("/contacts", {**ALL, "segment_uuid": segment["uuid"]})
    }
    assert members
    in_segment = await api.walk(
        "/responses", {**ALL, "include": "all", "segment_uuids[]": segment["uuid"]}
    )
    assert [i["uuid"] for i in in_segment] == [
        i["uuid"] for i in everything if i["contact"]["uuid"] in members
    ]
    unknown = await api.ok("/responses", {"form_uuid": "00000000-0000-4000-8000-000000000000"})
    assert unknown["items"] == []


async def test_date_range_is_start_inclusive_end_exclusive(api):
    """date_range_start includes and date_range_end excludes last_data_reception_at."""
    items = await api.walk("/responses", ALL)
    pivot = items[len(items) // 2]["last_data_reception_at"]
    iso = pivot.replace(" ", "T") + "Z"
    since = await api.walk("/responses", {**ALL, "date_range_start": iso})
    before = await api.walk("/responses", {**ALL, "date_range_end": pivot})
    assert min(i["last_data_reception_at"] for i in since) == pivot
    assert all(i["last_data_reception_at"] < pivot for i in before)
    assert len(since) + len(before) == len(items)
    day = pivot[:10]
    one_day = await api.walk(
        "/responses", {**ALL, "date_range_start": day, "date_range_end": day + " 23:59:59"}
    )
    assert all(i["last_data_reception_at"].startswith(day) for i in one_day)
    status, body = await api.get("/responses", {"date_range_start": "last tuesday"})
    assert status == 400
    assert "error" in body


async def test_search_matches_contact_fields_and_uuids(api, everything):
    """search matches email, user ID or name (case-insensitive), or a response/contact uuid."""
    target = everything[3]
    email = target["contact"]["email"]
    by_email = await api.walk("/responses", {**ALL, "include": "all", "search": email.upper()})
    assert target["uuid"] in {i["uuid"] for i in by_email}
    assert all(email in (i["contact"]["email"] or "") for i in by_email)
    by_uuid = await api.walk("/responses", {**ALL, "include": "all", "search": target["uuid"]})
    assert [i["uuid"] for i in by_uuid] == [target["uuid"]]


async def test_with_attributes_adds_contact_attributes(api):
    """with_attributes=1 adds contact.attributes (traits and answers); without it there are none."""
    plain = await api.ok("/responses", {"page_length": 5})
    assert all("attributes" not in i["contact"] for i in plain["items"])
    rich = await api.ok("/responses", {"page_length": 5, "with_attributes": "true"})
    for item in rich["items"]:
        attributes = item["contact"]["attributes"]
        assert "plan" in attributes
        for key in item["data"]:
            assert key in attributes  # the contact's latest answer to that question
        assert item["data"]
        assert item["contact"]["attributes"] is not None
    assert [i["uuid"] for i in plain["items"]] == [i["uuid"] for i in rich["items"]]


@pytest.mark.parametrize(
    ("order_by", "field"),
    [("first_seen_at", "first_seen_at"), ("last_seen_at", "last_seen_at"), ("email", "email")],
)
async def test_contacts_order_by(api, order_by, field):
    """Contacts are sorted ascending by order_by, ties by uuid."""
    contacts = await api.walk("/contacts", {**ALL, "order_by": order_by})
    keys = [((c[field] or "").lower(), c["uuid"]) for c in contacts]
    assert keys == sorted(keys)


@pytest.mark.fake_refiner(contacts_order="desc")
async def test_contacts_order_can_be_descending(api):
    """contacts_order="desc" sorts timestamp orders newest first."""
    contacts = await api.walk("/contacts", ALL)
    stamps = [c["first_seen_at"] for c in contacts]
    assert stamps == sorted(stamps, reverse=True)


async def test_contacts_filters(api):
    """Contacts filter by form (responded), segment membership and search; bad order_by is 400."""
    form = (await api.ok("/forms"))["items"][0]["uuid"]
    responders = await api.walk("/contacts", {**ALL, "form_uuid": form})
    answered = await api.walk("/responses", {**ALL, "include": "partials", "form_uuid": form})
    assert {c["uuid"] for c in responders} == {i["contact"]["uuid"] for i in answered}
    someone = responders[0]
    found = await api.walk("/contacts", {**ALL, "search": someone["display_name"].lower()})
    assert someone["uuid"] in {c["uuid"] for c in found}
    status, body = await api.get("/contacts", {"order_by": "shoe_size"})
    assert status == 400
    assert "error" in body


@pytest.mark.fake_refiner(forms=12)
async def test_forms_list_states_and_order(api):
    """list= selects published/drafts/archived; all hides archived; items sorted by name."""
    by_state = {
        state: (await api.ok("/forms", {"list": state, "include_info": 1}))["items"]
        for state in ("all", "published", "drafts", "archived", "all_with_archived")
    }
    assert by_state["drafts"]
    assert by_state["archived"]
    assert by_state["published"]
    assert all(f["published_at"] is None for f in by_state["drafts"])
    assert all(f["archived_at"] is not None for f in by_state["archived"])
    uuids = {k: {f["uuid"] for f in v} for k, v in by_state.items()}
    assert uuids["all"] == uuids["published"] | uuids["drafts"]
    assert uuids["all_with_archived"] == uuids["all"] | uuids["archived"]
    names = [f["name"].lower() for f in by_state["all_with_archived"]]
    assert names == sorted(names)


async def test_forms_include_info_and_config(api):
    """Without flags a form is {uuid, name}; include_info and include_config add their fields."""
    plain = (await api.ok("/forms"))["items"][0]
    assert set(plain) == {"uuid", "name"}
    info = (await api.ok("/forms", {"include_info": 1}))["items"][0]
    assert {"channels", "responses_count", "views_count", "published_at", "page_url"} <= set(info)
    config = (await api.ok("/forms", {"include_config": "1"}))["items"][0]
    assert set(config) == {"uuid", "name", "config"}
    assert config["config"]["form_elements"]


async def test_segments_are_sorted_by_name_and_some_manual(api):
    """Segments are {uuid, name, is_manual}, sorted by name, some of them manual."""
    items = (await api.ok("/segments"))["items"]
    assert all(set(s) == {"uuid", "name", "is_manual"} for s in items)
    assert [s["name"] for s in items] == sorted(s["name"] for s in items)
    assert {s["is_manual"] for s in items} == {True, False}
