"""A nightly export for cron: the responses received since the last run, written to files.

Against the emulator (it prints its base URL and API key):

    refiner-async emulator --port 8080
    export REFINER_API_KEY=<the key it printed> REFINER_BASE_URL=http://127.0.0.1:8080/v1
    python examples/nightly_export.py --out-dir exports/

Against Refiner, leave REFINER_BASE_URL unset, and run it from cron:

    15 2 * * *  cd /srv/app && python examples/nightly_export.py --out-dir /data/refiner

Each run reads the responses received from where the last run stopped up to a minute ago (the
bookmark is kept in ``OUT_DIR/sync-state.json``) and writes one file per window,
``responses-START-END.jsonl``; a first run backfills the whole history, a week per file. It is
:func:`refiner_async.sync.sync_to_files`, the function behind ``refiner-async sync``: a file
appears only once complete, and a run stopped at any point is continued by the next one. Running
it again exports nothing twice but what the sync re-reads on purpose (the five minutes before the
bookmark, for late arrivals, and a response whose answers grew since): load the files in name
order, upserting on ``uuid``.

Exit status: 0 when done; 1 with a one-line message on stderr when the API, the key or the files
fail (the state still says where the next run continues); 2 for a bad option.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from refiner_async import RefinerClient, RefinerError
from refiner_async.sync import WindowWritten, sync_to_files


def report(done: WindowWritten) -> None:
    """One line per file written."""
    print(f"{done.path}: {done.items} responses")


async def export_new(out_dir: Path, state: Path, fmt: str) -> None:
    """Write the responses new since ``state`` into ``out_dir`` and move the bookmark."""
    # a bulk job: decode with the collector paused (see RefinerClient pause_gc)
    async with RefinerClient(pause_gc=True) as client:  # REFINER_API_KEY, REFINER_BASE_URL
        final, written = await sync_to_files(client, state, out_dir, format=fmt, on_window=report)
    if final.bookmark is None:  # a project without responses yet
        print("no responses yet")
    else:
        print(f"{len(written)} files written; bookmark {final.bookmark:%Y-%m-%dT%H:%M:%SZ}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out-dir", type=Path, required=True, help="where the files go")
    parser.add_argument(
        "--state", type=Path, help="the bookmark's file (default: OUT_DIR/sync-state.json)"
    )
    parser.add_argument("--format", choices=("jsonl", "csv", "parquet"), default="jsonl")
    args = parser.parse_args(argv)
    state = args.state or args.out_dir / "sync-state.json"
    try:
        args.out_dir.mkdir(parents=True, exist_ok=True)  # it holds the state (and its lock) too
        asyncio.run(export_new(args.out_dir, state, args.format))
    except (RefinerError, OSError) as error:
        print(f"nightly export failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
