"""FakeRefiner: the Refiner API v1 served by aiohttp.web on 127.0.0.1, with faults and a journal.

Every request to ``/v1/...`` goes through one pipeline, in this order: journal entry (arrival) ->
latency -> parameters (query + body) -> scripted fault -> authentication -> rate limit -> per-user
limit -> endpoint -> fault post-processing (truncate, bad JSON, reset after commit) -> live
mutation hook. ``/__admin/...`` paths skip all of it and need no key.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
import random
import re
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, urlencode

import orjson
from aiohttp import web

from ._data import build_dataset
from ._faults import (
    FaultPlan,
    FixedWindow,
    SlidingWindow,
    TokenBucket,
    normalize_path,
    retry_after_header,
)
from ._journal import Journal, JournalEntry
from ._params import ApiError, Params, bad_request, merge, parse_pairs
from ._records import INCLUDE_KINDS, KIND_NAMES
from ._store import Store

__all__ = ["FakeRefiner", "serve"]

logger = logging.getLogger("refiner_async.testing")

_UUID_KEY: Final = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_HEX_KEY: Final = re.compile(r"^[0-9a-fA-F]{32,64}$")
_KEY_MIN: Final = 8
_JSON: Final = "application/json"
_RATE_LIMITED: Final = {"error": "You are doing this too often."}
_HTML_ERRORS: Final = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}

Handler = Callable[[Params], tuple[int, bytes]]


@dataclass(slots=True, frozen=True)
class _MutationPlan:
    every: int | None  # GET /responses served between rounds
    insert: int
    delete: int
    where: Literal["head", "random"]
    kind: str


def _json(status: int, body: Any) -> tuple[int, bytes]:
    return status, orjson.dumps(body)


class FakeRefiner:
    """An in-process Refiner API with seeded data, fault injection, rate limits and a journal.

    ``async with FakeRefiner(seed=1, responses=5000) as fake:`` then point a client at
    ``fake.base_url`` with ``fake.api_key``. See ``refiner_async.testing.ASSUMPTIONS`` for every
    behaviour the emulator chose where the API is not documented.
    """

    def __init__(
        self,
        *,
        seed: int = 1,
        contacts: int | None = None,
        responses: int = 1000,
        forms: int = 8,
        segments: int = 6,
        accounts: int | None = None,
        api_key: str | None = None,
        project_name: str = "Production",
        now: datetime | float | None = None,
        span_days: int = 365,
        page_length_default: int = 50,
        strict_page_length: bool = False,
        contacts_order: Literal["asc", "desc"] = "asc",
        latency: float = 0.0,
        jitter: float = 0.0,
        rate_limit: float | None = None,
        rate_burst: float | None = None,
        rate_window: float | None = None,
        per_user_limit: bool | int = False,
        decimal_retry_after: bool = False,
        cache_items: int | None = 200_000,  # response heads (JSON) kept, None: all
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if contacts_order not in ("asc", "desc"):
            raise ValueError("contacts_order must be 'asc' or 'desc'")
        if not 1 <= page_length_default <= 1000:
            raise ValueError("page_length_default must be between 1 and 1000")
        contacts = max(20, responses // 10) if contacts is None else contacts
        accounts = max(3, contacts // 8) if accounts is None else accounts
        if now is None:
            anchor = int(time.time()) // 86400 * 86400  # midnight UTC: same data all day long
        elif isinstance(now, datetime):
            anchor = int((now if now.tzinfo else now.replace(tzinfo=UTC)).timestamp())
        else:
            anchor = int(now)
        self.seed = seed
        self.api_key = (
            api_key
            or hashlib.sha1(f"refiner-fake-{seed}".encode(), usedforsecurity=False).hexdigest()
        )
        self.host = host
        self.port = port
        self.latency = latency
        self.jitter = jitter
        self.decimal_retry_after = decimal_retry_after
        started = time.perf_counter()
        dataset = build_dataset(
            seed=seed,
            contacts=contacts,
            responses=responses,
            forms=forms,
            segments=segments,
            accounts=accounts,
            anchor=anchor,
            span_days=span_days,
        )
        self.build_seconds = time.perf_counter() - started
        self.store = Store(
            dataset,
            seed=seed,
            project_name=project_name,
            page_length_default=page_length_default,
            strict_page_length=strict_page_length,
            contacts_order=contacts_order,
            cache_items=cache_items,
            clock=time.time if clock is None else clock,  # epoch seconds of writes made "now"
        )
        self.faults = FaultPlan(seed)
        self.journal = Journal()
        self._latency_rng = random.Random(f"{seed}-latency")
        self._rate_limit = rate_limit
        self._rate_burst = rate_burst
        self._rate_window = rate_window
        self._bucket: TokenBucket | FixedWindow | None = None
        per_user = 100 if per_user_limit is True else int(per_user_limit)
        self._per_user = SlidingWindow(per_user) if per_user > 0 else None
        self._runner: web.AppRunner | None = None
        self._t0 = time.monotonic()
        self._mutation: _MutationPlan | None = None
        self._mutation_task: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[Any]] = set()  # requests being served
        self._responses_served = 0
        self._mutation_rounds = 0
        self._routes: dict[tuple[str, str], Handler] = {
            ("GET", "/"): self._root,
            ("GET", "/account"): lambda p: _json(200, self.store.account_info()),
            ("GET", "/contact"): self._get_contact,
            ("DELETE", "/contact"): self._delete_contact,
            ("GET", "/contacts"): lambda p: (200, self.store.list_contacts(p)),
            ("POST", "/identify-user"): self._identify,
            ("POST", "/track-event"): self._track,
            ("POST", "/track"): self._track,
            ("GET", "/forms"): lambda p: _json(200, self.store.list_forms(p)),
            ("DELETE", "/forms"): self._archive_form,
            ("POST", "/forms/publish"): self._publish_form,
            ("POST", "/forms/duplicate"): self._duplicate_form,
            ("GET", "/forms/history"): lambda p: _json(200, self.store.list_history(p)),
            ("GET", "/responses"): lambda p: (200, self.store.list_responses(p)),
            ("POST", "/responses"): self._store_response,
            ("POST", "/responses/tags"): self._tag_response,
            ("GET", "/reporting"): lambda p: _json(200, self.store.report(p)),
            ("GET", "/segments"): lambda p: _json(200, self.store.list_segments(p)),
            ("POST", "/sync-segment"): lambda p: self._sync_segment(p, add=True),
            ("DELETE", "/sync-segment"): lambda p: self._sync_segment(p, add=False),
        }
        self._known_paths = {path for _, path in self._routes}

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no ``/v1``); admin paths live under it."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: the API base URL to give a client."""
        return f"{self.url}/v1"

    async def start(self) -> None:
        """Bind (a free port unless one was given) and start serving."""
        if self._runner is not None:
            return
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.25)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self._t0 = time.monotonic()
        if self._rate_limit is not None and self._rate_window is not None:
            self._bucket = FixedWindow(self._rate_limit, self._rate_window, time.monotonic())
        elif self._rate_limit is not None:
            burst = self._rate_burst if self._rate_burst is not None else self._rate_limit / 10
            self._bucket = TokenBucket(self._rate_limit, burst, time.monotonic())

    async def stop(self) -> None:
        """Stop serving and close every connection.

        Requests still being served are cancelled, not waited for: a handler sleeping in
        ``latency`` or a ``delay`` fault ends now (its connection is closed), whether or not its
        client is still there, and no handler task outlives the emulator.
        """
        self.stop_mutation()
        if self._mutation_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._mutation_task
            self._mutation_task = None
        runner, self._runner = self._runner, None
        if runner is not None:
            await self._cancel_handlers()
            await runner.cleanup()

    async def _cancel_handlers(self) -> None:
        """Cancel every request handler and wait until they have ended."""
        handlers = [task for task in self._handlers if task is not asyncio.current_task()]
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)

    async def __aenter__(self) -> FakeRefiner:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def __repr__(self) -> str:
        return f"<FakeRefiner {self.base_url} seed={self.seed}>"

    # ------------------------------------------------------------------ data, mutation, stats

    def tag_uuid(self, name: str) -> str:
        """The uuid the emulator gives the response tag ``name`` (for ``tag_uuid`` filters)."""
        return self.store.tag_uuid(name)

    def insert_responses(
        self, n: int, *, where: Literal["head", "random"] = "head", kind: str = "completed"
    ) -> list[str]:
        """Insert ``n`` generated responses, newest (``head``) or at random times; their uuids."""
        if kind not in KIND_NAMES:
            raise ValueError(f"kind must be one of {KIND_NAMES}")
        made = self.store.insert_generated(n, where=where, kind=KIND_NAMES.index(kind))
        return [r.uuid for r in made]

    def receive_data(self, uuid: str, at: datetime | float, *, complete: bool = False) -> None:
        """More answers of response ``uuid`` arrived at ``at``: its ``last_data_reception_at``
        moves there (``complete=True`` also completes a partial one), as a live survey does."""
        store = self.store
        r = store.responses[uuid]
        when = int(at.timestamp() if isinstance(at, datetime) else at)
        store._remove_response(r)
        store.deleted_since.pop(uuid, None)  # the same response, moved: not a delete
        store.deleted_total -= 1
        store.inserted_total -= 1
        r.last_data_at = when
        r.last_shown_at = max(r.last_shown_at, when)
        r.kind = KIND_NAMES.index("completed") if complete else r.kind
        store._add_response(r, tracked=False)

    def delete_responses(self, n: int) -> list[str]:
        """Delete ``n`` responses chosen by the seeded generator; their uuids."""
        return [r.uuid for r in self.store.delete_random(n)]

    def mutate(
        self,
        *,
        every: int | None = None,
        interval: float | None = None,
        insert: int = 0,
        delete: int = 0,
        where: Literal["head", "random"] = "head",
        kind: str = "completed",
    ) -> None:
        """Insert and delete responses while clients read: after every ``every``-th served
        ``GET /responses``, and/or every ``interval`` seconds. Replaces an earlier plan."""
        if every is None and interval is None:
            raise ValueError("give every (requests) or interval (seconds)")
        if kind not in KIND_NAMES:
            raise ValueError(f"kind must be one of {KIND_NAMES}")
        self.stop_mutation()
        self._mutation = _MutationPlan(every, insert, delete, where, kind)
        self._responses_served = 0
        if interval is not None:
            self._mutation_task = asyncio.get_running_loop().create_task(
                self._mutate_on_timer(interval)
            )

    def stop_mutation(self) -> None:
        """End live mutation (the data stays as it is)."""
        self._mutation = None
        if self._mutation_task is not None:
            self._mutation_task.cancel()

    def _mutate_once(self) -> None:
        plan = self._mutation
        if plan is None:
            return
        self._mutation_rounds += 1
        if plan.delete:
            self.delete_responses(plan.delete)
        if plan.insert:
            self.insert_responses(plan.insert, where=plan.where, kind=plan.kind)

    async def _mutate_on_timer(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self._mutate_once()

    def reset_tracking(self) -> None:
        """Start a new observation period for ``stable_response_uuids``/``all_response_uuids``."""
        self.store.inserted_since.clear()
        self.store.deleted_since.clear()

    def live_response_uuids(self, include: str = "completed") -> list[str]:
        """The responses that exist now, in server order (newest first)."""
        return [r.uuid for r in self.store.lists[_include(include)]]

    def stable_response_uuids(self, include: str = "completed") -> set[str]:
        """Responses that existed for the whole observation period (since start or the last
        ``reset_tracking()``): never inserted nor deleted during it. A paginating client must
        yield each of these exactly once."""
        inserted = self.store.inserted_since
        return {r.uuid for r in self.store.lists[_include(include)] if r.uuid not in inserted}

    def all_response_uuids(self, include: str = "completed") -> set[str]:
        """Every response that existed at some moment of the observation period, deleted ones
        included: a paginating client must yield nothing outside this set."""
        kinds = INCLUDE_KINDS[_include(include)]
        out = {r.uuid for r in self.store.lists[_include(include)]}
        out.update(u for u, k in self.store.deleted_since.items() if k in kinds)
        return out

    def open_connections(self) -> int:
        """Client connections whose socket is still open.

        A connection the client has closed no longer counts, even while its request is still
        being served (aiohttp keeps such a connection listed until the handler ends).
        """
        runner = self._runner
        server = runner.server if runner is not None else None
        if server is None:
            return 0
        return sum(1 for handler in server.connections if handler.transport is not None)

    def stats(self) -> dict[str, Any]:
        """The journal as a plain, JSON-ready dict (also served at ``GET /__admin/stats``)."""
        out = self.journal.stats()
        store = self.store
        out.update(
            events_total=len(store.events),
            events_per_user=dict(store.events_per_user),
            open_connections=self.open_connections(),
            mutations={
                "rounds": self._mutation_rounds,
                "inserted": store.inserted_total,
                "deleted": store.deleted_total,
            },
            data={
                "responses": len(store.responses),
                "contacts": len(store.contacts),
                "forms": len(store.forms),
                "segments": len(store.segments),
            },
            uptime=round(time.monotonic() - self._t0, 3),
            build_seconds=round(self.build_seconds, 3),
        )
        return out

    def reset_stats(self) -> None:
        """Forget the journal (requests, faults, arrivals); events stay with the data."""
        self.journal.clear()
        self._t0 = time.monotonic()

    # ------------------------------------------------------------------ request pipeline

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        """Serve one request, registered in ``_handlers`` so that ``stop()`` can cancel it."""
        if self._runner is None:  # stop() is underway: take no new request
            return self._drop(request)
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            return await self._respond(request)
        finally:
            self._handlers.discard(task)

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/__admin"):
            return await self._admin(request)
        arrived = time.monotonic()
        entry = JournalEntry(
            at=arrived - self._t0,
            method=request.method,
            path=request.path,
            query=urlencode([(k, v) for k, v in request.query.items() if k != "api_key"]),
            user=None,
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        self.journal.entries.append(entry)
        try:
            return await self._serve(request, entry)
        finally:
            entry.duration = time.monotonic() - arrived

    async def _serve(self, request: web.Request, entry: JournalEntry) -> web.StreamResponse:
        if self.latency or self.jitter:
            pause = self.latency + self._latency_rng.uniform(-self.jitter, self.jitter)
            if pause > 0:
                await asyncio.sleep(pause)

        params: Params | None = None
        param_error: ApiError | None = None
        query: dict[str, Any] = {}
        try:
            query = parse_pairs(request.query.items()) if request.query else {}
            params = await self._params(request, query)
        except ApiError as exc:
            param_error = exc
        raw = params.raw if params is not None else query
        entry.user = next((str(raw[k]) for k in ("id", "email", "uuid") if raw.get(k)), None)

        path = normalize_path(request.path) if request.path.startswith("/v1") else None
        fault = self.faults.pick(request.method, path, raw) if path is not None else None
        if fault is not None:
            entry.fault = fault.kind
            if fault.kind == "reset":
                return self._reset(request, entry)
            if fault.kind == "delay":
                await asyncio.sleep(fault.delay)
            elif fault.kind == "429":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                return self._send(entry, 429, orjson.dumps(_RATE_LIMITED), headers)
            elif fault.kind == "500":
                return self._send(entry, 500, orjson.dumps({"error": "Server Error"}))
            elif fault.kind in ("502", "503", "504"):
                status = int(fault.kind)
                return self._send_html_error(entry, status)

        if path is None:
            return self._send(entry, 404, orjson.dumps({"error": "Not found"}))
        refusal = self._authenticate(request, raw)
        if refusal is not None:
            return self._send(entry, refusal.status, orjson.dumps(refusal.body))

        now = time.monotonic()
        if self._bucket is not None:
            wait = self._bucket.take(now)
            if wait is not None:
                entry.fault = entry.fault or "rate_limit"
                header = retry_after_header(wait, decimal=self.decimal_retry_after)
                return self._send(entry, 429, orjson.dumps(_RATE_LIMITED), {"Retry-After": header})
        if self._per_user is not None:
            keys = [f"{k}:{raw[k]}" for k in ("id", "email", "uuid") if raw.get(k)]
            if keys:
                wait = self._per_user.hit(keys, now)
                if wait is not None:
                    entry.fault = entry.fault or "per_user_limit"
                    header = retry_after_header(wait, decimal=self.decimal_retry_after)
                    body = orjson.dumps(_RATE_LIMITED)
                    return self._send(entry, 429, body, {"Retry-After": header})

        handler = self._routes.get((request.method, path))
        if param_error is not None:
            status, body = param_error.status, orjson.dumps(param_error.body)
        elif handler is None:
            if path in self._known_paths:
                status, body = _json(405, {"error": f"Method {request.method} not allowed"})
            else:
                status, body = _json(404, {"error": "Not found"})
        else:
            assert params is not None
            try:
                status, body = handler(params)
            except ApiError as exc:
                status, body = exc.status, orjson.dumps(exc.body)
            except Exception:
                logger.exception("FakeRefiner: unhandled error in %s %s", request.method, path)
                status, body = _json(500, {"error": "Server Error"})

        if fault is not None and fault.kind == "reset_after":
            return self._reset(request, entry)
        if fault is not None and fault.kind == "truncate":
            return await self._truncated(request, entry, status, body)
        if fault is not None and fault.kind == "bad_json":
            body = body[: len(body) // 2]
        if status == 200 and path == "/responses" and request.method == "GET":
            self._after_responses_page()
        return self._send(entry, status, body)

    async def _params(self, request: web.Request, query: dict[str, Any]) -> Params:
        if not request.body_exists:
            return Params(query)
        raw = await request.read()
        if not raw.strip():
            return Params(query)
        ctype = request.content_type
        if ctype == _JSON or (
            ctype != "application/x-www-form-urlencoded" and raw.lstrip()[:1] == b"{"
        ):
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise bad_request("Request body is not valid JSON") from None
            if not isinstance(body, dict):
                raise bad_request("Request body must be a JSON object")
            return Params(merge(query, body, json_body=True))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise bad_request("Request body is not valid UTF-8") from None
        form = parse_pairs(parse_qsl(text, keep_blank_values=True))
        return Params(merge(query, form, json_body=False))

    def _authenticate(self, request: web.Request, raw: dict[str, Any]) -> ApiError | None:
        """Bearer header, then Basic (key as username), then ``api_key`` in query or body."""
        key: str | None = None
        header = request.headers.get("Authorization", "").strip()
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            key = value.strip() or None
        elif scheme.lower() == "basic" and value.strip():
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return ApiError(401, "API key does not look valid")
            key = decoded.partition(":")[0].strip() or None
        if key is None:
            param = raw.get("api_key")
            if isinstance(param, str) and param.strip():
                key = param.strip()
        if key is None or len(key) < _KEY_MIN:
            return ApiError(401, "No API key found in headers")
        if hmac.compare_digest(key.encode(), self.api_key.encode()):
            return None
        if _UUID_KEY.match(key) or _HEX_KEY.match(key):
            return ApiError(404, "API key not valid or does not exist", key="message")
        return ApiError(401, "API key does not look valid")

    def _after_responses_page(self) -> None:
        plan = self._mutation
        if plan is None or not plan.every:
            return
        self._responses_served += 1
        if self._responses_served % plan.every == 0:
            self._mutate_once()

    # ------------------------------------------------------------------ replies

    @staticmethod
    def _send(
        entry: JournalEntry, status: int, body: bytes, headers: dict[str, str] | None = None
    ) -> web.Response:
        entry.status = status
        return web.Response(status=status, body=body, content_type=_JSON, headers=headers)

    @staticmethod
    def _send_html_error(entry: JournalEntry, status: int) -> web.Response:
        entry.status = status
        reason = _HTML_ERRORS[status]
        html = (
            f"<html><head><title>{status} {reason}</title></head>"
            f"<body><h1>{reason}</h1></body></html>"
        )
        return web.Response(status=status, text=html, content_type="text/html")

    @staticmethod
    def _reset(request: web.Request, entry: JournalEntry) -> web.Response:
        """Drop the connection with a TCP reset and send nothing."""
        entry.status = 0
        transport = request.transport
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        return web.Response(status=500)  # never written: the transport is gone

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        """Close the connection and send nothing."""
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=503)  # never written: the transport is closing

    @staticmethod
    async def _truncated(
        request: web.Request, entry: JournalEntry, status: int, body: bytes
    ) -> web.StreamResponse:
        """Announce the whole body, send half of it, close."""
        entry.status = status
        response = web.StreamResponse(status=status)
        response.content_type = _JSON
        response.content_length = len(body)
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
        if request.transport is not None:
            request.transport.close()
        return response

    # ------------------------------------------------------------------ endpoints

    def _root(self, params: Params) -> tuple[int, bytes]:
        return _json(
            200,
            {
                "project_uuid": self.store.project_uuid,
                "project_name": self.store.project_name,
                "message": "Authentication successful",
            },
        )

    def _get_contact(self, params: Params) -> tuple[int, bytes]:
        return 200, self.store.contact_json(self.store.contact_lookup(params))

    def _delete_contact(self, params: Params) -> tuple[int, bytes]:
        self.store.delete_contact(self.store.contact_lookup(params))
        return _json(200, {"message": "ok"})

    def _identify(self, params: Params) -> tuple[int, bytes]:
        contact = self.store.identify(params)
        return _json(200, {"message": "ok", "contact_uuid": contact.uuid})

    def _track(self, params: Params) -> tuple[int, bytes]:
        self.store.track(params)
        return _json(200, {"message": "ok"})

    def _archive_form(self, params: Params) -> tuple[int, bytes]:
        self.store.archive_form(params)
        return _json(200, {"message": "ok"})

    def _publish_form(self, params: Params) -> tuple[int, bytes]:
        self.store.publish_form(params)
        return _json(200, {"message": "ok"})

    def _duplicate_form(self, params: Params) -> tuple[int, bytes]:
        source = params.get_str("form_uuid")
        copy = self.store.duplicate_form(params)
        return _json(200, {"message": "ok", "source_form_uuid": source, "new_form_uuid": copy.uuid})

    def _store_response(self, params: Params) -> tuple[int, bytes]:
        response = self.store.store_response(params)
        return _json(200, {"message": "ok", "uuid": response.uuid})

    def _tag_response(self, params: Params) -> tuple[int, bytes]:
        self.store.tag_response(params)
        return _json(200, {"message": "ok"})

    def _sync_segment(self, params: Params, *, add: bool) -> tuple[int, bytes]:
        contact, segment = self.store.sync_segment(params, add=add)
        return _json(
            200, {"message": "ok", "contact_uuid": contact.uuid, "segment_uuid": segment.uuid}
        )

    # ------------------------------------------------------------------ admin

    async def _admin(self, request: web.Request) -> web.Response:
        route = (request.method, request.path.rstrip("/"))
        try:
            body: Any = await request.json() if request.body_exists else {}
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return web.json_response({"error": "body must be a JSON object"}, status=400)
        try:
            if route == ("GET", "/__admin/stats"):
                return web.Response(body=orjson.dumps(self.stats()), content_type=_JSON)
            if route == ("POST", "/__admin/faults"):
                kind = body.pop("kind", None)
                rule = self.faults.add(kind, **body)
                return web.json_response({"message": "ok", "kind": rule.kind})
            if route == ("DELETE", "/__admin/faults"):
                self.faults.clear()
                return web.json_response({"message": "ok"})
            if route == ("POST", "/__admin/mutate"):
                deleted = self.delete_responses(int(body.get("delete", 0)))
                inserted = self.insert_responses(
                    int(body.get("insert", 0)), where=body.get("where", "head")
                )
                return web.json_response({"inserted": inserted, "deleted": deleted})
            if route == ("POST", "/__admin/reset-stats"):
                self.reset_stats()
                return web.json_response({"message": "ok"})
        except (TypeError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"error": "Not found"}, status=404)


def _include(include: str) -> str:
    if include not in INCLUDE_KINDS:
        raise ValueError("include must be one of completed, partials, all")
    return include


async def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    seed: int = 1,
    responses: int = 50000,
    *,
    ready: Callable[[FakeRefiner], None] | None = None,
    **options: Any,
) -> None:
    """Serve a FakeRefiner until cancelled; ``ready(fake)`` is called once it listens.

    ``options`` are further :class:`FakeRefiner` arguments (contacts, latency, rate_limit...).
    """
    async with FakeRefiner(host=host, port=port, seed=seed, responses=responses, **options) as fake:
        if ready is not None:
            ready(fake)
        await asyncio.Event().wait()
