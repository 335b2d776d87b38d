"""JSON text for any value the SDK decoded, however deep: orjson, and a plain writer past its depth.

orjson decodes documents up to 1024 levels deep but encodes only 254, so a response value nested
300 levels deep is accepted by the client and then cannot be written back by orjson. The export
writes each row with :func:`dumps`: orjson's output when it can, otherwise the same text built
level by level without recursion (scalars and keys still encoded by orjson, so strings, numbers
and escapes are byte for byte what orjson writes). What the client accepted can thus always be
written, and reading the line back with orjson gives the value again (a row is shallower than the
page it came in, which orjson read).
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["dumps"]


class _Literal:
    """Text to emit as it is (a bracket, a comma, a key), as opposed to a value to encode."""

    __slots__ = ("text",)

    def __init__(self, text: bytes) -> None:
        self.text = text


_CLOSE_OBJECT = _Literal(b"}")
_CLOSE_ARRAY = _Literal(b"]")


def dumps(value: Any) -> bytes:
    """``value`` as compact JSON text, like ``orjson.dumps``, at any depth.

    TypeError (orjson's ``JSONEncodeError``) for what JSON cannot hold, as orjson raises it.
    """
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        if "recursion" not in str(exc).lower():
            raise
    return _dumps_deep(value)


def _dumps_deep(value: Any) -> bytes:
    out: list[bytes] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if type(item) is _Literal:
            out.append(item.text)
        elif isinstance(item, dict):
            if not item:
                out.append(b"{}")
                continue
            out.append(b"{")
            stack.append(_CLOSE_OBJECT)
            pairs = list(item.items())
            for index in range(len(pairs) - 1, -1, -1):
                key, member = pairs[index]
                if not isinstance(key, str):
                    raise orjson.JSONEncodeError(f"Dict key must be str, not {type(key).__name__}")
                stack.append(member)
                stack.append(_Literal((b"," if index else b"") + orjson.dumps(key) + b":"))
        elif isinstance(item, list | tuple):
            if not item:
                out.append(b"[]")
                continue
            out.append(b"[")
            stack.append(_CLOSE_ARRAY)
            for index in range(len(item) - 1, -1, -1):
                stack.append(item[index])
                if index:
                    stack.append(_Literal(b","))
        else:
            out.append(orjson.dumps(item))
    return b"".join(out)
