"""CSV and Parquet from the export's JSON Lines: flat columns with dotted names, in a stable order.

A table needs its columns before its first row, and an answer's keys (``data.<question>``) are
known only once every row has been seen. So the table is built in two steps, reading the finished
JSON Lines file one line at a time (memory stays bounded by one row group):

1. collect the columns, starting from the model's fields so that even an empty export has them
   (and, for Parquet, the kinds of their values). The export observes each page as it writes it
   (:func:`columns_for`), while the next pages are on their way; an export that was resumed
   collects them in a first pass over the file instead;
2. write the rows: CSV lines as the ``csv`` module writes them (:func:`csv_line`), Parquet in row
   groups of ``ROWS_PER_GROUP`` rows through ``pyarrow.parquet.ParquetWriter``, each built from
   Arrow batches of ``ROWS_PER_BATCH`` rows.

Column rules (the same for CSV and Parquet):

- nested objects expand in place with dotted names: ``form.uuid``, ``contact.account.domain``,
  ``data.nps``, ``contact.attributes.plan``; an object more than ``MAX_COLUMN_DEPTH`` (32) levels
  down is one cell of JSON text;
- columns follow the model's field order; keys inside open objects (``data``, ``attributes``,
  ``config``, unknown fields) follow their first appearance in the export;
- lists (``segments``, ``channels``, multiple-choice answers) are one cell of JSON text, and so is a
  value that is an object in some rows and not in others (its column then sits before its children);
- the rows are the API's own objects; the model's timestamps, which the API writes in two forms
  (``2020-09-02 21:53:33`` and ``2020-09-02T20:44:24.000000Z``), are written in one:
- CSV cells: empty for null, ``true``/``false`` for booleans, numbers as Python writes them,
  timestamps as ISO-8601 UTC (``2020-09-02T21:53:33Z``).
- Parquet types: the model's timestamps are ``timestamp[us, UTC]``; other columns are ``bool``,
  ``int64``, ``double`` or ``string`` by the values seen (strings when they are mixed).
- a timestamp field holding a value that is not a timestamp: CSV writes that value's text in its
  cell; Parquet makes the column text, the API's values as they are.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import orjson

from .._converters._shapes import without_none
from .._converters._timestamps import format_timestamp, naive_text, read_timestamp
from ._json import dumps

__all__ = ["Columns", "columns_for", "csv_line", "write_csv", "write_parquet"]

_INT64 = range(-(2**63), 2**63)  # JSON integers reach 2**64 - 1; larger ones are text in Parquet


class _Node:
    """One key of the column tree: its children (for objects) and the kinds of scalars seen at it."""

    __slots__ = ("children", "declared", "index", "kinds", "shapes")

    def __init__(self, declared: str | None = None) -> None:
        self.children: dict[str, _Node] = {}  # keys seen under this one, in first-seen order
        self.kinds: set[str] = set()  # "bool", "int", "float", "str", "json", "timestamp"
        self.declared = declared  # the model's type for this key: "timestamp", "int", ... or None
        self.index = -1  # its column's position (-1: an object that is not a column itself)
        # objects seen here by shape (keys and value types): what another of that shape adds
        self.shapes: dict[tuple[tuple[str, ...], tuple[type, ...]], _Again] = {}


def _declared(tp: Any) -> str | type | None:
    """The column kind of a model field type, or the nested model class, or None (open)."""
    base = without_none(tp)
    if attrs.has(base):
        return base
    kinds = {datetime: "timestamp", str: "str", int: "int", float: "float", bool: "bool"}
    if base in kinds:
        return kinds[base]
    if typing.get_origin(base) is tuple:
        return "json"
    return None  # Mapping[str, Any], Any: keys and kinds come from the data


def _seed(node: _Node, model: type) -> None:
    for field in attrs.fields(attrs.resolve_types(model)):
        if field.name == "extra":
            continue
        kind = _declared(field.type)
        if isinstance(kind, type):
            child = node.children.setdefault(field.name, _Node())
            _seed(child, kind)
        else:
            node.children.setdefault(field.name, _Node(kind))


def _timestamp_kind(value: Any) -> str | None:
    """``"timestamp"`` for a value of a timestamp field that reads as one, None for one that reads
    as no time (an empty or zero date), else the value's own kind."""
    try:
        return None if read_timestamp(value) is None else "timestamp"
    except (ValueError, TypeError):
        return _kind(value)


def _kind(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return "str"
    if kind is bool:
        return "bool"
    if kind is int:
        return "int" if value in _INT64 else "json"
    if kind is float:
        return "float"
    return "json"


class Columns:
    """The columns of a table, grown row by row from the model's fields and the rows seen."""

    def __init__(self, model: type, *, with_kinds: bool = True) -> None:
        self._root = _Node()
        _seed(self._root, model)
        self._with_kinds = with_kinds  # False: which keys hold values, not their kinds (CSV)
        self._width: int | None = None  # columns numbered so far (None: not since observe())

    def observe(self, row: Mapping[str, Any]) -> None:
        """Add the keys and value kinds of one row (an object as the API sends it)."""
        _observe(self._root, row, self._with_kinds)
        self._width = None

    def timestamps(self) -> list[int]:
        """The positions of the columns the model declares as timestamps."""
        return [i for i, (_, node) in enumerate(self._leaves()) if node.declared == "timestamp"]

    def names(self) -> list[str]:
        """The column names, in order."""
        return [name for name, _ in self._leaves()]

    def _leaves(self) -> list[tuple[str, _Node]]:
        """The columns in order, each with its node, which learns its position (``index``; -1 for
        an object that is not a column itself)."""
        out: list[tuple[str, _Node]] = []

        def walk(node: _Node, prefix: str) -> None:
            for key, child in node.children.items():
                name = prefix + key
                child.index = -1
                if not child.children or child.kinds:
                    child.index = len(out)
                    out.append((name, child))
                walk(child, name + ".")

        walk(self._root, "")
        return out

    def cells(self, row: Mapping[str, Any]) -> list[Any]:
        """One row's values for the columns, in the order of :meth:`names` (None where the row
        has no value)."""
        if self._width is None:
            self._width = len(self._leaves())
        out: list[Any] = [None] * self._width
        _fill(self._root, row, out)
        return out

    def kinds(self) -> list[tuple[str, str]]:
        """Each column with the kind of its values: timestamp, bool, int, float, str, or text
        (values of other or mixed kinds, written as text)."""
        types = []
        for name, node in self._leaves():
            kinds = node.kinds
            if node.declared == "timestamp" and kinds <= {"timestamp"}:
                kind = "timestamp"
            elif not kinds:  # only nulls, or objects without keys ("{}")
                kind = node.declared if node.declared in ("bool", "int", "float") else "text"
            elif kinds <= {"int", "float"}:
                kind = "int" if kinds == {"int"} else "float"
            elif len(kinds) == 1 and kinds <= {"bool", "str"}:
                kind = next(iter(kinds))
            else:
                kind = "text"  # mixed kinds, lists, objects, huge ints: JSON text
            types.append((name, kind))
        return types


#: Object levels spread into dotted columns; an object deeper down is one cell of JSON text.
MAX_COLUMN_DEPTH = 32


#: Shapes of objects remembered per key (an open object with more is observed key by key).
_SHAPES = 64

# For an object of a shape seen before: the positions of the values that may still add something
# (objects, timestamps that may not read as one, integers that may not fit 64 bits), their
# node, and whether the value is an object.
_Again = list[tuple[int, _Node, bool]]


def _observe(node: _Node, row: Mapping[str, Any], with_kinds: bool, depth: int = 1) -> None:
    """Add the keys (and, ``with_kinds``, the kinds of the values) of ``row`` under ``node``."""
    values = tuple(row.values())
    shape = (tuple(row), tuple(map(type, values)))
    again = node.shapes.get(shape)
    if again is None:
        _observe_each(node, row, with_kinds, depth)
        if len(node.shapes) < _SHAPES:
            node.shapes[shape] = _again(node, row, with_kinds, depth)
        return
    for i, child, nested in again:
        if nested:
            _observe(child, values[i], with_kinds, depth + 1)
        else:
            _note(child, values[i], with_kinds)


def _again(node: _Node, row: Mapping[str, Any], with_kinds: bool, depth: int) -> _Again:
    out: _Again = []
    for i, (key, value) in enumerate(row.items()):
        child = node.children[key]
        if type(value) is dict and depth < MAX_COLUMN_DEPTH:
            out.append((i, child, True))
        elif (
            with_kinds
            and value is not None
            and (child.declared == "timestamp" or type(value) is int)
        ):
            out.append((i, child, False))
    return out


def _observe_each(node: _Node, row: Mapping[str, Any], with_kinds: bool, depth: int) -> None:
    children = node.children
    for key, value in row.items():
        child = children.get(key)
        if child is None:
            child = children[key] = _Node()
        if type(value) is dict and depth < MAX_COLUMN_DEPTH:
            _observe(child, value, with_kinds, depth + 1)  # an object without keys: "{}"
        elif value is not None:
            _note(child, value, with_kinds)


def _note(node: _Node, value: Any, with_kinds: bool) -> None:
    """Record that ``node`` holds a value that is not null (``with_kinds``: and its kind)."""
    if not with_kinds:
        node.kinds.add("value")
    elif node.declared != "timestamp":
        node.kinds.add(_kind(value))
    elif (kind := _timestamp_kind(value)) is not None:
        node.kinds.add(kind)


def _fill(node: _Node, row: Mapping[str, Any], out: list[Any], depth: int = 1) -> None:
    children = node.children
    for key, value in row.items():
        child = children[key]
        if type(value) is dict and value and child.children and depth < MAX_COLUMN_DEPTH:
            _fill(child, value, out, depth + 1)
        elif child.index >= 0:
            out[child.index] = value


def _text(value: Any) -> str:
    """A cell as text: empty for null, JSON literals for booleans, JSON text for lists and objects."""
    if value is None:
        return ""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return repr(value)
    return dumps(value).decode()  # at any depth (see _json)


def _rows(source: Path) -> Iterator[dict[str, Any]]:
    with open(source, "rb") as lines:
        for line in lines:
            yield orjson.loads(line)


def columns_for(fmt: str, model: type) -> Columns:
    """Empty columns of a ``model`` table in ``fmt`` (``"csv"`` or ``"parquet"``), to observe
    rows with: Parquet's note the kinds of the values too."""
    return Columns(model, with_kinds=fmt == "parquet")


def _observed(source: Path, columns: Columns) -> Columns:
    """``columns``, having observed every row of ``source``."""
    for row in _rows(source):
        columns.observe(row)
    return columns


def _timestamp_text(value: Any) -> str:
    """A timestamp cell as ISO-8601 UTC text (empty for no time; a value that is not a time as
    its text)."""
    text = naive_text(value)  # the responses' usual value, rewritten as text
    if text is not None:
        return text
    try:
        moment = read_timestamp(value)
    except (ValueError, TypeError):
        return _text(value)
    return "" if moment is None else format_timestamp(moment)


_REMEMBERED = 4096  # timestamps remembered while writing a table
_LINES_PER_WRITE = 100  # CSV lines joined into one write


def _remembering(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert``, remembering its results for the last few thousand strings (a response's
    times are often one moment)."""
    seen: dict[str, Any] = {}

    def remembered(value: Any) -> Any:
        if type(value) is not str:
            return convert(value)
        try:
            return seen[value]
        except KeyError:
            if len(seen) >= _REMEMBERED:
                seen.clear()
            result = seen[value] = convert(value)
            return result

    return remembered


def csv_line(texts: list[str]) -> str:
    """The line ``csv.writer`` (its default dialect) writes for the cells ``texts``: a cell holding a
    comma, a quote or a line break quoted, with its quotes doubled, and one empty cell alone
    written as ``""``. Several times faster than the csv module, which checks every character
    with a call of its own; most lines need no quotes, and are only joined."""
    line = ",".join(texts)
    if line.count(",") != len(texts) - 1 or _quote_or_break(line):  # some cell needs quotes
        line = ",".join([_quoted(t) if "," in t or _quote_or_break(t) else t for t in texts])
    elif texts == [""]:
        line = '""'  # not a blank line
    return line + "\r\n"


def _quote_or_break(text: str) -> bool:
    """Whether ``text`` holds a quote or a line break (a cell holding one, or a comma, is
    quoted)."""
    return '"' in text or "\n" in text or "\r" in text


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def write_csv(source: Path, target: Path, model: type, *, columns: Columns | None = None) -> int:
    """Write the JSON Lines file ``source`` as CSV to ``target``; returns the number of rows.

    ``columns``: the columns of every row of ``source``, observed as they were written (see
    :func:`columns_for`); without them, a first pass over the file collects them. The lines are
    those ``csv.writer`` writes (see :func:`csv_line`)."""
    if columns is None:
        columns = _observed(source, columns_for("csv", model))
    names = columns.names()
    timestamps = columns.timestamps()
    count = 0
    lines = [csv_line(names)]
    with open(target, "w", newline="", encoding="utf-8") as file:
        for row in _rows(source):
            cells = columns.cells(row)
            last = text = None  # a row's times are often one moment: its text is made once
            for i in timestamps:
                value = cells[i]
                if value is not None:  # null: an empty cell
                    if type(value) is not str or value != last:
                        last, text = value, _timestamp_text(value)
                    cells[i] = text
            lines.append(
                csv_line(["" if c is None else c if type(c) is str else _text(c) for c in cells])
            )
            count += 1
            if len(lines) >= _LINES_PER_WRITE:
                file.write("".join(lines))
                lines.clear()
        file.write("".join(lines))
    return count


def _zoned(values: Any) -> bool:
    """Whether the first timestamp text among ``values`` carries a zone (``...Z``, ``+02:00``)."""
    first = next((v for v in values if type(v) is str), "")
    return len(first) > 19 and first[10] == "T"


#: Rows per Parquet row group: few enough to hold as Arrow batches, many enough that the file's
#: metadata (a few tens of KB per row group, held until the file is closed) stays small.
ROWS_PER_GROUP = 5_000
#: Rows turned into Arrow arrays at a time: a row group is written from batches of this many, so
#: the Python values held at once are those of one batch, not of the whole group.
ROWS_PER_BATCH = 1_000


def _memory_pool(pa: Any) -> Any:
    """Arrow's jemalloc pool where the build has it, else the system allocator's.

    Arrow's default pool (mimalloc) keeps much of what it frees: with these, the conversion
    peaks lower, at no more CPU. They are the conversion's to use; the default is left as it is.
    """
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:
        return pa.system_memory_pool()


def write_parquet(
    source: Path,
    target: Path,
    model: type,
    *,
    rows_per_group: int | None = None,
    columns: Columns | None = None,
) -> int:
    """Write the JSON Lines file ``source`` as Parquet to ``target`` in row groups of
    ``rows_per_group`` rows (default :data:`ROWS_PER_GROUP`, read when called); returns the
    number of rows. ``columns``: as for :func:`write_csv`.

    Arrow allocates from a pool of the conversion's own (:func:`_memory_pool`), not its default."""
    group = rows_per_group or ROWS_PER_GROUP
    batch_rows = min(group, ROWS_PER_BATCH)
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    if columns is None:
        columns = _observed(source, columns_for("parquet", model))
    pool = _memory_pool(pa)
    arrow = {
        "timestamp": pa.timestamp("us", tz="UTC"),
        "bool": pa.bool_(),
        "int": pa.int64(),
        "float": pa.float64(),
        "str": pa.string(),
        "text": pa.string(),
    }
    types = columns.kinds()
    schema = pa.schema([(name, arrow[kind]) for name, kind in types])
    moment = _remembering(read_timestamp)

    def times(values: Any) -> Any:
        """A timestamp column: read by Arrow when every value has one of the API's two forms
        (no zone, or a zone), else value by value."""
        try:
            texts = pa.array(values, type=pa.string(), memory_pool=pool)
            if _zoned(values):
                return texts.cast(arrow["timestamp"], memory_pool=pool)
            naive = texts.cast(pa.timestamp("us"), memory_pool=pool)
            return naive.cast(arrow["timestamp"], memory_pool=pool)  # naive means UTC
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return pa.array(list(map(moment, values)), type=arrow["timestamp"], memory_pool=pool)

    def array(kind: str, values: Any) -> Any:
        if kind == "timestamp":
            return times(values)
        if kind == "text":
            values = [v if v is None else _text(v) for v in values]
        return pa.array(values, type=arrow[kind], memory_pool=pool)

    def batch(rows: list[list[Any]]) -> Any:
        by_column = zip(*rows, strict=True) if rows else ([] for _ in types)
        arrays = [array(kind, values) for (_, kind), values in zip(types, by_column, strict=True)]
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def write(batches: list[Any]) -> None:  # one row group
        writer.write_table(pa.Table.from_batches(batches, schema=schema))

    count = 0
    rows: list[list[Any]] = []  # of the batch being built
    batches: list[Any] = []  # of the row group being built
    with pq.ParquetWriter(target, schema, memory_pool=pool) as writer:
        for row in _rows(source):
            rows.append(columns.cells(row))
            count += 1
            group_done = count % group == 0
            if len(rows) == batch_rows or group_done:
                batches.append(batch(rows))
                rows = []
            if group_done:
                write(batches)
                batches = []
        if rows or count == 0:
            batches.append(batch(rows))
        if batches:
            write(batches)
    return count
