"""``client.events``: record named events for a contact."""

from __future__ import annotations

from .. import _validate
from ._base import Resource

__all__ = ["EventsResource"]


class EventsResource(Resource):
    """Events tracked for contacts."""

    async def track(self, event: str, *, id: str | None = None, email: str | None = None) -> None:
        """``POST /track-event``: record ``event`` for the contact with ``id`` or ``email`` (or both).

        Creates the contact if it does not exist. Not idempotent: each call records one event, so
        it is never retried once it may have reached the server (an ambiguous failure raises
        ``OutcomeUnknownError``).
        """
        body = {"event": _validate.event_name(event), **_validate.id_or_email(id=id, email=email)}
        await self._json("POST", "/track-event", json=body, idempotent=False)
