"""What every resource shares: the client it calls through, one-object calls, and list calls.

A resource validates its arguments (``_validate``), sends one request through the client's
``_request`` (limiter, retries, error mapping), and reads the answer with the converter. List calls
return a :class:`~refiner_async._pagination.Paginator` fed by :func:`page_fetchers`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .. import _protocol, _validate
from .._converters import structure, structure_page
from .._pagination import FetchPage, FetchPageLater, PaginationMode, Paginator
from ..errors import ResponseValidationError
from ..models.page import Page

if TYPE_CHECKING:  # the client imports the resources; this import is for the annotations only
    from .._client import RefinerClient

__all__ = ["Resource", "page_fetchers"]

T = TypeVar("T")

_UUID_OF = operator.attrgetter("uuid")  # an item's identity, read in C


def page_fetchers(
    client: RefinerClient, path: str, item_type: type[T]
) -> tuple[FetchPage[T], FetchPageLater[T]]:
    """The paginator's ``fetch`` and ``fetch_later``: one ``GET path`` with exactly the given
    params, read as a Page at once or when the page is handed out."""

    def read(payload: Any) -> Page[T]:
        return structure_page(payload, item_type, method="GET", path=path)

    async def fetch(params: dict[str, Any]) -> Page[T]:
        page: Page[T] = await client._request("GET", path, params=params, read=read)
        return page

    async def fetch_later(params: dict[str, Any]) -> Callable[[], Page[T]]:
        opener: Callable[[], Page[T]] = await client._request(
            "GET", path, params=params, read=read, later=True
        )
        return opener

    return fetch, fetch_later


class Resource:
    """Base of the resource classes: holds the client."""

    def __init__(self, client: RefinerClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} resource>"

    def _refuse_error_body(self, payload: Any, method: str, path: str) -> None:
        """Raise ResponseValidationError when a 2xx answer is only an error (see
        ``_protocol.error_in_success``); its text is quoted with the API key scrubbed."""
        error = _protocol.error_in_success(payload)
        if error is not None:
            text = _protocol.redact(error, self._client._core._api_key)[:200]
            raise ResponseValidationError(
                f"a 2xx answer carrying only an error: {text}",
                method=method,
                path=path,
                field_path="error",
            )

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
        """Send one call and read its answer as ``model`` (an empty answer reads as ``{}``)."""
        payload = await self._client._request(
            method, path, params=params, json=json, idempotent=idempotent
        )
        self._refuse_error_body(payload, method, path)
        return structure({} if payload is None else payload, model, method=method, path=path)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        idempotent: bool = True,
    ) -> None:
        """Send one call whose answer carries nothing but a message (any 2xx is success, unless its
        body is only an error)."""
        payload = await self._client._request(
            method, path, params=params, json=json, idempotent=idempotent
        )
        self._refuse_error_body(payload, method, path)

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
        new_items_first: bool = False,
    ) -> Paginator[T]:
        """A Paginator over ``GET path`` with the call's ``filters`` (None values left out).

        ``new_items_first`` says that new items only ever appear at the start of the order (responses,
        newest first); only such lists may be read by concurrent page numbers under ``"auto"``.
        """
        mode: PaginationMode = _validate.choice(  # type: ignore[assignment]
            "pagination", pagination, _validate.PAGINATION_MODES
        )
        params = {k: v for k, v in filters.items() if v is not None}
        _validate.query_budget(params)
        fetch, fetch_later = page_fetchers(self._client, path, item_type)
        return Paginator(
            fetch,
            fetch_later=fetch_later,
            params=params,
            page_length=_validate.page_length(page_length),
            max_items=_validate.max_items(max_items),
            mode=mode,
            supports_cursor=supports_cursor,
            new_items_first=new_items_first,
            resume=_validate.resume(resume),
            window=self._client.max_concurrency,
            endpoint=path,
            key=_UUID_OF,
        )
