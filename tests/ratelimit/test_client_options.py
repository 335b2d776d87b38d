"""The client's rate_store and rate_share options: checked at construction with errors naming them."""

from __future__ import annotations

from typing import Any

import pytest

from refiner_async import ConfigurationError, RefinerClient
from refiner_async.ratelimit import InProcessRateStore


@pytest.mark.parametrize("store", [object(), "redis://localhost", 1])
def test_rate_store_must_be_a_store(api_key: str, store: Any) -> None:
    """Anything without the RateStore methods is refused, naming rate_store."""
    with pytest.raises(ConfigurationError, match=r"^rate_store:"):
        RefinerClient(api_key, rate_store=store)


@pytest.mark.parametrize("share", [0, -0.5, 1.5, True, "0.5", float("nan")])
def test_rate_share_must_be_a_fraction(api_key: str, share: Any) -> None:
    """A share outside (0, 1], or not a number, is refused, naming rate_share."""
    with pytest.raises(ConfigurationError, match=r"^rate_share:"):
        RefinerClient(api_key, rate_share=share)


def test_a_share_needs_a_rate(api_key: str) -> None:
    """A share of no rate limit means nothing: refused, naming rate_share."""
    with pytest.raises(ConfigurationError, match=r"^rate_share:"):
        RefinerClient(api_key, rate_limit=None, rate_share=0.5)


def test_good_options_are_kept(api_key: str) -> None:
    """A store and a share are accepted; the share is shown on the client."""
    client = RefinerClient(api_key, rate_store=InProcessRateStore(), rate_share=0.25)
    assert client.rate_share == 0.25
