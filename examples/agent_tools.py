"""An agent loop on refiner_async.actions: tool definitions go to the model, its tool calls to run_action.

Against the emulator (it prints its base URL and API key):

    refiner-async emulator --port 8080
    export REFINER_API_KEY=<the key it printed> REFINER_BASE_URL=http://127.0.0.1:8080/v1
    python examples/agent_tools.py

The model here is a script, so that the loop runs with no LLM and no network beyond the API: given
the tools, it asks which published survey has the best NPS, calling the tools by name with JSON
arguments, and reading each result. Its first call has a bad argument: ``run_action`` answers it
with an error envelope (``successful: False`` and an error naming the parameter) instead of raising,
the model reads it and calls again. With a real model, pass ``openai_tools(names)`` or
``anthropic_tools(names)`` as its ``tools=``, hand each tool call's name and arguments (JSON text
or a dict) to ``run_action``, and send the envelope back as the tool's result.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Generator
from typing import Any, NamedTuple

from refiner_async import RefinerClient
from refiner_async.actions import ACTIONS, run_action, tool_definitions

#: The tools this agent may use: the read-only actions (no deletes, no writes).
READ_ONLY = [name for name, action in ACTIONS.items() if action.read_only]
ENVELOPE = ("data", "error", "successful")  # the keys every result has


class ToolCall(NamedTuple):
    """A tool call as a model sends it: a tool's name and its arguments as JSON text."""

    name: str
    arguments: str


Model = Generator[ToolCall, dict[str, Any], str]


def scripted_model(tools: list[dict[str, Any]]) -> Model:
    """Stands in for an LLM: yields tool calls, is sent each call's result, returns its answer."""
    offered = {tool["name"] for tool in tools}  # a real model also reads descriptions and schemas

    def call(name: str, **arguments: Any) -> ToolCall:
        if name not in offered:
            raise ValueError(f"{name} was not offered to the model")
        return ToolCall(name, json.dumps(arguments))

    forms = yield call("REFINER_GET_FORMS", list="live")  # not a value of "list"
    if not forms["successful"]:  # the error names the parameter and its values: call again
        forms = yield call("REFINER_GET_FORMS", list="published")
    scores: dict[str, float] = {}
    for form in forms["data"]["items"]:
        report = yield call("REFINER_GET_REPORTING", type="nps", form_uuids=[form["uuid"]])
        if report["successful"] and report["count"]:  # surveys without NPS answers count 0
            scores[form["name"]] = report["nps"]
    if not scores:
        return "No published survey has NPS answers."
    best = max(scores, key=scores.__getitem__)
    return f"{best} has the best NPS, {scores[best]:g}, of {len(scores)} surveys with NPS answers."


def summary(result: dict[str, Any]) -> str:
    """One line for a tool's result."""
    if not result["successful"]:
        return f"error: {result['error']}"
    data = result["data"]
    if "items" in data:  # a list action: one page
        return "; ".join(item.get("name", item.get("uuid", "?")) for item in data["items"])
    figures = {**result, **data}  # a report: its figures beside data, and data's counts
    return json.dumps({k: v for k, v in figures.items() if k not in ENVELOPE and v is not None})


async def run_agent(client: RefinerClient, model: Model) -> str:
    """Dispatch the model's tool calls to the actions until it answers."""
    call = next(model)
    while True:
        result = await run_action(client, call.name, call.arguments)  # never raises
        print(f"{call.name} {call.arguments}\n  -> {summary(result)}")
        try:
            call = model.send(result)
        except StopIteration as answer:
            return str(answer.value)


async def main() -> None:
    tools = tool_definitions(READ_ONLY)  # [{"name", "description", "parameters"}, ...]
    print("tools:", ", ".join(tool["name"] for tool in tools))
    async with RefinerClient() as client:  # REFINER_API_KEY, and REFINER_BASE_URL when set
        answer = await run_agent(client, scripted_model(tools))
    print("answer:", answer)


if __name__ == "__main__":
    asyncio.run(main())
