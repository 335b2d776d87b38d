"""``refiner-async sync``: the responses new since the last run, one file per window."""

from __future__ import annotations

from pathlib import Path

import click

from .. import _validate
from .._client import RefinerClient
from .._export import FORMATS
from .._sync_files import WindowWritten, sync_to_files
from .._types import Include
from ..sync import DEFAULT_LOOKBACK, DEFAULT_MAX_WINDOW, DEFAULT_SETTLE, SyncState
from ._base import (
    BASE_URL,
    DEBUG,
    FORM,
    PAGE_LENGTH,
    SEGMENT,
    Failure,
    cli,
    filters_from_flags,
    run_command,
    say,
)

__all__ = ["sync_command"]


@cli.command(name="sync")
@click.argument("resource", type=click.Choice(["responses"]))
@click.option(
    "--state",
    "state_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="STATE.json",
    help="The sync's state; created by the first run, replaced atomically by each window.",
)
@click.option(
    "--out-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="One file per window: responses-START-END.FORMAT.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="jsonl",
    show_default=True,
    help="Format of each window's file.",
)
@click.option(
    "--lookback",
    type=click.FloatRange(min=0),
    default=DEFAULT_LOOKBACK,
    show_default=True,
    help="Seconds before the bookmark read again (late arrivals).",
)
@click.option(
    "--settle",
    type=click.FloatRange(min=0),
    default=DEFAULT_SETTLE,
    show_default=True,
    help="Seconds before now left for the next run.",
)
@click.option(
    "--max-window",
    type=click.FloatRange(min=1),
    default=DEFAULT_MAX_WINDOW,
    show_default=True,
    help="Seconds one window may cover past the bookmark.",
)
@click.option("--since", metavar="DATE", help="First run only: start here (default: the oldest).")
@click.option(
    "--include",
    type=click.Choice(_validate.INCLUDES),
    default="completed",
    show_default=True,
    help="Responses to include.",
)
@click.option("--form", **FORM)
@click.option("--segment", **SEGMENT)
@click.option("--page-length", **PAGE_LENGTH)
@click.option("--base-url", **BASE_URL)
@click.option("--api-key", envvar="REFINER_API_KEY", show_envvar=True, help="The project's key.")
@click.option("--debug", **DEBUG)
def sync_command(
    resource: str,
    state_path: Path,
    out_dir: Path,
    fmt: str,
    lookback: float,
    settle: float,
    max_window: float,
    since: str | None,
    include: Include,  # a click.Choice of these
    form: tuple[str, ...],
    segment: tuple[str, ...],
    page_length: int,
    base_url: str,
    api_key: str | None,
    debug: bool,
) -> None:
    """Sync RESOURCE incrementally into DIR: the responses new since the last run.

    Each run reads windows from the bookmark in STATE.json (less --lookback) to now less --settle
    and writes one file per window; the bookmark moves once a window's file is complete. Stopped,
    the next run continues the unfinished window. Files overlap by the lookback: upsert on uuid.
    """
    if not api_key:
        raise Failure("no API key: pass --api-key or set REFINER_API_KEY", 2)
    filters = filters_from_flags(resource, {"form": form, "segment": segment})

    def written(done: WindowWritten) -> None:
        w = done.window
        span = f"{w.start:%Y-%m-%d %H:%M:%S} to {w.end:%Y-%m-%d %H:%M:%S} UTC"
        say(f"{done.path}: {done.items:,} {resource} received {span}")

    async def run() -> SyncState:
        async with RefinerClient(api_key, base_url=base_url, pause_gc=True) as client:
            state, _ = await sync_to_files(
                client,
                state_path,
                out_dir,
                format=fmt,
                settle=settle,
                lookback=lookback,
                max_window=max_window,
                start=since,
                include=include,
                page_length=page_length,
                filters=filters,
                on_window=written,
            )
            return state

    hint = f"the next run of this command continues from {state_path}"
    state = run_command(
        run(),
        debug=debug,
        on_interrupt=lambda: f"interrupted: {hint}",
        resume_hint=lambda: f" ({hint})",
        base_url=base_url,
    )
    bookmark = "none yet" if state.bookmark is None else f"{state.bookmark:%Y-%m-%dT%H:%M:%SZ}"
    say(f"bookmark: {bookmark} (saved in {state_path})")
