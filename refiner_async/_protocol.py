"""Pure wire rules: how parameters are encoded, how replies become errors, how Retry-After is read.

Nothing here does I/O or touches asyncio, so every rule is testable with plain function calls.
"""

from __future__ import annotations

import email.utils
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

from . import errors

__all__ = [
    "encode_json",
    "encode_query",
    "error_for_status",
    "format_datetime",
    "parse_retry_after",
    "request_id",
    "response_headers",
    "user_key",
]

#: Parameters that identify a contact; calls carrying one fall under the API's per-user rate limit.
USER_KEYS = ("id", "email", "uuid")

_AUTH_404 = re.compile(r"api key", re.IGNORECASE)


def format_datetime(value: datetime | date) -> str:
    """ISO-8601 in UTC: ``2026-01-01T10:00:00Z`` (naive datetimes are taken as UTC); dates as-is."""
    if not isinstance(value, datetime):
        return value.isoformat()
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC).replace(tzinfo=None)
    text = value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    return text + "Z"


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime | date):
        return format_datetime(value)
    return str(value)


def encode_query(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Encode parameters for a query string the way the API reads them.

    ``None`` values are dropped, lists become ``key[]=a&key[]=b``, mappings become ``key[sub]=v``,
    booleans become ``1``/``0`` and datetimes ISO-8601 UTC.
    """
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        _encode_into(pairs, key, value)
    return pairs


def _encode_into(pairs: list[tuple[str, str]], key: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for sub, item in value.items():
            _encode_into(pairs, f"{key}[{sub}]", item)
    elif isinstance(value, list | tuple | set | frozenset):
        pairs.extend((f"{key}[]", _scalar(item)) for item in value if item is not None)
    else:
        pairs.append((key, _scalar(value)))


def encode_json(params: Mapping[str, Any]) -> dict[str, Any]:
    """Prepare a JSON body: ``None`` values dropped (at every level), datetimes as ISO-8601 UTC."""
    return {key: _json_value(value) for key, value in params.items() if value is not None}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return format_datetime(value)
    if isinstance(value, Mapping):
        return encode_json(value)
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    return value


def user_key(*sources: Mapping[str, Any] | None) -> str | None:
    """The contact identifier a call carries (``id``, ``email`` or ``uuid``), for the per-user limit."""
    for source in sources:
        if not source:
            continue
        for name in USER_KEYS:
            value = source.get(name)
            if value is not None:
                return f"{name}:{value}"
    return None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or HTTP date), ``now`` in epoch seconds.

    Returns ``None`` for a missing, negative, non-finite or unreadable value; a date in the past gives 0.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - now)
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def error_message(body: object) -> str:
    """The API's error text: ``{"error": ...}`` or ``{"message": ...}``, else a short body excerpt."""
    if isinstance(body, Mapping):
        for key in ("error", "message"):
            text = body.get(key)
            if isinstance(text, str) and text:
                return text[: errors.BODY_EXCERPT_CHARS]
    if isinstance(body, str) and body.strip():
        return body.strip()[: errors.BODY_EXCERPT_CHARS]
    return "no error message"


def truncate_body(body: object) -> object:
    """Keep a decoded body small enough to carry on an error."""
    if isinstance(body, str | bytes) and len(body) > errors.BODY_EXCERPT_CHARS:
        return body[: errors.BODY_EXCERPT_CHARS]
    return body


#: Headers that may carry the server's id for one request, looked up in this order (case-insensitive).
#: INFERRED: refiner-api.md documents no request id header; these are the common names.
REQUEST_ID_HEADERS = ("X-Request-Id", "Request-Id")


def response_headers(pairs: Iterable[tuple[str, str]], secret: str = "") -> CIMultiDictProxy[str]:
    """A response's headers as a read-only, case-insensitive mapping (repeated names kept), with
    ``secret`` replaced in every value: a proxy that echoes request headers must not hand the key on.
    """
    return CIMultiDictProxy(CIMultiDict((name, redact(value, secret)) for name, value in pairs))


def request_id(headers: Mapping[str, str]) -> str | None:
    """The server's id for the request, from the first of :data:`REQUEST_ID_HEADERS` present."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None


def error_for_status(
    status: int,
    body: object,
    *,
    method: str,
    path: str,
    attempts: int = 1,
    retry_after: float | None = None,
    headers: Mapping[str, str] | None = None,
) -> errors.APIStatusError:
    """The typed error for a non-2xx reply, carrying the reply's ``headers`` (already redacted,
    see :func:`response_headers`) and the request id they name.

    The API refuses keys in three ways (401 "No API key found", 401 "does not look valid", and
    404 "API key not valid or does not exist"); all three are :class:`AuthenticationError`.
    """
    message = error_message(body)
    kept = truncate_body(body)
    shown = response_headers(()) if headers is None else headers
    common: dict[str, Any] = {
        "body": kept,
        "method": method,
        "path": path,
        "attempts": attempts,
        "headers": shown,
        "request_id": request_id(shown),
    }
    if status == 429:
        return errors.RateLimitError(message, retry_after=retry_after, **common)
    cls: type[errors.APIStatusError]
    if status == 401 or (status == 404 and _AUTH_404.search(message)):
        cls = errors.AuthenticationError
    elif status == 404:
        cls = errors.NotFoundError
    elif status == 403:
        cls = errors.PermissionDeniedError
    elif status in (400, 422):
        cls = errors.BadRequestError
    elif status >= 500:
        cls = errors.ServerError
    else:
        cls = errors.APIStatusError
    return cls(message, status=status, **common)


def join_url(base_url: str, path: str) -> str:
    """``https://api.refiner.io/v1`` + ``/contacts``; ``/`` gives the base with a trailing slash."""
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def redact(text: str, secret: str) -> str:
    """Replace every occurrence of ``secret`` in ``text``."""
    return text.replace(secret, "<redacted>") if secret else text


#: Levels of an error body kept on the error; deeper containers are replaced by TOO_DEEP.
MAX_BODY_DEPTH = 32
TOO_DEEP = "<nested too deep>"


def redact_body(body: object, secret: str, *, max_depth: int = MAX_BODY_DEPTH) -> object:
    """A decoded body with ``secret`` replaced in every string, keys and nested values included.

    Servers and proxies sometimes echo request headers in their error replies; the key must not
    travel on into an error's message or ``body``. Containers more than ``max_depth`` levels down
    become the text ``<nested too deep>``: a hostile body nested a thousand levels deep neither
    exhausts the stack here nor travels on to whoever prints the error.
    """
    if isinstance(body, str):
        return redact(body, secret)
    if isinstance(body, Mapping | list):
        if max_depth <= 0:
            return TOO_DEEP
        depth = max_depth - 1
        if isinstance(body, Mapping):
            return {
                redact(str(k), secret): redact_body(v, secret, max_depth=depth)
                for k, v in body.items()
            }
        return [redact_body(item, secret, max_depth=depth) for item in body]
    return body


#: Keys an error body may carry beside ``error`` (the API's error shape is ``{"error": "..."}``).
_ERROR_BODY_KEYS = frozenset({"error", "code", "status"})


def error_in_success(payload: object) -> str | None:
    """The error text of a 2xx reply that is only an error: a JSON object with a non-empty string
    ``error`` and nothing else but ``code``/``status``; None for any other reply.

    refiner-api.md documents ``{"error": ...}`` only as the body of refusals and no 2xx error; a
    server or gateway replying 2xx with it has still not done the call, so it is not a success.
    """
    if not isinstance(payload, dict) or not payload.keys() <= _ERROR_BODY_KEYS:
        return None
    text = payload.get("error")
    return text if isinstance(text, str) and text.strip() else None
