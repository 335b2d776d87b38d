"""A dlt source for Refiner (needs the ``dlt`` extra: ``pip install 'refiner-async[dlt]'``).

``refiner_source()`` gives four resources, each yielding pages of plain dicts (the API's JSON
objects) read through one :class:`~refiner_async.RefinerClient` shared by the resources of a run, so
the SDK's limiter, concurrency and retries govern every request:

- ``responses``: incremental on ``last_data_reception_at`` (``last_shown_at`` with
  ``include="all"``), merged on ``uuid``. Each run reads ``date_range_start = last value - lookback``
  (the lookback is dlt's ``lag``) to ``date_range_end = now - settle``; dlt keeps the last value in
  its state and commits it with the load, so a run that fails leaves the state where it was and the
  next run reads that range again. A first run reads the whole history (or from ``initial_value``).
  Re-read rows (the lookback, responses whose answers grew) are merged on ``uuid``.
- ``contacts``: a full read merged on ``uuid`` (large; referenced by the responses loaded).
- ``forms`` and ``segments``: full reads replacing the tables (small; items are archived or deleted).

Columns are declared from the SDK's models (:func:`column_hints`), so a column that is null in every
row of a load still exists with its type. Nested objects become ``parent__child`` columns (all null
for a null object: a contact without an account); answers (``data``), attributes, configs and
lists stay JSON.

The resources write Parquet load files (dlt's resource ``file_format``; pyarrow, which the ``dlt``
extra installs, writes them): DuckDB loads them many times faster than the SQL ``INSERT`` files it
is given by default. A destination that takes no Parquet gets a format it takes (dlt says so in
its log); ``file_format=None`` leaves the choice to the pipeline.

With ``arrow=True`` the resources yield each page as a pyarrow Table built from the SDK's models
(:func:`arrow_table`), which dlt writes as it is instead of normalizing row by row: the same
columns with the same types, loaded in a fraction of the time. dlt then adds ``_dlt_load_id`` and
``_dlt_id`` only when told to (``add_dlt_load_id`` / ``add_dlt_id`` under
``[normalize.parquet_normalizer]``), the bookmark is a datetime instead of ISO-8601 text, and keys
the models do not name become JSON columns. The JSON columns are text in the tables; dlt keeps the
type the hints declare and logs a warning saying so. A pipeline keeps to one way or the other.

The API key comes from dlt's secrets (``sources.refiner.api_key`` in ``.dlt/secrets.toml``, or the
environment variable ``SOURCES__REFINER__API_KEY``); the SDK never writes it to a log.

This module is ``refiner_async.dlt``; ``import dlt`` below is the dlt package itself (absolute
imports), so the two never shadow each other.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import typing
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import attrs
import dlt
import orjson
from dlt.common.schema.typing import TColumnSchema, TFileFormat, TWriteDisposition
from dlt.sources import DltResource

from . import _validate
from ._client import RefinerClient
from ._converters import converter
from ._converters._shapes import without_none
from ._pagination import Paginator
from ._types import Include
from .errors import InvalidParameterError
from .models import Contact, Form, Response, Segment
from .models._base import EMPTY
from .sync import (
    CURSOR_FIELDS,
    DEFAULT_LOOKBACK,
    DEFAULT_SETTLE,
    FULL_READ_DISPOSITION,
    _records,
    check_options,
    window_ceiling,
)

__all__ = ["arrow_table", "column_hints", "refiner_source"]

#: The load files the resources write unless told otherwise.
DEFAULT_FILE_FORMAT: TFileFormat = "parquet"

_SCALARS: Mapping[Any, str] = {
    datetime: "timestamp",
    str: "text",
    int: "bigint",
    float: "double",
    bool: "bool",
}


def _fields(model: type, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every field of ``model`` and of the models nested in it, parents first: its path and type
    (``None`` left out of optional ones); ``extra`` (unknown keys) is not a field here."""
    for field in attrs.fields(attrs.resolve_types(model)):
        if field.name == "extra":
            continue
        tp = without_none(field.type)
        yield (*path, field.name), tp
        if attrs.has(tp):
            yield from _fields(tp, (*path, field.name))


def column_hints(model: type, *, primary_key: str | None = "uuid") -> dict[str, TColumnSchema]:
    """dlt column hints for the items of ``model``: its scalar fields typed, nested models as
    ``parent__child`` columns, mappings and lists as JSON; every column nullable but the key.
    Unknown keys are left to dlt to infer."""
    hints: dict[str, TColumnSchema] = {}
    for path, tp in _fields(model):
        if attrs.has(tp):
            continue  # its fields are columns of their own
        name = "__".join(path)
        data_type = _SCALARS.get(tp, "json")
        hints[name] = {"name": name, "data_type": data_type, "nullable": name != primary_key}  # type: ignore[typeddict-item]
    return hints


def arrow_table(items: Sequence[Any], model: type) -> Any:
    """``items`` (instances of ``model``) as a pyarrow Table with the columns of
    :func:`column_hints`, in their order and with their types: timestamps as ``timestamp[us, UTC]``,
    JSON columns as JSON text, the columns of a null nested object null. Keys a model kept on
    ``extra`` follow, each a JSON column named like the others (``contact__plan``)."""
    import pyarrow as pa  # type: ignore[import-untyped]

    types = {
        "timestamp": pa.timestamp("us", tz="UTC"),
        "text": pa.string(),
        "bigint": pa.int64(),
        "double": pa.float64(),
        "bool": pa.bool_(),
        "json": pa.string(),
    }
    hints = column_hints(model)
    holders: dict[tuple[str, ...], list[Any]] = {(): list(items)}  # the objects at each path
    fields, arrays = [], []
    for path, tp in _fields(model):  # parents first, in the hints' order
        *parent, name = path
        values = [None if o is None else getattr(o, name) for o in holders[tuple(parent)]]
        if attrs.has(tp):
            holders[path] = values
            continue
        hint = hints["__".join(path)]
        data_type = hint["data_type"]
        assert data_type is not None  # column_hints types every column
        if data_type == "json":
            values = list(map(functools.partial(_json_text, unstructure_as=tp), values))
        fields.append(pa.field(hint["name"], types[data_type], hint["nullable"]))
        arrays.append(pa.array(values, fields[-1].type))
    taken = set(hints)
    for path, objects in holders.items():
        extras = [EMPTY if o is None else o.extra for o in objects]
        for key in dict.fromkeys(key for extra in extras for key in extra):
            name = "__".join((*path, key))
            if name not in taken:
                taken.add(name)
                fields.append(pa.field(name, pa.string()))
                arrays.append(
                    pa.array([_json_text(extra.get(key)) for extra in extras], pa.string())
                )
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _json_text(value: Any, unstructure_as: Any = None) -> str | None:
    """``value`` as JSON text (through the converter's hooks for ``unstructure_as``); None stays
    None."""
    if value is None:
        return None
    plain = value if unstructure_as is None else converter.fast.unstructure(value, unstructure_as)
    return orjson.dumps(plain).decode()


def nested_paths(model: type) -> list[tuple[str, ...]]:
    """The paths of the fields of ``model`` that hold a nested model, parents first."""
    return [path for path, tp in _fields(model) if attrs.has(tp)]


def without_null_objects(row: dict[str, Any], paths: list[tuple[str, ...]]) -> dict[str, Any]:
    """``row`` (changed in place) without the keys at ``paths`` (:func:`nested_paths`) that hold
    null: dlt spreads a nested object into ``parent__child`` columns, but would take a null one for
    a column of its own that never holds a value (and warn about it on every load)."""
    for *parents, key in paths:
        holder: Any = row
        for parent in parents:
            holder = holder.get(parent)
            if type(holder) is not dict:
                break
        else:
            if key in holder and holder[key] is None:
                del holder[key]
    return row


def check_file_format(file_format: object) -> TFileFormat | None:
    """``file_format`` checked: None, one of dlt's load file formats or ``"preferred"`` (the
    destination's); else InvalidParameterError naming it, as when Parquet is asked for and pyarrow
    is not installed."""
    if file_format is None:
        return None
    formats = typing.get_args(TFileFormat)
    if file_format not in formats:
        raise InvalidParameterError("file_format", f"expected None or one of {', '.join(formats)}")
    if file_format == "parquet":
        _need_pyarrow(
            "file_format",
            "Parquet load files",
            ", or pass file_format=None to let the pipeline choose",
        )
    return cast(TFileFormat, file_format)


def check_arrow(arrow: object) -> bool:
    """``arrow`` checked: a bool, and True only where pyarrow is installed; else
    InvalidParameterError naming it."""
    if not isinstance(arrow, bool):
        raise InvalidParameterError("arrow", f"expected True or False, got {arrow!r}")
    if arrow:
        _need_pyarrow("arrow", "Arrow tables")
    return arrow


def _need_pyarrow(param: str, what: str, otherwise: str = "") -> None:
    """InvalidParameterError naming ``param`` unless pyarrow is installed (``what`` needs it)."""
    if importlib.util.find_spec("pyarrow") is None:
        raise InvalidParameterError(
            param, f"{what} need pyarrow: pip install 'refiner-async[dlt]'{otherwise}"
        )


class _SharedClient:
    """One RefinerClient for the resources of a source: opened by the first resource that reads and
    closed when the last one reading is done (all on the event loop dlt runs them on)."""

    def __init__(self, factory: Callable[[], RefinerClient]) -> None:
        self._factory = factory
        self._client: RefinerClient | None = None
        self._users = 0  # resources reading now

    @contextlib.asynccontextmanager
    async def use(self) -> AsyncIterator[RefinerClient]:
        if self._client is None:
            self._client = self._factory()
        client = self._client
        self._users += 1
        try:
            yield client
        finally:
            self._users -= 1
            if self._users == 0:
                self._client = None
                await client.aclose()


async def _pages(
    shared: _SharedClient,
    read: Callable[[RefinerClient], Paginator[Any]],
    model: type,
    *,
    arrow: bool = False,
) -> AsyncGenerator[Any, None]:
    """The non-empty pages of ``read(client)``: lists of dicts without null nested objects, or
    with ``arrow`` pyarrow Tables (:func:`arrow_table`)."""
    paths = nested_paths(model)

    def shape(rows: Sequence[Any]) -> Any:
        if arrow:
            return arrow_table(rows, model)
        return [without_null_objects(row, paths) for row in rows]

    async with shared.use() as client:
        listing = read(client)
        source = listing.pages() if arrow else _records(listing)
        async with contextlib.aclosing(source) as pages:
            async for page in pages:
                if page.items:
                    yield shape(page.items)


@dlt.source(name="refiner", section="refiner")
def refiner_source(
    api_key: str = dlt.secrets.value,
    base_url: str | None = None,
    *,
    lookback: float = DEFAULT_LOOKBACK,
    settle: float = DEFAULT_SETTLE,
    include: Include = "completed",
    initial_value: str | None = None,
    page_length: int = 1000,
    client_options: Mapping[str, Any] | None = None,
    clock: Callable[[], datetime] | None = None,
    file_format: TFileFormat | None = DEFAULT_FILE_FORMAT,
    arrow: bool = False,
) -> list[DltResource]:
    """Refiner's responses (incremental, merged), contacts (merged), forms and segments (replaced).

    Args:
        api_key: the project's key; by default dlt's secret ``sources.refiner.api_key``.
        base_url: the API's address; None: the SDK's default.
        lookback: seconds before the last loaded reception time each run reads again (dlt's lag).
        settle: seconds before now left for the next run (responses still arriving).
        include: which responses: ``"completed"``, ``"partials"`` or ``"all"``.
        initial_value: where a first run starts (ISO-8601 ``YYYY-MM-DDTHH:MM:SSZ``); None: the
            whole history.
        page_length: items per request.
        client_options: more RefinerClient options (``rate_limit=``, ``max_concurrency=``, ...).
        clock: the current time (aware UTC); default the system clock.
        file_format: the load files every resource writes (dlt's resource ``file_format``); None
            leaves it to the pipeline (``loader_file_format=`` or the destination's own choice).
        arrow: yield pages as pyarrow Tables (see the module docstring) instead of lists of dicts.
    """
    settle, lookback, _, include = check_options(
        settle=settle, lookback=lookback, max_window=1, include=include
    )
    file_format = check_file_format(file_format)
    arrow = check_arrow(arrow)
    # an Arrow table's cursor column holds timestamps: its bookmark is a datetime, not text
    first_value: str | datetime | None = initial_value
    if arrow and initial_value is not None:
        first_value = _validate.when("initial_value", initial_value)
    options = dict(client_options or {})
    if base_url is not None:
        options["base_url"] = base_url
    shared = _SharedClient(lambda: RefinerClient(api_key, **options))
    now = clock or (lambda: datetime.now(UTC))
    cursor = CURSOR_FIELDS[include]

    @dlt.resource(
        name="responses",
        primary_key="uuid",
        write_disposition="merge",
        columns=column_hints(Response),
    )
    async def responses(
        received: dlt.sources.incremental[Any] = dlt.sources.incremental(  # noqa: B008
            cursor, initial_value=first_value, lag=lookback
        ),
    ) -> AsyncGenerator[Any, None]:
        start = received.start_value  # the last value less the lag; None on a first run
        end = window_ceiling(now(), settle)

        def read(client: RefinerClient) -> Paginator[Any]:
            return client.responses.list(
                include=include, date_range_start=start, date_range_end=end, page_length=page_length
            )

        async for page in _pages(shared, read, Response, arrow=arrow):
            yield page

    def full_read(resource: str, model: type, **filters: Any) -> DltResource:
        disposition = cast("TWriteDisposition", FULL_READ_DISPOSITION[resource])

        async def read_all() -> AsyncGenerator[Any, None]:
            def read(client: RefinerClient) -> Paginator[Any]:
                lister: Paginator[Any] = getattr(client, resource).list(
                    page_length=page_length, **filters
                )
                return lister

            async for page in _pages(shared, read, model, arrow=arrow):
                yield page

        factory = dlt.resource(
            read_all,
            name=resource,
            primary_key="uuid",
            write_disposition=disposition,
            columns=column_hints(model),
        )
        made: DltResource = factory()
        return made

    resources = [
        responses,
        full_read("contacts", Contact),
        full_read("forms", Form, state="all_with_archived", include_info=True),
        full_read("segments", Segment),
    ]
    if file_format is not None:
        for resource in resources:
            resource.apply_hints(file_format=file_format)
    return resources
