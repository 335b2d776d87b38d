"""The ten Refiner actions as agent tools: JSON Schemas, a runner, and tool-definition exports.

::

    from refiner_async.actions import ACTIONS, run_action, openai_tools

    result = await run_action(client, "REFINER_GET_CONTACT", {"email": "jane@acme.com"})
    # {"data": {...}, "error": None, "successful": True}

:func:`run_action` checks the parameters against the action's schema (unknown ones refused) before
anything is sent, calls the client's resource, and returns the catalog's envelope. Failures (bad
parameters, an unknown action, API or connection errors) come back as ``successful: False`` with a
readable ``error``; it never raises, cancellation aside. ``data`` is plain JSON: models as dicts with
the API's field names (unknown fields kept), datetimes as ISO-8601 UTC strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._action import Action, failure
from ._export import anthropic_tools, openai_tools, tool_definitions
from ._registry import ACTIONS, DEFAULT_PAGE_LENGTH

if TYPE_CHECKING:
    from .._client import RefinerClient

__all__ = [
    "ACTIONS",
    "DEFAULT_PAGE_LENGTH",
    "Action",
    "anthropic_tools",
    "openai_tools",
    "run_action",
    "tool_definitions",
]


async def run_action(client: RefinerClient, name: str, params: object = None) -> dict[str, Any]:
    """Run the action ``name`` with ``params`` (a mapping, a JSON text, or None) through ``client``.

    Returns ``{"data": ..., "error": None | str, "successful": bool}`` (GET_REPORTING adds its
    report figures beside ``data``). An unknown ``name`` is a failed envelope too.
    """
    action = ACTIONS.get(name) if isinstance(name, str) else None
    if action is None:
        return failure(f"unknown action {name!r}; known actions: {', '.join(ACTIONS)}")
    return await action.run(client, params)
