"""Incremental sync: responses read by end-bounded windows, the other lists by full reads.

Responses are the list that grows. The API filters them on ``last_data_reception_at`` (start
inclusive, end exclusive, whole seconds; with ``include="all"`` it compares ``last_shown_at``), and a
response moves forward in that order each time more of its answers arrive. A run reads windows:

- ``end = now - settle``: a short settle delay leaves out the last seconds, whose responses may
  still be arriving;
- ``start = bookmark - lookback``: each window re-reads the ``lookback`` before the bookmark, so a
  response that arrives late (its reception time already older than the bookmark when it became
  visible) is still caught if it is no older than the lookback. Older late arrivals are the limit
  of this design: a full re-read (``state=None`` and ``start=``) is the only way to see them;
- a window is at most ``max_window`` long past the bookmark, so a first run backfills a long
  history window by window, and each window finished moves the bookmark on: stopped, it continues
  from the last finished window;
- the bookmark moves to the window's ``end`` only with the last page of the window, and a page's
  state names where the next page starts (its resume token): a run stopped mid-window continues
  that window from the next page, never after it.

Duplicates are expected: the lookback re-reads, and a response whose answers grow is listed again
with its new ``last_data_reception_at``. Consumers upsert on ``uuid`` (the later copy wins).

Contacts, forms and segments have no change filter: they are read whole each time (:func:`read_all`).
:data:`FULL_READ_DISPOSITION` says how to load them: forms and segments are small lists whose
items are archived or deleted, so each read *replaces* the previous one; contacts are large and are
referenced by the responses already loaded, so each read is *merged* on ``uuid`` (a contact deleted
upstream stays until a replacing read).

State is a small JSON document the caller keeps (:class:`SyncState`, ``to_json()``/``from_json()``):
save the state of a :class:`SyncBatch` once its items are safely handed over, and pass the latest
saved state to the next run.

:func:`sync_to_files` does all of that into a directory, one file per window, with the state in a
JSON file (what ``refiner-async sync`` runs); it lives in ``_sync_files`` and is imported on first
use, since that module builds on this one.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, cast

import attrs
import orjson

from ._converters import unstructure
from ._pagination import Paginator
from ._types import Include
from ._validate import INCLUDES
from .errors import InvalidParameterError
from .models import Page

if TYPE_CHECKING:
    from ._client import RefinerClient
    from ._sync_files import WindowWritten, sync_to_files

__all__ = [
    "CURSOR_FIELDS",
    "DEFAULT_LOOKBACK",
    "DEFAULT_MAX_WINDOW",
    "DEFAULT_SETTLE",
    "FULL_READ_DISPOSITION",
    "STATE_VERSION",
    "SyncBatch",
    "SyncState",
    "Window",
    "WindowWritten",
    "first_start",
    "next_window",
    "oldest_reception",
    "parse_moment",
    "read_all",
    "sync_responses",
    "sync_to_files",
    "window_ceiling",
]

DEFAULT_SETTLE: Final = 60.0  # seconds left out at the end: responses still arriving
DEFAULT_LOOKBACK: Final = 300.0  # seconds before the bookmark read again by every window
DEFAULT_MAX_WINDOW: Final = 7 * 86400.0  # seconds past the bookmark that one window may cover
STATE_VERSION: Final = 1  # bumped when the state's fields change meaning

#: The field each ``include`` value's date range compares (refiner-api.md 5.9).
CURSOR_FIELDS: Final[Mapping[str, str]] = {
    "completed": "last_data_reception_at",
    "partials": "last_data_reception_at",
    "all": "last_shown_at",
}

#: How a full read of each other list is loaded: "replace" the previous read, or "merge" on uuid.
FULL_READ_DISPOSITION: Final[Mapping[str, str]] = {
    "contacts": "merge",
    "forms": "replace",
    "segments": "replace",
}

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _text(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_moment(name: str, value: object) -> datetime:
    """A state timestamp read back: ISO-8601 text (or an aware datetime) as aware UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidParameterError(name, f"not an ISO-8601 time: {value[:40]!r}") from None
    else:
        raise InvalidParameterError(name, f"expected ISO-8601 text, got {type(value).__name__}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _whole_second(value: datetime) -> datetime:
    """``value`` rounded down to a whole second (the API's timestamps are whole seconds)."""
    return value.replace(microsecond=0)


@attrs.frozen
class Window:
    """One read of responses: ``start <= last_data_reception_at < end`` (whole seconds, UTC)."""

    start: datetime
    end: datetime
    resume_token: str | None = None  # where reading continues inside the window; None: its start

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": _text(self.start),
            "end": _text(self.end),
            "resume_token": self.resume_token,
        }


@attrs.frozen
class SyncState:
    """Where an incremental sync of responses stands; kept by the caller as JSON.

    ``bookmark``: every response received before it (less the lookback's limit on late arrivals)
    has been handed over; None before the first window is finished. ``window``: the window being
    read, with the resume token of its next page; None between windows.
    """

    bookmark: datetime | None = None
    window: Window | None = None
    version: int = STATE_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The state as JSON values (times as ``YYYY-MM-DDTHH:MM:SSZ``)."""
        return {
            "version": self.version,
            "bookmark": None if self.bookmark is None else _text(self.bookmark),
            "window": None if self.window is None else self.window.to_dict(),
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SyncState:
        """Read a state written by :meth:`to_dict`; InvalidParameterError (``state``) otherwise."""
        if not isinstance(data, Mapping):
            raise InvalidParameterError("state", "expected a JSON object")
        if data.get("version") != STATE_VERSION:
            raise InvalidParameterError(
                "state", f"version {data.get('version')!r}, expected {STATE_VERSION}"
            )
        bookmark = data.get("bookmark")
        window = data.get("window")
        if window is not None and not isinstance(window, Mapping):
            raise InvalidParameterError("state.window", "expected a JSON object or null")
        token = None if window is None else window.get("resume_token")
        if token is not None and not isinstance(token, str):
            raise InvalidParameterError("state.window.resume_token", "expected text or null")
        return cls(
            bookmark=None if bookmark is None else parse_moment("state.bookmark", bookmark),
            window=None
            if window is None
            else Window(
                start=parse_moment("state.window.start", window.get("start")),
                end=parse_moment("state.window.end", window.get("end")),
                resume_token=token,
            ),
        )

    @classmethod
    def from_json(cls, data: bytes | str) -> SyncState:
        try:
            loaded = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise InvalidParameterError("state", f"not JSON ({exc})") from None
        return cls.from_dict(loaded)

    def begin(self, window: Window) -> SyncState:
        """The state while ``window`` is read (unchanged when it is the window already begun)."""
        return self if self.window == window else attrs.evolve(self, window=window)

    def advance(self, resume_token: str | None) -> SyncState:
        """The state once a page of the current window is handed over: the next page's token, or,
        after the window's last page (``resume_token`` None), the bookmark at the window's end."""
        if self.window is None:
            raise ValueError("no window is being read")
        if resume_token is not None:
            return attrs.evolve(self, window=attrs.evolve(self.window, resume_token=resume_token))
        end = self.window.end
        bookmark = end if self.bookmark is None else max(self.bookmark, end)
        return attrs.evolve(self, bookmark=bookmark, window=None)


@attrs.frozen
class SyncBatch:
    """One page of a window as plain dicts, and the state to save once they are handed over."""

    items: list[dict[str, Any]]
    window: Window
    state: SyncState

    @property
    def window_done(self) -> bool:
        """This is the window's last page: its state has moved the bookmark to the window's end."""
        return self.state.window is None


def window_ceiling(now: datetime, settle: float) -> datetime:
    """The end of the last window a run started at ``now`` may read: ``now - settle``, whole seconds."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return _whole_second(now.astimezone(UTC) - timedelta(seconds=settle))


def next_window(
    state: SyncState,
    *,
    ceiling: datetime,
    lookback: float,
    max_window: float,
    first_start: datetime | None,
) -> Window | None:
    """The window to read next, or None when the run is caught up to ``ceiling``.

    A window begun and not finished is read again (from its resume token). Otherwise the next one
    starts ``lookback`` before the bookmark (at ``first_start`` on a first run; None: nothing to
    read) and ends at ``ceiling`` or ``max_window`` past the bookmark, whichever is first.
    """
    if state.window is not None:
        return state.window
    if state.bookmark is not None:
        base = state.bookmark
        start = _whole_second(base - timedelta(seconds=lookback))
    elif first_start is not None:
        base = start = _whole_second(first_start)
    else:
        return None
    end = min(ceiling, base + timedelta(seconds=math.ceil(max_window)))
    if end <= base:
        return None
    return Window(start=start, end=end)


def _positive(name: str, value: object, *, zero: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidParameterError(name, f"expected a number of seconds, got {value!r}")
    if value < 0 or (value == 0 and not zero):
        raise InvalidParameterError(name, f"must be {'>= 0' if zero else '> 0'}; got {value!r}")
    return float(value)


def check_options(
    *, settle: object, lookback: object, max_window: object, include: object
) -> tuple[float, float, float, Include]:
    """The sync options checked (InvalidParameterError naming the bad one)."""
    if include not in INCLUDES:
        raise InvalidParameterError("include", f"expected one of {', '.join(INCLUDES)}")
    return (
        _positive("settle", settle, zero=True),
        _positive("lookback", lookback, zero=True),
        _positive("max_window", max_window, zero=False),
        cast(Include, include),
    )


async def _records(paginator: Paginator[Any]) -> AsyncGenerator[Page[dict[str, Any]], None]:
    """The pages of ``paginator`` with their items as the API's JSON objects (plain dicts).

    The one place the sync and the dlt source turn items into dicts.
    """
    async with aclosing(paginator.pages()) as pages:
        async for page in pages:
            yield attrs.evolve(page, items=tuple([unstructure(item) for item in page.items]))


async def oldest_reception(
    client: RefinerClient, *, before: datetime, include: Include = "completed", **filters: Any
) -> datetime | None:
    """When the oldest response before ``before`` was received (or last shown, for
    ``include="all"``), whole seconds; None when there is none. Two requests: the count on page 1
    with one item per page, then the last page."""
    listing = client.responses.list(
        include=include, date_range_end=before, page_length=1, **filters
    )
    first = await listing.fetch_page(page=1)
    if not first.items:
        return None
    count = first.items_count or 1
    last = await listing.fetch_page(page=count) if count > 1 else first
    item = last.items[0] if last.items else first.items[0]
    value = getattr(item, CURSOR_FIELDS[include])
    if not isinstance(value, datetime):
        return _EPOCH
    return _whole_second(value.astimezone(UTC))


async def first_start(
    client: RefinerClient,
    state: SyncState,
    *,
    start: object,
    ceiling: datetime,
    include: Include,
    filters: Mapping[str, Any],
) -> datetime | None:
    """Where a run's first window starts when ``state`` has no bookmark: ``start`` if given, else the
    oldest response's time (:func:`oldest_reception`). None when the state has a bookmark or a
    window (it says where to go on), and when there is no response yet."""
    if state.bookmark is not None or state.window is not None:
        return None
    if start is not None:
        return parse_moment("start", start)
    return await oldest_reception(client, before=ceiling, include=include, **filters)


async def sync_responses(
    client: RefinerClient,
    state: SyncState | None = None,
    *,
    settle: float = DEFAULT_SETTLE,
    lookback: float = DEFAULT_LOOKBACK,
    max_window: float = DEFAULT_MAX_WINDOW,
    start: datetime | str | None = None,
    include: Include = "completed",
    page_length: int = 1000,
    clock: Callable[[], datetime] | None = None,
    **filters: Any,
) -> AsyncGenerator[SyncBatch, None]:
    """Read the responses new since ``state``, window by window, as :class:`SyncBatch` pages.

    Save each batch's ``state`` once its items are handed over (written, committed); the last one
    saved is where the next run starts. Every window yields at least one batch (an empty window
    one empty batch), so the caller always sees the bookmark move.

    Args:
        client: the client to read through (its limiter, retries and concurrency apply).
        state: the state saved by the previous run; None for a first run.
        settle: seconds before now left for a later run (responses still arriving).
        lookback: seconds before the bookmark each window reads again (late arrivals).
        max_window: seconds past the bookmark one window may cover (bounds a first run's windows).
        start: where a first run starts (a datetime, naive = UTC, or ISO-8601 text); None: at the
            oldest response (two requests find it).
        include: ``"completed"`` or ``"partials"`` (windows on ``last_data_reception_at``), or
            ``"all"`` (on ``last_shown_at``).
        page_length: items per request.
        clock: the current time (aware UTC); default the system clock. Read once per run.
        filters: other filters of ``client.responses.list`` (``form_uuid=``, ...). Keep them the
            same from run to run: the state does not record them.

    Raises:
        InvalidParameterError: a bad option or filter, before any request.
        RefinerError: the API failed; the state of the last batch handed over stays valid.
    """
    settle, lookback, max_window, include = check_options(
        settle=settle, lookback=lookback, max_window=max_window, include=include
    )
    if state is None:
        state = SyncState()
    elif not isinstance(state, SyncState):
        raise InvalidParameterError("state", "expected a SyncState (SyncState.from_json(...))")
    if start is not None:
        parse_moment("start", start)  # checked before anything is sent
    client.responses.list(
        include=include, page_length=page_length, **filters
    )  # checks, sends nothing
    now = datetime.now(UTC) if clock is None else clock()
    ceiling = window_ceiling(now, settle)
    begin = await first_start(
        client, state, start=start, ceiling=ceiling, include=include, filters=filters
    )
    while (
        window := next_window(
            state, ceiling=ceiling, lookback=lookback, max_window=max_window, first_start=begin
        )
    ) is not None:
        state = state.begin(window)
        paginator = client.responses.list(
            include=include,
            date_range_start=window.start,
            date_range_end=window.end,
            page_length=page_length,
            resume=window.resume_token,
            **filters,
        )
        async with aclosing(_records(paginator)) as pages:
            async for page in pages:
                state = state.advance(page.resume_token)
                yield SyncBatch(items=list(page.items), window=window, state=state)


async def read_all(
    client: RefinerClient, resource: str, *, page_length: int = 1000, **filters: Any
) -> AsyncGenerator[list[dict[str, Any]], None]:
    """Every item of ``contacts``, ``forms`` or ``segments``, page by page as plain dicts.

    Load them as :data:`FULL_READ_DISPOSITION` says (replace the previous read, or merge on uuid).
    """
    if resource not in FULL_READ_DISPOSITION:
        raise InvalidParameterError(
            "resource", f"expected one of {', '.join(FULL_READ_DISPOSITION)}; got {resource!r}"
        )
    paginator: Paginator[Any] = getattr(client, resource).list(page_length=page_length, **filters)
    async with aclosing(_records(paginator)) as pages:
        async for page in pages:
            yield list(page.items)


def __getattr__(name: str) -> Any:
    """``sync_to_files`` and ``WindowWritten``, from the module that builds on this one."""
    if name not in ("WindowWritten", "sync_to_files"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("._sync_files", __package__), name)
    globals()[name] = value
    return value
