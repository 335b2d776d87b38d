"""The JSON Schema subset the action schemas use, and the one validator that checks it.

Schemas are JSON Schema draft 2020-12. The validator understands exactly the keywords the schemas
use: ``type`` (a name or a list of names), ``enum``, ``minimum``, ``maximum``, ``minLength``, ``required``,
``properties``, ``additionalProperties`` (``false`` or a schema), ``items`` and ``format: email``.
Other keywords (``description``, ``default``, ``format: date-time``...) are annotations: the
resource behind each action checks dates itself before anything is sent. The tests hold this
validator against ``jsonschema``'s Draft202012Validator on valid and invalid samples; jsonschema is
a test dependency only.

Errors are :class:`~refiner_async.errors.InvalidParameterError` naming the parameter, e.g.
``page_length``, ``form_uuids[2]`` or ``account.id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import _validate
from ..errors import InvalidParameterError

__all__ = [
    "ANNOTATIONS",
    "DRAFT",
    "KEYWORDS",
    "check",
    "date_time",
    "email",
    "integer",
    "object_schema",
    "string",
    "string_array",
]

DRAFT = "https://json-schema.org/draft/2020-12/schema"

#: Every keyword the validator reads; a schema using another validating keyword is a mistake.
KEYWORDS = frozenset(
    {
        "type",
        "enum",
        "minimum",
        "maximum",
        "minLength",
        "required",
        "properties",
        "additionalProperties",
        "items",
        "format",
    }
)
#: Keywords that only annotate (ignored by the validator, kept for agents and frameworks).
ANNOTATIONS = frozenset({"$schema", "title", "description", "default", "examples"})

Schema = Mapping[str, Any]


# --- schema fragments ----------------------------------------------------------------------------


def string(description: str, **extra: Any) -> dict[str, Any]:
    """``{"type": "string"}`` with a description (and any other keywords)."""
    return {"type": "string", "description": description, **extra}


def email(description: str) -> dict[str, Any]:
    """A string in ``email`` format."""
    return string(description, format="email")


def date_time(description: str) -> dict[str, Any]:
    """An ISO-8601 timestamp string (``format: date-time``, checked by the resource)."""
    return string(description, format="date-time")


def integer(
    description: str, *, minimum: int | None = None, maximum: int | None = None
) -> dict[str, Any]:
    """An integer, optionally bounded."""
    schema: dict[str, Any] = {"type": "integer", "description": description}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def string_array(description: str) -> dict[str, Any]:
    """An array of strings."""
    return {"type": "array", "items": {"type": "string"}, "description": description}


def object_schema(
    properties: Mapping[str, Any], *, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The input schema of an action: a closed object (unknown parameters are refused)."""
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "type": "object",
        "properties": dict(properties),
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


# --- the validator -------------------------------------------------------------------------------

_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


def _json_type(value: object) -> str:
    """The JSON type name of a Python value (what a JSON decoder would have produced)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def _matches(value_type: str, wanted: str) -> bool:
    return value_type == wanted or (wanted == "number" and value_type == "integer")


def _child(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def check(schema: Schema, value: Any, where: str = "") -> Any:
    """Check ``value`` against ``schema``; returns it with integral floats made ints.

    Raises:
        InvalidParameterError: naming ``where`` (the parameter path; ``params`` at the top).
    """
    param = where or "params"
    wanted = schema.get("type")
    if wanted is not None:
        allowed = [wanted] if isinstance(wanted, str) else list(wanted)
        value_type = _json_type(value)
        if not any(_matches(value_type, t) for t in allowed):
            words = " or ".join(_TYPE_WORDS.get(t, t) for t in allowed)
            raise InvalidParameterError(
                param, f"expected {words}, got {_TYPE_WORDS.get(value_type, value_type)}"
            )
        if value_type == "integer" and isinstance(value, float):
            value = int(value)
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and not _validate.MIN_INT <= value <= _validate.MAX_INT
    ):
        raise InvalidParameterError(param, "integer out of the signed 64-bit range")
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(str(v) for v in schema["enum"])
        raise InvalidParameterError(param, f"must be one of {choices}; got {value!r}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise InvalidParameterError(param, f"must be >= {schema['minimum']}; got {value}")
        if "maximum" in schema and value > schema["maximum"]:
            raise InvalidParameterError(param, f"must be <= {schema['maximum']}; got {value}")
    if isinstance(value, str) and len(value) < schema.get("minLength", 0):
        raise InvalidParameterError(param, "must not be empty")
    if schema.get("format") == "email" and isinstance(value, str):
        _validate.email_address(value, param)
    if isinstance(value, Mapping):
        return _check_object(schema, value, where)
    if isinstance(value, list | tuple) and "items" in schema:
        return [check(schema["items"], item, f"{param}[{i}]") for i, item in enumerate(value)]
    return value


def _check_object(schema: Schema, value: Mapping[Any, Any], where: str) -> dict[str, Any]:
    properties: Mapping[str, Schema] = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key in value:
        if not isinstance(key, str):
            raise InvalidParameterError(where or "params", f"keys must be strings; got {key!r}")
        if key not in properties and extra is False:
            known = ", ".join(properties) or "none"
            kind = "key" if where else "parameter"
            raise InvalidParameterError(_child(where, key), f"unknown {kind} (accepted: {known})")
    for name in schema.get("required", ()):
        if name not in value:
            kind = "key" if where else "parameter"
            raise InvalidParameterError(_child(where, name), f"required {kind} is missing")
    checked: dict[str, Any] = {}
    for key, item in value.items():
        sub = properties.get(key)
        if sub is None:
            sub = extra if isinstance(extra, Mapping) else {}
        checked[key] = check(sub, item, _child(where, key))
    return checked
