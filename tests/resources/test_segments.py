"""client.segments: list, add_contact (POST body), remove_contact (DELETE query)."""

from __future__ import annotations

from typing import Any

from refiner_async import RefinerClient, Segment, SyncSegmentResult


async def test_list_reads_segments(
    api: Any, client: RefinerClient, payloads: Any, make_envelope: Any
) -> None:
    """segments.list() sends page_length only and reads uuid, name and is_manual."""
    automatic = {"uuid": "s2", "name": "Churned", "is_manual": False, "rules": 3}
    api.add("GET", "/segments", pattern=True, payload=make_envelope([payloads.segment, automatic]))
    segments = await client.segments.list(page_length=100).collect()
    assert segments == [
        Segment(
            uuid="0ff87720-9ae5-11ea-bce5-65a395204572", name="Power Users Segment", is_manual=True
        ),
        Segment(uuid="s2", name="Churned", is_manual=False, extra={"rules": 3}),
    ]
    sent = api.only()
    assert sent.filters() == []
    assert sent.param("page_length") == "100"


async def test_add_contact_posts_a_body(api: Any, client: RefinerClient) -> None:
    """add_contact() posts {"segment_uuid", "id"} and reads contact_uuid and segment_uuid."""
    api.add(
        "POST",
        "/sync-segment",
        payload={"message": "ok", "contact_uuid": "c1", "segment_uuid": "s1"},
    )
    result = await client.segments.add_contact("s1", id="u1")
    assert result == SyncSegmentResult(contact_uuid="c1", segment_uuid="s1", message="ok")
    sent = api.only()
    assert (sent.method, sent.params, sent.json) == ("POST", [], {"segment_uuid": "s1", "id": "u1"})


async def test_add_contact_tolerates_segment_uid(api: Any, client: RefinerClient) -> None:
    """An answer spelling the key segment_uid fills segment_uuid."""
    api.add(
        "POST",
        "/sync-segment",
        payload={"message": "ok", "contact_uuid": "c1", "segment_uid": "s1"},
    )
    result = await client.segments.add_contact("s1", email="a@b.io")
    assert result.segment_uuid == "s1"
    assert result.extra == {}


async def test_remove_contact_sends_a_query(api: Any, client: RefinerClient) -> None:
    """remove_contact() sends DELETE /sync-segment?segment_uuid=..&email=.. with no body."""
    api.add(
        "DELETE",
        "/sync-segment",
        [("segment_uuid", "s1"), ("email", "a@b.io")],
        payload={"message": "ok"},
    )
    result = await client.segments.remove_contact("s1", email="a@b.io")
    assert result.message == "ok"
    assert result.contact_uuid is None
    sent = api.only()
    assert (sent.method, sent.params, sent.json) == (
        "DELETE",
        [("segment_uuid", "s1"), ("email", "a@b.io")],
        None,
    )
