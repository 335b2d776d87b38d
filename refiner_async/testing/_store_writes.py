"""Every write to the emulator's data: responses, contacts, accounts, forms and segments.

A write keeps the sorted lists and the cached views in step one record at a time (see
``_store_views``): a record whose data is about to change is taken out of the views, changed, and
placed again. A change to contacts themselves (traits, names, segments, accounts) drops the views
that read contacts; they are rebuilt when next listed. Every refusal is an
:class:`~._params.ApiError`, raised before anything changes.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from typing import Any, Final

from ._params import ApiError, Params, bad_request, parse_datetime
from ._records import (
    COMPLETED,
    INCLUDE_KINDS,
    PARTIAL,
    Account,
    Contact,
    Form,
    HistoryEntry,
    Response,
    Segment,
    fmt_iso,
    new_uuid,
)
from ._store_data import StoreData, response_key, text_of
from ._store_views import discard_from, place_in

_RESERVED_IDENTIFY: Final = frozenset({"id", "email", "uuid", "account", "api_key", "attributes"})
_RESERVED_STORE: Final = frozenset(
    {"form_uuid", "id", "email", "uuid", "date", "prevent_duplicates", "tags", "account", "api_key"}
)
_TRAIT_MAX: Final = 255
_TAGS_MAX: Final = 20


class StoreWrites(StoreData):
    """The writes of the live data set."""

    def _add_response(self, r: Response, *, tracked: bool = True) -> None:
        self.responses[r.uuid] = r
        for include, kinds in INCLUDE_KINDS.items():
            if r.kind in kinds:
                insort(self.lists[include], r, key=response_key)
        place_in(self._response_views.values(), r)
        contact = r.contact
        discard_from(self._contact_views.values(), contact)  # its sort key may move with r
        insort(contact.responses, r, key=response_key)
        place_in(self._contact_views.values(), contact)
        r.form.count_view(r)
        self.touch_contact(contact)
        if tracked:
            self.inserted_since.add(r.uuid)
        self.inserted_total += 1

    def _remove_response(self, r: Response) -> None:
        del self.responses[r.uuid]
        key = response_key(r)
        for include, kinds in INCLUDE_KINDS.items():
            if r.kind in kinds:
                lst = self.lists[include]
                i = bisect_left(lst, key, key=response_key)
                if i < len(lst) and lst[i] is r:
                    del lst[i]
        discard_from(self._response_views.values(), r)
        contact = r.contact
        discard_from(self._contact_views.values(), contact)
        if r in contact.responses:
            contact.responses.remove(r)
        place_in(self._contact_views.values(), contact)
        r.form.uncount_view(r)
        self.touch_contact(contact)
        self.forget_head(r)  # gone, or about to change and come back
        if r.uuid in self.inserted_since:
            self.inserted_since.discard(r.uuid)
        self.deleted_since[r.uuid] = r.kind
        self.deleted_total += 1

    def insert_generated(self, n: int, *, where: str, kind: int) -> list[Response]:
        """Insert ``n`` generated responses: newest (``where="head"``) or anywhere in time."""
        eligible = [f for f in self.forms.values() if f.archived_at is None and f.published_at]
        contacts = list(self.contacts.values())
        if not eligible or not contacts:
            return []
        out = []
        all_list = self.lists["all"]
        for _ in range(n):
            if where == "head" or not all_list:
                newest = all_list[0].sort_at if all_list else 0
                ts = max(self.now(), self._head_ts, newest)
                self._head_ts = ts
            else:
                oldest, newest = all_list[-1].sort_at, all_list[0].sort_at
                ts = oldest + int(self.rng.random() * max(1, newest - oldest))
            gen = self.rng.getrandbits(64)
            has_data = kind <= PARTIAL
            r = Response(
                uuid=new_uuid(self.rng),
                form=eligible[int(self.rng.random() * len(eligible))],
                contact=contacts[int(self.rng.random() * len(contacts))],
                kind=kind,
                first_shown_at=ts - 30 if has_data else ts,
                last_shown_at=ts - 30 if has_data else ts,
                show_counter=1,
                first_data_at=ts - 10 if has_data else None,
                last_data_at=ts if has_data else None,
                dismissed_at=ts + 2 if kind == 2 else None,
                gen=gen,
            )
            self._add_response(r)
            out.append(r)
        return out

    def delete_random(self, n: int) -> list[Response]:
        out = []
        for _ in range(n):
            lst = self.lists["all"]
            if not lst:
                break
            r = lst[int(self.rng.random() * len(lst))]
            self._remove_response(r)
            out.append(r)
        return out

    def store_response(self, params: Params) -> Response:
        """POST /responses: a completed response with flat answers and tags (see ASSUMPTIONS)."""
        form = self.form_param(params)
        answers: dict[str, Any] = {}
        for key, value in params.raw.items():
            if key in _RESERVED_STORE:
                continue
            if isinstance(value, dict) or (
                isinstance(value, list) and any(isinstance(v, dict | list) for v in value)
            ):
                raise bad_request(f"Answer {key} must be a value or a list of values")
            answers[key] = value
        ts = params.get_timestamp("date")
        date = ts if ts is not None else self.now()
        tags = params.get_list("tags")
        if len(tags) > _TAGS_MAX:
            raise bad_request(f"At most {_TAGS_MAX} tags are allowed")
        account = _account_fields(params)
        prevent_duplicates = params.get_bool("prevent_duplicates", True)
        contact = self.contact_for_write(params, allow_uuid=True)
        if account is not None:
            self._link_account(contact, account)
        if prevent_duplicates:
            for existing in contact.responses:
                if existing.form is form and existing.answers == answers:
                    return existing
        r = Response(
            uuid=new_uuid(self.rng),
            form=form,
            contact=contact,
            kind=COMPLETED,
            first_shown_at=date,
            last_shown_at=date,
            show_counter=1,
            first_data_at=date,
            last_data_at=date,
            dismissed_at=None,
            gen=0,
            answers=answers,
            tags=tags or None,
        )
        self._add_response(r)
        return r

    def tag_response(self, params: Params) -> None:
        """Add tags to a response: kept for the tag filters, not listed on response items."""
        uuid = params.get_str("uuid")
        if uuid is None:
            raise bad_request("uuid is required")
        tags = params.get_list("tags")
        if not tags:
            raise bad_request("tags is required")
        if len(tags) > _TAGS_MAX:
            raise bad_request(f"At most {_TAGS_MAX} tags are allowed")
        r = self.responses.get(uuid)
        if r is None:
            raise ApiError(404, "Response not found")
        current = r.tags or []
        discard_from(self._response_views.values(), r)
        r.tags = current + [t for t in tags if t not in current]
        place_in(self._response_views.values(), r)

    def contact_for_write(self, params: Params, *, allow_uuid: bool = False) -> Contact:
        """Find the contact by id (or email; or uuid if allowed), creating it when unknown."""
        rid, email = params.get_str("id"), params.get_str("email")
        uuid = params.get_str("uuid") if allow_uuid else None
        if uuid is not None and rid is None and email is None:
            found = self.contacts.get(uuid)
            if found is None:
                raise ApiError(404, "Contact not found")
            return found
        if rid is None and email is None:
            raise bad_request("id or email is required")
        contact: Contact | None = None
        if rid is not None:
            contact = self.by_remote_id.get(rid)
            if contact is None and email is not None:
                # An email-only contact gets the user ID it is now identified with.
                contact = next(
                    (c for c in self.by_email.get(email.lower(), ()) if c.remote_id is None), None
                )
                if contact is not None:
                    contact.remote_id = rid
                    self.by_remote_id[rid] = contact
        else:
            contact = next(iter(self.by_email.get((email or "").lower(), ())), None)
        now = self.now()
        if contact is None:
            contact = Contact(
                uuid=new_uuid(self.rng),
                remote_id=rid,
                email=email,
                display_name=None,
                first_seen_at=now,
                last_seen_at=now,
                traits={},
            )
            self.contacts[contact.uuid] = contact
            if rid is not None:
                self.by_remote_id[rid] = contact
            if email is not None:
                self.by_email.setdefault(email.lower(), []).append(contact)
        elif email is not None and contact.email != email:
            same = self.by_email.get(contact.email.lower(), []) if contact.email else []
            if contact in same:
                same.remove(contact)
            contact.email = email
            self.by_email.setdefault(email.lower(), []).append(contact)
        contact.last_seen_at = max(contact.last_seen_at, now)
        self.touch_contact(contact)
        self._contacts_changed()
        return contact

    def identify(self, params: Params) -> Contact:
        traits: dict[str, Any] = {}
        nested = params.get_dict("attributes")
        if nested:
            traits.update(nested)
        traits.update({k: v for k, v in params.raw.items() if k not in _RESERVED_IDENTIFY})
        clean = {key: _trait_value(key, value) for key, value in traits.items()}
        account = _account_fields(params)
        contact = self.contact_for_write(params)
        contact.traits.update(clean)
        name = clean.get("name")
        if isinstance(name, str) and name:
            contact.display_name = name
        if account is not None:
            self._link_account(contact, account)
        return contact

    def _link_account(self, contact: Contact, fields: dict[str, Any]) -> None:
        """Create or update the account ``fields`` name (checked by ``_account_fields``)."""
        remote_id = text_of(fields["id"])
        now = self.now()
        account = self.accounts.get(remote_id)
        if account is None:
            account = Account(
                uuid=new_uuid(self.rng),
                remote_id=remote_id,
                display_name=None,
                domain=None,
                first_seen_at=now,
                last_seen_at=now,
                attributes={},
            )
            self.accounts[remote_id] = account
        for key, value in fields.items():
            if key == "id":
                continue
            clean = _trait_value(f"account[{key}]", value)
            if key == "name":
                account.display_name = None if clean is None else text_of(clean)
            elif key == "domain":
                account.domain = None if clean is None else text_of(clean)
            else:
                account.attributes[key] = clean
        account.last_seen_at = max(account.last_seen_at, now)
        if contact.account is not account:
            if contact.account is not None:
                contact.account.members.discard(contact)
            contact.account = account
            account.members.add(contact)
        for member in account.members:
            self.touch_contact(member)
        self._contacts_changed()

    def track(self, params: Params) -> Contact:
        event = params.get_str("event")
        if event is None or not event.strip():
            raise bad_request("event is required")
        contact = self.contact_for_write(params)
        self.events.append((self.clock(), contact.user_key, event))
        self.events_per_user[contact.user_key] += 1
        return contact

    def delete_contact(self, contact: Contact) -> None:
        for r in list(contact.responses):
            self._remove_response(r)
        del self.contacts[contact.uuid]
        if contact.remote_id and self.by_remote_id.get(contact.remote_id) is contact:
            del self.by_remote_id[contact.remote_id]
        if contact.email:
            same = self.by_email.get(contact.email.lower(), [])
            if contact in same:
                same.remove(contact)
        for segment in contact.segments:
            segment.members.discard(contact)
        if contact.account is not None:
            contact.account.members.discard(contact)
        self._contacts_changed()

    def _history(self, form: Form, action: str) -> None:
        now = self.now()
        form.updated_at = now
        form.history.append(HistoryEntry(new_uuid(self.rng), action, now, form.snapshot()))

    def publish_form(self, params: Params) -> Form:
        form = self.form_param(params)
        published = params.get_bool("published", True)
        form.published_at = (form.published_at or self.now()) if published else None
        self._history(form, "published" if published else "unpublished")
        return form

    def duplicate_form(self, params: Params) -> Form:
        source = self.form_param(params)
        name = params.get_str("name")
        if name is None or not name.strip():
            raise bad_request("name is required")
        now = self.now()
        copy = Form(
            uuid=new_uuid(self.rng),
            name=name.strip(),
            questions=list(source.questions),
            channels=list(source.channels),
            created_at=now,
            updated_at=now,
        )
        self.forms[copy.uuid] = copy
        self._history(copy, "created")
        return copy

    def archive_form(self, params: Params) -> Form:
        form = self.form_param(params)
        if form.archived_at is None:
            form.archived_at = self.now()
        self._history(form, "archived")
        return form

    def sync_segment(self, params: Params, *, add: bool) -> tuple[Contact, Segment]:
        segment = self.manual_segment(params)
        if add:
            contact = self.contact_for_write(params)
            if contact not in segment.members:
                segment.members.add(contact)
                contact.segments.append(segment)
                contact.segments.sort(key=lambda s: s.key)
        else:
            if params.get_str("id") is None and params.get_str("email") is None:
                raise bad_request("id or email is required")
            contact = self.contact_lookup(params)
            if contact in segment.members:
                segment.members.discard(contact)
                contact.segments.remove(segment)
        self.touch_contact(contact)
        self._contacts_changed()
        return contact, segment


def _account_fields(params: Params) -> dict[str, Any] | None:
    """The nested ``account`` of a write, refused before anything changes when it has no id."""
    account = params.get_dict("account")
    if account is not None and _blank(account.get("id")):
        raise bad_request("account[id] is required")
    return account


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _trait_value(key: str, value: Any) -> Any:
    """Traits: strings (cut to 255), numbers, booleans or null; ``*_at`` strings become dates."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if not isinstance(value, str):
        raise bad_request(f"Trait {key} must be a string, number or boolean")
    if key.endswith("_at") and value.strip():
        try:
            return fmt_iso(int(parse_datetime(value, key).timestamp()))
        except ApiError:
            return value[:_TRAIT_MAX]
    return value[:_TRAIT_MAX]
