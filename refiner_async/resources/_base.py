"""What every resource shares: the client it calls through, one-object calls, and list calls.

A resource validates its arguments (``_validate``), sends one request through the client's HTTP
core (limiter, retries, error mapping) with a codec that decodes the reply (:mod:`.._codec`), and
reads it with the converter. List calls return a :class:`~refiner_async._pagination.Paginator` given
one page fetch and a :class:`~refiner_async._codec.PageCodec`.
"""

from __future__ import annotations

import operator
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .. import _protocol, _validate
from .._codec import DictPageCodec, PageCodec
from .._converters import structure
from .._http import Decode
from .._pagination import Fetch, PaginationMode, Paginator, Windowing
from ..errors import ResponseValidationError

if TYPE_CHECKING:  # the client imports the resources; this import is for the annotations only
    from .._client import RefinerClient

__all__ = ["Resource", "page_fetch"]

T = TypeVar("T")

_UUID_OF = operator.attrgetter("uuid")  # an item's identity, read in C


def page_fetch(client: RefinerClient, path: str) -> Fetch:
    """The paginator's ``fetch(params, decode)``: one ``GET path`` with exactly ``params``."""

    def fetch(params: dict[str, Any], decode: Decode[Any] | None) -> Awaitable[Any]:
        return client._core.request("GET", path, params=params, decode=decode)

    return fetch


class Resource:
    """Base of the resource classes: holds the client."""

    def __init__(self, client: RefinerClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} resource>"

    def _refuse_error_body(self, payload: Any, method: str, path: str) -> None:
        """Raise ResponseValidationError when a 2xx reply is only an error (see
        ``_protocol.error_in_success``); its text is quoted with the API key scrubbed."""
        error = _protocol.error_in_success(payload)
        if error is not None:
            text = _protocol.redact(error, self._client._core._api_key)[:200]
            raise ResponseValidationError(
                f"a 2xx reply carrying only an error: {text}",
                method=method,
                path=path,
                field_path="error",
            )

    async def _json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        idempotent: bool = True,
    ) -> Any:
        """Send one call; its reply's JSON (``None`` for an empty body), refused when it is only
        an error (see ``_protocol.error_in_success``). Calls whose reply carries nothing but a
        message await it and ignore the result."""
        client = self._client
        payload = await client._core.request(
            method,
            path,
            params=params,
            json=json,
            idempotent=idempotent,
            decode=client._decoding.json,
        )
        self._refuse_error_body(payload, method, path)
        return payload

    async def _fetch_one(
        self,
        method: str,
        path: str,
        model: type[T],
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        idempotent: bool = True,
    ) -> T:
        """Send one call and read its reply as ``model`` (an empty reply reads as ``{}``)."""
        payload = await self._json(method, path, params=params, json=json, idempotent=idempotent)
        return structure({} if payload is None else payload, model, method=method, path=path)

    def _list(
        self,
        path: str,
        item_type: type[T],
        *,
        filters: Mapping[str, Any],
        page_length: int,
        max_items: int | None,
        pagination: PaginationMode = "auto",
        resume: str | None = None,
        supports_cursor: bool = True,
        windowing: Windowing | None = None,
    ) -> Paginator[T]:
        """A Paginator over ``GET path`` with the call's ``filters`` (None values left out).

        New items may land anywhere in every list (a response stored with a past ``date``, names,
        ``last_seen_at``), so ``"auto"`` never reads by page number where there are cursors;
        ``windowing`` lets it read a long list in date windows, several at once.
        """
        mode: PaginationMode = _validate.choice(  # type: ignore[assignment]
            "pagination", pagination, _validate.PAGINATION_MODES
        )
        params = {k: v for k, v in filters.items() if v is not None}
        _validate.query_budget(params)
        return Paginator(
            page_fetch(self._client, path),
            PageCodec(self._client._decoding, item_type),
            raw_codec=DictPageCodec(self._client._decoding),
            params=params,
            page_length=_validate.page_length(page_length),
            max_items=_validate.max_items(max_items),
            mode=mode,
            supports_cursor=supports_cursor,
            new_items_first=False,
            windowing=windowing,
            resume=_validate.resume(resume),
            window=self._client.max_concurrency,
            endpoint=path,
            key=_UUID_OF,
        )
