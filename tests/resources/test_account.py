"""client.account and client.verify(): plan, usage, environments; the key check; error mapping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from refiner_async import (
    AccountInfo,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RateLimitError,
    RefinerClient,
    ServerError,
    VerifyResult,
)

ACCOUNT = {
    "subscription": {
        "plan": "Pro",
        "mtu_count": 9,
        "mtu_limit": 5000,
        "mtu_count_updated_at": "2026-05-07T12:00:00Z",
        "mte_count": 128,
        "mte_count_updated_at": "2026-05-07T12:00:00Z",
        "mpv_count": 42,
        "mpv_limit": 1000000,
        "mpv_count_updated_at": "2026-05-07T12:00:00Z",
        "msr_count": 23,
        "msr_limit": 1000,
        "msr_count_updated_at": "2026-05-07T12:00:00Z",
    },
    "environments": [
        {"uuid": "b1c2d3e4-0000", "name": "Production", "mtu": 9, "mte": 128, "mpv": 42, "msr": 23}
    ],
}


async def test_account_get_reads_plan_usage_and_environments(
    api: Any, client: RefinerClient
) -> None:
    """GET /account becomes an AccountInfo with its subscription and environments."""
    api.add("GET", "/account", payload=ACCOUNT)
    info = await client.account.get()
    assert isinstance(info, AccountInfo)
    assert info.subscription is not None
    assert info.subscription.plan == "Pro"
    assert info.subscription.mtu_limit == 5000
    assert info.subscription.msr_count_updated_at == datetime(2026, 5, 7, 12, tzinfo=UTC)
    assert [e.name for e in info.environments] == ["Production"]
    assert info.environments[0].mte == 128
    sent = api.only()
    assert (sent.method, sent.path, sent.params, sent.json) == ("GET", "/account", [], None)


async def test_account_without_optional_fields_reads_as_none(
    api: Any, client: RefinerClient
) -> None:
    """An account answer without *_updated_at fields or limits leaves them None."""
    api.add("GET", "/account", payload={"subscription": {"plan": "Essentials"}, "environments": []})
    info = await client.account.get()
    assert info.subscription is not None
    assert info.subscription.mtu_count_updated_at is None
    assert info.subscription.mte_count is None
    assert info.environments == ()


async def test_account_keeps_unknown_fields_in_extra(api: Any, client: RefinerClient) -> None:
    """Fields the SDK does not know stay reachable through .extra at every level."""
    payload = {
        **ACCOUNT,
        "organization_name": "Acme",
        "environments": [{**ACCOUNT["environments"][0], "region": "eu"}],
    }
    payload["subscription"] = {**ACCOUNT["subscription"], "seats": 3}
    api.add("GET", "/account", payload=payload)
    info = await client.account.get()
    assert info.extra == {"organization_name": "Acme"}
    assert info.subscription is not None
    assert info.subscription.extra == {"seats": 3}
    assert info.environments[0].extra == {"region": "eu"}


async def test_verify_returns_the_keys_environment(api: Any, client: RefinerClient) -> None:
    """client.verify() sends GET / and returns project_uuid, project_name and message."""
    api.add(
        "GET",
        "/",
        payload={
            "project_uuid": "b1c2d3e4-0000-11ea-0000-000000000000",
            "project_name": "Production",
            "message": "Authentication successful",
        },
    )
    result = await client.verify()
    assert result == VerifyResult(
        project_uuid="b1c2d3e4-0000-11ea-0000-000000000000",
        project_name="Production",
        message="Authentication successful",
    )
    assert api.only().path == "/"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"error": "No API key found in headers"}),
        (401, {"error": "API key does not look valid"}),
        (404, {"message": "API key not valid or does not exist"}),
    ],
)
async def test_verify_refusals_are_authentication_errors(
    api: Any, client: RefinerClient, status: int, body: dict[str, str]
) -> None:
    """The API's three key refusals (two 401s and the 404 "API key not valid") raise AuthenticationError, unretried."""
    api.add("GET", "/", payload=body, status=status, repeat=True)
    with pytest.raises(AuthenticationError) as caught:
        await client.verify()
    assert caught.value.status == status
    assert caught.value.attempts == 1
    assert len(api.sent()) == 1


async def test_other_404_is_not_found(api: Any, client: RefinerClient) -> None:
    """A 404 whose text is not about the key raises NotFoundError after one attempt."""
    api.add("GET", "/account", payload={"error": "Not found"}, status=404, repeat=True)
    with pytest.raises(NotFoundError) as caught:
        await client.account.get()
    assert caught.value.attempts == 1
    assert len(api.sent()) == 1


async def test_400_is_bad_request(api: Any, client: RefinerClient) -> None:
    """A 400 raises BadRequestError carrying the API's message, after one attempt."""
    api.add("GET", "/account", payload={"error": "Invalid parameter"}, status=400, repeat=True)
    with pytest.raises(BadRequestError, match="Invalid parameter") as caught:
        await client.account.get()
    assert caught.value.body == {"error": "Invalid parameter"}
    assert len(api.sent()) == 1


async def test_429_is_rate_limit_error_after_every_retry(api: Any, client: RefinerClient) -> None:
    """A 429 that never clears raises RateLimitError after 1 + max_retries (5) attempts."""
    api.add(
        "GET",
        "/account",
        payload={"error": "You are doing this too often."},
        status=429,
        headers={"Retry-After": "1"},
        repeat=True,
    )
    with pytest.raises(RateLimitError) as caught:
        await client.account.get()
    assert caught.value.attempts == 5
    assert caught.value.retry_after == 1.0
    assert len(api.sent()) == 5


async def test_500_is_server_error_after_every_retry(api: Any, client: RefinerClient) -> None:
    """A GET answered 500 every time raises ServerError after 5 attempts."""
    api.add("GET", "/account", payload={"error": "boom"}, status=500, repeat=True)
    with pytest.raises(ServerError) as caught:
        await client.account.get()
    assert caught.value.attempts == 5
    assert len(api.sent()) == 5


async def test_a_transient_500_is_retried_to_success(api: Any, client: RefinerClient) -> None:
    """A 500 followed by a 200 returns the answer of the second attempt."""
    api.add("GET", "/account", payload={"error": "boom"}, status=500)
    api.add("GET", "/account", payload=ACCOUNT)
    info = await client.account.get()
    assert info.subscription is not None
    assert len(api.sent()) == 2
