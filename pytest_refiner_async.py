"""The pytest plugin of refiner-async (``pytest11`` entry point): fixtures for the Refiner emulator.

- ``fake_refiner``: a started :class:`~refiner_async.testing.FakeRefiner`, options from the
  ``@pytest.mark.fake_refiner(responses=..., ...)`` marker;
- ``fake_refiner_factory``: ``await fake_refiner_factory(**options)`` starts more of them;
- ``refiner_client``: a ``RefinerClient`` connected to ``fake_refiner``.

Every emulator started here is stopped when the test ends. The fixtures are async: pytest-asyncio
runs them (strict mode: in tests marked ``@pytest.mark.asyncio``; auto mode: in every async test),
and so does anyio's plugin in tests marked ``@pytest.mark.anyio`` on the asyncio backend.

This module lives outside the ``refiner_async`` package so that loading it costs a pytest run
nothing: the SDK and its emulator are imported only when a test asks for a fixture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from refiner_async import RefinerClient
    from refiner_async.testing import FakeRefiner

try:
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - without pytest-asyncio, anyio's plugin runs them
    _async_fixture = pytest.fixture  # type: ignore[assignment]

__all__ = ["fake_refiner", "fake_refiner_factory", "pytest_configure", "refiner_client"]

FakeFactory = Callable[..., Awaitable["FakeRefiner"]]


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker, so projects using the plugin need not (``--strict-markers`` safe)."""
    config.addinivalue_line(
        "markers", "fake_refiner(**options): FakeRefiner options for the fake_refiner fixture"
    )


@_async_fixture
async def fake_refiner_factory() -> AsyncIterator[FakeFactory]:
    """``await fake_refiner_factory(**options)``: a started FakeRefiner, stopped at teardown."""
    from refiner_async.testing import FakeRefiner

    started: list[FakeRefiner] = []

    async def make(**options: Any) -> FakeRefiner:
        fake = FakeRefiner(**options)
        await fake.start()
        started.append(fake)
        return fake

    try:
        yield make
    finally:
        for fake in reversed(started):
            await fake.stop()


@_async_fixture
async def fake_refiner(
    request: pytest.FixtureRequest, fake_refiner_factory: FakeFactory
) -> FakeRefiner:
    """A started FakeRefiner; ``@pytest.mark.fake_refiner(**options)`` sets its options."""
    marker = request.node.get_closest_marker("fake_refiner")
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    return await fake_refiner_factory(**options)


@_async_fixture
async def refiner_client(fake_refiner: FakeRefiner) -> AsyncIterator[RefinerClient]:
    """A ``RefinerClient`` pointed at ``fake_refiner`` (closed after the test)."""
    from refiner_async import RefinerClient

    async with RefinerClient(fake_refiner.api_key, base_url=fake_refiner.base_url) as client:
        yield client
