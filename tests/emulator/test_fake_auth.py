"""The three ways to send the key, and the three exact refusals."""

from __future__ import annotations

import base64
import uuid

import pytest

NO_KEY = (401, {"error": "No API key found in headers"})
MALFORMED = (401, {"error": "API key does not look valid"})
UNKNOWN = (404, {"message": "API key not valid or does not exist"})


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, NO_KEY),
        ({"Authorization": "Bearer "}, NO_KEY),
        ({"Authorization": "Bearer abc"}, NO_KEY),
        ({"Authorization": "Token whatever-this-is"}, NO_KEY),
        ({"Authorization": "Bearer not a key at all!"}, MALFORMED),
        ({"Authorization": "Bearer sk_live_1234567890"}, MALFORMED),
        ({"Authorization": "Basic %%%not-base64%%%"}, MALFORMED),
        ({"Authorization": f"Bearer {uuid.UUID(int=7)}"}, UNKNOWN),
        ({"Authorization": "Bearer " + "ab" * 20}, UNKNOWN),
    ],
)
async def test_auth_refusals_are_exact(api, headers, expected):
    """Missing/short key -> 401 error; malformed -> 401 error; UUID/hex unknown -> 404 message."""
    for path in ("/", "/account", "/responses"):
        status, body = await api.get(path, headers=headers, auth=False)
        assert (status, body) == expected, path


async def test_unknown_key_in_query_param_is_refused(api):
    """api_key in the query is checked by the same rule (UUID-shaped unknown -> 404)."""
    status, body = await api.get("/", {"api_key": str(uuid.UUID(int=9))}, auth=False)
    assert (status, body) == UNKNOWN


async def test_bearer_header_is_accepted(api, fake_refiner):
    """Authorization: Bearer <key> authenticates."""
    status, body = await api.get("/", headers={"Authorization": f"Bearer {fake_refiner.api_key}"})
    assert status == 200
    assert body["message"] == "Authentication successful"
    assert set(body) == {"project_uuid", "project_name", "message"}


async def test_api_key_query_parameter_is_accepted(api, fake_refiner):
    """api_key=<key> in the query string authenticates."""
    status, _ = await api.get("/account", {"api_key": fake_refiner.api_key}, auth=False)
    assert status == 200


async def test_api_key_in_json_and_form_bodies_is_accepted(api, fake_refiner):
    """api_key inside a JSON body or a form body authenticates."""
    status, body = await api.post(
        "/track-event", {"api_key": fake_refiner.api_key, "id": "u-json", "event": "x"}, auth=False
    )
    assert (status, body) == (200, {"message": "ok"})
    status, body = await api.call(
        "POST",
        "/track-event",
        data={"api_key": fake_refiner.api_key, "id": "u-form", "event": "x"},
        auth=False,
    )
    assert (status, body) == (200, {"message": "ok"})


async def test_basic_auth_with_key_as_username_is_accepted(api, fake_refiner):
    """HTTP Basic with the key as username and an empty password authenticates."""
    token = base64.b64encode(f"{fake_refiner.api_key}:".encode()).decode()
    status, _ = await api.get("/", headers={"Authorization": f"Basic {token}"}, auth=False)
    assert status == 200
    wrong_password = base64.b64encode(f"{fake_refiner.api_key}:x".encode()).decode()
    status, _ = await api.get("/segments", headers={"Authorization": f"Basic {wrong_password}"})
    assert status == 200  # the password is ignored (see ASSUMPTIONS["auth.precedence"])


@pytest.mark.fake_refiner(api_key="my-own-test-key-0001")
async def test_custom_api_key(api, fake_refiner):
    """api_key= sets the emulator's key; other keys are refused."""
    assert fake_refiner.api_key == "my-own-test-key-0001"
    assert (await api.get("/"))[0] == 200
    status, _ = await api.get("/", headers={"Authorization": "Bearer my-own-test-key-0002"})
    assert status == 401
