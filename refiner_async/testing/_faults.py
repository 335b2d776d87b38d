"""Fault injection and server-side rate limits, deterministic from the emulator's seed.

:class:`FaultPlan` holds scripted rules ("the next 3 GETs of /responses with page=7 get a 503",
"5% of requests are reset"); :class:`TokenBucket` is the per-key rate limit and
:class:`SlidingWindow` the per-user one. All take time as an argument so they can be tested without
a clock.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

__all__ = ["FAULT_KINDS", "Fault", "FaultKind", "FaultPlan", "SlidingWindow", "TokenBucket"]

FaultKind = Literal[
    "reset", "reset_after", "truncate", "bad_json", "delay", "429", "500", "502", "503", "504"
]
FAULT_KINDS: Final[tuple[str, ...]] = (
    "reset",  # connection reset (RST) before any byte of the reply
    "reset_after",  # the request is carried out (a write commits), then the connection is reset
    "truncate",  # headers with the full Content-Length, half the body, then the connection closes
    "bad_json",  # 200 with a complete but invalid JSON body (the first half of the real one)
    "delay",  # wait `delay` seconds, then reply normally (a hang when the delay is long)
    "429",  # 429 with Retry-After (`retry_after`; None omits the header)
    "500",
    "502",
    "503",
    "504",
)


def normalize_path(path: str) -> str:
    """``/v1/responses``, ``responses`` and ``/responses/`` all name ``/responses``."""
    if path.startswith("/v1"):
        path = path[3:]
    path = "/" + path.strip("/")
    return path


@dataclass(slots=True, eq=False)
class Fault:
    """One rule. ``times`` counts down as it fires (``None``: no limit); ``fired`` counts up."""

    kind: str
    path: str | None = None
    method: str | None = None
    probability: float = 1.0
    times: int | None = None
    match: dict[str, str] = field(default_factory=dict)
    retry_after: str | None = "1"
    delay: float = 0.0
    after: int = 0  # matching requests to let through before the rule may fire
    fired: int = 0

    def applies(self, method: str, path: str, params: Mapping[str, Any]) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.method is not None and self.method != method:
            return False
        if self.path is not None:
            if self.path.endswith("*"):
                if not path.startswith(self.path[:-1]):
                    return False
            elif self.path != path:
                return False
        for name, expected in self.match.items():
            value = params.get(name)
            values = value if isinstance(value, list) else [value]
            if expected not in (_text(v) for v in values if v is not None):
                return False
        return True


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


class FaultPlan:
    """The scripted faults of one emulator, checked in the order they were added."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"{seed}-faults")
        self.rules: list[Fault] = []

    def add(
        self,
        kind: FaultKind | int,
        *,
        path: str | None = None,
        method: str | None = None,
        probability: float = 1.0,
        times: int | None = None,
        match: Mapping[str, Any] | None = None,
        retry_after: float | int | str | None = 1,
        delay: float = 0.0,
        after: int = 0,
    ) -> Fault:
        """Add a rule; the first rule that applies to a request and wins its draw fires.

        ``kind``: one of :data:`FAULT_KINDS` (status kinds may be given as ints).
        ``path``: e.g. ``"/responses"`` (``/v1`` optional; a trailing ``*`` matches a prefix);
        ``None`` matches every API path. ``method``: e.g. ``"GET"``. ``probability``: chance per
        matching request, drawn from the seeded generator. ``times``: fire at most this many times.
        ``match``: parameters the request must carry, e.g. ``{"page": 7}``. ``retry_after``: the
        Retry-After header of a 429, sent literally (``2``, ``2.5``, an HTTP date, garbage...).
        ``delay``: seconds, for ``delay``. ``after``: let this many matching requests through
        first (``after=2, times=1``: the third request fails, whatever page it asks for).
        """
        name = str(kind)
        if name not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        rule = Fault(
            kind=name,
            path=None if path is None else normalize_path(path),
            method=None if method is None else method.upper(),
            probability=probability,
            times=times,
            match={k: _text(v) for k, v in (match or {}).items()},
            retry_after=None if retry_after is None else str(retry_after),
            delay=delay,
            after=after,
        )
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule."""
        self.rules.clear()

    def pick(self, method: str, path: str, params: Mapping[str, Any]) -> Fault | None:
        """The rule that fires for this request, if any (its counters are updated)."""
        for rule in self.rules:
            if not rule.applies(method, path, params):
                continue
            if rule.after > 0:
                rule.after -= 1
                continue
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            rule.fired += 1
            if rule.times is not None:
                rule.times -= 1
            return rule
        return None


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        if rate <= 0:
            raise ValueError("rate_limit must be positive")
        self.rate = rate
        self.burst = max(1.0, burst)
        self.tokens = self.burst
        self.updated = now

    def take(self, now: float) -> float | None:
        """Spend a token; when there is none, how many seconds until there will be one."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / self.rate


class FixedWindow:
    """``rate * window`` requests in each fixed ``window`` seconds from ``now`` on (a throttle that
    counts so many a minute, then refuses until the minute ends)."""

    def __init__(self, rate: float, window: float, now: float) -> None:
        if rate <= 0 or window <= 0:
            raise ValueError("rate_limit and rate_window must be positive")
        self.quota = max(1, int(rate * window))
        self.window = window
        self.start = now
        self.used = 0

    def take(self, now: float) -> float | None:
        """Count a request; when the window's quota is spent, how many seconds until it ends."""
        if now >= self.start + self.window:
            self.start += (now - self.start) // self.window * self.window
            self.used = 0
        if self.used < self.quota:
            self.used += 1
            return None
        return self.start + self.window - now


class SlidingWindow:
    """At most ``limit`` hits per key in any ``window`` seconds."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self.hits: dict[str, deque[float]] = {}

    def hit(self, keys: list[str], now: float) -> float | None:
        """Count a request for every key; when one is over its limit, seconds until it is not."""
        wait = 0.0
        for key in keys:
            times = self.hits.setdefault(key, deque())
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.limit:
                wait = max(wait, times[0] + self.window - now)
        if wait > 0:
            return wait
        for key in keys:
            self.hits[key].append(now)
        return None


def retry_after_header(seconds: float, *, decimal: bool) -> str:
    """Whole seconds rounded up, at least 1 (the default); or seconds with 3 decimals."""
    if decimal:
        return f"{max(seconds, 0.001):.3f}"
    return str(max(1, math.ceil(seconds)))
