"""Tool definitions in the plain, OpenAI and Anthropic shapes; no framework is imported."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from refiner_async.actions import ACTIONS, anthropic_tools, openai_tools, tool_definitions


def test_plain_definitions() -> None:
    """One {name, description, parameters} per action, in catalog order, schemas with $schema."""
    tools = tool_definitions()
    assert [t["name"] for t in tools] == list(ACTIONS)
    for tool in tools:
        assert set(tool) == {"name", "description", "parameters"}
        assert tool["parameters"] == ACTIONS[tool["name"]].parameters
        assert tool["description"] == ACTIONS[tool["name"]].description
    json.dumps(tools)


def test_openai_shape() -> None:
    """[{"type": "function", "function": {name, description, parameters}}], no $schema marker."""
    tools = openai_tools()
    assert len(tools) == 10
    for tool in tools:
        assert set(tool) == {"type", "function"}
        assert tool["type"] == "function"
        function = tool["function"]
        assert set(function) == {"name", "description", "parameters"}
        expected = ACTIONS[function["name"]].parameters
        del expected["$schema"]
        assert function["parameters"] == expected
        assert function["parameters"]["type"] == "object"


def test_anthropic_shape() -> None:
    """[{name, description, input_schema}], no $schema marker."""
    tools = anthropic_tools()
    assert [t["name"] for t in tools] == list(ACTIONS)
    for tool in tools:
        assert set(tool) == {"name", "description", "input_schema"}
        assert "$schema" not in tool["input_schema"]
        assert tool["input_schema"]["type"] == "object"


def test_names_select_a_subset_in_the_given_order() -> None:
    """names picks actions (a single name works too); an unknown name raises KeyError."""
    read_only = [name for name, action in ACTIONS.items() if action.read_only]
    assert [t["name"] for t in tool_definitions(read_only)] == read_only
    assert [t["name"] for t in anthropic_tools("REFINER_GET_FORMS")] == ["REFINER_GET_FORMS"]
    picked = openai_tools(["REFINER_TRACK_EVENT", "REFINER_GET_ACCOUNT_INFO"])
    assert [t["function"]["name"] for t in picked] == [
        "REFINER_TRACK_EVENT",
        "REFINER_GET_ACCOUNT_INFO",
    ]
    with pytest.raises(KeyError, match="REFINER_NOPE"):
        tool_definitions(["REFINER_NOPE"])


def test_exports_are_fresh_copies() -> None:
    """Editing an exported definition changes neither the registry nor later exports."""
    tools = openai_tools()
    tools[0]["function"]["parameters"]["properties"].clear()
    tools[0]["function"]["description"] = "changed"
    again = openai_tools()[0]["function"]
    assert again["parameters"]["properties"]
    assert again["description"] == ACTIONS["REFINER_DELETE_CONTACT"].description


def test_names_fit_the_providers_rules() -> None:
    """Tool names match ^[a-zA-Z0-9_-]{1,64}$ and every description is non-empty."""
    import re

    for action in ACTIONS.values():
        assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", action.name)
        assert len(action.description) > 40


def test_importing_actions_loads_no_framework_and_no_jsonschema() -> None:
    """The action layer works without jsonschema or any agent framework installed."""
    code = (
        "import sys, refiner_async.actions as a; a.openai_tools(); a.anthropic_tools(); "
        "a.ACTIONS['REFINER_GET_FORMS'].validate({'page': 1}); "
        "print(sorted(m for m in ('jsonschema', 'openai', 'anthropic', 'langchain', "
        "'langchain_core', 'pydantic') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
