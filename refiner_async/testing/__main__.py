"""``python -m refiner_async.testing`` (and ``refiner-async emulator``): serve a FakeRefiner until
interrupted.

:data:`OPTIONS` is the one list of the server's options; argparse reads it here, and click reads it
for ``refiner-async emulator``, so both commands take the same options with the same help.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from ._server import FakeRefiner, serve

__all__ = ["OPTIONS", "Option", "main", "run"]


class Option(NamedTuple):
    """One command-line option: its flag, value type (``bool``: a switch), default and help."""

    flag: str
    type: type
    default: Any
    help: str

    @property
    def name(self) -> str:
        """The keyword argument of :func:`serve` it sets."""
        return self.flag.removeprefix("--").replace("-", "_")


OPTIONS = (
    Option("--host", str, "127.0.0.1", "Address to listen on."),
    Option("--port", int, 8080, "Port to listen on (0 picks a free one)."),
    Option("--seed", int, 1, "Seed of the data set: the same seed gives the same data."),
    Option("--responses", int, 50000, "Survey responses in the data set."),
    Option("--contacts", int, None, "Contacts in the data set (default: a tenth of --responses)."),
    Option("--forms", int, 8, "Surveys in the data set."),
    Option("--segments", int, 6, "Segments in the data set."),
    Option("--api-key", str, None, "The key to accept (default: a new one, printed at start)."),
    Option("--page-length-default", int, 50, "Items per page when a request names none."),
    Option("--strict-page-length", bool, False, "Answer 400 above 1000 items per page (no clamp)."),
    Option("--latency", float, 0.0, "Seconds added to every request."),
    Option("--jitter", float, 0.0, "Up to this many seconds more or less than --latency."),
    Option("--rate-limit", float, None, "Requests per second before 429s (default: no limit)."),
    Option("--rate-burst", float, None, "Burst of the --rate-limit token bucket."),
    Option("--rate-window", float, None, "Count --rate-limit in fixed windows of these seconds."),
    Option("--per-user-limit", int, 0, "Requests per minute per contact id/email/uuid (0: off)."),
)

PROG = "python -m refiner_async.testing"
DESCRIPTION = "Serve the Refiner API emulator (FakeRefiner) on HTTP until interrupted."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION)
    for option in OPTIONS:
        if option.type is bool:
            parser.add_argument(option.flag, action="store_true", help=option.help)
        else:
            parser.add_argument(
                option.flag, type=option.type, default=option.default, help=option.help
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


def run(options: Mapping[str, Any], prog: str = PROG) -> int:
    """Serve with ``options`` (keyword arguments of :func:`serve`) until interrupted; returns the
    exit code. An address that cannot be listened on is one line on stderr and exit code 1."""
    options = {**{option.name: option.default for option in OPTIONS}, **options}
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(ready=_announce, **options))
    except OSError as exc:
        where = f"{options['host']}:{options['port']}"
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        sys.stderr.write(
            f"{prog}: error: cannot listen on {where}: {reason} (--port 0 picks a free port)\n"
        )
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(vars(_parser().parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
