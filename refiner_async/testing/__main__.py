"""``python -m refiner_async.testing``: serve a FakeRefiner until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence

from ._server import FakeRefiner, serve

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m refiner_async.testing",
        description="Serve the Refiner API emulator (FakeRefiner) until interrupted.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--responses", type=int, default=50000)
    parser.add_argument("--contacts", type=int, default=None)
    parser.add_argument("--forms", type=int, default=8)
    parser.add_argument("--segments", type=int, default=6)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--page-length-default", type=int, default=50)
    parser.add_argument("--strict-page-length", action="store_true")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--jitter", type=float, default=0.0, help="+/- seconds around --latency")
    parser.add_argument("--rate-limit", type=float, default=None, help="requests per second")
    parser.add_argument("--rate-burst", type=float, default=None)
    parser.add_argument(
        "--per-user-limit", type=int, default=0, help="requests per minute per user (0: off)"
    )
    return parser


def _announce(fake: FakeRefiner) -> None:
    sys.stdout.write(
        f"FakeRefiner serving {fake.base_url}\n"
        f"api_key {fake.api_key}\n"
        f"stats {fake.url}/__admin/stats\n"
        f"built {len(fake.store.responses)} responses in {fake.build_seconds:.2f} s\n"
    )
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve(
                host=args.host,
                port=args.port,
                seed=args.seed,
                responses=args.responses,
                ready=_announce,
                contacts=args.contacts,
                forms=args.forms,
                segments=args.segments,
                api_key=args.api_key,
                page_length_default=args.page_length_default,
                strict_page_length=args.strict_page_length,
                latency=args.latency,
                jitter=args.jitter,
                rate_limit=args.rate_limit,
                rate_burst=args.rate_burst,
                per_user_limit=args.per_user_limit,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
