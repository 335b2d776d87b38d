"""``refiner-async emulator``: the API emulator served until interrupted."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from ._base import cli

__all__ = ["emulator"]


def _emulator_options(command: Callable[..., None]) -> Callable[..., None]:
    """The emulator's options (one list, shared with ``python -m refiner_async.testing``)."""
    from ..testing.__main__ import OPTIONS

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
    from ..testing.__main__ import run

    sys.exit(run(options, prog="refiner-async"))
