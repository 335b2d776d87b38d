"""CSV and Parquet from the export's JSON Lines: flat columns with dotted names, in a stable order.

A table needs its columns before its first row, and an answer's keys (``data.<question>``) are
known only once every row has been seen. So the table is built in two passes over the finished
JSON Lines file, one line at a time (memory stays bounded by one row group):

1. collect the columns, starting from the model's fields so that even an empty export has them;
2. write the rows: CSV through the ``csv`` module, Parquet one row group per ``rows_per_group`` rows
   through ``pyarrow.parquet.ParquetWriter``.

Column rules (the same for CSV and Parquet):

- nested objects expand in place with dotted names: ``form.uuid``, ``contact.account.domain``,
  ``data.nps``, ``contact.attributes.plan``; an object more than ``MAX_COLUMN_DEPTH`` (32) levels
  down is one cell of JSON text;
- columns follow the model's field order; keys inside open objects (``data``, ``attributes``,
  ``config``, unknown fields) follow their first appearance in the export;
- lists (``segments``, ``channels``, multiple-choice answers) are one cell of JSON text, and so is a
  value that is an object in some rows and not in others (its column then sits before its children);
- CSV cells: empty for null, ``true``/``false`` for booleans, numbers as Python writes them,
  timestamps as in the JSON (ISO-8601 UTC).
- Parquet types: the model's timestamps are ``timestamp[us, UTC]``; other columns are ``bool``,
  ``int64``, ``double`` or ``string`` by the values seen (strings when they are mixed).
"""

from __future__ import annotations

import csv
import typing
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import orjson

from ._json import dumps

__all__ = ["Columns", "write_csv", "write_parquet"]

_INT64 = range(-(2**63), 2**63)  # JSON integers reach 2**64 - 1; larger ones are text in Parquet


class _Node:
    """One key of the column tree: its children (for objects) and the kinds of scalars seen at it."""

    __slots__ = ("children", "declared", "kinds")

    def __init__(self, declared: str | None = None) -> None:
        self.children: dict[str, _Node] = {}  # keys seen under this one, in first-seen order
        self.kinds: set[str] = set()  # "bool", "int", "float", "str", "json" (not null)
        self.declared = declared  # the model's type for this key: "timestamp", "int", ... or None


def _declared(tp: Any) -> str | type | None:
    """The column kind of a model field type, or the nested model class, or None (open)."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    base = args[0] if len(args) == 1 else tp
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

    def __init__(self, model: type) -> None:
        self._root = _Node()
        _seed(self._root, model)

    def observe(self, row: Mapping[str, Any]) -> None:
        """Add the keys and value kinds of one row (an object as the API sends it)."""
        _observe(self._root, row)

    def names(self) -> list[str]:
        """The column names, in order."""
        return [name for name, _ in self._leaves()]

    def _leaves(self) -> list[tuple[str, _Node]]:
        out: list[tuple[str, _Node]] = []

        def walk(node: _Node, prefix: str) -> None:
            for key, child in node.children.items():
                name = prefix + key
                if not child.children or child.kinds:
                    out.append((name, child))
                walk(child, name + ".")

        walk(self._root, "")
        return out

    def cells(self, row: Mapping[str, Any], names: list[str]) -> list[Any]:
        """One row's values for the columns ``names`` (None where the row has no value)."""
        flat: dict[str, Any] = {}
        _flatten(self._root, row, "", flat)
        return [flat.get(name) for name in names]

    def arrow_types(self) -> list[tuple[str, str]]:
        """Each column with its kind for Parquet: timestamp, bool, int, float or str."""
        types = []
        for name, node in self._leaves():
            kinds = node.kinds
            if node.declared == "timestamp":
                kind = "timestamp"
            elif not kinds:
                kind = node.declared if node.declared in ("bool", "int", "float") else "str"
            elif kinds <= {"int", "float"}:
                kind = "int" if kinds == {"int"} else "float"
            elif len(kinds) == 1 and kinds <= {"bool", "str"}:
                kind = next(iter(kinds))
            else:
                kind = "str"
            types.append((name, kind))
        return types


#: Object levels spread into dotted columns; an object deeper down is one cell of JSON text.
MAX_COLUMN_DEPTH = 32


def _observe(node: _Node, row: Mapping[str, Any], depth: int = 1) -> None:
    children = node.children
    for key, value in row.items():
        child = children.get(key)
        if child is None:
            child = children[key] = _Node()
        if type(value) is dict and depth < MAX_COLUMN_DEPTH:
            _observe(child, value, depth + 1)  # an object that never has a key stays a column: "{}"
        elif value is not None:
            child.kinds.add(_kind(value))


def _flatten(
    node: _Node, row: Mapping[str, Any], prefix: str, out: dict[str, Any], depth: int = 1
) -> None:
    children = node.children
    for key, value in row.items():
        child = children[key]
        if type(value) is dict and value and child.children and depth < MAX_COLUMN_DEPTH:
            _flatten(child, value, prefix + key + ".", out, depth + 1)
        else:
            out[prefix + key] = value


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


def _columns(source: Path, model: type) -> Columns:
    columns = Columns(model)
    for row in _rows(source):
        columns.observe(row)
    return columns


def write_csv(source: Path, target: Path, model: type) -> int:
    """Write the JSON Lines file ``source`` as CSV to ``target``; returns the number of rows."""
    columns = _columns(source, model)
    names = columns.names()
    count = 0
    with open(target, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(names)
        for row in _rows(source):
            writer.writerow([_text(cell) for cell in columns.cells(row, names)])
            count += 1
    return count


def write_parquet(source: Path, target: Path, model: type, *, rows_per_group: int) -> int:
    """Write the JSON Lines file ``source`` as Parquet to ``target``; returns the number of rows."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    columns = _columns(source, model)
    arrow = {
        "timestamp": pa.timestamp("us", tz="UTC"),
        "bool": pa.bool_(),
        "int": pa.int64(),
        "float": pa.float64(),
        "str": pa.string(),
    }
    types = columns.arrow_types()
    names = [name for name, _ in types]
    kinds = [kind for _, kind in types]
    schema = pa.schema([(name, arrow[kind]) for name, kind in types])

    def cell(kind: str, value: Any) -> Any:
        if value is None:
            return None
        if kind == "timestamp":
            return datetime.fromisoformat(value)
        if kind == "float":
            return float(value)
        if kind == "str":
            return _text(value)
        return value

    def flush(batch: list[list[Any]]) -> None:
        arrays = [
            pa.array([cell(kind, value) for value in values], type=arrow[kind])
            for kind, values in zip(kinds, batch, strict=True)
        ]
        writer.write_table(pa.Table.from_arrays(arrays, schema=schema))

    count = 0
    batch: list[list[Any]] = [[] for _ in kinds]
    with pq.ParquetWriter(target, schema) as writer:
        for row in _rows(source):
            for values, value in zip(batch, columns.cells(row, names), strict=True):
                values.append(value)
            count += 1
            if count % rows_per_group == 0:
                flush(batch)
                batch = [[] for _ in kinds]
        if batch[0] or count == 0:
            flush(batch)
    return count
