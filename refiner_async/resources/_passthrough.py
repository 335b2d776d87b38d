"""The escape hatch: ``client.get``/``post`` (decoded JSON) and ``get_raw``/``post_raw``
(:class:`RawResponse`) for endpoints the SDK does not wrap.

The path and arguments are checked before anything is sent; the call then takes the same road as
every resource call: the client's limiter, retry policy (a POST, which may record something each
time it arrives, is retried only when provably unsent or refused with 429), deadline and errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from .. import _protocol, _validate
from .._http import RawResponse
from ..errors import InvalidParameterError
from ._base import Resource

__all__ = ["Passthrough"]


class Passthrough(Resource):
    """Calls by path, for the client's ``get``, ``post``, ``get_raw`` and ``post_raw``."""

    async def json(
        self,
        method: str,
        path: str,
        *,
        params: object = None,
        json: object = None,
    ) -> Any:
        """The decoded JSON of a 2xx reply (``None`` for an empty body); a 2xx body that is only
        ``{"error": ...}`` raises ``ResponseValidationError``, as it does for every call."""
        path, query, body = _checked(path, params, json)
        return await self._json(method, path, params=query, json=body, idempotent=method == "GET")

    async def raw(
        self,
        method: str,
        path: str,
        *,
        params: object = None,
        json: object = None,
    ) -> RawResponse:
        """The 2xx reply's status, headers and undecoded body; non-2xx replies raise as usual."""
        path, query, body = _checked(path, params, json)
        return await self._client._core.request(
            method, path, params=query, json=body, idempotent=method == "GET"
        )


def _checked(
    path: object, params: object, json: object
) -> tuple[str, Mapping[str, Any] | None, Mapping[str, Any] | None]:
    """The call's path, query parameters and JSON body, checked; InvalidParameterError otherwise."""
    checked_path = _validate.api_path(path)
    query = _validate.mapping_or_none("params", params)
    if query:
        _validate.query_budget(query)
    body = _validate.mapping_or_none("json", json)
    if body is not None:
        try:
            orjson.dumps(_protocol.encode_json(body))
        except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
            raise InvalidParameterError("json", f"cannot be sent as JSON ({exc})") from None
    return checked_path, query, body
