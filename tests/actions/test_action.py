"""Action.validate and Action.run without a server: decoding, null parameters, failures, cancel."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from refiner_async import InvalidParameterError
from refiner_async.actions import ACTIONS, run_action

from .conftest import check_envelope


def test_validate_accepts_mapping_json_text_and_none() -> None:
    """Parameters may be a mapping, a JSON text or None; nulls count as not given."""
    action = ACTIONS["REFINER_GET_RESPONSES"]
    assert action.validate(None) == {}
    assert action.validate("") == {}
    assert action.validate(b'{"page": 3, "search": null}') == {"page": 3}
    assert action.validate({"include": "all", "form_uuid": None}) == {"include": "all"}


def test_validate_refuses_what_is_not_an_object() -> None:
    """A non-object or broken JSON is refused as the parameter ``params``."""
    action = ACTIONS["REFINER_GET_SEGMENTS"]
    for bad in ("[1, 2]", "{", 7):
        with pytest.raises(InvalidParameterError) as info:
            action.validate(bad)
        assert info.value.param == "params"


class _Broken:
    """A client whose account resource blows up in an unexpected way."""

    @property
    def account(self) -> Any:
        raise RuntimeError("boom")


async def test_unexpected_errors_become_envelopes() -> None:
    """A failure that is not a RefinerError still returns an envelope, marked unexpected."""
    envelope = await run_action(_Broken(), "REFINER_GET_ACCOUNT_INFO")  # type: ignore[arg-type]
    check_envelope(envelope, "REFINER_GET_ACCOUNT_INFO", "secret")
    assert envelope["error"] == "unexpected RuntimeError: boom"


async def test_long_errors_are_cut() -> None:
    """An error text is at most 1000 characters."""

    class Loud:
        @property
        def account(self) -> Any:
            raise RuntimeError("x" * 5000)

    envelope = await run_action(Loud(), "REFINER_GET_ACCOUNT_INFO")  # type: ignore[arg-type]
    assert len(envelope["error"]) == 1000
    assert envelope["error"].endswith("...")


async def test_non_string_name_is_an_unknown_action() -> None:
    """A name that is not a string fails as an unknown action."""
    envelope = await run_action(_Broken(), 42, {})  # type: ignore[arg-type]
    check_envelope(envelope, "", "secret")
    assert envelope["error"].startswith("unknown action 42")


async def test_cancellation_propagates() -> None:
    """Cancelling a running action cancels it; it is not turned into an envelope."""
    started = asyncio.Event()

    class Slow:
        class account:  # stands in for the resource attribute
            @staticmethod
            async def get() -> Any:
                started.set()
                await asyncio.sleep(60)

    task = asyncio.ensure_future(run_action(Slow(), "REFINER_GET_ACCOUNT_INFO"))  # type: ignore[arg-type]
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_public_surface() -> None:
    """refiner_async.actions exports exactly these names."""
    import refiner_async.actions as actions

    assert actions.__all__ == [
        "ACTIONS",
        "DEFAULT_PAGE_LENGTH",
        "Action",
        "anthropic_tools",
        "openai_tools",
        "run_action",
        "tool_definitions",
    ]
    assert all(hasattr(actions, name) for name in actions.__all__)
