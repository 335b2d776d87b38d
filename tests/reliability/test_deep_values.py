"""Response values nested past orjson's 254-level encoding limit (T28): exported exactly, every format.

A proxy on 127.0.0.1 passes the emulator's pages through and adds, to a few items, a list nested
300 or 1000 levels deep and an object nested 600 levels deep (orjson decodes up to 1024 levels, so
the client accepts them; it encodes only 254).
"""

from __future__ import annotations

import csv
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pyarrow.parquet as pq
import pytest
from aiohttp import web

from refiner_async import RefinerClient, export
from refiner_async._export._json import dumps
from refiner_async.testing import FakeRefiner

pytestmark = [
    pytest.mark.usefixtures("instant"),
    pytest.mark.fake_refiner(seed=3, responses=240),
]

LIST_DEPTHS = {0: 300, 1: 1000}  # the n-th item given a deep list, by its position in the export
TREE_DEPTH = 600


def deep_list(depth: int) -> bytes:
    return b"[" * depth + b"7" + b"]" * depth


def deep_tree(depth: int) -> bytes:
    return b'{"a":' * depth + b'"leaf"' + b"}" * depth


def depth_of(value: object) -> int:
    """Levels of containers in ``value`` (walked without recursion)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth + 1)
            stack += [(v, depth + 1) for v in (item.values() if isinstance(item, dict) else item)]
    return deepest


@pytest.fixture
async def proxied(
    raw_server: Callable[..., Awaitable[str]], fake_refiner: FakeRefiner
) -> tuple[str, list[str]]:
    """A base URL serving the emulator's pages with deep values added; the uuids given them."""
    marked: list[str] = []

    async def proxy(request: web.Request) -> web.Response:
        url = fake_refiner.base_url + request.path.removeprefix("/v1")
        headers = {"Authorization": request.headers["Authorization"]}
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, params=request.query, headers=headers) as answer,
        ):
            page = orjson.loads(await answer.read())
            status = answer.status
        if status != 200 or request.path != "/v1/responses":
            return web.json_response(page, status=status)
        deep: dict[bytes, bytes] = {}
        for item in page["items"]:
            if len(marked) < len(LIST_DEPTHS) and item["uuid"] not in marked:
                marked.append(item["uuid"])
                n = len(marked) - 1
                item["data"] = {**(item.get("data") or {}), "deep": f"@L{n}@", "tree": f"@T{n}@"}
                deep[f'"@L{n}@"'.encode()] = deep_list(LIST_DEPTHS[n])
                deep[f'"@T{n}@"'.encode()] = deep_tree(TREE_DEPTH)
        body = orjson.dumps(page)
        for placeholder, value in deep.items():
            body = body.replace(placeholder, value)
        return web.Response(body=body, content_type="application/json")

    return await raw_server(proxy), marked


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
async def test_t28_values_nested_past_orjsons_limit_are_exported(
    proxied: tuple[str, list[str]], fake_refiner: FakeRefiner, tmp_path: Path, fmt: str
) -> None:
    """A 300- and a 1000-deep list and a 600-deep object: the export completes and holds them exactly."""
    base, marked = proxied
    out = tmp_path / f"r.{fmt}"
    async with RefinerClient(fake_refiner.api_key, base_url=base, rate_limit=None) as client:
        summary = await export(client, "responses", out, format=fmt, include="all", page_length=40)
    assert summary.items == 240
    assert len(marked) == 2
    rows = read(out, fmt)
    assert len({row["uuid"] for row in rows}) == 240
    by_uuid = {row["uuid"]: row for row in rows}
    for position, uuid in enumerate(marked):
        row = by_uuid[uuid]
        # (compared as text: == on a 1000-deep list would itself exhaust Python's stack)
        deep = row["data"]["deep"] if fmt == "jsonl" else orjson.loads(row["data.deep"])
        assert dumps(deep) == deep_list(LIST_DEPTHS[position])
        if fmt == "jsonl":
            tree = row["data"]["tree"]
        else:  # 32 levels of columns (data, tree, then 30 a's), the rest one cell of JSON
            tree = orjson.loads(row["data.tree" + ".a" * 30])
            assert depth_of(tree) == TREE_DEPTH - 30
            tree = {"a": tree}
            for _ in range(29):
                tree = {"a": tree}
        assert dumps(tree) == deep_tree(TREE_DEPTH)


def read(path: Path, fmt: str) -> list[dict[str, Any]]:
    if fmt == "jsonl":
        return [orjson.loads(line) for line in path.read_bytes().splitlines()]
    if fmt == "csv":
        csv.field_size_limit(10_000_000)
        with open(path, newline="", encoding="utf-8") as file:
            return list(csv.DictReader(file))
    rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    return rows


def test_the_deep_writer_matches_orjson_byte_for_byte() -> None:
    """Below orjson's limit, the level-by-level writer gives orjson's own text; above it, text orjson reads back."""
    from refiner_async._export._json import _dumps_deep

    sample = {
        "s": 'quote " slash \\ tab \t é 😀',
        "n": [1, -2.5, 1e300, 0, None, True, False],
        "o": {"": {}, "l": [], "nested": [[{"x": [1, {"y": "z"}]}]]},
    }
    assert _dumps_deep(sample) == orjson.dumps(sample)
    deep = orjson.loads(deep_list(1000))
    assert dumps(deep) == deep_list(1000)
    assert depth_of(orjson.loads(dumps(deep))) == 1000
    with pytest.raises(TypeError):
        dumps({"deep": deep, 1: "a key JSON cannot hold"})
