"""What an export reports: a progress snapshot after each page, and the summary at the end."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

import attrs

__all__ = ["ExportProgress", "ExportSummary", "PlainProgress", "describe", "format_seconds", "note"]


def format_seconds(seconds: float) -> str:
    """``4.2 s``, ``3 min 05 s``, ``1 h 02 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@attrs.frozen
class ExportProgress:
    """Where a running export stands, given to the ``progress`` callback after each page."""

    resource: str
    items: int  # items in the file so far (those of earlier runs included)
    total: int | None  # items the export will hold (the server's items_count, capped by max_items)
    pages: int  # pages fetched by this run
    seconds: float  # since this run started
    resumed_items: int = 0  # items already in the file when this run started
    phase: str = "fetching"  # "fetching" pages, then "converting" the file (CSV and Parquet)
    format: str = "jsonl"  # the output's format
    paused_for: float = 0.0  # seconds left of a cooldown the API imposed with a 429 (0: sending)

    @property
    def items_per_second(self) -> float:
        """Items fetched per second by this run."""
        return (self.items - self.resumed_items) / self.seconds if self.seconds > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        """Seconds of fetching left at the current rate, a 429 cooldown included (None while
        unknown, and while converting)."""
        rate = self.items_per_second
        if self.phase != "fetching" or self.total is None or rate <= 0:
            return None
        return max(self.total - self.items, 0) / rate + self.paused_for


@attrs.frozen
class ExportSummary:
    """The outcome of a finished export. ``str(summary)`` is a short report for people."""

    resource: str
    path: Path  # the output file
    format: str  # "jsonl", "csv" or "parquet"
    items: int  # items in the output
    pages: int  # pages fetched by this run
    seconds: float  # wall time of this run
    bytes: int  # size of the output
    resumed_items: int = 0  # items an earlier, interrupted run had already written
    requests: int = 0  # API calls made by this run
    retries: int = 0  # attempts repeated after a failure
    rate_limited: int = 0  # 429 answers received
    rate_limit_wait: float = 0.0  # seconds the 429s made the client wait

    @property
    def items_per_second(self) -> float:
        """Items fetched per second by this run."""
        fetched = self.items - self.resumed_items
        return fetched / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        size = f"{self.bytes / 1_000_000:.1f} MB" if self.bytes >= 100_000 else f"{self.bytes:,} B"
        resumed = (
            f", {self.resumed_items:,} of them from before the resume" if self.resumed_items else ""
        )
        return (
            f"Exported {self.items:,} {self.resource} to {self.path} ({self.format}, {size}{resumed})\n"
            f"  {self.pages:,} page{'' if self.pages == 1 else 's'} in {format_seconds(self.seconds)}: "
            f"{self.items_per_second:,.0f} items/s; {self.requests:,} requests, "
            f"{self.retries:,} retries, {self.rate_limited:,} 429s "
            f"(waited {self.rate_limit_wait:.1f} s)"
        )


class PlainProgress:
    """A ``progress`` callback writing one line every ``interval`` seconds, and at once when the
    export starts, pauses for a 429, resumes or starts converting.

    For logs and pipes, where a redrawn progress bar would be noise::

        responses: 12,000 of 50,000 (24%), 9,412 items/s, about 4.0 s left
    """

    def __init__(self, stream: TextIO, *, interval: float = 2.0) -> None:
        self._stream = stream
        self._interval = interval  # seconds between lines
        self._last: float | None = None  # monotonic time of the last line written
        self._stage: str | None = None  # the stage of the last line written

    def __call__(self, progress: ExportProgress) -> None:
        now = time.monotonic()
        stage = _stage(progress)
        if stage == self._stage and self._last is not None and now - self._last < self._interval:
            return
        self._last, self._stage = now, stage
        self._stream.write(describe(progress) + "\n")
        self._stream.flush()


def _stage(progress: ExportProgress) -> str:
    if progress.phase != "fetching":
        return progress.phase
    return "paused" if progress.paused_for > 0 else "fetching"


def note(progress: ExportProgress) -> str | None:
    """What holds the export besides fetching: a 429 cooldown or the conversion (None: neither)."""
    stage = _stage(progress)
    if stage == "converting":
        return f"converting to {progress.format}"
    if stage == "paused":
        return f"paused {format_seconds(progress.paused_for)} by the API's rate limit (429)"
    return None


def describe(progress: ExportProgress) -> str:
    """One line about ``progress``."""
    done = f"{progress.resource}: {progress.items:,}"
    if progress.total:
        done += f" of {progress.total:,} ({100 * progress.items // progress.total}%)"
    parts = [done]
    if progress.phase == "fetching":
        parts.append(f"{progress.items_per_second:,.0f} items/s")
    state = note(progress)
    if state is not None:
        parts.append(state)
    eta = progress.eta_seconds
    if eta is not None:
        parts.append(f"about {format_seconds(eta)} left")
    return ", ".join(parts)
