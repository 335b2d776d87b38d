"""What structuring a 1000-item page costs next to decoding it: orjson vs the SDK vs stock cattrs.

Two pages of 1000 responses (about 1 KB each): one built here, shaped like the API's examples with
contact attributes and distinct timestamps per response; and page 1 of the emulator's data set (the
pages the export benchmarks read). For each, microseconds per item (best of ``--repeat``, every run
with the converter's caches cleared, so that no survey or account is remembered from an earlier
run; rounds interleave the steps) of the steps below. A step reading dicts reads a payload ``orjson.loads`` has just built (untimed), as in
the client: a new page's strings have no hash computed yet, and reading the same payload over and
over would leave the hashing out (about 0.3 µs per response).

- ``orjson.loads`` of the raw page bytes (dicts), and ``json.loads`` for reference;
- the SDK's converter (``structure_page`` on the decoded payload): the step on top of orjson;
- a stock ``cattrs.Converter`` with only a ``datetime.fromisoformat`` hook added (same input);
- a hand-written reader calling each model's ``__init__`` (what careful code without cattrs costs);
- msgspec decoding the bytes straight into typed structs, and straight into the SDK's own attrs
  models (the whole job, bytes to objects; msgspec leaves zone-less timestamps naive and drops
  unknown keys, so neither is a drop-in replacement).

The main columns time each step with the cyclic garbage collector off (as timeit does); the ``GC
on`` columns time the same steps with it on, as an application runs them. Targets: the SDK's
structure step no more than 1x ``orjson.loads`` (GC off, the built page); and a typed page's whole
life, decoding, structuring and freeing the models with the collector on, no more than 2.5x that of
a page of dicts (``orjson.loads`` and freeing them), on both pages.

Run: ``python benchmarks/decode_cost.py [--quick]``.
"""

from __future__ import annotations

import gc
import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import cattrs
import msgspec
import orjson
from _clients import msgspec_decoder
from _common import common_arguments, emulator, publish, table, verdict

from refiner_async import _converters
from refiner_async._converters import structure_page
from refiner_async.models import ContactAccount, ContactRef, FormRef, Response

NAME = "decode_cost"
TARGET = 1.0  # SDK structure step / orjson.loads
OPEN_FREE_TARGET = 2.5  # (loads + structure + free the models) / (loads + free the dicts), GC on


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


def _utc(text: str | None) -> datetime | None:
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def handwritten(payload: dict[str, Any]) -> list[Response]:
    """What a careful hand-written reader does: each model's ``__init__``, fields read by name."""
    out = []
    for o in payload["items"]:
        form = o.get("form")
        contact = o.get("contact")
        if contact is not None:
            account = contact.get("account")
            contact = ContactRef(
                uuid=contact["uuid"],
                remote_id=contact.get("remote_id"),
                email=contact.get("email"),
                display_name=contact.get("display_name"),
                account=None
                if account is None
                else ContactAccount(
                    uuid=account["uuid"],
                    remote_id=account.get("remote_id"),
                    domain=account.get("domain"),
                    display_name=account.get("display_name"),
                ),
                attributes=contact.get("attributes"),
            )
        out.append(
            Response(
                uuid=o["uuid"],
                form=None if form is None else FormRef(uuid=form["uuid"], name=form.get("name")),
                contact=contact,
                data=o.get("data") or {},
                first_shown_at=_utc(o.get("first_shown_at")),
                last_shown_at=_utc(o.get("last_shown_at")),
                show_counter=o.get("show_counter"),
                first_data_reception_at=_utc(o.get("first_data_reception_at")),
                last_data_reception_at=_utc(o.get("last_data_reception_at")),
                completed_at=_utc(o.get("completed_at")),
                received_at=_utc(o.get("received_at")),
                dismissed_at=_utc(o.get("dismissed_at")),
            )
        )
    return out


class _AttrsPage(msgspec.Struct):
    items: list[Response]


def emulator_page() -> bytes:
    """Page 1 (1000 responses, every kind) of the emulator's data set, as served."""
    with emulator(responses=1000) as server:
        request = urllib.request.Request(
            f"{server.base_url}/responses?include=all&page_length=1000&page=1",
            headers={"Authorization": f"Bearer {server.api_key}"},
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            body: bytes = answer.read()
    return body


def once(step: Any, *, collect: bool) -> float:
    """Seconds for one call of ``step`` with the converter's caches cleared, the cyclic GC on or off.

    A step that reads dicts (a tuple ``(fn, raw)``) is given a payload decoded from ``raw`` just
    before it, untimed: the structure step reads what ``orjson.loads`` has just built, as the client
    runs it, not a payload left over from an earlier round.
    """
    _converters.clear_caches()
    gc.collect()
    fn, args = (step[0], (orjson.loads(step[1]),)) if isinstance(step, tuple) else (step, ())
    if not collect:
        gc.disable()
    try:
        started = time.perf_counter()
        fn(*args)
        return time.perf_counter() - started
    finally:
        gc.enable()


def measure_page(raw: bytes, repeat: int) -> dict[str, Any]:
    """Microseconds per item of each step on one page, GC off and on."""
    payload = orjson.loads(raw)
    n = len(payload["items"])
    stock = stock_converter()
    items_type = list[Response]
    decode_structs = msgspec_decoder()
    decode_into_models = msgspec.json.Decoder(_AttrsPage).decode

    def sdk(payload: Any) -> Any:
        return structure_page(payload, Response, method="GET", path="/responses")

    def orjson_open_free() -> None:
        payload = orjson.loads(raw)
        del payload  # freeing the dicts is part of handling a page

    def sdk_open_free() -> None:  # as the client opens a page: its items taken as they are read
        page = structure_page(
            orjson.loads(raw),
            Response,
            method="GET",
            path="/responses",
            reread=lambda: orjson.loads(raw),
        )
        del page  # and so is freeing the models once the consumer is done with them

    steps: dict[str, Any] = {  # bytes -> objects, or (dicts -> objects, the bytes to decode first)
        "orjson_loads": lambda: orjson.loads(raw),
        "orjson_open_free": orjson_open_free,
        "sdk_open_free": sdk_open_free,
        "json_loads": lambda: json.loads(raw),
        "sdk_converter": (sdk, raw),
        "stock_cattrs": (lambda payload: stock.structure(payload["items"], items_type), raw),
        "handwritten": (handwritten, raw),
        "msgspec_structs": lambda: decode_structs(raw),
        "msgspec_models": lambda: decode_into_models(raw),
    }
    for step in steps.values():  # warm the hook caches once, as a client does on its first page
        step[0](payload) if isinstance(step, tuple) else step()
    # Rounds interleave the steps (GC off and on), so that bursts of load from other processes
    # spread over all of them; the best round stands for each step.
    runs: dict[tuple[str, bool], list[float]] = {(k, c): [] for k in steps for c in (False, True)}
    for _ in range(repeat):
        for (name, collect), times in runs.items():
            times.append(once(steps[name], collect=collect))
    gc_off = {k: min(runs[k, False]) / n * 1e6 for k in steps}
    gc_on = {k: min(runs[k, True]) / n * 1e6 for k in steps}
    return {
        "items": n,
        "bytes_per_item": round(len(raw) / n),
        "us_per_item": {k: round(v, 3) for k, v in gc_off.items()},
        "us_per_item_gc_on": {k: round(v, 3) for k, v in gc_on.items()},
        "sdk_over_orjson": round(gc_off["sdk_converter"] / gc_off["orjson_loads"], 3),
        "sdk_over_orjson_gc_on": round(gc_on["sdk_converter"] / gc_on["orjson_loads"], 3),
        # the whole of a typed page's life against a page of dicts, with the collector on
        "open_free_over_orjson": round(gc_on["sdk_open_free"] / gc_on["orjson_open_free"], 3),
        "stock_over_orjson": round(gc_off["stock_cattrs"] / gc_off["orjson_loads"], 3),
        "msgspec_over_orjson": round(gc_off["msgspec_structs"] / gc_off["orjson_loads"], 3),
        "sdk_total_over_msgspec": round(
            (gc_off["orjson_loads"] + gc_off["sdk_converter"]) / gc_off["msgspec_structs"], 3
        ),
    }


LABELS = {
    "orjson_loads": "orjson.loads: bytes to dicts",
    "orjson_open_free": "orjson.loads, then the dicts freed",
    "sdk_open_free": "SDK open (loads + structure), then the models freed",
    "json_loads": "json.loads (stdlib): bytes to dicts",
    "sdk_converter": "SDK converter: dicts to attrs models",
    "stock_cattrs": "stock cattrs: dicts to attrs models",
    "handwritten": "hand-written: each model's __init__, fromisoformat",
    "msgspec_structs": "msgspec: bytes straight to typed structs",
    "msgspec_models": "msgspec: bytes straight to the SDK's attrs models",
}


def render(result: dict[str, Any]) -> str:
    built, served = result["pages"]["built"], result["pages"]["emulator"]
    rows = []
    for key, label in LABELS.items():
        rows.append(
            [
                label,
                f"{built['us_per_item'][key]:.2f}",
                f"{built['us_per_item'][key] / built['us_per_item']['orjson_loads']:.2f}x",
                f"{built['us_per_item_gc_on'][key]:.2f}",
                f"{served['us_per_item'][key]:.2f}",
                f"{served['us_per_item'][key] / served['us_per_item']['orjson_loads']:.2f}x",
                f"{served['us_per_item_gc_on'][key]:.2f}",
            ]
        )
    head = (
        f"Microseconds per response, best of {result['repeat']} (each with the converter's caches cleared). "
        f"Built page: {built['items']} responses, {built['bytes_per_item']} bytes each, with "
        f"contact attributes; emulator page: {served['items']} responses, "
        f"{served['bytes_per_item']} bytes each.\n\n"
    )
    cols = [
        "step",
        "built µs",
        "x orjson",
        "built, GC on",
        "emulator µs",
        "x orjson",
        "emulator, GC on",
    ]
    tail = (
        f"\n\nTarget: the SDK's structure step at most {TARGET:g}x orjson.loads: "
        f"{result['sdk_over_orjson']:.2f}x on the built page "
        f"({served['sdk_over_orjson']:.2f}x on the emulator's), {verdict(result['target']['met'])}. "
        f"orjson + the SDK take {built['sdk_total_over_msgspec']:.1f}x as long as msgspec "
        f"decoding straight into structs ({served['sdk_total_over_msgspec']:.1f}x on the "
        f"emulator's page). A typed page's whole life (loads + structure + freeing the models, "
        f"GC on) against a page of dicts (loads + freeing them): "
        f"{built['open_free_over_orjson']:.2f}x on the built page, "
        f"{served['open_free_over_orjson']:.2f}x on the emulator's (target at most "
        f"{OPEN_FREE_TARGET:g}x: {verdict(result['target']['open_free_met'])})."
    )
    return head + table(cols, rows) + tail


def main() -> None:
    parser = common_arguments(__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args()
    repeat = args.repeat or (10 if args.quick else 50)
    built = measure_page(make_page(args.items), repeat)
    served = measure_page(emulator_page(), repeat)
    result = {
        "repeat": repeat,
        # the built page's figures at the top level, as earlier versions of this file wrote them
        "items_per_page": built["items"],
        "bytes_per_item": built["bytes_per_item"],
        "us_per_item": built["us_per_item"],
        "sdk_over_orjson": built["sdk_over_orjson"],
        "stock_over_orjson": built["stock_over_orjson"],
        "pages": {"built": built, "emulator": served},
        "target": {
            "sdk_over_orjson_max": TARGET,
            "met": built["sdk_over_orjson"] <= TARGET,
            "open_free_over_orjson_max": OPEN_FREE_TARGET,
            "open_free_met": max(built["open_free_over_orjson"], served["open_free_over_orjson"])
            <= OPEN_FREE_TARGET,
        },
    }
    publish(NAME, result, render(result), quick=args.quick)


if __name__ == "__main__":
    main()
