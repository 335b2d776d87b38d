"""Every action against FakeRefiner: the envelope, the data, pagination pass-through, failures."""

from __future__ import annotations

from typing import Any

import pytest

from refiner_async import RefinerClient
from refiner_async.actions import ACTIONS, DEFAULT_PAGE_LENGTH, run_action
from refiner_async.testing import FakeRefiner

from .conftest import check_envelope

pytestmark = [
    pytest.mark.fake_refiner(seed=1, responses=150, contacts=30, forms=5, segments=4),
    pytest.mark.usefixtures("instant"),
]


class Runner:
    """run_action with the envelope checked, and the actions run so far."""

    def __init__(self, client: RefinerClient, fake: FakeRefiner) -> None:
        self.client = client
        self.fake = fake
        self.names: set[str] = set()

    async def __call__(self, name: str, params: Any = None) -> dict[str, Any]:
        self.names.add(name)
        envelope = await run_action(self.client, name, params)
        return check_envelope(envelope, name, self.fake.api_key)

    async def ok(self, name: str, params: Any = None) -> Any:
        envelope = await self(name, params)
        assert envelope["successful"], envelope["error"]
        return envelope["data"]

    def requests(self) -> int:
        return int(self.fake.stats()["requests_total"])


@pytest.fixture
def run(refiner_client: RefinerClient, fake_refiner: FakeRefiner) -> Runner:
    return Runner(refiner_client, fake_refiner)


async def _a_contact(run: Runner) -> dict[str, Any]:
    """A contact of the emulator with a user ID and an email, found through GET_CONTACTS."""
    page = await run.ok("REFINER_GET_CONTACTS", {"page_length": 30})
    return next(c for c in page["items"] if c["remote_id"] and c["email"])


async def test_every_action_with_catalog_parameters(run: Runner) -> None:
    """All ten actions succeed with the catalog's parameter names and return their data."""
    account = await run.ok("REFINER_GET_ACCOUNT_INFO", {})
    assert account["subscription"]["plan"]
    assert account["environments"][0]["uuid"]

    segments = await run.ok("REFINER_GET_SEGMENTS", {"page": 1, "page_length": 10})
    assert len(segments["items"]) == 4
    segment = segments["items"][0]
    forms = await run.ok(
        "REFINER_GET_FORMS",
        {"list": "all_with_archived", "page": 1, "page_length": 10, "include_info": True},
    )
    assert len(forms["items"]) == 5
    form = forms["items"][0]
    assert {"uuid", "name", "responses_count", "created_at"} <= set(form)

    contacts = await run.ok(
        "REFINER_GET_CONTACTS",
        {"order_by": "last_seen_at", "page": 1, "page_length": 5, "segment_uuid": segment["uuid"]},
    )
    assert contacts["pagination"]["page_length"] == 5
    assert all(segment["uuid"] in {s["uuid"] for s in c["segments"]} for c in contacts["items"])

    responses = await run.ok(
        "REFINER_GET_RESPONSES",
        {
            "form_uuid": form["uuid"],
            "include": "all",
            "with_attributes": True,
            "page": 1,
            "page_length": 20,
            "date_range_start": "2000-01-01T00:00:00Z",
            "date_range_end": "2100-01-01T00:00:00Z",
        },
    )
    assert responses["items"]
    assert {r["form"]["uuid"] for r in responses["items"]} == {form["uuid"]}
    assert all("attributes" in r["contact"] for r in responses["items"])

    report = await run(
        "REFINER_GET_REPORTING",
        {
            "type": "nps",
            "form_uuids": [f["uuid"] for f in forms["items"]],
            "date_range_start": "2000-01-01T00:00:00Z",
            "date_range_end": "2100-01-01T00:00:00Z",
        },
    )
    assert report["successful"]
    assert set(report["data"]) == {"detractors", "passives", "promoters"}
    assert report["count"] == sum(report["data"].values())
    assert isinstance(report["nps"], int | float)
    assert report["date_range_start"].startswith("2000-01-01")

    contact = await _a_contact(run)
    fetched = await run.ok("REFINER_GET_CONTACT", {"id": contact["remote_id"]})
    assert fetched["uuid"] == contact["uuid"]
    assert fetched == await run.ok("REFINER_GET_CONTACT", {"email": contact["email"]})
    assert fetched == await run.ok("REFINER_GET_CONTACT", {"uuid": contact["uuid"]})

    updated = await run.ok(
        "REFINER_UPDATE_CONTACT",
        {
            "id": contact["remote_id"],
            "attributes": {"plan": "enterprise", "seats": 12, "renewal_at": "2027-01-01T00:00:00Z"},
            "account": {"id": "acme", "name": "Acme Inc."},
        },
    )
    assert updated["contact_uuid"] == contact["uuid"]
    after = await run.ok("REFINER_GET_CONTACT", {"uuid": contact["uuid"]})
    assert after["attributes"]["plan"] == "enterprise"
    assert after["attributes"]["seats"] == 12
    assert after["account"]["remote_id"] == "acme"
    assert after["account"]["display_name"] == "Acme Inc."

    tracked = await run.ok(
        "REFINER_TRACK_EVENT", {"event": "Exported report", "id": contact["remote_id"]}
    )
    assert tracked == {"message": "ok"}
    assert run.fake.stats()["events_per_user"][contact["remote_id"]] == 1
    await run.ok("REFINER_TRACK_EVENT", {"event": "Signed in", "email": "new.user@example.com"})
    assert run.fake.stats()["events_per_user"]["new.user@example.com"] == 1

    deleted = await run.ok("REFINER_DELETE_CONTACT", {"email": contact["email"]})
    assert deleted == {"message": "ok"}
    gone = await run("REFINER_GET_CONTACT", {"uuid": contact["uuid"]})
    assert not gone["successful"]
    assert "NotFoundError" in gone["error"]

    assert run.names == set(ACTIONS)


@pytest.mark.parametrize("kind", ["nps", "csat", "ratings", "distribution", "count"])
async def test_reporting_fields_by_type(run: Runner, kind: str) -> None:
    """Each report type fills its own figures; the others are null; data maps keys to counts."""
    report = await run(
        "REFINER_GET_REPORTING", {"type": kind, "date_range_start": "2000-01-01T00:00:00Z"}
    )
    assert report["successful"], report["error"]
    produced = {
        "nps": {"nps", "count"},
        "csat": {"csat", "count"},
        "ratings": {"average", "sum", "count"},
        "distribution": {"datapoints", "responses"},
        "count": {"views", "responses"},
    }[kind]
    figures = set(ACTIONS["REFINER_GET_REPORTING"].result_fields) - {
        "date_range_start",
        "date_range_end",
    }
    assert {k for k in figures if report[k] is not None} == produced
    assert all(isinstance(v, int) for v in report["data"].values())
    assert report["date_range_start"]
    assert report["date_range_end"]


async def test_one_page_by_number_or_cursor(run: Runner) -> None:
    """page and page_cursor pass through: the cursor of page 1 leads to what page 2 holds."""
    first = await run.ok("REFINER_GET_RESPONSES", {"page_length": 7})
    pagination = first["pagination"]
    assert pagination["current_page"] == 1
    assert pagination["page_length"] == 7
    assert pagination["last_page"] >= 2
    assert pagination["next_page_cursor"]
    by_number = await run.ok("REFINER_GET_RESPONSES", {"page": 2, "page_length": 7})
    by_cursor = await run.ok(
        "REFINER_GET_RESPONSES", {"page_cursor": pagination["next_page_cursor"], "page_length": 7}
    )
    assert by_number["pagination"]["current_page"] == 2
    assert [r["uuid"] for r in by_cursor["items"]] == [r["uuid"] for r in by_number["items"]]
    assert {r["uuid"] for r in first["items"]}.isdisjoint(r["uuid"] for r in by_number["items"])


async def test_page_length_defaults_to_50(run: Runner) -> None:
    """Without page_length a list action asks for DEFAULT_PAGE_LENGTH items, not the SDK's 1000."""
    page = await run.ok("REFINER_GET_CONTACTS")
    assert DEFAULT_PAGE_LENGTH == 50
    assert page["pagination"]["page_length"] == 50
    assert len(page["items"]) == 30  # every contact fits


async def test_forms_pages_by_number(run: Runner) -> None:
    """GET_FORMS pages by number (forms have no cursor); the pages do not overlap."""
    one = await run.ok(
        "REFINER_GET_FORMS", {"page": 1, "page_length": 2, "list": "all_with_archived"}
    )
    two = await run.ok(
        "REFINER_GET_FORMS", {"page": 2, "page_length": 2, "list": "all_with_archived"}
    )
    assert one["pagination"]["last_page"] == 3
    assert one["pagination"]["next_page_cursor"] is None
    assert two["pagination"]["current_page"] == 2
    assert {f["uuid"] for f in one["items"]}.isdisjoint(f["uuid"] for f in two["items"])


async def test_filters_reach_the_api(run: Runner) -> None:
    """include, list, order_by and search are sent: each changes what comes back as it should."""
    completed = await run.ok("REFINER_GET_RESPONSES", {"page_length": 100})
    everything = await run.ok("REFINER_GET_RESPONSES", {"include": "all", "page_length": 100})
    assert all(r["completed_at"] for r in completed["items"])
    assert everything["pagination"]["items_count"] > completed["pagination"]["items_count"]

    every_form = await run.ok("REFINER_GET_FORMS", {"list": "all_with_archived"})
    drafts = await run.ok("REFINER_GET_FORMS", {"list": "drafts", "include_info": True})
    assert drafts["items"]
    assert all(f["published_at"] is None for f in drafts["items"])
    assert len(drafts["items"]) < len(every_form["items"])

    by_seen = await run.ok("REFINER_GET_CONTACTS", {"order_by": "last_seen_at"})
    seen = [c["last_seen_at"] for c in by_seen["items"]]
    assert seen in (sorted(seen), sorted(seen, reverse=True))

    email = completed["items"][0]["contact"]["email"]
    found = await run.ok("REFINER_GET_RESPONSES", {"search": email, "include": "all"})
    assert found["items"]
    assert {r["contact"]["email"] for r in found["items"]} == {email}


async def test_params_as_json_text(run: Runner) -> None:
    """Parameters may come as the JSON text a tool call carries; null counts as not given."""
    page = await run.ok("REFINER_GET_SEGMENTS", '{"page_length": 3, "page_cursor": null}')
    assert len(page["items"]) == 3


INVALID = [
    # the schema
    ("REFINER_GET_CONTACTS", {"page_length": 5000}, "page_length"),
    ("REFINER_GET_CONTACTS", {"page": 0}, "page"),
    ("REFINER_GET_CONTACTS", {"order_by": "email"}, "order_by"),
    ("REFINER_GET_FORMS", {"list": "deleted"}, "list"),
    ("REFINER_GET_RESPONSES", {"include": "everything"}, "include"),
    ("REFINER_GET_RESPONSES", {"form_uuids": "one"}, "form_uuids"),
    ("REFINER_GET_REPORTING", {"form_uuids": ["f"]}, "type"),
    ("REFINER_GET_REPORTING", {"type": "median"}, "type"),
    ("REFINER_GET_SEGMENTS", {"limit": 10}, "limit"),
    ("REFINER_GET_ACCOUNT_INFO", {"plan": "pro"}, "plan"),
    ("REFINER_TRACK_EVENT", {"id": "u1"}, "event"),
    ("REFINER_GET_CONTACT", {"email": "jane at acme"}, "email"),
    ("REFINER_UPDATE_CONTACT", {"id": "u1", "account": {"name": "Acme"}}, "account.id"),
    ("REFINER_UPDATE_CONTACT", {"id": "u1", "attributes": {"tags": ["a", "b"]}}, "attributes.tags"),
    ("REFINER_GET_SEGMENTS", "{not json", "params"),
    ("REFINER_GET_SEGMENTS", ["page", 1], "params"),
    # the resources' own rules, still before anything is sent
    ("REFINER_GET_CONTACT", {}, "id/email/uuid"),
    ("REFINER_GET_CONTACT", {"id": "u1", "uuid": "c1"}, "id/email/uuid"),
    ("REFINER_DELETE_CONTACT", {}, "id/email/uuid"),
    ("REFINER_TRACK_EVENT", {"event": "x"}, "id/email"),
    ("REFINER_TRACK_EVENT", {"event": "   ", "id": "u1"}, "event"),
    ("REFINER_UPDATE_CONTACT", {"attributes": {"plan": "pro"}}, "id/email"),
    ("REFINER_UPDATE_CONTACT", {"id": "u1", "attributes": {"bio": "x" * 256}}, "attributes"),
    ("REFINER_GET_RESPONSES", {"date_range_start": "last tuesday"}, "date_range_start"),
    (
        "REFINER_GET_REPORTING",
        {"type": "nps", "date_range_start": "2026-02-01", "date_range_end": "2026-01-01"},
        "date_range_start",
    ),
]


@pytest.mark.parametrize(("name", "params", "param"), INVALID)
async def test_invalid_params_fail_without_a_request(
    run: Runner, name: str, params: Any, param: str
) -> None:
    """Invalid parameters give successful=false naming the parameter, and nothing is sent."""
    before = run.requests()
    envelope = await run(name, params)
    assert not envelope["successful"]
    assert envelope["data"] == {}
    assert envelope["error"].startswith(f"invalid parameter {param}")
    assert run.requests() == before


async def test_unknown_action_is_an_error_envelope(run: Runner) -> None:
    """An unknown action name fails like any other error, listing the known names."""
    envelope = await run("REFINER_CREATE_SURVEY", {})
    assert envelope == {
        "data": {},
        "error": envelope["error"],
        "successful": False,
    }
    assert "REFINER_CREATE_SURVEY" in envelope["error"]
    assert "REFINER_GET_FORMS" in envelope["error"]
    assert run.requests() == 0


async def test_api_error_becomes_envelope(run: Runner) -> None:
    """A 5xx from the API (after retries) is a failed envelope naming the call and status."""
    run.fake.faults.add("500", path="/segments", times=100)
    envelope = await run("REFINER_GET_SEGMENTS", {})
    assert not envelope["successful"]
    assert envelope["error"].startswith("ServerError: 500 GET /segments")
    reporting = await run("REFINER_GET_REPORTING", {"type": "nps"})
    assert reporting["successful"]


async def test_reporting_failure_keeps_its_fields(run: Runner) -> None:
    """A failed GET_REPORTING still carries its report fields, all null."""
    run.fake.faults.add("500", path="/reporting", times=100)
    envelope = await run("REFINER_GET_REPORTING", {"type": "nps"})
    assert not envelope["successful"]
    assert envelope["date_range_start"] is None
    assert envelope["nps"] is None


async def test_wrong_key_never_shows_in_the_envelope(fake_refiner: FakeRefiner) -> None:
    """An unknown API key fails as AuthenticationError; neither key appears anywhere."""
    wrong = "fedcba9876543210fedcba9876543210fedcba98"
    async with RefinerClient(wrong, base_url=fake_refiner.base_url) as client:
        for name in ACTIONS:
            params = {"type": "nps"} if name == "REFINER_GET_REPORTING" else {}
            if name in ("REFINER_GET_CONTACT", "REFINER_DELETE_CONTACT"):
                params = {"id": "u1"}
            if name in ("REFINER_TRACK_EVENT", "REFINER_UPDATE_CONTACT"):
                params = (
                    {"id": "u1", "event": "x"} if name == "REFINER_TRACK_EVENT" else {"id": "u1"}
                )
            envelope = await run_action(client, name, params)
            check_envelope(envelope, name, wrong)
            check_envelope(envelope, name, fake_refiner.api_key)
            assert envelope["error"].startswith("AuthenticationError"), (name, envelope)


async def test_connection_failure_becomes_envelope(unused_tcp_port: int) -> None:
    """Nothing listening: a connection error envelope, not an exception."""
    key = "0123456789abcdef0123456789abcdef01234567"
    async with RefinerClient(
        key, base_url=f"http://127.0.0.1:{unused_tcp_port}/v1", max_retries=0
    ) as client:
        envelope = await run_action(client, "REFINER_GET_ACCOUNT_INFO")
    check_envelope(envelope, "REFINER_GET_ACCOUNT_INFO", key)
    assert envelope["error"].startswith("APIConnectionError")
