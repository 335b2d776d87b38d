"""base_url: only a plain http(s) URL of scheme, host, optional port and path is accepted."""

from __future__ import annotations

import pytest

from refiner_async import ConfigurationError, RefinerClient


@pytest.mark.parametrize(
    "base_url",
    [
        "https://api.refiner.io/v1\r\nX-Injected: 1",
        "https://api.refiner.io/v1\nX",
        "https://api.refiner.io/v1 ",
        " https://api.refiner.io/v1",
        "https://api.refiner.io/v 1",
        "https://api.refiner.io/v1\t",
        "https://api.refiner.io/v1\x00",
        "https://api.refiner.io/v1?x=1",
        "https://api.refiner.io/v1?",
        "https://api.refiner.io/v1#f",
        "https://api.refiner.io#f",
        "https://user:pw@api.refiner.io/v1",
        "https://api.refiner.io:notaport/v1",
        "https:///v1",
    ],
)
def test_base_url_with_whitespace_query_fragment_or_credentials_is_refused(
    base_url: str, api_key: str
) -> None:
    """Whitespace, CR/LF, control characters, a query, a fragment or credentials: ConfigurationError."""
    with pytest.raises(ConfigurationError, match="base_url"):
        RefinerClient(api_key, base_url=base_url)


@pytest.mark.parametrize(
    ("base_url", "kept"),
    [
        ("https://api.refiner.io/v1", "https://api.refiner.io/v1"),
        ("https://api.refiner.io/v1/", "https://api.refiner.io/v1"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_plain_base_urls_are_accepted(base_url: str, kept: str, api_key: str) -> None:
    """A plain scheme://host[:port][/path] is accepted, its trailing slash dropped."""
    client = RefinerClient(api_key, base_url=base_url)
    assert client.base_url == kept
