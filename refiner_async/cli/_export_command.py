"""``refiner-async export``: one list to one file, checkpointed, resumable."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .. import _validate
from .._client import RefinerClient
from .._export import FORMATS, RESOURCES, ExportFiles, ExportSummary, export
from .._types import PaginationMode
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
from ._progress import progress_reporter

__all__ = ["export_command"]


def _format_of(out: Path, fmt: str | None) -> str:
    if fmt is not None:
        return fmt
    suffix = out.suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else "jsonl"


def _saved(files: ExportFiles, resource: str) -> str | None:
    """What an interrupted export left, and how to continue it (None: nothing was saved)."""
    checkpoint = files.load_checkpoint()
    if checkpoint is None:
        return None
    return (
        f"{checkpoint.items:,} {resource} saved in {files.partial}; "
        "run the same command with --resume to continue"
    )


def _read_key(path: Path) -> str:
    """The key in ``path`` (``-``: standard input), without surrounding whitespace."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise Failure(f"--api-key-file: cannot read {path}: {reason}", 2) from None
    key = text.strip()
    if not key:
        raise Failure(f"--api-key-file: {path} holds no key", 2)
    return key


@cli.command(name="export")
@click.argument("resource", type=click.Choice(list(RESOURCES)))
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The output; it appears only once the export is complete.",
)
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), help="Default: from FILE's suffix, else jsonl."
)
@click.option("--form", **FORM)
@click.option("--segment", **SEGMENT)
@click.option("--include", type=click.Choice(_validate.INCLUDES), help="Responses to include.")
@click.option("--since", "date_range_start", metavar="DATE", help="ISO-8601; inclusive.")
@click.option("--until", "date_range_end", metavar="DATE", help="ISO-8601; exclusive.")
@click.option(
    "--search", metavar="TEXT", help="Only items whose contact's email, id or name match."
)
@click.option("--with-attributes", is_flag=True, help="Responses: add every contact attribute.")
@click.option("--order-by", type=click.Choice(_validate.ORDER_BY), help="Contacts' order.")
@click.option("--state", type=click.Choice(_validate.FORM_STATES), help="Forms to list.")
@click.option("--include-info", is_flag=True, help="Forms: dates, counts, channels.")
@click.option("--include-config", is_flag=True, help="Forms: the survey configuration.")
@click.option("--page-length", **PAGE_LENGTH)
@click.option("--max-items", type=click.IntRange(min=1), help="Stop after this many items.")
@click.option(
    "--pagination",
    type=click.Choice(_validate.PAGINATION_MODES),
    default="auto",
    show_default=True,
    help="Responses: auto reads long lists in date windows at once, pages as they arrive; "
    "cursor keeps the server's order.",
)
@click.option("--base-url", **BASE_URL)
@click.option(
    "--api-key",
    envvar="REFINER_API_KEY",
    show_envvar=True,
    help="The project's key (visible in the process list: prefer the variable or a file).",
)
@click.option(
    "--api-key-file",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    metavar="PATH",
    help="Read the key from PATH ('-': standard input).",
)
@click.option("--resume", is_flag=True, help="Continue the interrupted export of FILE.")
@click.option("--overwrite", is_flag=True, help="Replace FILE (and any interrupted export).")
@click.option("--debug", **DEBUG)
def export_command(
    resource: str,
    out: Path,
    fmt: str | None,
    page_length: int,
    max_items: int | None,
    pagination: PaginationMode,
    base_url: str,
    api_key: str | None,
    api_key_file: Path | None,
    resume: bool,
    overwrite: bool,
    debug: bool,
    **given: Any,
) -> None:
    """Export RESOURCE (responses, contacts, forms or segments) to FILE.

    Pages are written as they arrive and checkpointed beside FILE every second; FILE appears only
    when the export is complete. After an interruption, run the same command with --resume.
    """
    filters = filters_from_flags(resource, given)
    if api_key_file is not None:
        source = click.get_current_context().get_parameter_source("api_key")
        if source is click.core.ParameterSource.COMMANDLINE:
            raise click.UsageError("--api-key and --api-key-file: give one of them")
        api_key = _read_key(api_key_file)
    if not api_key:
        raise Failure("no API key: set REFINER_API_KEY or pass --api-key-file PATH ('-': stdin)", 2)
    files = ExportFiles.beside(out)

    async def run() -> ExportSummary:
        async with RefinerClient(api_key, base_url=base_url) as client:
            with progress_reporter() as progress:
                return await export(
                    client,
                    resource,
                    out,
                    format=_format_of(out, fmt),
                    page_length=page_length,
                    max_items=max_items,
                    pagination=pagination,
                    resume=resume,
                    overwrite=overwrite,
                    progress=progress,
                    **filters,
                )

    summary = run_command(
        run(),
        debug=debug,
        on_interrupt=lambda: f"interrupted: {_saved(files, resource) or 'nothing was saved'}",
        resume_hint=lambda: f" ({saved})" if (saved := _saved(files, resource)) else "",
        base_url=base_url,
    )
    say(str(summary))
