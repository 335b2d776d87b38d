"""The retry policy's pure decisions: whether to retry and how long to wait."""

from __future__ import annotations

import random

import pytest

from refiner_async import _retry, errors
from refiner_async._retry import (
    RetryPolicy,
    retry_wait,
    shared_cooldown,
    should_retry,
    surfaced_error,
)

POLICY = RetryPolicy()


def status(code: int, retry_after: float | None = None) -> errors.APIStatusError:
    if code == 429:
        return errors.RateLimitError("x", method="GET", path="/", retry_after=retry_after)
    return errors.APIStatusError("x", status=code, body=None, method="GET", path="/")


def conn(*, sent: bool = True) -> errors.APIConnectionError:
    return errors.APIConnectionError("x", method="POST", path="/", request_sent=sent)


@pytest.mark.parametrize(
    ("error", "idempotent", "expected"),
    [
        (status(500), True, True),
        (status(502), True, True),
        (status(503), True, True),
        (status(408), True, True),
        (status(429), True, True),
        (status(400), True, False),
        (status(401), True, False),
        (status(404), True, False),
        (conn(), True, True),
        (errors.APITimeoutError("x", method="GET", path="/"), True, True),
        (errors.ResponseDecodeError("x", method="GET", path="/"), True, True),
        (errors.ResponseTooLargeError("x", method="GET", path="/"), True, False),
        (errors.TLSError("x", method="GET", path="/", request_sent=False), True, False),
        # Non-idempotent writes: only what provably never reached the server, and 429 refusals.
        (status(429), False, True),
        (conn(sent=False), False, True),
        (conn(sent=True), False, False),
        (status(500), False, False),
        (status(503), False, False),
        (errors.APITimeoutError("x", method="POST", path="/"), False, False),
        (errors.ResponseDecodeError("x", method="POST", path="/"), False, False),
    ],
)
def test_should_retry_table(error: errors.RefinerError, idempotent: bool, expected: bool) -> None:
    """Which failures are retried, for idempotent calls and for writes that must not repeat."""
    assert should_retry(error, idempotent=idempotent) is expected


def test_backoff_is_full_jitter_doubling_from_half_a_second_capped_at_eight() -> None:
    """Backoff waits stay within [0, min(8, 0.5 * 2**(n-1))) and use the whole range."""
    rng = random.Random(1)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (9, 8.0)]:
        waits = [retry_wait(conn(), attempt, POLICY, rng) for _ in range(400)]
        assert all(w is not None and 0 <= w < ceiling for w in waits)
        assert max(w for w in waits if w is not None) > 0.9 * ceiling
        assert min(w for w in waits if w is not None) < 0.1 * ceiling


@pytest.mark.parametrize("hint", [0.0, 1.0, 2.5, 30.0, 120.0])
def test_retry_after_is_honoured_with_small_positive_jitter(hint: float) -> None:
    """A Retry-After hint is never undercut and adds at most 10% (at most 1 s)."""
    rng = random.Random(2)
    for _ in range(200):
        wait = retry_wait(status(429, hint), 1, POLICY, rng)
        assert wait is not None
        assert hint <= wait <= hint + min(1.0, 0.1 * hint)


def test_retry_after_beyond_cap_gives_up() -> None:
    """A Retry-After above max_retry_after means: do not wait, raise."""
    assert retry_wait(status(429, 121.0), 1, POLICY) is None
    assert retry_wait(status(429, 3600.0), 1, POLICY) is None


def test_instant_retries_makes_waits_zero() -> None:
    """The testing switch turns every wait into zero and restores it afterwards."""
    with _retry.instant_retries():
        assert retry_wait(conn(), 5, POLICY) == 0.0
        assert retry_wait(status(429, 30.0), 1, POLICY) == 0.0
    assert retry_wait(status(429, 30.0), 1, POLICY) == pytest.approx(30.0, abs=1.0)


def test_write_failing_after_send_surfaces_as_outcome_unknown() -> None:
    """A write that may have reached the server is reported as OutcomeUnknownError, nothing else is."""
    cause = conn(sent=True)
    surfaced = surfaced_error(cause, idempotent=False)
    assert isinstance(surfaced, errors.OutcomeUnknownError)
    assert surfaced.__cause__ is cause
    assert surfaced_error(cause, idempotent=True) is cause
    refused = conn(sent=False)
    assert surfaced_error(refused, idempotent=False) is refused
    server = status(500)
    assert surfaced_error(server, idempotent=False) is server


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (conn(sent=True), True),
        (conn(sent=False), False),
        (errors.APITimeoutError("x", method="DELETE", path="/"), True),
        (status(500), True),
        (status(503), True),
        (status(408), True),
        (status(429), False),
        (status(404), False),
        (status(400), False),
        (errors.ResponseDecodeError("x", method="DELETE", path="/"), True),
    ],
)
def test_may_have_applied_table(error: errors.RefinerError, expected: bool) -> None:
    """An attempt may have taken effect when it reached the server and nothing says it was refused."""
    assert _retry.may_have_applied(error) is expected


def test_delete_not_found_after_an_ambiguous_attempt_is_outcome_unknown() -> None:
    """A DELETE's 404 on a retry after an attempt that may have been applied: OutcomeUnknownError
    (attempts kept, the 404 as its cause); without such an attempt, or for a GET, the 404 stays."""
    missing = errors.NotFoundError(
        "Contact not found", status=404, body=None, method="DELETE", path="/contact", attempts=3
    )
    surfaced = surfaced_error(missing, idempotent=True, maybe_applied=True)
    assert isinstance(surfaced, errors.OutcomeUnknownError)
    assert surfaced.attempts == 3
    assert surfaced.__cause__ is missing
    assert surfaced_error(missing, idempotent=True, maybe_applied=False) is missing
    read = errors.NotFoundError("x", status=404, body=None, method="GET", path="/contact")
    assert surfaced_error(read, idempotent=True, maybe_applied=True) is read


def test_a_429_holds_everyone_for_the_servers_word_or_the_first_backoff() -> None:
    """Retry-After is for every caller; without one, a caller deep in its backoff waits alone and the
    others wait at most the first retry's ceiling."""
    assert shared_cooldown(status(429, retry_after=3.0), 3.0, POLICY) == 3.0  # type: ignore[arg-type]
    assert shared_cooldown(status(429), 6.0, POLICY) == POLICY.base  # type: ignore[arg-type]
    assert shared_cooldown(status(429), 0.2, POLICY) == 0.2  # type: ignore[arg-type]
