"""Configuration from the environment: REFINER_BASE_URL and REFINER_LOG."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from refiner_async import ConfigurationError, RefinerClient
from refiner_async._client import DEFAULT_BASE_URL
from refiner_async._logs import logger
from refiner_async.testing import FakeRefiner


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No REFINER_* variable set, whatever the machine has."""
    for name in ("REFINER_API_KEY", "REFINER_BASE_URL", "REFINER_LOG"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def sdk_logger() -> Iterator[logging.Logger]:
    """The SDK's logger, put back as it was (level and handlers) after the test."""
    level, handlers = logger.level, list(logger.handlers)
    yield logger
    logger.setLevel(level)
    logger.handlers[:] = handlers


async def test_a_client_built_from_the_environment_alone_reaches_the_server(
    environment: pytest.MonkeyPatch, fake_refiner: FakeRefiner
) -> None:
    """REFINER_API_KEY and REFINER_BASE_URL are all ``RefinerClient()`` needs."""
    environment.setenv("REFINER_API_KEY", fake_refiner.api_key)
    environment.setenv("REFINER_BASE_URL", fake_refiner.base_url)
    async with RefinerClient() as client:
        assert client.base_url == fake_refiner.base_url
        assert (await client.account.get()).subscription is not None
    assert [e.path for e in fake_refiner.journal.entries] == ["/v1/account"]


@pytest.mark.parametrize(
    ("given", "variable", "expected"),
    [
        ("http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1", "http://127.0.0.1:1/v1"),
        (None, "http://127.0.0.1:2/v1/", "http://127.0.0.1:2/v1"),
        (None, "", DEFAULT_BASE_URL),
        (None, None, DEFAULT_BASE_URL),
    ],
)
def test_base_url_precedence(
    environment: pytest.MonkeyPatch, given: str | None, variable: str | None, expected: str
) -> None:
    """The argument wins; then a non-empty REFINER_BASE_URL; then the API's address."""
    if variable is not None:
        environment.setenv("REFINER_BASE_URL", variable)
    assert RefinerClient("key", base_url=given).base_url == expected


def test_a_bad_base_url_names_where_it_came_from(environment: pytest.MonkeyPatch) -> None:
    """The error names the variable when the URL came from it, the argument otherwise."""
    environment.setenv("REFINER_BASE_URL", "127.0.0.1:8080/v1")
    with pytest.raises(ConfigurationError, match=r"^REFINER_BASE_URL: must be an http\(s\) URL"):
        RefinerClient("key")
    with pytest.raises(ConfigurationError, match=r"^base_url: must be an http\(s\) URL"):
        RefinerClient("key", base_url="ftp://example.com")


async def test_refiner_log_debug_shows_each_request_on_stderr_without_the_key(
    environment: pytest.MonkeyPatch,
    sdk_logger: logging.Logger,
    fake_refiner: FakeRefiner,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """REFINER_LOG=debug: one line per request on stderr, from one handler however many clients
    are built, and the key in none of them."""
    environment.setenv("REFINER_LOG", "DEBUG")
    for _ in range(2):
        async with RefinerClient(fake_refiner.api_key, base_url=fake_refiner.base_url) as client:
            await client.account.get()
    lines = [line for line in capfd.readouterr().err.splitlines() if "GET /account ->" in line]
    assert len(lines) == 2
    assert all("refiner_async DEBUG" in line for line in lines)
    assert fake_refiner.api_key not in capfd.readouterr().err + "".join(lines)
    assert sdk_logger.level == logging.DEBUG


def test_refiner_log_info_and_unset(
    environment: pytest.MonkeyPatch, sdk_logger: logging.Logger
) -> None:
    """Unset changes nothing; ``info`` sets the level to INFO."""
    handlers = list(sdk_logger.handlers)
    RefinerClient("key")
    assert sdk_logger.handlers == handlers
    environment.setenv("REFINER_LOG", "info")
    RefinerClient("key")
    assert sdk_logger.level == logging.INFO
    assert len(sdk_logger.handlers) == len(handlers) + 1


def test_a_bad_refiner_log_is_refused(environment: pytest.MonkeyPatch) -> None:
    """A value other than debug or info is a ConfigurationError naming the variable."""
    environment.setenv("REFINER_LOG", "verbose")
    with pytest.raises(ConfigurationError, match=r"^REFINER_LOG: must be debug or info"):
        RefinerClient("key")
