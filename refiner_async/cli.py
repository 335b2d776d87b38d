"""The ``refiner-async`` command: ``export``, ``sync``, ``demo`` and ``emulator`` (needs the ``cli`` extra).

Errors a person can act on (no API key, a bad flag, an output that exists, a refused key, a file
that cannot be written) print one line and exit non-zero: 2 for usage, 1 for the rest, 130 when
interrupted. ``--debug`` shows the SDK's log and the full traceback instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import click
import orjson

from . import _validate
from ._client import DEFAULT_BASE_URL, RefinerClient
from ._export import (
    FORMATS,
    RESOURCES,
    ExportError,
    ExportFiles,
    ExportProgress,
    ExportSummary,
    PlainProgress,
    export,
    filters_of,
)
from ._export._progress import format_seconds, note
from ._sync_files import WindowWritten, sync_to_files
from ._types import Include, PaginationMode
from ._version import __version__
from .errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidParameterError,
    NotFoundError,
    RefinerError,
    ResponseDecodeError,
)
from .sync import DEFAULT_LOOKBACK, DEFAULT_MAX_WINDOW, DEFAULT_SETTLE, SyncState

__all__ = ["cli", "main"]

T = TypeVar("T")

INTERRUPTED = 130  # the shell's code for a process stopped by SIGINT

#: The flag behind each filter of the list calls, for messages.
FLAGS = {
    "form_uuid": "--form",
    "form_uuids": "--form",
    "segment_uuid": "--segment",
    "segment_uuids": "--segment",
    "include": "--include",
    "date_range_start": "--since",
    "date_range_end": "--until",
    "search": "--search",
    "with_attributes": "--with-attributes",
    "order_by": "--order-by",
    "state": "--state",
    "include_info": "--include-info",
    "include_config": "--include-config",
    "page_length": "--page-length",
    "max_items": "--max-items",
    "pagination": "--pagination",
    "api_key": "--api-key",
    "base_url": "--base-url",
    "start": "--since",
}


class Failure(click.ClickException):
    """An error reported as one line, with its exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code  # the process's exit code


class OneLineGroup(click.Group):
    """A group whose errors (usage mistakes included) are one line on stderr, never a traceback."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except Failure as exc:
            _fail_line(exc.format_message(), exc.code)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            _fail_line(f"{exc.format_message()}{hint}", exc.exit_code)
        except click.ClickException as exc:
            _fail_line(exc.format_message(), exc.exit_code)
        except click.Abort:
            _fail_line("interrupted", INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)


def _fail_line(message: str, code: int) -> NoReturn:
    click.echo(f"refiner-async: error: {message}", err=True)
    sys.exit(code)


def _say(text: str) -> None:
    """Print a line of the command's report on stdout. When its reader has gone (a closed pipe),
    say so once on stderr and carry on: the work matters more than its report."""
    try:
        click.echo(text)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # later lines, and the flush at exit, go nowhere
        os.close(devnull)
        click.echo("refiner-async: standard output is closed; the report is not shown", err=True)


@click.group(
    name="refiner-async", cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, "--version", prog_name="refiner-async")
def cli() -> None:
    """Bulk export and incremental sync from the Refiner survey API, a one-command demo, and the API
    emulator."""


# --- running a coroutine with readable errors ---------------------------------------------------


def _run(
    coro: Coroutine[Any, Any, T],
    *,
    debug: bool,
    on_interrupt: Callable[[], str],
    resume_hint: Callable[[], str] = str,
    base_url: str | None = None,
) -> T:
    """Run ``coro``, turning the errors a person can act on into one line (a :class:`Failure`).

    With ``debug`` they propagate as tracebacks instead (an interruption is always one line).
    ``resume_hint()`` is added to errors that ended a run part-way; an answer that a wrong
    ``base_url`` explains says so.
    """
    if debug:
        logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s")
        logging.getLogger("refiner_async").setLevel(logging.DEBUG)
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        raise Failure(on_interrupt(), INTERRUPTED) from None
    except (RefinerError, OSError) as exc:
        if debug:
            raise
        raise _failure(exc, resume_hint, base_url) from None


def _failure(
    exc: RefinerError | OSError, resume_hint: Callable[[], str], base_url: str | None = None
) -> Failure:
    """The one line (and exit code) for an error a person can act on."""
    if base_url is not None and isinstance(exc, NotFoundError | ResponseDecodeError):
        return Failure(f"{exc}; {base_url_hint(base_url)}")
    if isinstance(exc, InvalidParameterError | ConfigurationError):
        return Failure(_with_flag(exc), 2)
    if isinstance(exc, AuthenticationError):
        return Failure(
            f"the API refused the key ({exc}); check REFINER_API_KEY, --api-key-file or --api-key"
        )
    if isinstance(exc, ExportError):
        return Failure(str(exc))
    if isinstance(exc, RefinerError):
        return Failure(f"{exc}{resume_hint()}")
    target = f" {exc.filename}" if exc.filename else ""
    return Failure(f"cannot write{target}: {exc.strerror or exc}")


def base_url_hint(base_url: str) -> str:
    """What to check when a list the API always has was not found, or answered with something
    other than the API's JSON: the base URL (the commands only list collections)."""
    if not re.search(r"/v\d+$", urlsplit(base_url).path.rstrip("/")):
        return f"--base-url {base_url} lacks the API version: try {base_url.rstrip('/')}/v1"
    return f"is --base-url {base_url} the Refiner API? (it is {DEFAULT_BASE_URL})"


def _with_flag(exc: RefinerError) -> str:
    """``date_range_start: not ISO-8601`` as ``--since: not ISO-8601``."""
    text = str(exc)
    param, sep, rest = text.partition(": ")
    flag = FLAGS.get(param)
    return f"{flag}: {rest}" if sep and flag else text


# --- progress -----------------------------------------------------------------------------------


@contextlib.contextmanager
def progress_reporter(
    *, terminal: bool | None = None
) -> Iterator[Callable[[ExportProgress], None]]:
    """A progress callback: a rich bar on a terminal, plain periodic lines otherwise (on stderr)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True, force_terminal=terminal)
    if not console.is_terminal:
        yield PlainProgress(sys.stderr)
        return
    columns = (
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} items/s"),
        TextColumn("ETA {task.fields[eta]}"),
    )
    with Progress(*columns, console=console) as bar:
        task: list[Any] = []  # the bar's task, added with the first page (when the total is known)

        def report(progress: ExportProgress) -> None:
            eta = progress.eta_seconds
            state = note(progress)
            label = progress.resource if state is None else f"{progress.resource}: {state}"
            rate = f"{progress.items_per_second:,.0f}"
            left = "-" if eta is None else format_seconds(eta)
            if not task:
                task.append(bar.add_task(label, total=progress.total, rate=rate, eta=left))
            bar.update(
                task[0],
                description=label,
                completed=progress.items,
                total=progress.total,
                rate=rate,
                eta=left,
            )

        yield report


# --- export -------------------------------------------------------------------------------------

#: Options that export and sync share.
PAGE_LENGTH: dict[str, Any] = {
    "type": click.IntRange(1, 1000),
    "default": 1000,
    "show_default": True,
    "help": "Items per request (the API's most).",
}
BASE_URL: dict[str, Any] = {
    "default": DEFAULT_BASE_URL,
    "show_default": True,
    "envvar": "REFINER_BASE_URL",
    "show_envvar": True,
    "help": "The API's address, /v1 included.",
}


def _format_of(out: Path, fmt: str | None) -> str:
    if fmt is not None:
        return fmt
    suffix = out.suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else "jsonl"


def _filters(resource: str, given: dict[str, Any]) -> dict[str, Any]:
    """The export's filters from the flags given, refusing flags that do not apply."""
    accepted = filters_of(resource)
    filters: dict[str, Any] = {}
    for name in ("form", "segment"):
        values = given.pop(name)
        if not values:
            continue
        one, many = f"{name}_uuid", f"{name}_uuids"
        if len(values) > 1 and many in accepted:
            filters[many] = list(values)
        elif len(values) == 1 and one in accepted:
            filters[one] = values[0]
        elif one in accepted:
            raise click.UsageError(f"--{name} may be given once for {resource}")
        else:
            raise click.UsageError(f"--{name} does not apply to {resource}")
    for param, value in given.items():
        if value is None or value is False:
            continue
        if param not in accepted:
            raise click.UsageError(f"{FLAGS[param]} does not apply to {resource}")
        filters[param] = value
    return filters


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
@click.option("--form", multiple=True, metavar="UUID", help="Only this survey (repeatable).")
@click.option("--segment", multiple=True, metavar="UUID", help="Only this segment (repeatable).")
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
@click.option("--debug", is_flag=True, help="Log requests; show tracebacks.")
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
    filters = _filters(resource, given)
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

    summary = _run(
        run(),
        debug=debug,
        on_interrupt=lambda: f"interrupted: {_saved(files, resource) or 'nothing was saved'}",
        resume_hint=lambda: f" ({saved})" if (saved := _saved(files, resource)) else "",
        base_url=base_url,
    )
    _say(str(summary))


# --- demo ---------------------------------------------------------------------------------------


async def _demo(responses: int, seed: int, latency: float, out: Path) -> set[str]:
    """Serve the emulator, export its responses to ``out``; returns the uuids it holds."""
    from .testing import FakeRefiner

    _say(f"Starting the Refiner API emulator: {responses:,} responses, seed {seed} ...")
    async with FakeRefiner(
        seed=seed, responses=responses, latency=latency, jitter=latency / 2
    ) as fake:
        # A few failures, as a real network has them: the retries show in the summary.
        fake.faults.add("503", path="/responses", probability=0.1, times=3)
        fake.faults.add("429", path="/responses", probability=0.1, times=1, retry_after=1)
        _say(
            f"Serving {fake.base_url} (built in {fake.build_seconds:.2f} s; {latency * 1000:.0f} ms "
            "latency per request; a few 503s and a 429 injected on /responses)"
        )
        async with RefinerClient(fake.api_key, base_url=fake.base_url) as client:
            with progress_reporter() as progress:
                summary = await export(
                    client, "responses", out, include="all", overwrite=True, progress=progress
                )
        _say(str(summary))
        return fake.all_response_uuids(include="all")


def _check(out: Path, expected: set[str]) -> bool:
    """True when ``out`` holds each uuid of ``expected`` exactly once, and nothing else."""
    with open(out, "rb") as lines:
        seen = [orjson.loads(line)["uuid"] for line in lines]
    if len(seen) == len(expected) and set(seen) == expected:
        _say(
            f"Checked: {len(seen):,} lines, each of the emulator's {len(expected):,} responses "
            "exactly once."
        )
        return True
    click.echo(
        f"Check failed: {len(seen):,} lines, {len(set(seen)):,} distinct uuids; "
        f"the emulator holds {len(expected):,} responses.",
        err=True,
    )
    return False


@cli.command()
@click.option(
    "--responses",
    type=click.IntRange(min=1),
    default=50_000,
    show_default=True,
    help="Responses in the emulator's data set.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the data set.")
@click.option(
    "--latency", type=click.FloatRange(min=0), default=0.005, show_default=True, help="Seconds."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Keep the export here (default: a temporary directory, removed afterwards).",
)
@click.option("--debug", is_flag=True, help="Log requests; show tracebacks.")
def demo(responses: int, seed: int, latency: float, out: Path | None, debug: bool) -> None:
    """Export every response of an embedded emulator, with progress, and check the count.

    Runs the emulator in this process (realistic data, some latency, a few injected faults),
    exports its responses to JSON Lines through the SDK, and compares the file with the emulator.
    """
    with contextlib.ExitStack() as stack:
        keep = out is not None
        if out is None:
            out = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "responses.jsonl"
        expected = _run(
            _demo(responses, seed, latency, out), debug=debug, on_interrupt=lambda: "interrupted"
        )
        ok = _check(out, expected)
    if not keep:
        _say("(The file was temporary: --out FILE keeps it.)")
    if not ok:
        raise Failure("the export does not match the emulator's data")


# --- sync ---------------------------------------------------------------------------------------


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
@click.option("--form", multiple=True, metavar="UUID", help="Only this survey (repeatable).")
@click.option("--segment", multiple=True, metavar="UUID", help="Only this segment (repeatable).")
@click.option("--page-length", **PAGE_LENGTH)
@click.option("--base-url", **BASE_URL)
@click.option("--api-key", envvar="REFINER_API_KEY", show_envvar=True, help="The project's key.")
@click.option("--debug", is_flag=True, help="Log requests; show tracebacks.")
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
    filters = _filters(resource, {"form": form, "segment": segment})

    def written(done: WindowWritten) -> None:
        w = done.window
        span = f"{w.start:%Y-%m-%d %H:%M:%S} to {w.end:%Y-%m-%d %H:%M:%S} UTC"
        _say(f"{done.path}: {done.items:,} {resource} received {span}")

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
    state = _run(
        run(),
        debug=debug,
        on_interrupt=lambda: f"interrupted: {hint}",
        resume_hint=lambda: f" ({hint})",
        base_url=base_url,
    )
    bookmark = "none yet" if state.bookmark is None else f"{state.bookmark:%Y-%m-%dT%H:%M:%SZ}"
    _say(f"bookmark: {bookmark} (saved in {state_path})")


# --- emulator -----------------------------------------------------------------------------------


def _emulator_options(command: Callable[..., None]) -> Callable[..., None]:
    """The emulator's options (one list, shared with ``python -m refiner_async.testing``)."""
    from .testing.__main__ import OPTIONS

    for option in reversed(OPTIONS):
        switch = option.type is bool
        command = click.option(
            option.flag,
            type=None if switch else option.type,
            is_flag=switch,
            default=option.default,
            show_default=option.default is not None and not switch,
            help=option.help,
        )(command)
    return command


@cli.command()
@_emulator_options
def emulator(**options: Any) -> None:
    """Serve the Refiner API emulator on HTTP until interrupted (Ctrl-C).

    It prints its base URL and key; point a client at them with REFINER_BASE_URL and
    REFINER_API_KEY. Its data, faults and journal are described in the README.
    """
    from .testing.__main__ import run

    sys.exit(run(options, prog="refiner-async"))


def main(argv: Sequence[str] | None = None) -> None:
    """The console script ``refiner-async``."""
    cli.main(args=argv, prog_name="refiner-async")
