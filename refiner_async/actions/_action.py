"""An action: a name, a description, an input schema, and a run that always returns an envelope.

The envelope is the catalog's: ``{"data": {...}, "error": None, "successful": True}`` on success and
``{"data": {}, "error": "<readable text>", "successful": False}`` on any failure (bad parameters, an
API error, a connection problem). Running an action never raises, except for cancellation.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import InvalidParameterError, RefinerError
from . import _schema

if TYPE_CHECKING:
    from .._client import RefinerClient

__all__ = ["Action", "Handler", "describe_error", "failure"]

#: Runs an action with checked parameters; returns the envelope's fields besides error/successful
#: (always ``data``; GET_REPORTING also its report figures).
Handler = Callable[["RefinerClient", dict[str, Any]], Awaitable[dict[str, Any]]]

MAX_ERROR_CHARS = 1000  # an error text longer than this is cut


def describe_error(exc: Exception) -> str:
    """The envelope's ``error`` text for ``exc``: what went wrong, with the parameter or the call.

    The SDK's errors carry no API key, headers or raw aiohttp objects, so their text is safe to show.
    """
    if isinstance(exc, InvalidParameterError):
        text = f"invalid parameter {exc}"
    elif isinstance(exc, RefinerError):
        text = f"{type(exc).__name__}: {exc}"
    else:
        text = f"unexpected {type(exc).__name__}: {exc}"
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def failure(error: str, fields: tuple[str, ...] = ()) -> dict[str, Any]:
    """A failed envelope; ``fields`` are extra envelope keys set to None (GET_REPORTING's figures)."""
    return {"data": {}, **dict.fromkeys(fields), "error": error, "successful": False}


def _decode(params: object) -> Mapping[Any, Any]:
    """The parameters as a mapping: None is ``{}``, a JSON text (as tool calls carry it) is decoded."""
    if params is None:
        return {}
    if isinstance(params, str | bytes | bytearray):
        try:
            params = json.loads(params or "{}")
        except ValueError as exc:
            raise InvalidParameterError("params", f"not valid JSON ({exc})") from None
    if not isinstance(params, Mapping):
        raise InvalidParameterError("params", f"expected an object, got {type(params).__name__}")
    return params


@attrs.frozen(weakref_slot=False)
class Action:
    """One Refiner action as an agent tool.

    Attributes:
        name: the catalog name, e.g. ``REFINER_GET_CONTACT``.
        title: a short human title, e.g. ``Get Contact``.
        description: what the action does and when to use it (for the model).
        read_only: True when the action changes nothing on the Refiner side.
    """

    name: str
    title: str
    description: str
    _schema: dict[str, Any] = attrs.field(alias="schema", repr=False)
    _handler: Handler = attrs.field(alias="handler", repr=False)
    read_only: bool = True
    #: Envelope keys besides data/error/successful (GET_REPORTING's figures), with their schemas.
    _result_schemas: dict[str, Any] = attrs.field(alias="result_schemas", factory=dict, repr=False)

    @property
    def result_fields(self) -> tuple[str, ...]:
        """Envelope keys besides ``data``, ``error`` and ``successful``, present on success and
        failure alike (null then). Only GET_REPORTING has any: its report figures."""
        return tuple(self._result_schemas)

    @property
    def parameters(self) -> dict[str, Any]:
        """The input JSON Schema (draft 2020-12); a fresh copy each time."""
        return copy.deepcopy(self._schema)

    @property
    def output_schema(self) -> dict[str, Any]:
        """The JSON Schema of the envelope this action returns (success or failure)."""
        properties: dict[str, Any] = {
            "data": {"type": "object", "description": "Data from the action execution"},
            "error": {
                "type": ["string", "null"],
                "description": "Error if any occurred during the execution of the action",
            },
            "successful": {
                "type": "boolean",
                "description": "Whether or not the action execution was successful or not",
            },
            **copy.deepcopy(self._result_schemas),
        }
        return {
            "$schema": _schema.DRAFT,
            "type": "object",
            "properties": properties,
            "required": ["data", "error", "successful", *self.result_fields],
        }

    def validate(self, params: object = None) -> dict[str, Any]:
        """The parameters checked against the input schema, ready for the handler.

        ``params`` may be a mapping, a JSON text or None (no parameters). A parameter given as
        null counts as not given.

        Raises:
            InvalidParameterError: naming the parameter (an unknown one included).
        """
        given = {key: value for key, value in _decode(params).items() if value is not None}
        checked: dict[str, Any] = _schema.check(self._schema, given)
        return checked

    async def run(self, client: RefinerClient, params: object = None) -> dict[str, Any]:
        """Check ``params``, call the API through ``client``, and return the envelope.

        Nothing is sent when the parameters are invalid. Never raises (cancellation aside).
        """
        try:
            checked = self.validate(params)
            result = await self._handler(client, checked)
        except Exception as exc:  # every failure becomes the envelope's error text
            return failure(describe_error(exc), self.result_fields)
        return {**result, "error": None, "successful": True}
