"""The arithmetic of the reporting endpoint: which answers count, and the figures they give."""

from __future__ import annotations

import math
import time
from collections import Counter
from typing import Any

from ._records import Response, answers_for
from ._store_data import text_of


def round_half_up(value: float) -> int:
    """Round half away from zero (``round`` in PHP), not Python's half-to-even."""
    return math.floor(abs(value) + 0.5) * (1 if value >= 0 else -1)


def fmt_report(ts: int) -> str:
    """A report's date: ISO-8601 in UTC with a ``Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def number_of(value: Any) -> float | None:
    """An answer as a number (numeric strings too), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def report_values(r: Response, types: frozenset[str], questions: frozenset[str]) -> list[Any]:
    """The answers of ``r`` that count for a report over question ``types``."""
    if questions:
        if r.answers is None:
            form_types = r.form.question_types()
            needed = frozenset(form_types[q] for q in questions if q in form_types)
            data = answers_for(r.form, r.kind, r.gen, needed)
        else:
            data = r.answers
        picked = [data[q] for q in questions if q in data]
    else:
        if r.answers is None:
            data = answers_for(r.form, r.kind, r.gen, types)
            picked = list(data.values())
        else:
            form_types = r.form.question_types()
            picked = [v for k, v in r.answers.items() if form_types.get(k) in types]
    out: list[Any] = []
    for value in picked:
        if isinstance(value, list):
            out.extend(value)
        elif value is not None:
            out.append(value)
    return out


def summarize(kind: str, values: list[Any], responding: int) -> dict[str, Any]:
    """The figures of a ``kind`` report over the answers ``values`` of ``responding`` responses."""
    if kind == "distribution":
        counts: Counter[str] = Counter(text_of(v) for v in values)
        return {"datapoints": len(values), "responses": responding, "data": dict(counts)}
    numbers = [n for n in (number_of(v) for v in values) if n is not None]
    if kind == "nps":
        scores = [int(n) for n in numbers if 0 <= n <= 10 and n == int(n)]
        promoters = sum(1 for s in scores if s >= 9)
        passives = sum(1 for s in scores if 7 <= s <= 8)
        detractors = len(scores) - promoters - passives
        count = len(scores)
        nps = round_half_up(100 * (promoters - detractors) / count) if count else 0
        return {
            "nps": nps,
            "count": count,
            "data": {"detractors": detractors, "passives": passives, "promoters": promoters},
        }
    if kind == "csat":
        scores = [int(n) for n in numbers if 1 <= n <= 5 and n == int(n)]
        satisfied = sum(1 for s in scores if s >= 4)
        neutral = sum(1 for s in scores if s == 3)
        count = len(scores)
        return {
            "csat": round_half_up(100 * satisfied / count) if count else 0,
            "count": count,
            "data": {
                "dissatisfied": count - satisfied - neutral,
                "neutral": neutral,
                "satisfied": satisfied,
            },
        }
    # ratings
    total = sum(numbers)
    data: Counter[str] = Counter(str(int(n)) if n == int(n) else str(n) for n in numbers)
    as_int = int(total) if total == int(total) else total
    return {
        "average": round(total / len(numbers), 2) if numbers else 0,
        "sum": as_int,
        "count": len(numbers),
        "data": dict(sorted(data.items(), key=lambda kv: float(kv[0]))),
    }
