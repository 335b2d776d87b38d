"""Filtered listings are cached and kept in step with writes: same answers as a fresh listing."""

from __future__ import annotations

from datetime import datetime

import pytest

from refiner_async.testing import FakeRefiner
from refiner_async.testing import _store as store_module
from refiner_async.testing._params import Params

NOW = datetime(2026, 1, 1)


def _response_queries(fake):
    store = fake.store
    forms = [f.uuid for f in store.forms.values() if f.published_at]
    manual = next(s for s in store.segments.values() if s.is_manual).uuid
    automatic = next(s for s in store.segments.values() if not s.is_manual).uuid
    return [
        {"form_uuid": forms[0]},
        {"include": "all", "form_uuids": [forms[1], forms[2]]},
        {"include": "partials", "date_range_start": "2025-05-01", "date_range_end": "2025-09-01"},
        {"include": "all", "date_range_start": "2025-05-01", "date_range_end": "2025-09-01"},
        {"segment_uuid": manual},
        {"include": "all", "segment_uuid": automatic},
        {"include": "all", "search": "brightworks"},
        {"tag_uuid": fake.tag_uuid("vip")},
        {"include": "partials", "response_data": {"nps": "8"}},
        {"contact_data": {"plan": "starter"}},
        {"include": "all", "account_data": {"plan": "starter"}},
        {
            "form_uuid": forms[0],
            "contact_data": {"plan": "starter"},
            "date_range_end": "2025-11-01",
        },
    ]


def _contact_queries(fake):
    store = fake.store
    form = next(f for f in store.forms.values() if f.published_at).uuid
    manual = next(s for s in store.segments.values() if s.is_manual).uuid
    return [
        {"order_by": "last_form_submission_at"},
        {"order_by": "first_seen_at", "form_uuid": form},
        {"order_by": "email", "segment_uuid": manual},
        {"order_by": "display_name", "search": "brightworks"},
    ]


def _listings(fake):
    """Every listing of the test, page 1 of up to 1000 items, as the bytes the server sends."""
    store = fake.store
    out = [
        store.list_responses(Params({**q, "page_length": 1000})) for q in _response_queries(fake)
    ]
    out += [store.list_contacts(Params({**q, "page_length": 1000})) for q in _contact_queries(fake)]
    return out


def _fresh_listings(fake):
    """The same listings computed from scratch (the cached views set aside, then put back)."""
    store = fake.store
    kept = store._response_views.copy(), store._contact_views.copy()
    store._response_views.clear()
    store._contact_views.clear()
    try:
        return _listings(fake)
    finally:
        store._response_views, store._contact_views = kept


def _writes(fake):
    """One of each write that can move a response or a contact in or out of a listing."""
    store = fake.store
    form = next(f for f in store.forms.values() if f.published_at).uuid
    manual = next(s for s in store.segments.values() if s.is_manual).uuid
    contact = next(c for c in store.contacts.values() if c.remote_id)
    return [
        ("insert head", lambda: fake.insert_responses(5)),
        ("insert random partial", lambda: fake.insert_responses(5, where="random", kind="partial")),
        ("insert random view", lambda: fake.insert_responses(5, where="random", kind="view")),
        ("delete", lambda: fake.delete_responses(7)),
        (
            "tag",
            lambda: store.tag_response(
                Params({"uuid": store.lists["completed"][3].uuid, "tags": ["vip"]})
            ),
        ),
        (
            "store",
            lambda: store.store_response(
                Params({"form_uuid": form, "id": "viewer-1", "nps": 8, "tags": ["vip"]})
            ),
        ),
        (
            "identify",
            lambda: store.identify(
                Params({"id": contact.remote_id, "plan": "pro", "name": "Brightworks Fan"})
            ),
        ),
        (
            "account",
            lambda: store.identify(
                Params({"id": contact.remote_id, "account": {"id": "acct_0001", "plan": "pro"}})
            ),
        ),
        (
            "sync segment",
            lambda: store.sync_segment(
                Params({"segment_uuid": manual, "id": contact.remote_id}), add=True
            ),
        ),
        ("delete contact", lambda: store.delete_contact(list(store.contacts.values())[5])),
        ("insert again", lambda: fake.insert_responses(5, where="random", kind="completed")),
    ]


@pytest.mark.parametrize("contacts_order", ["asc", "desc"])
def test_cached_listings_follow_every_write_exactly(contacts_order):
    """After each write, every cached filtered listing (responses and contacts) is identical to
    the same listing computed from scratch: items, order and counts."""
    fake = FakeRefiner(seed=3, responses=600, now=NOW, contacts_order=contacts_order)
    assert _listings(fake) == _fresh_listings(fake)
    for name, write in _writes(fake):
        write()
        assert _listings(fake) == _fresh_listings(fake), name


def test_listing_after_inserts_and_deletes_checks_only_the_changed_items(monkeypatch):
    """A filtered listing after inserts and deletes does not filter the whole data set again:
    the filter runs on the inserted responses (and their contacts) only."""
    fake = FakeRefiner(seed=3, responses=600, now=NOW)
    store = fake.store
    calls = {"responses": 0, "contacts": 0}
    response_search = store_module._response_matches_search
    contact_search = store_module._contact_matches_search

    def counted_response_search(r, needle):
        calls["responses"] += 1
        return response_search(r, needle)

    def counted_contact_search(c, needle):
        calls["contacts"] += 1
        return contact_search(c, needle)

    monkeypatch.setattr(store_module, "_response_matches_search", counted_response_search)
    monkeypatch.setattr(store_module, "_contact_matches_search", counted_contact_search)
    responses = Params({"include": "all", "search": "brightworks", "page_length": 1000})
    contacts = Params({"search": "brightworks", "page_length": 1000})
    store.list_responses(responses)
    store.list_contacts(contacts)
    assert calls["responses"] == 600
    calls.update(responses=0, contacts=0)
    fake.insert_responses(4, where="random", kind="view")
    fake.delete_responses(6)
    after = store.list_responses(responses), store.list_contacts(contacts)
    assert calls["responses"] == 4
    assert calls["contacts"] <= 4 + 6  # each changed contact is checked once more
    calls.update(responses=0, contacts=0)
    store._response_views.clear()
    store._contact_views.clear()
    assert (store.list_responses(responses), store.list_contacts(contacts)) == after
    assert calls["responses"] == 600 - 6 + 4
