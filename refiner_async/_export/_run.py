"""``export()``: one list call streamed page by page to a file, resumable, with progress.

Each page is written to the partial file as JSON Lines as soon as it arrives, then the checkpoint
is replaced (see ``_checkpoint``): memory holds one page, and an export stopped at any point (an
error, Ctrl-C, a cancelled task) continues with ``resume=True`` from the page after the last one
checkpointed, with no item lost or written twice. When the last page is in, the partial file
becomes the output: renamed as it is for JSON Lines, converted for CSV and Parquet (``_tables``).

The loop only fetches; every file step (a page's serialisation, write, fsync and checkpoint, the
conversion, the renames) runs in the export's own worker thread (``_worker``), so an application
sharing the event loop keeps its timing while an export writes or converts. Only one export writes
an output at a time (``_lock``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import inspect
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import aclosing
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs
import orjson

from .._types import PaginationMode
from ..errors import InvalidParameterError, RefinerError
from ..models import Contact, Form, Response, Segment
from ._checkpoint import Checkpoint, ExportFiles
from ._json import dumps
from ._lock import Held, OutputLock, acquire
from ._progress import ExportProgress, ExportSummary
from ._tables import Columns, columns_for, write_csv, write_parquet
from ._worker import FileThread

if TYPE_CHECKING:
    from .._client import RefinerClient
    from .._pagination import Paginator

__all__ = ["FORMATS", "RESOURCES", "ExportError", "export", "filters_of"]

#: What can be exported: the list call of each resource and the model of its items.
RESOURCES: Mapping[str, type] = {
    "responses": Response,
    "contacts": Contact,
    "forms": Form,
    "segments": Segment,
}
FORMATS = ("jsonl", "csv", "parquet")
PARQUET_EXTRA = "pip install 'refiner-async[parquet]'"

# Arguments of the list calls that are not filters: export() sets them itself.
_NOT_FILTERS = frozenset({"self", "page_length", "max_items", "pagination", "resume"})


class ExportError(RefinerError):
    """The export cannot start or finish because of its files: an existing output, a checkpoint
    that belongs to another export, a missing optional dependency."""


def filters_of(resource: str) -> dict[str, Any]:
    """The filters ``export()`` accepts for ``resource`` (those of its list call), with defaults."""
    from ..resources import ContactsResource, FormsResource, ResponsesResource, SegmentsResource

    listers: dict[str, Callable[..., Any]] = {
        "responses": ResponsesResource.list,
        "contacts": ContactsResource.list,
        "forms": FormsResource.list,
        "segments": SegmentsResource.list,
    }
    parameters = inspect.signature(listers[_resource(resource)]).parameters
    return {name: p.default for name, p in parameters.items() if name not in _NOT_FILTERS}


def _resource(resource: str) -> str:
    if resource not in RESOURCES:
        raise InvalidParameterError("resource", f"expected one of {', '.join(RESOURCES)}")
    return resource


def _format(format: str) -> str:
    if format not in FORMATS:
        raise InvalidParameterError("format", f"expected one of {', '.join(FORMATS)}")
    if format == "parquet":
        try:
            import pyarrow  # type: ignore[import-untyped]  # noqa: F401
        except ImportError:
            raise ExportError(f"Parquet output needs pyarrow: {PARQUET_EXTRA}") from None
    return format


def _query(
    resource: str, filters: Mapping[str, Any], page_length: int, max_items: int | None
) -> dict[str, Any]:
    """What the checkpoint records of the call, as JSON values (dates as ISO-8601 text).

    Filters left at their default are left out, so that ``include="completed"`` and no
    ``include`` are the same export.
    """
    defaults = filters_of(resource)
    query = {k: v for k, v in filters.items() if v != defaults[k]}
    query.update(page_length=page_length, max_items=max_items)
    loaded: dict[str, Any] = orjson.loads(orjson.dumps(query, default=str))
    return loaded


def _prepare(files: ExportFiles, fresh: Checkpoint, *, resume: bool, overwrite: bool) -> Checkpoint:
    """The checkpoint to start from: a fresh one (files created) or the one being resumed."""
    if overwrite:
        files.discard()  # the output itself stays until the new one replaces it
    try:
        found = files.load_checkpoint()
    except ValueError as exc:
        raise ExportError(
            f"{files.checkpoint} is not a checkpoint this version can read ({exc}); "
            "use overwrite (--overwrite) to start again"
        ) from None
    if resume and found is not None and _only_renames_left(files, found):
        _check_same_export(files, found, fresh)
        return found  # stopped at the very end: _finish completes what is left
    if not overwrite and files.output.exists():
        raise ExportError(
            f"{files.output} already exists; use overwrite (--overwrite) to replace it"
        )
    if found is not None:
        if not resume:
            raise ExportError(
                f"an interrupted export of {files.output} can be continued: use resume (--resume), "
                "or overwrite (--overwrite) to start again"
            )
        _check_same_export(files, found, fresh)
        size = files.partial.stat().st_size if files.partial.exists() else 0
        if size < found.size:
            raise ExportError(
                f"{files.partial} is shorter than its checkpoint says ({size:,} < {found.size:,} "
                "bytes); use overwrite (--overwrite) to start again"
            )
        return found
    files.open_partial(0).close()  # fails now, not after the first page, if it cannot be written
    files.save_checkpoint(fresh)
    return fresh


def _only_renames_left(files: ExportFiles, found: Checkpoint) -> bool:
    """Whether an export stopped after its partial file was consumed: every page was written, the
    partial file is gone (renamed to the output, or converted and removed) and what it became is
    there. Only the converted file's rename, or just the checkpoint's removal, is then left.
    """
    if not found.complete or files.partial.exists():
        return False
    converted = found.format != "jsonl" and files.converting.exists()
    return converted or files.output.exists()


def _check_same_export(files: ExportFiles, found: Checkpoint, fresh: Checkpoint) -> None:
    wanted = {"resource": fresh.resource, "format": fresh.format, **fresh.query}
    recorded = {"resource": found.resource, "format": found.format, **found.query}
    differing = sorted(
        k for k in wanted.keys() | recorded.keys() if wanted.get(k) != recorded.get(k)
    )
    if differing:
        raise ExportError(
            f"{files.checkpoint} was written by an export with other {', '.join(differing)}; "
            "resume with the same options, or use overwrite (--overwrite) to start again"
        )


async def export(
    client: RefinerClient,
    resource: str,
    path: str | os.PathLike[str],
    *,
    format: str = "jsonl",
    page_length: int = 1000,
    max_items: int | None = None,
    pagination: PaginationMode = "auto",
    resume: bool = False,
    overwrite: bool = False,
    progress: Callable[[ExportProgress], None] | None = None,
    **filters: Any,
) -> ExportSummary:
    """Export every item of a list call to ``path``; returns an :class:`ExportSummary`.

    Args:
        client: the client to list through (its rate limit, retries and concurrency apply; its
            responses are decoded with the cyclic collector paused, as with ``pause_gc=True``).
        resource: ``"responses"``, ``"contacts"``, ``"forms"`` or ``"segments"``.
        path: the output file; it appears only once the export is complete.
        format: ``"jsonl"`` (one API object per line), ``"csv"`` or ``"parquet"`` (flat columns
            with dotted names; Parquet needs the ``parquet`` extra).
        page_length, max_items, pagination: as for the list call. ``"auto"`` reads responses
            in date windows at once, writing pages as they arrive; ``"cursor"`` writes them in the
            server's order.
        resume: continue the interrupted export recorded in ``PATH.checkpoint.json`` (same
            resource, format and filters); without a checkpoint, start afresh.
        overwrite: start afresh, replacing ``path`` (once the new file is complete) and any
            checkpoint.
        progress: called with an :class:`ExportProgress` after each page is written.
        filters: the list call's filters, e.g. ``form_uuid=``, ``include=``, ``date_range_start=``.

    Raises:
        ExportError: another export is writing ``path`` (this one holds ``PATH.lock`` from start
            to end; the message names the holder's pid and host), ``path`` exists (without
            ``overwrite``), a checkpoint exists (without ``resume`` or ``overwrite``) or belongs
            to another export, or pyarrow is missing.
        InvalidParameterError: an unknown resource, format or filter, or a bad filter value.
        ExportError: no room to write (ENOSPC, EFBIG, EDQUOT): the message names the file and
            says that ``resume=True`` continues once there is room.
        OSError: the files cannot be written for another reason.
        RefinerError: the API failed; the checkpoint is kept once a page was written, and
            ``resume=True`` continues from there. Cancellation and KeyboardInterrupt keep it too.
    """
    model = RESOURCES[_resource(resource)]
    fmt = _format(format)
    client = client.with_options(pause_gc=True)  # a bulk read: decode with the collector paused
    unknown = sorted(set(filters) - set(filters_of(resource)))
    if unknown:
        raise InvalidParameterError(
            unknown[0], f"not a filter of {resource}; filters: {', '.join(filters_of(resource))}"
        )
    listing = _listing(getattr(client, resource).list, resource, pagination)
    listing(**filters, page_length=page_length, max_items=max_items)  # checks values; sends nothing
    files = ExportFiles.beside(path)
    query = _query(resource, filters, page_length, max_items)
    fresh = Checkpoint(resource=resource, format=fmt, query=query)
    lock = _lock_output(files)
    thread = FileThread()
    try:
        return await _run(
            client,
            listing,
            thread,
            files,
            fresh,
            model,
            filters,
            resume,
            overwrite,
            progress,
            page_length,
            max_items,
        )
    finally:
        thread.close()
        lock.release()


def _listing(
    lister: Callable[..., Paginator[Any]], resource: str, pagination: PaginationMode
) -> Callable[..., Paginator[Any]]:
    """The list call reading the way ``pagination`` says (a list read one way only takes
    ``"auto"``)."""
    if "pagination" in inspect.signature(lister).parameters:
        return functools.partial(lister, pagination=pagination)
    if pagination != "auto":
        raise InvalidParameterError("pagination", f"{resource} are read one way only: use 'auto'")
    return lister


def _lock_output(files: ExportFiles) -> OutputLock:
    """Hold ``FILE.lock`` for the export; ExportError at once when another export holds it."""
    try:
        return acquire(files.lock)
    except Held as held:
        raise ExportError(
            f"{files.output} is being written by another export ({held.holder}); "
            f"wait for it to finish or stop it (lock: {files.lock})"
        ) from None


async def _run(
    client: RefinerClient,
    listing: Callable[..., Paginator[Any]],
    thread: FileThread,
    files: ExportFiles,
    fresh: Checkpoint,
    model: type,
    filters: Mapping[str, Any],
    resume: bool,
    overwrite: bool,
    progress: Callable[[ExportProgress], None] | None,
    page_length: int,
    max_items: int | None,
) -> ExportSummary:
    """The export, with its output locked; every file step runs in ``thread``, off the loop."""
    resource, fmt = fresh.resource, fresh.format
    state = await thread.run(
        functools.partial(_prepare, resume=resume, overwrite=overwrite), files, fresh
    )

    stats_before = attrs.evolve(client.stats)
    started = time.perf_counter()
    resumed_items = state.items
    pages_written = 0  # by this run
    remaining = None if max_items is None else max_items - state.items

    def report(phase: str = "fetching") -> None:
        if progress is not None:
            progress(
                ExportProgress(
                    resource=resource,
                    items=state.items,
                    total=state.total,
                    pages=pages_written,
                    seconds=time.perf_counter() - started,
                    resumed_items=resumed_items,
                    phase=phase,
                    format=fmt,
                    paused_for=client.paused_for,
                )
            )

    # a table's columns, observed as its rows are written (a resumed export's are read back later)
    columns = columns_for(fmt, model) if fmt != "jsonl" and state.items == 0 else None
    try:
        if not state.complete and remaining != 0:
            listed = listing(
                **filters, page_length=page_length, max_items=remaining, resume=state.resume_token
            )
            # the API's own objects, for every format: no models built and taken apart again
            paginator = listed.raw()
            writer = _PageWriter(files, state, max_items)
            try:
                await thread.run(writer.open)
                async with _reporting_pauses(client, report), aclosing(paginator.pages()) as pages:
                    async for page in pages:
                        if columns is not None:
                            # in this loop pass, a few ms: in steps, the windows would read ahead
                            # meanwhile (a long export then peaked a few MB higher)
                            for row in page.items:
                                columns.observe(row)
                        # lines made here: in the file thread they would contend for the GIL; that
                        # thread gets bytes and figures, never the page's objects (a long export
                        # then peaks a few MB lower)
                        await thread.run(
                            writer.append,
                            _lines(page.items),
                            len(page.items),
                            page.items_count,
                            page.resume_token,
                        )
                        pages_written += 1
                        state = writer.state
                        report()
                        del page  # written: its objects go before the next page is read
                await thread.run(writer.save)
            except BaseException:
                # (a step never runs while this does: see FileThread.run)
                if writer.state.pages == 0:
                    writer.close()
                    files.discard()  # nothing worth resuming: leave no trace
                else:
                    with contextlib.suppress(OSError):  # else the last checkpoint stands
                        writer.save()
                    writer.close()
                raise
            writer.close()
            state = writer.state
        if fmt != "jsonl":
            report("converting")
        await thread.run(_finish, files, fmt, model, state, columns)
    except OSError as exc:
        if exc.errno not in _NO_ROOM:
            raise
        raise ExportError(
            f"cannot write {exc.filename}: {exc.strerror}; the pages written so far are kept: "
            "make room, then run the same export with resume (--resume) to continue"
        ) from None
    stats = client.stats
    return ExportSummary(
        resource=resource,
        path=files.output,
        format=fmt,
        items=state.items,
        pages=pages_written,
        seconds=time.perf_counter() - started,
        bytes=files.output.stat().st_size,
        resumed_items=resumed_items,
        requests=stats.requests - stats_before.requests,
        retries=stats.retries - stats_before.retries,
        rate_limited=stats.rate_limited - stats_before.rate_limited,
        rate_limit_wait=stats.rate_limit_wait - stats_before.rate_limit_wait,
    )


#: Seconds between progress reports while a 429 cooldown holds every page back.
PAUSE_REPORT_INTERVAL = 0.25


@contextlib.asynccontextmanager
async def _reporting_pauses(
    client: RefinerClient, report: Callable[[], None]
) -> AsyncIterator[None]:
    """Report progress every :data:`PAUSE_REPORT_INTERVAL` while the API's 429 cooldown holds the
    client, when no page arrives to report it."""

    async def tick() -> None:
        while True:
            await asyncio.sleep(PAUSE_REPORT_INTERVAL)
            if client.paused_for > 0:
                report()

    ticker = asyncio.create_task(tick())
    try:
        yield
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker


_LINE = orjson.OPT_APPEND_NEWLINE


def _lines(rows: Iterable[dict[str, Any]]) -> bytes:
    """The JSON lines of a page's items."""
    return b"".join([_line(row) for row in rows])


def _line(row: dict[str, Any]) -> bytes:
    """One of the API's own objects as a JSON line, at any depth the client accepted (see
    ``_json``)."""
    try:
        return orjson.dumps(row, option=_LINE)
    except orjson.JSONEncodeError:
        pass  # nested past orjson's 254 levels, most likely
    try:
        return dumps(row) + b"\n"
    except TypeError as exc:
        raise ExportError(
            f"item {row.get('uuid') or repr(row)[:80]} cannot be written as JSON: {exc}"
        ) from None


#: Seconds between checkpoints while pages keep coming (and at the last page, and when the export
#: stops for any reason): a process killed outright fetches again at most this much on resume.
CHECKPOINT_INTERVAL = 1.0


class _PageWriter:
    """Appends pages to the partial file and checkpoints them; run in the export's file thread.

    ``state`` describes the pages written so far; a checkpoint counts only pages synced to disk
    before it was saved, and a resume cuts the partial file back to the checkpoint's size.
    """

    def __init__(self, files: ExportFiles, state: Checkpoint, max_items: int | None) -> None:
        self._files = files
        self.state = state
        self._saved = state  # the checkpoint on disk
        self._saved_at = time.monotonic()
        self._max_items = max_items
        self._partial: IO[bytes] | None = None  # the partial file, open for appending

    def open(self) -> None:
        """Open the partial file, cut back to the checkpointed size."""
        self._partial = self._files.open_partial(self.state.size)

    def close(self) -> None:
        if self._partial is not None:
            self._partial.close()
            self._partial = None

    def append(self, data: bytes, items: int, total: int | None, resume_token: str | None) -> None:
        """Write a page's JSON lines, ``data`` (its ``items`` items, of a listing of ``total``,
        which continues at ``resume_token``); checkpoint if the last checkpoint is
        ``CHECKPOINT_INTERVAL`` old or this is the last page."""
        assert self._partial is not None, "open() first"
        files, state, max_items = self._files, self.state, self._max_items
        with _writing(files.partial):
            self._partial.write(data)
        total = total if state.total is None else state.total
        if total is not None and max_items is not None:
            total = min(total, max_items)
        state = attrs.evolve(
            state,
            items=state.items + items,
            pages=state.pages + 1,
            size=state.size + len(data),
            resume_token=resume_token,
            total=total,
            complete=resume_token is None,
        )
        self.state = state
        if state.complete or time.monotonic() - self._saved_at >= CHECKPOINT_INTERVAL:
            self.save()

    def save(self) -> None:
        """Sync the partial file, then checkpoint the pages written (nothing new: nothing done)."""
        assert self._partial is not None, "open() first"
        state, files = self.state, self._files
        if state == self._saved:
            return
        with _writing(files.partial):
            self._partial.flush()
            os.fsync(self._partial.fileno())  # on disk before the checkpoint counts it
        with _writing(files.checkpoint):
            files.save_checkpoint(state)
        self._saved, self._saved_at = state, time.monotonic()


#: Errors that more room on the disk (or a larger file size limit) cures.
_NO_ROOM = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """Name ``path`` on an OSError raised inside that names no file (a write's errors do not)."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None:
            exc.filename = str(path)
        raise


def _finish(
    files: ExportFiles, fmt: str, model: type, state: Checkpoint, columns: Columns | None
) -> None:
    """Mark ``state`` complete, turn the partial file into the output (a table with ``columns``,
    when they were observed as its rows were written), then drop the checkpoint.

    Each step leaves a state that ``_prepare`` recognises if the process stops right after it: the
    partial file is removed only once the converted file is whole, so a checkpoint with no partial
    file means that the rename alone (or nothing but the checkpoint's removal) is left.
    """
    if not state.complete:  # stopped by max_items: no page said it was the last
        with _writing(files.checkpoint):
            files.save_checkpoint(attrs.evolve(state, complete=True))
    if files.partial.exists():
        if fmt == "jsonl":
            os.replace(files.partial, files.output)
        else:
            with _writing(files.converting):
                if fmt == "csv":
                    write_csv(files.partial, files.converting, model, columns=columns)
                else:
                    write_parquet(files.partial, files.converting, model, columns=columns)
                _sync(files.converting)
            files.partial.unlink()
    if fmt != "jsonl" and files.converting.exists():
        os.replace(files.converting, files.output)
    files.checkpoint.unlink(missing_ok=True)


def _sync(path: Path) -> None:
    """Flush ``path``'s content to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
