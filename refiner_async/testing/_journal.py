"""What the emulator saw and did: one entry per API request, turned into ``stats()`` on demand."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

__all__ = ["Journal", "JournalEntry"]


@dataclass(slots=True, eq=False)
class JournalEntry:
    """One API request. ``status`` is 0 when the connection was dropped without an answer."""

    at: float  # arrival, seconds since the emulator started
    method: str
    path: str
    query: str  # the query string without api_key
    user: str | None  # id, email or uuid the request named
    idempotency_key: str | None
    status: int = 0
    fault: str | None = None  # the fault injected, "rate_limit" or "per_user_limit"
    duration: float = 0.0


class Journal:
    """The request log of one emulator."""

    def __init__(self) -> None:
        self.entries: list[JournalEntry] = []

    def clear(self) -> None:
        self.entries.clear()

    def arrivals(self) -> list[float]:
        return [e.at for e in self.entries]

    def peak_rps(self) -> int:
        """The most requests that arrived within any one-second window."""
        times = sorted(self.arrivals())
        best = lo = 0
        for hi, t in enumerate(times):
            while t - times[lo] >= 1.0:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    def stats(self) -> dict[str, Any]:
        by_path: dict[str, Counter[str]] = {}
        statuses: Counter[str] = Counter()
        faults: Counter[str] = Counter()
        for e in self.entries:
            label = str(e.status) if e.status else "dropped"
            by_path.setdefault(e.path, Counter())[label] += 1
            statuses[label] += 1
            if e.fault is not None:
                faults[e.fault] += 1
        limited = faults.get("rate_limit", 0) + faults.get("per_user_limit", 0)
        return {
            "requests_total": len(self.entries),
            "requests": {path: dict(counts) for path, counts in sorted(by_path.items())},
            "statuses": dict(statuses),
            "faults": {
                k: v for k, v in faults.items() if k not in ("rate_limit", "per_user_limit")
            },
            "faults_total": sum(faults.values()) - limited,
            "rate_limited": limited,
            "responses_429": statuses.get("429", 0),
            "peak_rps": self.peak_rps(),
            "arrivals": self.arrivals(),
        }
