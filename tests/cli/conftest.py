"""Fixtures for the command-line tests: an emulator served from a thread, and a CliRunner.

The commands run their own event loop (``asyncio.run``), so the emulator they talk to runs in a
loop of its own, on a background thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from refiner_async.testing import FakeRefiner


class ThreadedFake:
    """A FakeRefiner serving from its own event loop on a daemon thread."""

    def __init__(self, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.fake = FakeRefiner(**options)

    def __enter__(self) -> FakeRefiner:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.fake.start(), self.loop).result(30)
        return self.fake

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[FakeRefiner]:
    """A FakeRefiner on a thread; ``@pytest.mark.fake_refiner(**options)`` sets its options."""
    marker = request.node.get_closest_marker("fake_refiner")
    options: dict[str, Any] = {"seed": 11, "responses": 400}
    if marker is not None:
        options.update(marker.kwargs)
    with ThreadedFake(**options) as fake:
        yield fake


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CliRunner with no API key or base URL in the environment."""
    monkeypatch.delenv("REFINER_API_KEY", raising=False)
    monkeypatch.delenv("REFINER_BASE_URL", raising=False)
    return CliRunner()


@pytest.fixture
def connect(served: FakeRefiner) -> list[str]:
    """The flags that point a command at ``served``."""
    return ["--base-url", served.base_url, "--api-key", served.api_key]


def one_line_error(result: Result, code: int, text: str) -> None:
    """The command failed with exit ``code`` and one line on stderr, containing ``text``."""
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("refiner-async: error: ")
    assert text in lines[0]
    assert "Traceback" not in result.output
