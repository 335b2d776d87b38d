"""What every command shares: the group, one-line errors and their exit codes, the flags behind
the SDK's parameters, running a coroutine, and the options and filters export and sync share."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import click

from .._client import DEFAULT_BASE_URL
from .._export import ExportError, filters_of
from .._version import __version__
from ..errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidParameterError,
    NotFoundError,
    RefinerError,
    ResponseDecodeError,
)

__all__ = [
    "BASE_URL",
    "DEBUG",
    "FLAGS",
    "FORM",
    "INTERRUPTED",
    "PAGE_LENGTH",
    "SEGMENT",
    "Failure",
    "base_url_hint",
    "cli",
    "filters_from_flags",
    "run_command",
    "say",
]

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


def say(text: str) -> None:
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


def run_command(
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


#: Options the commands share.
DEBUG: dict[str, Any] = {"is_flag": True, "help": "Log requests; show tracebacks."}
FORM: dict[str, Any] = {
    "multiple": True,
    "metavar": "UUID",
    "help": "Only this survey (repeatable).",
}
SEGMENT: dict[str, Any] = {
    "multiple": True,
    "metavar": "UUID",
    "help": "Only this segment (repeatable).",
}
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


def filters_from_flags(resource: str, given: dict[str, Any]) -> dict[str, Any]:
    """A list call's filters from the flags given (export, sync), refusing flags that do not apply."""
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
