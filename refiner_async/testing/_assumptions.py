"""Every behaviour FakeRefiner picked where refiner-api.md says UNKNOWN or INFERRED.

Read it as ``refiner_async.testing.ASSUMPTIONS``: topic -> what the emulator does. Tests of the SDK
should not treat these as vendor facts; they are the emulator's choices, kept stable.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

__all__ = ["ASSUMPTIONS"]

ASSUMPTIONS: Final = MappingProxyType(
    {
        # Authentication (section 2)
        "auth.precedence": (
            "Authorization header first (Bearer, or Basic with the key as username; the password "
            "is ignored), then api_key from the query or body (body wins over query)."
        ),
        "auth.malformed_vs_unknown": (
            "No key, or a key shorter than 8 characters -> 401 {'error': 'No API key found in "
            "headers'}. A key that is UUID-shaped (8-4-4-4-12 hex) or 32-64 hex characters but not "
            "the emulator's -> 404 {'message': 'API key not valid or does not exist'}. Any other "
            "string, and an undecodable Basic header -> 401 {'error': 'API key does not look "
            "valid'}. The emulator's own key is 40 hex characters (sha1 of the seed) unless given."
        ),
        "auth.success_message": "GET /v1/ replies with message 'Authentication successful'.",
        # Parameters (section 1)
        "params.merge": (
            "Query, JSON body and form body are merged; body keys win over query keys. key[] and "
            "repeated keys make lists, key[sub] makes objects; JSON keys written 'tags[]' mean "
            "'tags'. A list parameter also accepts one comma-separated string."
        ),
        "params.booleans": "1/0, true/false, yes/no, on/off (any case) and JSON booleans.",
        "params.dates": (
            "ISO 8601 date or date-time ('T' or space), 'Z' or an offset; naive = UTC. Bounds are "
            "compared on whole seconds (fractions round up). An unparseable date -> 400."
        ),
        # Pagination (section 3.2)
        "pagination.page_length_default": "50, configurable (page_length_default=).",
        "pagination.page_length_over_1000": (
            "Clamped to 1000 (the echoed page_length says 1000); strict_page_length=True replies "
            "400 instead. page_length or page below 1, or not an integer -> 400."
        ),
        "pagination.cursor_format": (
            "base64url of JSON [fingerprint, sort key of the last item]; the fingerprint covers "
            "the endpoint, filters and order (not page_length nor with_attributes). Keyset: "
            "exact under inserts and deletes."
        ),
        "pagination.cursor_invalid": (
            "An undecodable cursor -> 400 {'error': 'Invalid page_cursor'}; a cursor from other "
            "filters or order -> 400 {'error': 'page_cursor does not belong to this listing ...'}."
        ),
        "pagination.page_and_cursor": "When both are sent, the cursor wins.",
        "pagination.cursor_mode_fields": (
            "In cursor mode items_count and last_page describe the whole filtered set now, and "
            "current_page is the page the cursor position falls in."
        ),
        "pagination.first_page_cursor": (
            "next_page_cursor is returned in page-number mode too (so a client can switch); null "
            "on the last page."
        ),
        "pagination.empty_and_past_end": (
            "Empty result: items [], items_count 0, last_page 1, current_page as asked. A page "
            "past last_page: items [] and next_page_cursor null."
        ),
        "pagination.segments_history_cursor": (
            "/segments and /forms/history support page_cursor and return next_page_cursor; "
            "/forms has neither (page_cursor is ignored there)."
        ),
        # Ordering (section 3.3)
        "order.responses": (
            "Newest first by last_data_reception_at (last_shown_at for views without data), ties "
            "by uuid ascending."
        ),
        "order.forms_segments": "By name (case-insensitive), ties by uuid.",
        "order.contacts": (
            "order_by first_seen_at (default), last_seen_at, last_form_submission_at (contacts "
            "without a completed response last), display_name, email; timestamps ascending by "
            "default (contacts_order='desc' to flip), names and emails always ascending; ties by "
            "uuid. An unknown order_by -> 400."
        ),
        # Timestamps (section 3.4)
        "timestamps": (
            "Responses 'YYYY-MM-DD HH:MM:SS'; contacts, accounts, forms, history "
            "'YYYY-MM-DDTHH:MM:SS.000000Z'; reporting date_range_* 'YYYY-MM-DDTHH:MM:SSZ'. UTC, "
            "whole seconds."
        ),
        # Errors (section 3.5)
        "errors.validation": "400 {'error': text} for missing or bad parameters and bad bodies.",
        "errors.not_found": (
            "404 {'error': 'Contact not found' | 'Form not found' | 'Segment not found' | "
            "'Response not found'}; unknown paths 404 {'error': 'Not found'}; a known path with "
            "another method 405."
        ),
        "errors.unknown_filter_uuid": (
            "An unknown form_uuid or segment_uuid used as a list filter gives an empty list, "
            "not 404."
        ),
        "errors.server": (
            "Injected 500 is JSON {'error': 'Server Error'}; injected 502/503/504 are HTML pages "
            "(as a proxy would send); an emulator bug is logged and replied to with a 500 JSON."
        ),
        # Rate limits (section 3.6)
        "rate_limit.body": (
            "429 {'error': 'You are doing this too often.'}; no X-RateLimit headers."
        ),
        "rate_limit.retry_after": (
            "Retry-After is whole seconds rounded up, at least 1 (decimal_retry_after=True sends "
            "seconds with 3 decimals). Injected 429s send whatever retry_after was scripted."
        ),
        "rate_limit.model": (
            "Off by default. rate_limit=R: token bucket of R/s with burst R/10 (rate_burst=) over "
            "all authenticated requests; with rate_window=W, R*W requests in each fixed window of "
            "W seconds from the start instead (Retry-After until the window ends). "
            "per_user_limit=True: 100 requests per sliding 60 s per id/email/uuid value (an int "
            "sets another limit). Refused requests are not counted."
        ),
        # Contacts and identify (sections 3.1, 5.3-5.7)
        "contact.identifier_precedence": "Reads and deletes: uuid, else id, else email.",
        "contact.duplicate_emails": "By email, the first contact created with it is used.",
        "contact.none_given": "No id/email/uuid -> 400.",
        "contact.delete_unknown": (
            "Deleting an unknown contact -> 404 {'error': 'Contact not found'}."
        ),
        "contact.attributes": (
            "attributes = traits, plus the latest answer to each survey question the contact gave "
            "(a trait wins over an answer with the same key); answers keep their JSON types."
        ),
        "contact.extra_fields": (
            "last_form_submission_at and last_tracking_event_at are not sent (order_by still "
            "works)."
        ),
        "identify.upsert": (
            "By id when given, else by email. An unknown id with the email of an email-only "
            "contact attaches the id to that contact. Email is updated when sent with an id."
        ),
        "identify.traits": (
            "Flat keys are traits; a nested 'attributes' object is flattened too (flat keys win). "
            "Strings are cut to 255 characters; *_at strings that parse as dates are stored as "
            "dates; objects or lists as trait values -> 400. A 'name' trait sets display_name."
        ),
        "identify.account": (
            "account needs id (else 400); upserted by id; 'name' sets display_name, 'domain' sets "
            "domain, other keys are account attributes."
        ),
        "identify.status": "Writes reply 200.",
        "track": (
            "event required (400), /track is an alias, unknown users are created, every call "
            "records one event (counted per user in stats()['events_per_user'])."
        ),
        # Forms (sections 5.8, 6.5-6.8)
        "forms.fields": (
            "Without include_info an item is only {uuid, name}; include_info adds the documented "
            "keys (folder always null); include_config adds config = {form_elements, appearance, "
            "targeting}."
        ),
        "forms.write_replies": (
            "publish, archive (DELETE /forms): {'message': 'ok'}; duplicate: {'message': 'ok', "
            "'source_form_uuid', 'new_form_uuid'}; the copy is a draft."
        ),
        "forms.history": (
            "Items {uuid, action (created|published|unpublished|archived), snapshot, created_at}, "
            "newest first."
        ),
        # Responses (sections 5.9, 6.1, 6.2)
        "responses.kinds": (
            "completed (completed_at set), partial (data, no completed_at), dismissed "
            "(dismissed_at set, data {}), view (shown only, data {}). received_at = first data "
            "reception, else first shown."
        ),
        "responses.date_filter_all": "With include=all the date range compares last_shown_at.",
        "responses.search": (
            "Case-insensitive substring of the contact's user ID, email or name, or exactly the "
            "response uuid or the contact uuid."
        ),
        "responses.form_uuid_and_form_uuids": "Both sent: union (same for segment filters).",
        "responses.extra_filters": (
            "tag_uuid, response_data[k], contact_data[k], account_data[k] are supported (string "
            "equality; a list answer matches when it contains the value)."
        ),
        "responses.tags": (
            "Tags given to POST /responses (tags) and POST /responses/tags are kept on the "
            "response: tag_uuid on /responses and tag_uuids[] on /reporting find it. Response "
            "items carry no tags key: refiner-api.md (section 5.9) has seen a tags array only in "
            "webhook payloads and marks its presence in GET /responses UNKNOWN. Tag uuids are "
            "uuid5 of the name (fake.tag_uuid(name)). POST /responses/tags adds tags, never "
            "removes any (at most 20 per request); a store whose reply names an existing duplicate "
            "leaves that response's tags as they were."
        ),
        "responses.account_null": "contact.account is null for contacts without an account.",
        "responses.store": (
            "POST /responses: form must exist (404), contact by id/email is created when unknown "
            "(by uuid must exist); answers are flat keys; the response is completed at 'date' "
            "(default now). prevent_duplicates (default true): same contact, same form and "
            "identical answers returns the existing uuid without creating one."
        ),
        # Reporting (section 5.10)
        "reporting.range": (
            "Default date_range_start = 00:00 UTC seven days before today, date_range_end = "
            "00:00 UTC tomorrow (exclusive), on the real clock. Data points filtered on "
            "last_data_reception_at (start inclusive, end exclusive); views on last_shown_at."
        ),
        "reporting.fields": (
            "Only the fields of the type are present: nps {nps, count, data}; csat {csat, count, "
            "data}; ratings {average, sum, count, data}; distribution {datapoints, responses, "
            "data}; count {views, responses}; all echo date_range_start/end."
        ),
        "reporting.computation": (
            "Questions by type from the survey config (nps 0-10, csat 1-5, rating 1-5, "
            "choice/multi for distribution) over completed and partial responses; "
            "question_identifiers[] picks questions by identifier whatever their type. NPS = "
            "round(100*(promoters-detractors)/count) with promoters 9-10, passives 7-8, detractors "
            "0-6; CSAT = round(100*satisfied/count) with data keys satisfied (4-5), neutral (3), "
            "dissatisfied (1-2); rounding is half away from zero; no data points -> 0. ratings "
            "average has 2 decimals. count: views = all views, responses = completed."
        ),
        "reporting.errors": "Missing or unknown type -> 400.",
        # Segments (sections 5.11, 6.3, 6.4)
        "segments.sync": (
            "Unknown segment -> 404; not manual -> 400. POST creates unknown users; DELETE of an "
            "unknown user -> 404. Reply {'message': 'ok', 'contact_uuid', 'segment_uuid'}."
        ),
        # Account (section 5.2)
        "account.usage": (
            "Plan 'Growth'; mtu_count = contacts, mte_count = events recorded, mpv_count / "
            "msr_count = views / completed responses since the 1st of this month (UTC); a second "
            "environment 'Testing' with zero usage."
        ),
    }
)
