"""client.forms: list (state -> list, 1/0 flags), publish, duplicate, archive, history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from refiner_async import (
    DuplicateFormResult,
    Form,
    FormHistoryEntry,
    OutcomeUnknownError,
    RefinerClient,
)


async def test_list_maps_state_to_list_and_flags_to_1_0(
    api: Any, client: RefinerClient, payloads: Any, make_envelope: Any
) -> None:
    """forms.list(state=, include_info=, include_config=) sends list=..., include_info=1, include_config=0."""
    api.add(
        "GET", "/forms", pattern=True, payload=make_envelope([payloads.form], with_cursor=False)
    )
    page = await client.forms.list(state="published", include_info=True, page_length=50)
    sent = api.only()
    assert sent.filters() == [("list", "published"), ("include_info", "1"), ("include_config", "0")]
    assert sent.param("page_length") == "50"
    assert sent.param("page_cursor") is None
    assert page.next_page_cursor is None
    assert page.items_count == 1


async def test_list_defaults(
    api: Any, client: RefinerClient, payloads: Any, make_envelope: Any
) -> None:
    """forms.list() sends list=all, include_info=0, include_config=0 and page_length=1000."""
    api.add(
        "GET", "/forms", pattern=True, payload=make_envelope([payloads.form], with_cursor=False)
    )
    await client.forms.list()
    sent = api.only()
    assert sent.filters() == [("list", "all"), ("include_info", "0"), ("include_config", "0")]
    assert sent.param("page_length") == "1000"


async def test_list_reads_info_fields(
    api: Any, client: RefinerClient, payloads: Any, make_envelope: Any
) -> None:
    """A form with include_info fields reads channels, timestamps, counts; missing config is None."""
    api.add(
        "GET", "/forms", pattern=True, payload=make_envelope([payloads.form], with_cursor=False)
    )
    (form,) = (await client.forms.list(include_info=True)).items
    assert isinstance(form, Form)
    assert form.channels == ("web",)
    assert form.published_at == datetime(2020, 5, 6, 11, tzinfo=UTC)
    assert form.archived_at is None
    assert form.responses_count == 120
    assert form.views_count == 800
    assert form.config is None


async def test_list_bare_items_and_config(
    api: Any, client: RefinerClient, make_envelope: Any
) -> None:
    """Items with only uuid and name read with every info field None; config passes through as sent."""
    items = [
        {"uuid": "f1", "name": "Bare"},
        {"uuid": "f2", "name": "Configured", "config": {"form_elements": [{"type": "nps"}]}},
    ]
    api.add("GET", "/forms", pattern=True, payload=make_envelope(items, with_cursor=False))
    bare, configured = (await client.forms.list(include_config=True)).items
    assert bare == Form(uuid="f1", name="Bare")
    assert configured.config == {"form_elements": [{"type": "nps"}]}


async def test_publish_posts_form_uuid_and_published(api: Any, client: RefinerClient) -> None:
    """publish() posts {"form_uuid", "published": true}; published=False unpublishes."""
    api.add("POST", "/forms/publish", payload={"message": "Form published"})
    api.add("POST", "/forms/publish", payload={"message": "Form unpublished"})
    assert await client.forms.publish("f1") is None
    await client.forms.publish("f1", published=False)
    assert [s.json for s in api.sent()] == [
        {"form_uuid": "f1", "published": True},
        {"form_uuid": "f1", "published": False},
    ]


async def test_duplicate_returns_the_new_form(api: Any, client: RefinerClient) -> None:
    """duplicate() posts form_uuid and name and returns the new draft's uuid."""
    api.add(
        "POST",
        "/forms/duplicate",
        payload={"message": "ok", "source_form_uuid": "f1", "new_form_uuid": "f9"},
    )
    result = await client.forms.duplicate("f1", name="Copy of survey")
    assert result == DuplicateFormResult(new_form_uuid="f9", source_form_uuid="f1", message="ok")
    assert api.only().json == {"form_uuid": "f1", "name": "Copy of survey"}


async def test_duplicate_is_not_repeated_after_a_5xx(api: Any, client: RefinerClient) -> None:
    """A 503 on duplicate raises OutcomeUnknownError after one attempt: a copy may have been made."""
    api.add("POST", "/forms/duplicate", payload={"error": "busy"}, status=503, repeat=True)
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.forms.duplicate("f1", name="Copy")
    assert caught.value.status == 503
    assert len(api.sent()) == 1


async def test_archive_sends_delete_with_form_uuid_query(api: Any, client: RefinerClient) -> None:
    """archive() sends DELETE /forms?form_uuid=... with no body."""
    api.add("DELETE", "/forms", {"form_uuid": "f1"}, payload={"message": "Form archived"})
    assert await client.forms.archive("f1") is None
    sent = api.only()
    assert (sent.method, sent.params, sent.json) == ("DELETE", [("form_uuid", "f1")], None)


async def test_history_lists_entries_by_page_number(
    api: Any, client: RefinerClient, make_envelope: Any
) -> None:
    """history() sends GET /forms/history with form_uuid and page_length, reading each entry."""
    entry = {
        "uuid": "h1",
        "action": "published",
        "snapshot": {"name": "Survey", "elements": []},
        "created_at": "2026-03-01 09:30:00",
        "user": "ana@x.io",
    }
    api.add(
        "GET", "/forms/history", pattern=True, payload=make_envelope([entry], with_cursor=False)
    )
    (item,) = await client.forms.history("f1", page_length=20).collect()
    assert item == FormHistoryEntry(
        uuid="h1",
        action="published",
        snapshot={"name": "Survey", "elements": []},
        created_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
        extra={"user": "ana@x.io"},
    )
    sent = api.only()
    assert sent.filters() == [("form_uuid", "f1")]
    assert sent.param("page_length") == "20"


async def test_history_accepts_new_action_values(
    api: Any, client: RefinerClient, make_envelope: Any
) -> None:
    """An action value the SDK has never seen is kept as a plain string."""
    entry = {"uuid": "h2", "action": "translated_to_klingon", "created_at": None}
    api.add(
        "GET", "/forms/history", pattern=True, payload=make_envelope([entry], with_cursor=False)
    )
    (item,) = (await client.forms.history("f1")).items
    assert item.action == "translated_to_klingon"
    assert item.created_at is None
