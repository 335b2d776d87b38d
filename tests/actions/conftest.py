"""Helpers for the action tests: an envelope check every live test applies."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator

from refiner_async.actions import ACTIONS


def check_envelope(envelope: dict[str, Any], name: str, secret: str) -> dict[str, Any]:
    """Assert the catalog's envelope shape for ``name``; returns the envelope.

    The envelope fits the action's output schema, survives strict ``json.dumps`` unchanged, and
    holds no trace of ``secret`` (the API key).
    """
    action = ACTIONS.get(name)
    if action is not None:
        Draft202012Validator(action.output_schema).validate(envelope)
    assert set(envelope) >= {"data", "error", "successful"}
    assert list(envelope)[-2:] == ["error", "successful"]
    assert isinstance(envelope["data"], dict)
    if envelope["successful"]:
        assert envelope["error"] is None
    else:
        assert isinstance(envelope["error"], str)
        assert envelope["error"]
    text = json.dumps(envelope, allow_nan=False)
    assert json.loads(text) == envelope
    assert secret not in text
    return envelope
