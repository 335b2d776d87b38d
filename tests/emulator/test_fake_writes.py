"""identify-user, track-event, delete contact, stored responses, tags, segments and form writes."""

from __future__ import annotations

import pytest

from refiner_async.testing import ASSUMPTIONS


async def test_identify_creates_then_updates_the_same_contact(api):
    """identify-user upserts by id: traits flat, account with id, name sets display_name."""
    status, first = await api.post(
        "/identify-user",
        {"id": "u-100", "email": "ada@example.com", "plan": "pro", "seats": 3, "beta": True},
    )
    assert status == 200
    assert first["message"] == "ok"
    status, second = await api.post(
        "/identify-user",
        {
            "id": "u-100",
            "name": "Ada Lovelace",
            "plan": "enterprise",
            "trial_ends_at": "2026-03-01",
            "account": {"id": "acc-9", "name": "Analytical Engines", "tier": "gold"},
        },
    )
    assert second["contact_uuid"] == first["contact_uuid"]
    contact = await api.ok("/contact", {"uuid": first["contact_uuid"]})
    assert contact["remote_id"] == "u-100"
    assert contact["email"] == "ada@example.com"
    assert contact["display_name"] == "Ada Lovelace"
    assert contact["attributes"]["plan"] == "enterprise"
    assert contact["attributes"]["seats"] == 3
    assert contact["attributes"]["beta"] is True
    assert contact["attributes"]["trial_ends_at"] == "2026-03-01T00:00:00.000000Z"
    assert contact["account"]["remote_id"] == "acc-9"
    assert contact["account"]["display_name"] == "Analytical Engines"
    assert contact["account"]["attributes"] == {"tier": "gold"}
    assert (await api.ok("/contact", {"email": "ada@example.com"}))["uuid"] == contact["uuid"]


async def test_identify_by_email_and_nested_attributes(api):
    """identify-user by email alone works; a nested attributes object is flattened into traits."""
    _, made = await api.post(
        "/identify-user", {"email": "solo@example.com", "attributes": {"color": "teal"}}
    )
    contact = await api.ok("/contact", {"email": "solo@example.com"})
    assert contact["uuid"] == made["contact_uuid"]
    assert contact["remote_id"] is None
    assert contact["attributes"]["color"] == "teal"


@pytest.mark.parametrize(
    "body",
    [{"plan": "x"}, {"id": "u", "account": {"name": "no id"}}, {"id": "u", "deep": {"a": 1}}],
)
async def test_identify_refuses_bad_input(api, body):
    """No id/email, an account without id, or an object trait is 400 {"error": ...}."""
    status, answer = await api.post("/identify-user", body)
    assert status == 400
    assert isinstance(answer["error"], str)


async def test_track_records_each_call_and_creates_users(api, fake_refiner):
    """track-event creates unknown users and records one event per request (/track too)."""
    for _ in range(3):
        assert (await api.post("/track-event", {"id": "tracker", "event": "opened"}))[0] == 200
    assert (await api.post("/track", {"email": "t@example.com", "event": "opened"}))[0] == 200
    assert (await api.ok("/contact", {"id": "tracker"}))["remote_id"] == "tracker"
    stats = fake_refiner.stats()
    assert stats["events_per_user"]["tracker"] == 3
    assert stats["events_per_user"]["t@example.com"] == 1
    assert stats["events_total"] == 4
    status, body = await api.post("/track-event", {"id": "tracker"})
    assert status == 400
    assert "error" in body
    status, body = await api.post("/track-event", {"event": "x"})
    assert status == 400
    assert "error" in body


async def test_delete_contact_removes_its_responses(api, fake_refiner):
    """DELETE /contact removes the contact and every one of its responses."""
    items = await api.walk("/responses", {"include": "all", "page_length": 1000})
    victim = items[0]["contact"]
    theirs = {i["uuid"] for i in items if i["contact"]["uuid"] == victim["uuid"]}
    assert (await api.delete("/contact", {"uuid": victim["uuid"]})) == (200, {"message": "ok"})
    assert (await api.get("/contact", {"uuid": victim["uuid"]}))[0] == 404
    after = await api.walk("/responses", {"include": "all", "page_length": 1000})
    assert not theirs & {i["uuid"] for i in after}
    assert len(after) == len(items) - len(theirs)
    assert not theirs & set(fake_refiner.live_response_uuids("all"))
    status, body = await api.delete("/contact", {"uuid": victim["uuid"]})
    assert (status, body) == (404, {"error": "Contact not found"})
    status, body = await api.delete("/contact")
    assert status == 400
    assert "error" in body


async def test_store_response_and_duplicate_prevention(api):
    """POST /responses stores flat answers; an identical resend returns the same uuid."""
    form = (await api.ok("/forms"))["items"][0]["uuid"]
    body = {"form_uuid": form, "id": "writer-1", "nps": 10, "why": "Great", "date": "2024-05-01"}
    status, stored = await api.post("/responses", body)
    assert status == 200
    assert stored["message"] == "ok"
    assert (await api.post("/responses", body))[1]["uuid"] == stored["uuid"]
    again = (await api.post("/responses", {**body, "prevent_duplicates": False}))[1]
    assert again["uuid"] != stored["uuid"]
    found = await api.walk("/responses", {"search": stored["uuid"]})
    assert found[0]["data"] == {"nps": 10, "why": "Great"}
    assert found[0]["completed_at"] == "2024-05-01 00:00:00"
    status, err = await api.post("/responses", {"form_uuid": "nope", "id": "writer-1"})
    assert (status, err) == (404, {"error": "Form not found"})


async def test_tags_are_added_and_filterable(api, fake_refiner):
    """POST /responses/tags adds tags; tag_uuid filters on them."""
    target = (await api.ok("/responses", {"page_length": 1}))["items"][0]["uuid"]
    assert (await api.post("/responses/tags", {"uuid": target, "tags": ["bug", "ux"]}))[0] == 200
    tagged = await api.walk("/responses", {"tag_uuid": fake_refiner.tag_uuid("ux")})
    assert [i["uuid"] for i in tagged] == [target]
    status, _ = await api.post("/responses/tags", {"uuid": "missing", "tags": ["bug"]})
    assert status == 404
    status, _ = await api.post(
        "/responses/tags", {"uuid": target, "tags": [str(n) for n in range(21)]}
    )
    assert status == 400


async def test_tags_are_kept_for_filters_but_not_listed_on_items(api, fake_refiner):
    """Tags stored with POST /responses and added with POST /responses/tags are found by tag_uuid
    and reporting tag_uuids[], yet items carry no tags key: the API doc leaves that UNKNOWN and
    ASSUMPTIONS states the choice."""
    form = (await api.ok("/forms"))["items"][0]["uuid"]
    body = {"form_uuid": form, "id": "tagger", "nps": 9, "tags": ["vip"], "date": "2024-05-01"}
    stored = (await api.post("/responses", body))[1]["uuid"]
    tagged = (await api.ok("/responses", {"page_length": 1}))["items"][0]["uuid"]
    assert (await api.post("/responses/tags", {"uuid": tagged, "tags": ["vip", "ux"]}))[0] == 200
    found = await api.walk("/responses", {"tag_uuid": fake_refiner.tag_uuid("vip")})
    assert {i["uuid"] for i in found} == {stored, tagged}
    assert all("tags" not in item for item in found)
    both = await api.walk("/responses", {"search": stored, "include": "all"})
    assert "tags" not in both[0]
    report = await api.ok(
        "/reporting",
        {
            "type": "count",
            "tag_uuids[]": fake_refiner.tag_uuid("vip"),
            "date_range_start": "2024-01-01",
        },
    )
    assert report["responses"] == 2
    assumption = ASSUMPTIONS["responses.tags"]
    assert "no tags key" in assumption
    assert "UNKNOWN" in assumption


async def test_sync_segment_adds_and_removes(api):
    """POST /sync-segment adds a (new) user to a manual segment; DELETE removes; automatic: 400."""
    segments = (await api.ok("/segments"))["items"]
    manual = next(s for s in segments if s["is_manual"])
    automatic = next(s for s in segments if not s["is_manual"])
    status, body = await api.post("/sync-segment", {"segment_uuid": manual["uuid"], "id": "seg-1"})
    assert status == 200
    assert body["segment_uuid"] == manual["uuid"]
    contact = await api.ok("/contact", {"id": "seg-1"})
    assert {"uuid": manual["uuid"], "name": manual["name"]} in contact["segments"]
    members = await api.walk("/contacts", {"segment_uuid": manual["uuid"], "page_length": 1000})
    assert contact["uuid"] in {c["uuid"] for c in members}
    status, _ = await api.delete("/sync-segment", {"segment_uuid": manual["uuid"], "id": "seg-1"})
    assert status == 200
    assert (await api.ok("/contact", {"id": "seg-1"}))["segments"] == []
    status, body = await api.post("/sync-segment", {"segment_uuid": automatic["uuid"], "id": "x"})
    assert status == 400
    assert "error" in body
    status, _ = await api.post("/sync-segment", {"segment_uuid": "nope", "id": "x"})
    assert status == 404


async def test_form_writes(api):
    """publish/unpublish, duplicate into a draft, archive via DELETE /forms, all in the history."""
    form = (await api.ok("/forms", {"list": "published"}))["items"][0]
    assert (await api.post("/forms/publish", {"form_uuid": form["uuid"], "published": "0"}))[
        0
    ] == 200
    drafts = {f["uuid"] for f in (await api.ok("/forms", {"list": "drafts"}))["items"]}
    assert form["uuid"] in drafts
    status, dup = await api.post("/forms/duplicate", {"form_uuid": form["uuid"], "name": "Copy"})
    assert status == 200
    assert dup["source_form_uuid"] == form["uuid"]
    assert dup["new_form_uuid"] in {
        f["uuid"] for f in (await api.ok("/forms", {"list": "drafts"}))["items"]
    }
    assert (await api.delete("/forms", {"form_uuid": form["uuid"]}))[0] == 200
    archived = {f["uuid"] for f in (await api.ok("/forms", {"list": "archived"}))["items"]}
    assert form["uuid"] in archived
    history = await api.walk("/forms/history", {"form_uuid": form["uuid"]})
    assert {"unpublished", "archived"} <= {h["action"] for h in history}
    assert set(history[0]) == {"uuid", "action", "snapshot", "created_at"}
    status, _ = await api.post("/forms/duplicate", {"form_uuid": form["uuid"]})
    assert status == 400


async def test_refused_writes_leave_no_trace(api):
    """A write refused with 400 creates no contact."""
    form = (await api.ok("/forms"))["items"][0]["uuid"]
    status, _ = await api.post("/responses", {"form_uuid": form, "id": "ghost", "x": {"a": 1}})
    assert status == 400
    status, _ = await api.post("/identify-user", {"id": "ghost", "account": {"name": "no id"}})
    assert status == 400
    assert (await api.get("/contact", {"id": "ghost"}))[0] == 404
