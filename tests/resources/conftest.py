"""Fixtures for the resource tests: a client with instant retries and a mocked Refiner API.

``api`` wraps aioresponses: register answers with full URLs (query string included) and read back
exactly what was sent (method, path, query pairs in order, decoded JSON body).
"""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import attrs
import orjson
import pytest
from aioresponses import CallbackResult, aioresponses

from refiner_async import RefinerClient
from refiner_async._retry import instant_retries

BASE_URL = "https://api.refiner.test/v1"
API_KEY = "0123456789abcdef0123456789abcdef01234567"  # 40 hex characters, shaped like a real key


@attrs.frozen
class Sent:
    """One request as the mock received it."""

    method: str
    path: str
    params: list[tuple[str, str]]
    json: Any

    def filters(self) -> list[tuple[str, str]]:
        """The query pairs other than the paginator's own (page, page_length, page_cursor)."""
        return [p for p in self.params if p[0] not in ("page", "page_length", "page_cursor")]

    def param(self, name: str) -> str | None:
        values = [v for k, v in self.params if k == name]
        return values[0] if values else None


class MockAPI:
    """Answers registered by full URL; ``sent()`` lists every request received, in order."""

    def __init__(self, mock: aioresponses) -> None:
        self.mock = mock
        self._log: list[Sent] = []

    @staticmethod
    def url(path: str, query: list[tuple[str, str]] | dict[str, str] | None = None) -> str:
        url = BASE_URL + path
        return f"{url}?{urlencode(query, safe='[]')}" if query else url

    def _record(self, url: Any, **kwargs: Any) -> None:
        body = kwargs.get("data")
        self._log.append(
            Sent(
                method=kwargs.get("method", ""),
                path=url.path.removeprefix("/v1"),
                params=list(kwargs.get("params") or []),
                json=orjson.loads(body) if body else None,
            )
        )

    def add(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | dict[str, str] | None = None,
        *,
        payload: Any = None,
        status: int = 200,
        body: str | None = None,
        headers: dict[str, str] | None = None,
        repeat: bool = False,
        pattern: bool = False,
    ) -> None:
        """Answer ``method path?query`` (or any query of ``path`` with ``pattern=True``)."""
        target: Any = (
            re.compile(re.escape(BASE_URL + path) + r"(\?.*)?$")
            if pattern
            else self.url(path, query)
        )

        def callback(url: Any, **kwargs: Any) -> CallbackResult:
            self._record(url, method=method, **kwargs)
            return CallbackResult(
                status=status,
                payload=payload if body is None else None,
                body=body,
                headers=headers,
            )

        self.mock.add(target, method, callback=callback, repeat=repeat)

    def add_pages(self, path: str, pages: list[dict[str, Any]]) -> None:
        """Serve ``pages`` (list envelopes) by the ``page`` query parameter, for any filters."""

        def callback(url: Any, **kwargs: Any) -> CallbackResult:
            self._record(url, method="GET", **kwargs)
            params = dict(kwargs.get("params") or [])
            number = int(params.get("page", "1"))
            if not 1 <= number <= len(pages):
                return CallbackResult(payload={"items": [], "pagination": {}})
            return CallbackResult(payload=pages[number - 1])

        target = re.compile(re.escape(BASE_URL + path) + r"(\?.*)?$")
        self.mock.add(target, "GET", callback=callback, repeat=True)

    def sent(self) -> list[Sent]:
        return list(self._log)

    def only(self) -> Sent:
        """The one request sent (fails if there were more or none)."""
        assert len(self._log) == 1, self._log
        return self._log[0]


@pytest.fixture
def api() -> Iterator[MockAPI]:
    with aioresponses() as mock:
        yield MockAPI(mock)


@pytest.fixture
async def client() -> AsyncIterator[RefinerClient]:
    with instant_retries():
        async with RefinerClient(
            API_KEY, base_url=BASE_URL, rate_limit=None, per_user_rate_limit=None
        ) as refiner:
            yield refiner


def envelope(
    items: list[Any],
    *,
    page: int = 1,
    last_page: int = 1,
    page_length: int = 1000,
    items_count: int | None = None,
    cursor: str | None = None,
    with_cursor: bool = True,
) -> dict[str, Any]:
    """A list answer as the API shapes it."""
    pagination: dict[str, Any] = {
        "items_count": len(items) if items_count is None else items_count,
        "current_page": page,
        "last_page": last_page,
        "page_length": page_length,
    }
    if with_cursor:
        pagination["next_page_cursor"] = cursor
    return {"items": items, "pagination": pagination}


@pytest.fixture
def make_envelope() -> Any:
    return envelope


# --- payloads shaped like the examples in the API reference ------------------------------------

_CONTACT = {
    "uuid": "15cce3d0-ed5d-11ea-aaef-e58a2a43e996",
    "remote_id": "Your-Contact-ID",
    "email": "jane@awesome.com",
    "display_name": "Jane Doe",
    "first_seen_at": "2020-09-02T20:44:24.000000Z",
    "last_seen_at": "2020-09-02T21:57:50.000000Z",
    "attributes": {"a_user_attribute": "Manager", "a_survey_answer": "9"},
    "segments": [{"uuid": "0ff87720-9ae5-11ea-bce5-65a395204572", "name": "Power Users Segment"}],
    "account": {
        "uuid": "15d08cc0-ed5d-11ea-b2ce-c1b46bd4b7c4",
        "remote_id": "Your-Account-Id",
        "domain": "awesome.com",
        "display_name": "Awesome Inc.",
        "first_seen_at": "2020-09-02T20:44:24.000000Z",
        "last_seen_at": "2020-09-02T21:57:50.000000Z",
        "attributes": {"an_account_attribute": "Computer Software"},
    },
}

_RESPONSE = {
    "uuid": "cb47c260-ed64-11ea-8187-a7fc8351fba4",
    "first_shown_at": "2020-09-02 21:53:33",
    "last_shown_at": "2020-09-02 21:53:33",
    "show_counter": 1,
    "first_data_reception_at": "2020-09-02 21:53:33",
    "last_data_reception_at": "2020-09-02 21:53:33",
    "completed_at": "2020-09-02 21:53:33",
    "received_at": "2020-09-02 21:53:33",
    "dismissed_at": None,
    "form": {"uuid": "3894dc20-8fe9-11ea-892e-d13af52e06ae", "name": "My first survey"},
    "data": {"first_question": "First Reply", "second_question": "Second Reply"},
    "contact": {
        "uuid": "e5365340-ed47-11ea-9a73-61d23f380055",
        "remote_id": "YOUR-USER-ID-123",
        "email": "jane@awesome.com",
        "display_name": "Jane Doe",
        "account": {
            "uuid": "5ab55ab0-ebf3-11ea-a442-4fa2c72e1cf7",
            "remote_id": "Your account ID",
            "display_name": "Awesome Inc.",
            "domain": None,
        },
    },
}

_FORM = {
    "uuid": "3894dc20-8fe9-11ea-892e-d13af52e06ae",
    "name": "My first survey",
    "channels": ["web"],
    "created_at": "2020-05-06T10:00:00.000000Z",
    "updated_at": "2020-05-07T10:00:00.000000Z",
    "published_at": "2020-05-06T11:00:00.000000Z",
    "archived_at": None,
    "first_form_view_at": "2020-05-06T11:05:00.000000Z",
    "last_form_view_at": "2020-09-02T21:53:33.000000Z",
    "responses_count": 120,
    "views_count": 800,
    "folder": None,
    "page_url": None,
}

_SEGMENT = {
    "uuid": "0ff87720-9ae5-11ea-bce5-65a395204572",
    "name": "Power Users Segment",
    "is_manual": True,
}


@pytest.fixture
def payloads() -> SimpleNamespace:
    """Fresh copies of the example payloads: ``contact``, ``response``, ``form``, ``segment``."""
    return SimpleNamespace(
        contact=copy.deepcopy(_CONTACT),
        response=copy.deepcopy(_RESPONSE),
        form=copy.deepcopy(_FORM),
        segment=copy.deepcopy(_SEGMENT),
    )
