"""The exception tree: everything refiner_async raises on purpose is a :class:`RefinerError`.

::

    RefinerError
    ├── ConfigurationError          bad client configuration (also a ValueError)
    ├── InvalidParameterError       bad call argument, raised before anything is sent (also a ValueError)
    ├── APIConnectionError          the request did not complete (reset, refused, DNS, truncated body)
    │   ├── APITimeoutError         an attempt or the call's total deadline ran out
    │   ├── TLSError                certificate or TLS failure (never retried)
    │   └── OutcomeUnknownError     a non-idempotent write may or may not have been applied
    ├── APIResponseError            a 2xx reply the SDK cannot use
    │   ├── ResponseDecodeError     not JSON, or JSON too deep / too large
    │   ├── ResponseTooLargeError   larger than the client's ``max_response_bytes``
    │   └── ResponseValidationError JSON that does not fit the model (names the field path)
    ├── APIStatusError              a non-2xx reply (.status, .body, .headers, .request_id, .method,
    │   │                           .path, .attempts)
    │   ├── BadRequestError         400, 422
    │   ├── AuthenticationError     401, and the API's 404 "API key not valid or does not exist"
    │   ├── PermissionDeniedError   403
    │   ├── NotFoundError           other 404s
    │   ├── RateLimitError          429 (.retry_after)
    │   └── ServerError             5xx
    └── PaginationError             a list iteration cannot go on (repeated cursor, cycle, page cap)

Every error may carry ``resume_token`` and ``items_yielded`` when it ends a list iteration, so the
caller can continue with ``list(..., resume=err.resume_token)``. No error holds the API key, request
headers or raw aiohttp objects; bodies are truncated.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "APIConnectionError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "InvalidParameterError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RefinerError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "ServerError",
    "TLSError",
]

BODY_EXCERPT_CHARS = 500  # bodies kept on errors are cut to this length


class RefinerError(Exception):
    """Base of every error the SDK raises on purpose."""

    #: Set when the error ends a list iteration: the token to continue from, and items yielded so far.
    resume_token: str | None = None
    items_yielded: int | None = None


class ConfigurationError(RefinerError, ValueError):
    """The client was configured wrongly (no API key, non-positive rate, bad base URL...)."""


class InvalidParameterError(RefinerError, ValueError):
    """A call argument is invalid; raised before any request is sent. ``param`` names it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param


class _RequestError(RefinerError):
    """An error about one HTTP call: carries method, path and the number of attempts made."""

    def __init__(self, message: str, *, method: str, path: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.attempts = attempts

    def __str__(self) -> str:
        tries = "" if self.attempts == 1 else f" after {self.attempts} attempts"
        return f"{self.method} {self.path}: {self.message}{tries}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class APIConnectionError(_RequestError):
    """The request did not complete: connection refused or reset, DNS failure, truncated body.

    ``request_sent`` is False only when the request provably never reached the server (connect failure).
    """

    def __init__(
        self, message: str, *, method: str, path: str, attempts: int = 1, request_sent: bool = True
    ) -> None:
        super().__init__(message, method=method, path=path, attempts=attempts)
        self.request_sent = request_sent


class APITimeoutError(APIConnectionError):
    """An attempt timed out, or the call's total deadline ran out."""


class TLSError(APIConnectionError):
    """The TLS handshake or certificate check failed; never retried."""


class OutcomeUnknownError(APIConnectionError):
    """A non-idempotent write (track-event, store response...) failed after it may have reached the
    server. It was not retried, to avoid recording it twice: check the server state before repeating.

    ``status`` is the gateway's 502, 503 or 504 when one replied instead of the API (else None).
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        attempts: int = 1,
        request_sent: bool = True,
        status: int | None = None,
    ) -> None:
        super().__init__(
            message, method=method, path=path, attempts=attempts, request_sent=request_sent
        )
        self.status = status


class APIResponseError(_RequestError):
    """A successful status whose body the SDK cannot use."""

    def __init__(
        self, message: str, *, method: str, path: str, status: int = 200, attempts: int = 1
    ) -> None:
        super().__init__(message, method=method, path=path, attempts=attempts)
        self.status = status


class ResponseDecodeError(APIResponseError):
    """The body is not JSON (or is JSON nested too deeply, or with an over-long number)."""


class ResponseTooLargeError(APIResponseError):
    """The body is larger than the client's ``max_response_bytes``."""


class ResponseValidationError(APIResponseError):
    """The JSON does not fit the expected model; ``field_path`` names where (e.g. ``items[3].uuid``)."""

    def __init__(
        self, message: str, *, method: str = "", path: str = "", field_path: str = ""
    ) -> None:
        super().__init__(message, method=method, path=path)
        self.field_path = field_path


_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


class APIStatusError(_RequestError):
    """The API replied with a non-2xx status. ``body`` is the decoded body (truncated text if not JSON).

    ``headers`` are the reply's headers as the server sent them (a read-only, case-insensitive
    mapping; request headers such as Authorization are never among them, and the API key is
    replaced wherever a server echoed it). ``request_id`` is the server's id for the request when it
    sent one (``X-Request-Id`` or ``Request-Id``), else None.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: object,
        method: str,
        path: str,
        attempts: int = 1,
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path, attempts=attempts)
        self.status = status
        self.body = body
        self.headers: Mapping[str, str] = _NO_HEADERS if headers is None else headers
        self.request_id = request_id

    def __str__(self) -> str:
        return f"{self.status} {super().__str__()}"


class BadRequestError(APIStatusError):
    """400 or 422: the API refused the parameters."""


class AuthenticationError(APIStatusError):
    """The API key is missing, malformed, unknown or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this (for example a plan without event tracking)."""


class NotFoundError(APIStatusError):
    """404: the contact, form, segment or response does not exist."""


class RateLimitError(APIStatusError):
    """429 that the SDK did not wait out: retries exhausted, or Retry-After beyond the wait cap."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 429,
        body: object = None,
        method: str,
        path: str,
        attempts: int = 1,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(
            message,
            status=status,
            body=body,
            method=method,
            path=path,
            attempts=attempts,
            headers=headers,
            request_id=request_id,
        )
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx from the API (after the retries the policy allows)."""


class PaginationError(RefinerError):
    """A list iteration cannot continue: repeated cursor, cursor cycle, page cap, or a foreign token."""

    def __init__(
        self,
        message: str,
        *,
        resume_token: str | None = None,
        items_yielded: int | None = None,
    ) -> None:
        super().__init__(message)
        self.resume_token = resume_token
        self.items_yielded = items_yielded
