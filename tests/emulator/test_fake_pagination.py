"""Keyset cursors that stay exact under inserts and deletes, and page numbers as live offsets."""

from __future__ import annotations

import base64
from itertools import pairwise

import orjson
import pytest


def _sort_key(item):
    stamp = item["last_data_reception_at"] or item["last_shown_at"]
    return (stamp, item["uuid"])


@pytest.mark.fake_refiner(responses=3000)
@pytest.mark.parametrize("include", ["completed", "all"])
async def test_cursor_walk_under_mutation_yields_each_stable_item_once(api, fake_refiner, include):
    """Walking by cursor while responses are inserted and deleted everywhere yields every stable
    response exactly once and nothing that never existed."""
    fake_refiner.mutate(every=1, insert=25, delete=20, where="random")
    items = await api.walk("/responses", {"page_length": 100, "include": include})
    seen = [i["uuid"] for i in items]
    assert len(seen) == len(set(seen))
    stable = fake_refiner.stable_response_uuids(include)
    assert stable <= set(seen)
    assert set(seen) <= fake_refiner.all_response_uuids(include)
    stats = fake_refiner.stats()["mutations"]
    assert stats["rounds"] >= 10
    assert stats["deleted"] >= 200
    assert stats["inserted"] >= 250
    # Order is newest first with the uuid as tiebreaker, across all pages.
    keys = [_sort_key(i) for i in items]
    assert all(a[0] > b[0] or (a[0] == b[0] and a[1] < b[1]) for a, b in pairwise(keys))


@pytest.mark.fake_refiner(responses=600)
async def test_cursor_walk_with_head_inserts_on_a_timer(api, fake_refiner):
    """Inserts at the head on a timer never show up behind the cursor; stable items all arrive."""
    fake_refiner.mutate(interval=0.001, insert=3, delete=1)
    items = await api.walk("/responses", {"page_length": 25})
    fake_refiner.stop_mutation()
    seen = [i["uuid"] for i in items]
    assert len(seen) == len(set(seen))
    assert fake_refiner.stable_response_uuids() <= set(seen)


async def test_page_numbers_are_offsets_over_live_data(api, fake_refiner):
    """page=N is rows (N-1)*L..N*L of the live, sorted data: head inserts shift later pages."""
    before = fake_refiner.live_response_uuids()
    page3 = await api.ok("/responses", {"page": 3, "page_length": 10})
    assert [i["uuid"] for i in page3["items"]] == before[20:30]
    inserted = fake_refiner.insert_responses(5)
    after = fake_refiner.live_response_uuids()
    assert set(after[:5]) == set(inserted)
    page3 = await api.ok("/responses", {"page": 3, "page_length": 10})
    assert [i["uuid"] for i in page3["items"]] == after[20:30] == before[15:25]
    assert page3["pagination"]["items_count"] == len(before) + 5


async def test_cursor_wins_over_page(api):
    """With both page and page_cursor, the cursor decides where the page starts."""
    first = await api.ok("/responses", {"page_length": 10})
    cursor = first["pagination"]["next_page_cursor"]
    by_cursor = await api.ok("/responses", {"page_length": 10, "page_cursor": cursor, "page": 7})
    by_page = await api.ok("/responses", {"page_length": 10, "page": 2})
    assert by_cursor["items"] == by_page["items"]
    assert by_cursor["pagination"]["current_page"] == 2


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!!",
        base64.urlsafe_b64encode(b"[1,2,3]").decode(),
        base64.urlsafe_b64encode(orjson.dumps(["abc", "x", 1])).decode(),
        "",
    ],
)
async def test_invalid_cursor_is_400(api, cursor):
    """A cursor that is not one of ours is 400 {"error": ...} (an empty one is ignored)."""
    status, body = await api.get("/responses", {"page_cursor": cursor})
    if cursor == "":
        assert status == 200
    else:
        assert status == 400
        assert isinstance(body["error"], str)


async def test_cursor_with_other_filters_is_400(api):
    """A cursor used with other filters, another order or another endpoint is refused."""
    body = await api.ok("/responses", {"include": "completed", "page_length": 5})
    cursor = body["pagination"]["next_page_cursor"]
    for path, params in [
        ("/responses", {"include": "all"}),
        ("/responses", {"search": "a"}),
        ("/contacts", {}),
        ("/segments", {}),
    ]:
        status, err = await api.get(path, {**params, "page_cursor": cursor})
        assert status == 400, path
        assert "error" in err
    # page_length and with_attributes are not filters: the cursor still works.
    status, _ = await api.get("/responses", {"page_cursor": cursor, "page_length": 50})
    assert status == 200
    status, _ = await api.get("/responses", {"page_cursor": cursor, "with_attributes": 1})
    assert status == 200


@pytest.mark.parametrize(
    "order_by",
    ["first_seen_at", "last_seen_at", "last_form_submission_at", "display_name", "email"],
)
async def test_contacts_cursor_walk_matches_page_walk(api, order_by):
    """Contacts walked by cursor and by page numbers give the same items in the same order."""
    by_cursor = await api.walk("/contacts", {"order_by": order_by, "page_length": 30})
    by_pages = await api.walk("/contacts", {"order_by": order_by, "page_length": 30}, mode="pages")
    assert [c["uuid"] for c in by_cursor] == [c["uuid"] for c in by_pages]
    assert len({c["uuid"] for c in by_cursor}) == len(by_cursor)


async def test_contacts_cursor_survives_new_contacts(api):
    """Contacts created during a cursor walk do not disturb it (no repeats, no gaps)."""
    first = await api.ok("/contacts", {"page_length": 20})
    before = await api.walk("/contacts", {"page_length": 1000})
    for n in range(5):
        await api.post("/identify-user", {"id": f"walker-{n}"})
    rest = await api.walk(
        "/contacts", {"page_length": 20, "page_cursor": first["pagination"]["next_page_cursor"]}
    )
    walked = [c["uuid"] for c in first["items"] + rest]
    assert len(walked) == len(set(walked))
    assert {c["uuid"] for c in before} <= set(walked)


@pytest.mark.fake_refiner(segments=8)
async def test_segments_and_history_cursors(api, fake_refiner):
    """Segments and form history can be walked by cursor."""
    segments = await api.walk("/segments", {"page_length": 3})
    assert len(segments) == 8
    assert [s["name"].lower() for s in segments] == sorted(s["name"].lower() for s in segments)
    form_uuid = (await api.ok("/forms"))["items"][0]["uuid"]
    for _ in range(4):
        await api.post("/forms/publish", {"form_uuid": form_uuid, "published": 0})
    history = await api.walk("/forms/history", {"form_uuid": form_uuid, "page_length": 2})
    assert len(history) >= 5
    assert history[0]["action"] == "unpublished"
