"""A FastAPI app whose requests share one RefinerClient, opened and closed by the app's lifespan.

Against the emulator (it prints its base URL and API key), from the repository's root:

    pip install fastapi uvicorn                # and 'refiner-async[redis]' for REDIS_URL
    refiner-async emulator --port 8080
    export REFINER_API_KEY=<the key it printed> REFINER_BASE_URL=http://127.0.0.1:8080/v1
    uvicorn examples.fastapi_app:app
    curl -X POST localhost:8000/signup -H 'Content-Type: application/json' \\
        -d '{"user_id": "user-42", "email": "jane@acme.com"}'
    curl localhost:8000/contacts/user-42

One client per worker process holds one connection pool, one rate limiter and one retry policy for
every request the worker serves; a client per request would open a pool each time and limit
nothing. With several workers (``uvicorn --workers 4``, gunicorn), set ``REDIS_URL``: the workers'
clients then take their turns from one limit in Redis (README, "Many workers, one key").
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel

from refiner_async import NotFoundError, RefinerClient, to_dict
from refiner_async.ratelimit import RedisRateStore


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the worker's client (and its Redis rate store when REDIS_URL is set); close both."""
    redis_url = os.environ.get("REDIS_URL")
    store = RedisRateStore.from_url(redis_url) if redis_url else None  # one per process
    try:
        async with RefinerClient(rate_store=store) as client:  # REFINER_API_KEY, REFINER_BASE_URL
            app.state.refiner = client
            yield
    finally:
        if store is not None:
            await store.aclose()  # the client never closes a store


app = FastAPI(lifespan=lifespan)


def refiner(request: Request) -> RefinerClient:
    """The worker's client, for ``Depends``."""
    client: RefinerClient = request.app.state.refiner
    return client


Refiner = Annotated[RefinerClient, Depends(refiner)]


class Signup(BaseModel):
    user_id: str
    email: str


@app.post("/signup", status_code=201)
async def signup(body: Signup, client: Refiner) -> dict[str, str | None]:
    """Create or update the contact, then record the signup event."""
    result = await client.contacts.identify(id=body.user_id, email=body.email)
    await client.events.track("Signed up", id=body.user_id)
    return {"contact_uuid": result.contact_uuid}


@app.get("/contacts/{user_id}")
async def contact(user_id: str, client: Refiner) -> dict[str, Any]:
    """The contact with this user id, as the API's JSON; 404 when Refiner has none."""
    try:
        found = await client.contacts.get(id=user_id)
    except NotFoundError:
        raise HTTPException(404, f"no contact with id {user_id!r}") from None
    return to_dict(found)
