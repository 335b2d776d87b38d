"""``client.forms``: list, publish, duplicate and archive surveys, and read their history."""

from __future__ import annotations

from .. import _validate
from .._pagination import Paginator
from .._types import FormState
from ..models.forms import DuplicateFormResult, Form, FormHistoryEntry
from ._base import Resource

__all__ = ["FormsResource"]


class FormsResource(Resource):
    """Forms (surveys) of the environment. Form lists are page-numbered only (no cursors)."""

    def list(
        self,
        *,
        state: FormState = "all",
        include_info: bool = False,
        include_config: bool = False,
        page_length: int = 1000,
        max_items: int | None = None,
        resume: str | None = None,
    ) -> Paginator[Form]:
        """``GET /forms``: surveys ordered by name; returns a Paginator.

        ``state`` is sent as the API's ``list`` parameter: ``all`` (every non-archived survey),
        ``published``, ``drafts``, ``archived`` or ``all_with_archived``. ``include_info`` adds
        channels, dates, counts, folder and page URL; ``include_config`` adds the full configuration
        (both sent as 1/0).
        """
        filters = {
            "list": _validate.choice("state", state, _validate.FORM_STATES),
            "include_info": _validate.boolean("include_info", include_info),
            "include_config": _validate.boolean("include_config", include_config),
        }
        return self._list(
            "/forms",
            Form,
            filters=filters,
            page_length=page_length,
            max_items=max_items,
            resume=resume,
            supports_cursor=False,
        )

    async def publish(self, form_uuid: str, *, published: bool = True) -> None:
        """``POST /forms/publish``: publish the survey (``published=False`` unpublishes it)."""
        body = {
            "form_uuid": _validate.identifier("form_uuid", form_uuid),
            "published": _validate.boolean("published", published),
        }
        await self._json("POST", "/forms/publish", json=body)

    async def duplicate(self, form_uuid: str, *, name: str) -> DuplicateFormResult:
        """``POST /forms/duplicate``: copy the survey into a new draft called ``name``.

        Not idempotent (each call creates a copy): never retried once it may have reached the server.
        """
        body = {
            "form_uuid": _validate.identifier("form_uuid", form_uuid),
            "name": _validate.non_empty_text("name", name),
        }
        return await self._fetch_one(
            "POST", "/forms/duplicate", DuplicateFormResult, json=body, idempotent=False
        )

    async def archive(self, form_uuid: str) -> None:
        """``DELETE /forms?form_uuid=...``: archive the survey (the API archives, it does not delete)."""
        params = {"form_uuid": _validate.identifier("form_uuid", form_uuid)}
        await self._json("DELETE", "/forms", params=params)

    def history(
        self,
        form_uuid: str,
        *,
        page_length: int = 1000,
        max_items: int | None = None,
        resume: str | None = None,
    ) -> Paginator[FormHistoryEntry]:
        """``GET /forms/history``: the survey's change log (page-numbered); returns a Paginator."""
        filters = {"form_uuid": _validate.identifier("form_uuid", form_uuid)}
        return self._list(
            "/forms/history",
            FormHistoryEntry,
            filters=filters,
            page_length=page_length,
            max_items=max_items,
            resume=resume,
            supports_cursor=False,
        )
