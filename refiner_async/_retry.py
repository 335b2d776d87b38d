"""The retry policy: whether a failed attempt is retried, and how long to wait before the next one.

Both decisions are pure functions of the error, the attempt number and the policy; the request path
in ``_http`` applies them to one attempt at a time (never to a generator). Waits use ``backoff``'s
exponential generator with full jitter; :func:`instant_retries` turns every wait into zero for tests.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from itertools import islice

import attrs
import backoff

from . import errors

__all__ = [
    "RetryPolicy",
    "instant_retries",
    "may_have_applied",
    "retry_wait",
    "shared_cooldown",
    "should_retry",
    "surfaced_error",
]

_instant = False  # set by instant_retries(): every computed wait becomes 0


@attrs.frozen
class RetryPolicy:
    """Bounded retries: ``max_retries`` after the first attempt, all within ``deadline`` seconds."""

    max_retries: int = 4
    base: float = 0.5  # first backoff ceiling, doubling each retry
    cap: float = 8.0  # largest backoff ceiling
    max_retry_after: float = 120.0  # a longer Retry-After raises RateLimitError instead of waiting
    deadline: float | None = 300.0  # total seconds for one call, attempts and waits included


def should_retry(error: errors.RefinerError, *, idempotent: bool) -> bool:
    """Whether the attempt that raised ``error`` may be repeated.

    Idempotent calls (GET, DELETE, identify-user) retry connection failures, timeouts, truncated,
    undecodable or malformed bodies, 408, 429 and 5xx. Other writes retry only what provably did not reach the
    server: a failed connect, or a 429 refusal.
    """
    if isinstance(error, errors.RateLimitError):
        return True
    if isinstance(error, errors.APIStatusError):
        return idempotent and (error.status == 408 or error.status >= 500)
    if isinstance(error, errors.TLSError):
        return False
    if isinstance(error, errors.APIConnectionError):
        return idempotent or not error.request_sent
    if isinstance(error, errors.ResponseDecodeError | errors.ResponseValidationError):
        return idempotent
    return False


def may_have_applied(error: errors.RefinerError) -> bool:
    """Whether the attempt that raised ``error`` may have taken effect on the server: it reached the
    server and no reply says it was refused (a cut connection, a timeout, a 408 or 5xx, or a 2xx
    reply the SDK could not read)."""
    if isinstance(error, errors.RateLimitError):
        return False
    if isinstance(error, errors.APIStatusError):
        return error.status == 408 or error.status >= 500
    if isinstance(error, errors.APIConnectionError):
        return error.request_sent
    return isinstance(error, errors.APIResponseError)


def _ceiling(attempt: int, policy: RetryPolicy) -> float:
    """The backoff ceiling before retry number ``attempt`` (1-based): base, 2*base, ... up to cap."""
    waits = backoff.expo(base=2, factor=policy.base, max_value=policy.cap)
    next(waits)  # backoff's generators are primed with one bare yield
    return float(next(islice(waits, attempt - 1, None)))


def retry_wait(
    error: errors.RefinerError,
    attempt: int,
    policy: RetryPolicy,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait before retry number ``attempt``; ``None`` when the server asks for too long.

    A Retry-After hint is honoured (never less) plus up to 10% (at most 1 s) positive jitter, so that
    callers released together do not return together; otherwise full-jitter exponential backoff.
    """
    draw = (rng or random).random()
    hint = getattr(error, "retry_after", None)
    if hint is not None:
        if hint > policy.max_retry_after:
            return None
        wait = hint + draw * min(1.0, 0.1 * hint)
    else:
        wait = draw * _ceiling(attempt, policy)  # full jitter: uniform in [0, ceiling)
    return 0.0 if _instant else float(wait)


def shared_cooldown(error: errors.RateLimitError, wait: float | None, policy: RetryPolicy) -> float:
    """How long a 429 holds back every caller of the client (the caller itself waits ``wait``;
    None: it does not retry).

    The server's Retry-After is for everyone; without one, the refused call's own backoff grows
    with its attempts, and a caller on its fifth attempt would otherwise hold all the others for up
    to :attr:`RetryPolicy.cap` seconds: everyone else waits at most the first retry's ceiling. A
    call that gives up still holds the others back: for the Retry-After (at most
    :attr:`RetryPolicy.max_retry_after`), or the first retry's ceiling.
    """
    hint = error.retry_after
    if wait is None:
        wait = policy.base if hint is None else min(hint, policy.max_retry_after)
        return 0.0 if _instant else wait
    return wait if hint is not None else min(wait, policy.base)


def surfaced_error(
    error: errors.RefinerError, *, idempotent: bool, maybe_applied: bool = False
) -> errors.RefinerError:
    """The error to raise when no retry follows, with a chain that holds nothing but SDK errors.

    A non-idempotent write that failed after it may have reached the server becomes
    :class:`OutcomeUnknownError`: a connection failure once the request was sent, or a gateway's
    502, 503 or 504 (a proxy's reply says nothing about whether the API applied the write; the
    status is kept on ``.status``). So does a DELETE that gets 404 on a retry after an earlier
    attempt that may have been applied (``maybe_applied``, see :func:`may_have_applied`): that
    attempt may be what deleted it.

    Foreign exceptions (aiohttp's, orjson's) are cut from the chain: their type and message are
    already in the SDK error's message, while their attributes may hold the request headers
    (Authorization included) or the whole body.
    """
    surfaced: errors.RefinerError = error
    reason, status = _unknown_outcome(error, idempotent=idempotent, maybe_applied=maybe_applied)
    if reason is not None:
        assert isinstance(error, errors._RequestError)
        surfaced = errors.OutcomeUnknownError(
            reason,
            method=error.method,
            path=error.path,
            attempts=error.attempts,
            status=status,
        )
        surfaced.__cause__ = error
    _cut_foreign_causes(surfaced)
    return surfaced


def _unknown_outcome(
    error: errors.RefinerError, *, idempotent: bool, maybe_applied: bool
) -> tuple[str | None, int | None]:
    """Why ``error`` leaves the call's outcome unknown (with the gateway's status when a gateway
    said so), or ``(None, None)`` when the error is definite."""
    if isinstance(error, errors.OutcomeUnknownError):
        return None, None
    if (
        maybe_applied
        and isinstance(error, errors.NotFoundError)
        and error.method.upper() == "DELETE"
    ):
        return (
            "an earlier attempt may have deleted it before its reply was lost; this attempt "
            f"found nothing ({error.message})",
            None,
        )
    if not idempotent and isinstance(error, errors.APIConnectionError) and error.request_sent:
        return _may_be_applied(error.message), None
    if (
        not idempotent
        and isinstance(error, errors.APIStatusError)
        and error.status in GATEWAY_STATUSES
    ):
        reason = f"a gateway replied {error.status}: {error.message}"
        return _may_be_applied(reason), error.status
    return None, None


def _may_be_applied(reason: str) -> str:
    return f"the request may have been applied ({reason}); check before repeating it"


#: A gateway's replies: on a write, they leave its outcome unknown.
GATEWAY_STATUSES = frozenset({502, 503, 504})


def _cut_foreign_causes(error: BaseException) -> None:
    """Walk ``error``'s chain and end it at the first exception that is not the SDK's."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        following = current.__cause__ or current.__context__
        if following is not None and not isinstance(following, errors.RefinerError):
            current.__cause__ = None
            current.__context__ = None
            current.__suppress_context__ = True
            return
        current = following


@contextlib.contextmanager
def instant_retries() -> Iterator[None]:
    """Make every retry wait zero seconds inside the block (for tests)."""
    global _instant
    previous, _instant = _instant, True
    try:
        yield
    finally:
        _instant = previous
