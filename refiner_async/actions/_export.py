"""Tool definitions in the shapes agent frameworks take; pure functions, no framework imported.

- :func:`tool_definitions`: ``[{"name", "description", "parameters"}]`` (parameters keep ``$schema``);
- :func:`openai_tools`: ``[{"type": "function", "function": {"name", "description", "parameters"}}]``
  (Chat Completions ``tools=``);
- :func:`anthropic_tools`: ``[{"name", "description", "input_schema"}]`` (Messages API ``tools=``).

The framework shapes leave out the ``$schema`` marker, which some providers refuse in a tool's
schema. Every call returns fresh dicts: changing them does not change the registry.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._action import Action
from ._registry import ACTIONS

__all__ = ["anthropic_tools", "openai_tools", "select", "tool_definitions"]


def select(names: Iterable[str] | None = None) -> list[Action]:
    """The actions named (in the order given), or all of them in catalog order.

    Raises:
        KeyError: a name that is not an action.
    """
    if names is None:
        return list(ACTIONS.values())
    if isinstance(names, str):
        names = [names]
    chosen = []
    for name in names:
        if name not in ACTIONS:
            raise KeyError(f"unknown action {name!r}; known: {', '.join(ACTIONS)}")
        chosen.append(ACTIONS[name])
    return chosen


def _bare(schema: dict[str, Any]) -> dict[str, Any]:
    schema.pop("$schema", None)
    return schema


def tool_definitions(names: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """``{"name", "description", "parameters"}`` per action (all, or those ``names`` lists)."""
    return [
        {"name": a.name, "description": a.description, "parameters": a.parameters}
        for a in select(names)
    ]


def openai_tools(names: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """OpenAI function tools: ``{"type": "function", "function": {...}}`` per action."""
    return [
        {
            "type": "function",
            "function": {
                "name": a.name,
                "description": a.description,
                "parameters": _bare(a.parameters),
            },
        }
        for a in select(names)
    ]


def anthropic_tools(names: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Anthropic tools: ``{"name", "description", "input_schema"}`` per action."""
    return [
        {"name": a.name, "description": a.description, "input_schema": _bare(a.parameters)}
        for a in select(names)
    ]
