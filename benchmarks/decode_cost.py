"""What structuring a 1000-item page costs next to decoding it: orjson vs the SDK vs stock cattrs.

Builds a realistic ``GET /responses`` page (1000 responses of about 1 KB each, shaped like the API's
examples, with contact attributes and distinct timestamps per response), then reports microseconds
per item for:

- ``orjson.loads`` of the raw page bytes,
- the SDK's converter (``structure_page`` on the decoded payload),
- a stock ``cattrs.Converter`` with only a ``datetime.fromisoformat`` hook added.

Prints a table and writes ``benchmarks/results/decode_cost.json``. Run: ``python benchmarks/decode_cost.py``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import platform
import timeit
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cattrs
import orjson

from refiner_async import _converters
from refiner_async._converters import structure_page
from refiner_async.models import Response

RESULTS = Path(__file__).parent / "results" / "decode_cost.json"


def make_page(n: int = 1000) -> bytes:
    """The raw bytes of one ``/responses`` page with ``n`` items."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    items = []
    for i in range(n):
        shown = start + timedelta(seconds=37 * i)
        done = shown + timedelta(seconds=45)
        fmt = "%Y-%m-%d %H:%M:%S"
        items.append(
            {
                "uuid": f"cb47c260-ed64-11ea-8187-{i:012x}",
                "first_shown_at": shown.strftime(fmt),
                "last_shown_at": shown.strftime(fmt),
                "show_counter": 1 + i % 3,
                "first_data_reception_at": done.strftime(fmt),
                "last_data_reception_at": done.strftime(fmt),
                "completed_at": done.strftime(fmt),
                "received_at": done.strftime(fmt),
                "dismissed_at": None,
                "form": {"uuid": "3894dc20-8fe9-11ea-892e-d13af52e06ae", "name": "NPS survey"},
                "data": {
                    "nps": str(i % 11),
                    "what_do_you_value_most": "The dashboards and the exports, mostly.",
                    "features_used": ["reports", "exports"],
                },
                "contact": {
                    "uuid": f"e5365340-ed47-11ea-9a73-{i:012x}",
                    "remote_id": f"user-{i}",
                    "email": f"user{i}@example.com",
                    "display_name": f"User Number {i}",
                    "account": {
                        "uuid": f"5ab55ab0-ebf3-11ea-a442-{i % 50:012x}",
                        "remote_id": f"account-{i % 50}",
                        "display_name": f"Account {i % 50} Inc.",
                        "domain": None,
                    },
                    "attributes": {
                        "plan": "growth",
                        "role": "Manager",
                        "signed_up_at": "2025-03-04T05:06:07.000000Z",
                        "seats": 12,
                        "is_admin": i % 2 == 0,
                    },
                },
            }
        )
    pagination = {
        "items_count": 25_000,
        "current_page": 1,
        "last_page": 25,
        "page_length": n,
        "next_page_cursor": "eyJwYWdlIjoyfQ",
    }
    return orjson.dumps({"items": items, "pagination": pagination})


def stock_converter() -> cattrs.Converter:
    """cattrs as it comes, plus the one hook it needs for timestamps."""
    conv = cattrs.Converter()
    conv.register_structure_hook(datetime, lambda v, _: datetime.fromisoformat(v))
    return conv


def best_us_per_item(fn: Any, n_items: int, repeat: int) -> float:
    """The fastest of ``repeat`` runs, each on a fresh timestamp cache (a new page brings new times)."""
    times = timeit.Timer(fn, setup=_converters.clear_timestamp_cache).repeat(
        repeat=repeat, number=1
    )
    return min(times) / n_items * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    raw = make_page(args.items)
    payload = orjson.loads(raw)
    stock = stock_converter()
    items_type = list[Response]

    def sdk() -> object:
        return structure_page(payload, Response, method="GET", path="/responses")

    def cattrs_stock() -> object:
        return stock.structure(payload["items"], items_type)

    sdk()  # warm the hook caches once, as a client does on its first page
    cattrs_stock()
    figures = {
        "orjson_loads": best_us_per_item(lambda: orjson.loads(raw), args.items, args.repeat),
        "sdk_converter": best_us_per_item(sdk, args.items, args.repeat),
        "stock_cattrs": best_us_per_item(cattrs_stock, args.items, args.repeat),
    }
    result = {
        "benchmark": "decode_cost",
        "items_per_page": args.items,
        "bytes_per_item": round(len(raw) / args.items),
        "us_per_item": {k: round(v, 3) for k, v in figures.items()},
        "sdk_over_orjson": round(figures["sdk_converter"] / figures["orjson_loads"], 3),
        "stock_over_orjson": round(figures["stock_cattrs"] / figures["orjson_loads"], 3),
        "python": platform.python_version(),
        "cattrs": importlib.metadata.version("cattrs"),
        "orjson": orjson.__version__,
    }
    print(f"page: {args.items} items, {result['bytes_per_item']} bytes per item")
    print(f"{'step':<16} {'us/item':>9}  {'x orjson':>8}")
    for name, value in figures.items():
        print(f"{name:<16} {value:9.3f}  {value / figures['orjson_loads']:8.2f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
