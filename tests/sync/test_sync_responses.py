"""``refiner_async.sync``: windows, the bookmark, resume mid-window, late arrivals, backfill."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from refiner_async import InvalidParameterError, RefinerClient, RefinerError
from refiner_async.sync import (
    FULL_READ_DISPOSITION,
    SyncState,
    Window,
    next_window,
    read_all,
    sync_responses,
)
from refiner_async.testing import FakeRefiner
from refiner_async.testing._records import PARTIAL

LOOKBACK = 300.0
SETTLE = 60.0
OPTIONS: dict[str, Any] = {"lookback": LOOKBACK, "settle": SETTLE, "page_length": 100}


def received(item: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(item["last_data_reception_at"])


def times(fake: FakeRefiner) -> dict[str, int]:
    """The live completed responses' reception times (epoch seconds), by uuid."""
    return {r.uuid: r.sort_at for r in fake.store.lists["completed"]}


async def listed(client: RefinerClient, uuid: str, start: datetime, end: datetime) -> bool:
    found = client.responses.list(date_range_start=start, date_range_end=end)
    return uuid in {r.uuid async for r in found}


async def test_emulator_date_range_is_start_inclusive_end_exclusive(
    fake: FakeRefiner, client: RefinerClient, clock: Any
) -> None:
    """The emulator filters last_data_reception_at by whole seconds, start inclusive, end exclusive."""
    uuid = fake.live_response_uuids()[-1]
    at = clock() - timedelta(hours=1)
    fake.receive_data(uuid, at)
    second = timedelta(seconds=1)
    assert await listed(client, uuid, at, at + second)
    assert not await listed(client, uuid, at - second, at)
    assert not await listed(client, uuid, at + second, at + 2 * second)


async def test_receive_data_moves_a_response_forward(
    fake: FakeRefiner, client: RefinerClient, clock: Any
) -> None:
    """The emulator's receive_data hook moves a response's last_data_reception_at and its place."""
    uuid = fake.live_response_uuids()[-1]  # the oldest
    fake.receive_data(uuid, clock())
    assert fake.live_response_uuids()[0] == uuid
    first = await client.responses.list(page_length=1)
    assert first.items[0].uuid == uuid
    assert first.items[0].last_data_reception_at == clock()


async def test_three_runs_with_live_changes_miss_nothing(
    fake: FakeRefiner, client: RefinerClient, clock: Any, sync_run: Any
) -> None:
    """Three runs with inserts, deletes, growing and completing partial responses between and during
    them: upserted on uuid, the outputs hold every live response at its latest version; each run
    reads its window and the lookback."""
    union: dict[str, dict[str, Any]] = {}
    state: SyncState | None = None
    grown: list[str] = []

    def answers_arrive(batch: int) -> None:  # during a run: a partial completes, an answer grows
        if batch in (1, 3):
            partial = next(r for r in fake.store.lists["partials"] if r.kind == PARTIAL)
            fake.receive_data(partial.uuid, clock() - timedelta(seconds=10), complete=True)
            fake.receive_data(fake.live_response_uuids()[-batch], clock() - timedelta(seconds=5))

    for number in range(3):
        if number > 0:  # between runs: new responses, deletes, answers arriving on old ones
            fake.insert_responses(25)
            fake.delete_responses(5)
            grown = fake.live_response_uuids()[100:105]
            partials = [r.uuid for r in fake.store.lists["partials"] if r.kind == PARTIAL][:3]
            for uuid in grown:
                fake.receive_data(uuid, clock() - timedelta(seconds=30))
            for uuid in partials:  # a partial response completed: now in the default include
                fake.receive_data(uuid, clock() - timedelta(seconds=20), complete=True)
            grown += partials
            clock.advance(600)
        fake.mutate(every=2, insert=3, delete=1)  # during the run
        before = None if state is None else state.bookmark
        run = await sync_run(client, state, clock, during=answers_arrive, **OPTIONS)
        fake.stop_mutation()
        assert run.state is not None
        assert run.state.window is None
        ceiling = clock() - timedelta(seconds=SETTLE)
        assert run.state.bookmark == ceiling
        if before is not None:  # the window plus the lookback, nothing more
            start = before - timedelta(seconds=LOOKBACK)
            assert all(start <= received(item) < ceiling for item in run.items.values())
            assert run.requests <= max(1, math.ceil(len(run.items) / 100)) + 1
        union.update(run.items)
        state = run.state
        for uuid in grown:
            assert uuid in run.items
    live = times(fake)
    inserted_last = {u for u, t in live.items() if t >= int(state.bookmark.timestamp())}
    missing = set(live) - inserted_last - set(union)
    assert missing == set()
    assert set(union) <= fake.all_response_uuids()
    for uuid in set(live) - inserted_last:
        assert received(union[uuid]).timestamp() == live[uuid]  # the latest version


async def test_a_response_moved_forward_is_synced_again(
    fake: FakeRefiner, client: RefinerClient, clock: Any, sync_run: Any
) -> None:
    """A response whose last_data_reception_at moves forward after its sync is read by the next run."""
    first = await sync_run(client, None, clock, **OPTIONS)
    uuid = fake.live_response_uuids()[-1]
    assert uuid in first.items
    clock.advance(3600)
    fake.receive_data(uuid, clock() - timedelta(seconds=120))
    second = await sync_run(client, first.state, clock, **OPTIONS)
    assert uuid in second.items
    assert received(second.items[uuid]) == clock() - timedelta(seconds=120)
    assert received(second.items[uuid]) > received(first.items[uuid])


async def test_late_arrival_inside_the_lookback_is_caught_older_is_the_limit(
    fake: FakeRefiner, client: RefinerClient, clock: Any, sync_run: Any
) -> None:
    """A response that appears with a reception time up to the lookback before the bookmark is read
    by the next run; one older than the lookback is not (the documented limit)."""
    first = await sync_run(client, None, clock, **OPTIONS)
    bookmark = first.state.bookmark
    form = fake.store.lists["completed"][0].form.uuid
    inside = await client.responses.store(
        form, id="late-1", data={"q": 1}, date=bookmark - timedelta(seconds=LOOKBACK - 10)
    )
    outside = await client.responses.store(
        form, id="late-2", data={"q": 2}, date=bookmark - timedelta(seconds=LOOKBACK + 10)
    )
    clock.advance(600)
    second = await sync_run(client, first.state, clock, **OPTIONS)
    assert inside.uuid in second.items
    assert outside.uuid not in second.items
    assert outside.uuid not in first.items


class Stop(Exception):
    """The consumer fails mid-run."""


@pytest.mark.parametrize("how", ["consumer_error", "cancelled", "server_error"])
async def test_a_run_killed_mid_window_resumes_and_misses_nothing(
    how: str, fake: FakeRefiner, client: RefinerClient, clock: Any, sync_run: Any
) -> None:
    """A run stopped mid-window (consumer error, cancelled task, API error) then rerun from the
    last saved state: it continues the window after the last page handed over, and the bookmark
    never passes a response that was not handed over."""
    start = clock() - timedelta(days=30)
    handed: dict[str, dict[str, Any]] = {}
    saved: list[SyncState] = []
    existing = times(fake)
    if how == "server_error":
        fake.faults.add(500, path="/responses", after=3, times=1)  # the fourth page

    third = asyncio.Event()  # the third batch has been handed over

    async def consume() -> None:
        async for batch in sync_responses(
            client, None, clock=clock, start=start, max_window=40 * 86400, **OPTIONS
        ):
            handed.update({item["uuid"]: item for item in batch.items})
            saved.append(batch.state)
            bookmark = batch.state.bookmark
            if bookmark is not None:  # everything before it has been handed over
                older = {u for u, t in existing.items() if t < bookmark.timestamp()}
                assert older <= set(handed)
            if len(saved) == 3 and how == "consumer_error":
                raise Stop
            if len(saved) == 3 and how == "cancelled":
                third.set()
                await asyncio.sleep(3600)

    if how == "cancelled":
        task = asyncio.ensure_future(consume())
        await asyncio.wait_for(third.wait(), 60)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    else:
        with pytest.raises(Stop if how == "consumer_error" else RefinerError):
            await consume()
    state = saved[-1]
    assert state.bookmark is None  # the window was not finished
    assert state.window is not None
    assert state.window.resume_token is not None
    first_part = set(handed)

    rerun = await sync_run(client, state, clock, **OPTIONS)
    assert not first_part & set(rerun.items)  # continued after the last page handed over
    assert set(existing) <= first_part | set(rerun.items)
    assert rerun.state.bookmark == clock() - timedelta(seconds=SETTLE)


async def test_first_run_backfills_by_bounded_windows_and_can_stop_between_them(
    fake: FakeRefiner, client: RefinerClient, clock: Any, sync_run: Any
) -> None:
    """With no state, a run starts at the oldest response and reads windows of at most max_window
    past the bookmark; stopped after the first window, the next run goes on from its end."""
    max_window = 3 * 86400.0
    windows: list[Window] = []
    state = None
    async for batch in sync_responses(client, None, clock=clock, max_window=max_window, **OPTIONS):
        windows.append(batch.window)
        state = batch.state
        if batch.window_done:
            break
    assert state is not None
    assert state.bookmark == windows[0].end
    oldest = min(times(fake).values())
    assert windows[0].start == datetime.fromtimestamp(oldest, UTC)
    assert windows[0].end - windows[0].start == timedelta(seconds=max_window)

    rest = await sync_run(client, state, clock, max_window=max_window, **OPTIONS)
    assert rest.batches >= 6  # 20 days in windows of 3
    everything: dict[str, Any] = {}
    async for batch in sync_responses(client, None, clock=clock, max_window=max_window, **OPTIONS):
        everything.update({i["uuid"]: i for i in batch.items})
        if batch.window_done:
            break
    assert set(times(fake)) <= set(everything) | set(rest.items)


def test_next_window_is_bounded_by_the_ceiling_and_max_window() -> None:
    """next_window: start = bookmark - lookback, end = min(ceiling, bookmark + max_window); None
    when caught up; an unfinished window is returned as it was."""
    b = datetime(2026, 1, 1, tzinfo=UTC)
    ceiling = b + timedelta(hours=1)
    state = SyncState(bookmark=b)
    w = next_window(state, ceiling=ceiling, lookback=60, max_window=600, first_start=None)
    assert w == Window(start=b - timedelta(seconds=60), end=b + timedelta(seconds=600))
    w = next_window(state, ceiling=ceiling, lookback=60, max_window=86400, first_start=None)
    assert w is not None
    assert w.end == ceiling
    assert (
        next_window(
            SyncState(bookmark=ceiling),
            ceiling=ceiling,
            lookback=60,
            max_window=60,
            first_start=None,
        )
        is None
    )
    assert (
        next_window(SyncState(), ceiling=ceiling, lookback=60, max_window=60, first_start=None)
        is None
    )
    pending = Window(start=b, end=ceiling, resume_token="r1.x")
    assert (
        next_window(
            SyncState(bookmark=b, window=pending),
            ceiling=ceiling + timedelta(days=1),
            lookback=0,
            max_window=1,
            first_start=None,
        )
        is pending
    )


def test_state_is_a_small_json_document() -> None:
    """SyncState round-trips through JSON; the bookmark moves only with the window's last page."""
    b = datetime(2026, 1, 1, tzinfo=UTC)
    w = Window(start=b, end=b + timedelta(hours=1))
    state = SyncState(bookmark=b).begin(w).advance("r1.token")
    assert state.bookmark == b
    assert state.window == Window(w.start, w.end, "r1.token")
    assert SyncState.from_json(state.to_json()) == state
    assert b'"resume_token": "r1.token"' in state.to_json()
    done = state.advance(None)
    assert done == SyncState(bookmark=w.end)
    assert SyncState.from_json(done.to_json()) == done


@pytest.mark.parametrize(
    ("data", "param"),
    [
        (b"[]", "state"),
        (b'{"version": 9}', "state"),
        (b'{"version": 1, "bookmark": "yesterday"}', "state.bookmark"),
        (
            b'{"version": 1, "window": {"start": "2026-01-01T00:00:00Z", "end": 5}}',
            "state.window.end",
        ),
        (b"not json", "state"),
    ],
)
def test_a_bad_state_names_what_is_wrong(data: bytes, param: str) -> None:
    """A state document that is not one this version wrote: InvalidParameterError naming the field."""
    with pytest.raises(InvalidParameterError) as caught:
        SyncState.from_json(data)
    assert caught.value.param == param


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"settle": -1}, "settle"),
        ({"lookback": "5m"}, "lookback"),
        ({"max_window": 0}, "max_window"),
        ({"include": "some"}, "include"),
        ({"start": "last week"}, "start"),
        ({"page_length": 5000}, "page_length"),
        ({"form_uuid": 3}, "form_uuid"),
    ],
)
async def test_bad_options_are_refused_before_any_request(
    options: dict[str, Any], param: str, fake: FakeRefiner, client: RefinerClient, clock: Any
) -> None:
    """A bad option raises InvalidParameterError naming it, and nothing is sent."""
    with pytest.raises(InvalidParameterError) as caught:
        async for _ in sync_responses(client, None, clock=clock, **options):
            pass
    assert caught.value.param == param
    assert client.stats.requests == 0


@pytest.mark.parametrize("resource", ["contacts", "forms", "segments"])
async def test_full_reads_give_every_item_as_dicts(
    resource: str, fake: FakeRefiner, client: RefinerClient
) -> None:
    """read_all gives every contact, form or segment as plain dicts, with a documented disposition."""
    got = [item async for page in read_all(client, resource, page_length=40) for item in page]
    assert all(type(item) is dict for item in got)
    expected = {
        "contacts": fake.store.contacts,
        "forms": fake.store.forms,
        "segments": fake.store.segments,
    }
    store_uuids = set(expected[resource])
    if resource == "forms":  # the default list leaves archived forms out
        store_uuids = {u for u, f in fake.store.forms.items() if f.archived_at is None}
    assert {item["uuid"] for item in got} == store_uuids
    assert FULL_READ_DISPOSITION[resource] == ("merge" if resource == "contacts" else "replace")
