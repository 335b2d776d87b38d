"""Incremental sync to files: one file per window in a directory, and the state in a JSON file.

File work runs in a worker thread, off the event loop. The order of writes makes a crash at any point safe:

1. the state file records the window about to be read (``window`` set, bookmark unchanged);
2. the window is exported with :func:`refiner_async.export` to ``responses-START-END.FORMAT``: the
   file appears, by a rename, only once complete; while it is read, the export's own partial file
   and checkpoint sit beside it (``.partial``, ``.checkpoint.json``, ``.converting``: never data a
   reader should take);
3. the state file is replaced with the bookmark at the window's end (``window`` cleared).

Each state write replaces the file atomically. Stopped before 3, the next run finds the window in
the state: it continues the export from its checkpoint (the page after the last one written), or,
when the file is already complete, only does step 3. The bookmark never passes a window whose file
is not complete.

A run holds ``STATE.lock`` (the export's lock, see ``_export/_lock.py``) from before it reads the
state until after its last write: a second sync on the same state file fails at once, naming the
holder, instead of reading the same window twice and racing the first one's state writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ._export import ExportError, export
from ._export._checkpoint import write_atomically
from ._export._lock import Held, acquire
from ._types import Include
from .sync import (
    DEFAULT_LOOKBACK,
    DEFAULT_MAX_WINDOW,
    DEFAULT_SETTLE,
    SyncState,
    Window,
    check_options,
    first_start,
    next_window,
    parse_moment,
    window_ceiling,
)

if TYPE_CHECKING:
    from ._client import RefinerClient

__all__ = ["WindowWritten", "load_state", "save_state", "sync_to_files", "window_file"]


@attrs.frozen
class WindowWritten:
    """One window finished by a run: its file and how many items it holds."""

    window: Window
    path: Path
    items: int
    resumed: bool  # the window was begun by an earlier run


def load_state(path: Path) -> SyncState:
    """The state saved at ``path``; a fresh state when there is no such file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return SyncState()
    return SyncState.from_json(data)


def save_state(path: Path, state: SyncState) -> None:
    """Replace the state file atomically (a reader sees the old state or the new one)."""
    write_atomically(path, state.to_json())


def window_file(out_dir: Path, window: Window, fmt: str) -> Path:
    """``DIR/responses-20260101T000000Z-20260102T000000Z.jsonl``: the file of one window."""
    stamp = "%Y%m%dT%H%M%SZ"
    return out_dir / f"responses-{window.start:{stamp}}-{window.end:{stamp}}.{fmt}"


async def sync_to_files(
    client: RefinerClient,
    state_path: Path,
    out_dir: Path,
    *,
    format: str = "jsonl",
    settle: float = DEFAULT_SETTLE,
    lookback: float = DEFAULT_LOOKBACK,
    max_window: float = DEFAULT_MAX_WINDOW,
    start: datetime | str | None = None,
    include: Include = "completed",
    page_length: int = 1000,
    filters: Mapping[str, Any] | None = None,
    clock: Callable[[], datetime] | None = None,
    on_window: Callable[[WindowWritten], None] | None = None,
) -> tuple[SyncState, list[WindowWritten]]:
    """Sync responses into ``out_dir``, one file per window, keeping the state at ``state_path``.

    Returns the final state and the windows this run finished. Options as for
    :func:`refiner_async.sync.sync_responses`; ``format`` as for :func:`refiner_async.export`.
    """
    settle, lookback, max_window, include = check_options(
        settle=settle, lookback=lookback, max_window=max_window, include=include
    )
    filters = dict(filters or {})
    if start is not None:
        parse_moment("start", start)  # checked before anything is sent
    client.responses.list(
        include=include, page_length=page_length, **filters
    )  # checks, sends nothing
    async with _holding(state_path):
        state = await asyncio.to_thread(load_state, state_path)
        await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
        now = datetime.now(UTC) if clock is None else clock()
        ceiling = window_ceiling(now, settle)
        begin = await first_start(
            client, state, start=start, ceiling=ceiling, include=include, filters=filters
        )
        written: list[WindowWritten] = []
        while (
            window := next_window(
                state, ceiling=ceiling, lookback=lookback, max_window=max_window, first_start=begin
            )
        ) is not None:
            resumed = state.window is not None
            if not resumed:
                state = state.begin(window)
                await asyncio.to_thread(save_state, state_path, state)
            path = window_file(out_dir, window, format)
            items = 0
            if not await asyncio.to_thread(
                path.exists
            ):  # (it exists when a run stopped after writing it, before step 3)
                summary = await export(
                    client,
                    "responses",
                    path,
                    format=format,
                    page_length=page_length,
                    resume=True,
                    include=include,
                    date_range_start=window.start,
                    date_range_end=window.end,
                    **filters,
                )
                items = summary.items
            state = state.advance(None)
            await asyncio.to_thread(save_state, state_path, state)
            done = WindowWritten(window=window, path=path, items=items, resumed=resumed)
            written.append(done)
            if on_window is not None:
                on_window(done)
        return state, written


@asynccontextmanager
async def _holding(state_path: Path) -> AsyncIterator[None]:
    """Hold ``STATE.lock`` for the run; ExportError at once when another sync holds it."""
    lock_path = state_path.with_name(state_path.name + ".lock")
    try:
        lock = await asyncio.to_thread(acquire, lock_path)
    except Held as held:
        raise ExportError(
            f"{state_path} is in use by another sync ({held.holder}); "
            f"wait for it to finish or stop it (lock: {lock_path})"
        ) from None
    try:
        yield
    finally:
        await asyncio.to_thread(lock.release)
