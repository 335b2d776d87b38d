"""The SDK's logger, and the one switch that lets the environment turn it on (``REFINER_LOG``).

Library code never configures logging on its own: the records of the ``refiner_async`` logger go
wherever the application's logging sends them. ``REFINER_LOG=debug`` (or ``info``) is the
application's own request, made without code, to see them on stderr: one handler on this logger
only, added once however many clients are built.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from .errors import ConfigurationError

__all__ = ["LOG_ENV", "configure_logging", "logger"]

LOG_ENV = "REFINER_LOG"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"

logger = logging.getLogger("refiner_async")


class _EnvironmentHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The stderr handler ``REFINER_LOG`` asked for (recognised so that it is added once)."""


def configure_logging(environ: Mapping[str, str]) -> None:
    """Apply ``REFINER_LOG`` from ``environ``: unset or empty changes nothing; ``debug`` or ``info``
    sets the logger's level and sends its records to stderr; anything else is a ConfigurationError."""
    value = environ.get(LOG_ENV, "").strip().lower()
    if not value:
        return
    if value not in LEVELS:
        raise ConfigurationError(f"{LOG_ENV}: must be debug or info, got {environ[LOG_ENV]!r}")
    logger.setLevel(LEVELS[value])
    if not any(isinstance(h, _EnvironmentHandler) for h in logger.handlers):
        handler = _EnvironmentHandler()
        handler.setFormatter(logging.Formatter(FORMAT))
        logger.addHandler(handler)
