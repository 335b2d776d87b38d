"""The ten Refiner actions: their catalog names, descriptions, input schemas and handlers.

Each handler calls the client's resource for the action, so the resources' own checks (identifier
rules, dates, trait values) and wire encoding apply; the schema check runs first. List actions
return one page, as the catalog does: ``page``, ``page_cursor`` and ``page_length`` pass through
(``page_cursor`` wins over ``page``; ``page_length`` defaults to 50, the API's documented default).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .._serialize import page_to_json, to_json
from . import _schema as s
from ._action import Action, Handler

if TYPE_CHECKING:
    from .._client import RefinerClient
    from .._pagination import Paginator

__all__ = ["ACTIONS", "DEFAULT_PAGE_LENGTH"]

DEFAULT_PAGE_LENGTH = 50  # items per page when the caller gives no page_length

# --- shared parameter schemas --------------------------------------------------------------------

_PAGE = s.integer("Page number for pagination, must be >= 1. Default is 1.", minimum=1)
_PAGE_LENGTH = s.integer(
    f"Number of items per page (max 1000). Default is {DEFAULT_PAGE_LENGTH}.",
    minimum=1,
    maximum=1000,
)
_PAGE_CURSOR = s.string(
    "Cursor for fetching the next page in large result sets: the previous page's "
    "pagination.next_page_cursor, with the same filters. When given, page is ignored.",
    minLength=1,
)
_LIST_NOTE = (
    " Returns one page: data.items and data.pagination (current_page, last_page, items_count, "
    "page_length, next_page_cursor)."
)


# --- one page of a list call ---------------------------------------------------------------------


async def _one_page(paginator: Paginator[Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """Fetch the single page ``params`` names (by ``page_cursor`` when given, else ``page``).

    The resource's ``list()`` builds the Paginator, checking and encoding every filter as for any
    list call; ``fetch_page`` then sends exactly one page request through it.
    """
    if "page_cursor" in params:
        page = await paginator.fetch_page(cursor=params["page_cursor"])
    else:
        page = await paginator.fetch_page(page=params.get("page", 1))
    return {"data": page_to_json(page)}


# --- handlers ------------------------------------------------------------------------------------


def _given(p: Mapping[str, Any], *names: str) -> dict[str, Any]:
    """The parameters among ``names`` the caller gave; the resource's defaults apply to the rest."""
    return {name: p[name] for name in names if name in p}


def _list_args(p: Mapping[str, Any], *names: str) -> dict[str, Any]:
    """A list call's filters as given, and its page length (DEFAULT_PAGE_LENGTH when not given)."""
    return {**_given(p, *names), "page_length": p.get("page_length", DEFAULT_PAGE_LENGTH)}


async def _delete_contact(client: RefinerClient, p: dict[str, Any]) -> dict[str, Any]:
    await client.contacts.delete(**_given(p, "id", "email", "uuid"))
    return {"data": {"message": "ok"}}


async def _get_account_info(client: RefinerClient, p: dict[str, Any]) -> dict[str, Any]:
    return {"data": to_json(await client.account.get())}


async def _get_contact(client: RefinerClient, p: dict[str, Any]) -> dict[str, Any]:
    return {"data": to_json(await client.contacts.get(**_given(p, "id", "email", "uuid")))}


async def _get_contacts(client: RefinerClient, p: dict[str, Any]) -> dict[str, Any]:
    args = _list_args(p, "order_by", "form_uuid", "segment_uuid")
    return await _one_page(client.contacts.list(**args), p)


async def _get_forms(client: RefinerClient, p: dict[str, Any]) -> dict[str, Any]:
    args = _list_args(p, "include_info", "include_config")
    if "list" in p:
        args["state"] = p["list"]  # the API's ``list`` is the SDK's ``state``
    return await _one_page(client.forms.list(**args), p)


async def _get_reporting(client: RefinerClient, p: dict[str, Any]) -> dict[str, Any]:
    report = await client.reporting.get(
        p["type"],
        **_given(
            p,
            "form_uuids",
            "segment_uuids",
            "tag_uuids",
            "question_identifiers",
            "date_range_start",
            "date_range_end",
        ),
    )
    # As the catalog lists them: the report's figures beside ``data``, which maps metric -> count.
    fields = to_json(report)
    data = fields.pop("data", None)
    return {"data": {} if data is None else data, **fields}


async def _get_responses(client: RefinerClient, p: dict[str, Any]) -> dict[str, Any]:
    args = _list_args(
        p,
        "search",
        "include",
        "form_uuid",
        "form_uuids",
        "segment_uuid",
        "segment_uuids",
        "date_range_start",
        "date_range_end",
        "with_attributes",
    )
    return await _one_page(client.responses.list(**args), p)


async def _get_segments(client: RefinerClient, p: dict[str, Any]) -> dict[str, Any]:
    return await _one_page(client.segments.list(**_list_args(p)), p)


async def _track_event(client: RefinerClient, p: dict[str, Any]) -> dict[str, Any]:
    await client.events.track(p["event"], **_given(p, "id", "email"))
    return {"data": {"message": "ok"}}


async def _update_contact(client: RefinerClient, p: dict[str, Any]) -> dict[str, Any]:
    result = await client.contacts.identify(**_given(p, "id", "email", "attributes", "account"))
    return {"data": to_json(result)}


# --- the registry --------------------------------------------------------------------------------

_TRAIT_VALUE = {"type": ["string", "number", "boolean"]}

_REPORT_FIGURES: dict[str, dict[str, Any]] = {
    "nps": {"type": ["number", "null"], "description": "Net Promoter Score (nps reports)."},
    "csat": {"type": ["number", "null"], "description": "Customer Satisfaction Score (csat)."},
    "average": {"type": ["number", "null"], "description": "Average rating value (ratings)."},
    "sum": {"type": ["number", "null"], "description": "Sum of all rating values (ratings)."},
    "count": {"type": ["integer", "null"], "description": "Total count of data points."},
    "views": {"type": ["integer", "null"], "description": "Number of survey views (count)."},
    "responses": {
        "type": ["integer", "null"],
        "description": "Number of responses (count, distribution).",
    },
    "datapoints": {
        "type": ["integer", "null"],
        "description": "Number of data points considered (distribution).",
    },
    "date_range_start": {
        "type": ["string", "null"],
        "format": "date-time",
        "description": "Start of the date range of the report (ISO-8601).",
    },
    "date_range_end": {
        "type": ["string", "null"],
        "format": "date-time",
        "description": "End of the date range of the report (ISO-8601).",
    },
}


def _action(
    name: str,
    title: str,
    description: str,
    handler: Handler,
    properties: Mapping[str, Any],
    *,
    required: tuple[str, ...] = (),
    read_only: bool = True,
    result_schemas: dict[str, Any] | None = None,
) -> Action:
    return Action(
        name=name,
        title=title,
        description=description,
        schema=s.object_schema(properties, required=required),
        handler=handler,
        read_only=read_only,
        result_schemas=result_schemas or {},
    )


_ALL: tuple[Action, ...] = (
    _action(
        "REFINER_DELETE_CONTACT",
        "Delete Contact",
        "Delete a specific contact by its identifier, together with all of its survey responses. "
        "Use after confirming the contact's id, email, or uuid; give exactly one of them.",
        _delete_contact,
        {
            "id": s.string("The unique identifier of the contact to delete (your user ID)."),
            "uuid": s.string("The Refiner-generated UUID of the contact to delete."),
            "email": s.email("The email address of the contact to delete."),
        },
        read_only=False,
    ),
    _action(
        "REFINER_GET_ACCOUNT_INFO",
        "Get Account Info",
        "Fetch the Refiner account's subscription and environment usage details. Use when you "
        "need to audit the current plan and usage.",
        _get_account_info,
        {},
    ),
    _action(
        "REFINER_GET_CONTACT",
        "Get Contact",
        "Retrieve the details of a specific contact: all stored traits, segments and account. "
        "Use when you need all stored traits for a known user; give exactly one of id, email "
        "or uuid.",
        _get_contact,
        {
            "id": s.string("Your user ID used when the contact was created."),
            "uuid": s.string("Refiner-generated UUID of the contact."),
            "email": s.email("Email address of the contact."),
        },
    ),
    _action(
        "REFINER_GET_CONTACTS",
        "Get Contacts",
        "Retrieve a list of contacts from the Refiner account. Use when you need to filter or "
        "paginate through contacts." + _LIST_NOTE,
        _get_contacts,
        {
            "page": _PAGE,
            "order_by": s.string(
                "Order contacts by this field.",
                enum=["first_seen_at", "last_seen_at", "last_form_submission_at"],
            ),
            "form_uuid": s.string("Filter contacts by survey UUID."),
            "page_cursor": _PAGE_CURSOR,
            "page_length": _PAGE_LENGTH,
            "segment_uuid": s.string("Filter contacts by segment UUID."),
        },
    ),
    _action(
        "REFINER_GET_FORMS",
        "Get Forms",
        "Retrieve a list of forms (surveys) from the Refiner account with optional filtering "
        "and pagination. Use when you need to list surveys by state, page, or include extra "
        "info/config." + _LIST_NOTE,
        _get_forms,
        {
            "list": s.string(
                "Which surveys to include by state. One of: all, published, drafts, archived, "
                "all_with_archived. Default is all (every survey that is not archived).",
                enum=["all", "published", "drafts", "archived", "all_with_archived"],
            ),
            "page": _PAGE,
            "page_length": _PAGE_LENGTH,
            "include_info": {
                "type": "boolean",
                "description": "If true, include additional meta data (timestamps, counts, "
                "folder, page_url).",
            },
            "include_config": {
                "type": "boolean",
                "description": "If true, include full survey configuration and elements.",
            },
        },
    ),
    _action(
        "REFINER_GET_REPORTING",
        "Get Reporting",
        "Retrieve aggregated reporting data for surveys, including metrics and analytics. Use "
        "when you need survey analytics over a time range filtered by type, question "
        "identifiers, tags, forms, or segments. The report's figures (nps, csat, average, sum, "
        "count, views, responses, datapoints, date_range_start, date_range_end) come beside "
        "data, which maps each metric key to its count.",
        _get_reporting,
        {
            "type": s.string(
                "Type of report to generate. One of 'nps', 'csat', 'ratings', 'distribution', "
                "or 'count'.",
                enum=["nps", "csat", "ratings", "distribution", "count"],
            ),
            "tag_uuids": s.string_array("Only include data points linked to these tag UUIDs."),
            "form_uuids": s.string_array(
                "Only include data points from these form (survey) UUIDs."
            ),
            "segment_uuids": s.string_array(
                "Only include data points for users in these segment UUIDs."
            ),
            "date_range_end": s.date_time(
                "ISO8601 timestamp (e.g. 'YYYY-MM-DDThh:mm:ssZ') to end date range. Only data "
                "before this time is counted."
            ),
            "date_range_start": s.date_time(
                "ISO8601 timestamp (e.g. 'YYYY-MM-DDThh:mm:ssZ') to start date range. Only data "
                "on or after this time is counted. Default: 7 days ago."
            ),
            "question_identifiers": s.string_array(
                "Only include data points for these question identifiers. If omitted, all "
                "matching questions are included."
            ),
        },
        required=("type",),
        result_schemas=_REPORT_FIGURES,
    ),
    _action(
        "REFINER_GET_RESPONSES",
        "Get Survey Responses",
        "Retrieve survey responses from the Refiner account, newest first, with optional "
        "filtering and pagination. Use after confirming survey creation to pull response "
        "data." + _LIST_NOTE,
        _get_responses,
        {
            "page": _PAGE,
            "search": s.string("Search by contact user ID, response UUID, email, or name."),
            "include": s.string(
                "Which responses to include: completed (the default), partials (partial and "
                "completed), or all (every survey view).",
                enum=["completed", "partials", "all"],
            ),
            "form_uuid": s.string("Filter responses by a single survey form UUID."),
            "form_uuids": s.string_array("Filter responses by multiple survey form UUIDs."),
            "page_cursor": _PAGE_CURSOR,
            "page_length": _PAGE_LENGTH,
            "segment_uuid": s.string("Filter responses by a single segment UUID."),
            "segment_uuids": s.string_array("Filter responses by multiple segment UUIDs."),
            "date_range_end": s.date_time(
                "ISO-8601 end date (exclusive) for last_data_reception_at."
            ),
            "with_attributes": {
                "type": "boolean",
                "description": "If true, include full contact attributes.",
            },
            "date_range_start": s.date_time(
                "ISO-8601 start date (inclusive) for last_data_reception_at."
            ),
        },
    ),
    _action(
        "REFINER_GET_SEGMENTS",
        "Get Segments",
        "Retrieve a list of user segments from the Refiner account. Use when you need to view "
        "or paginate segments." + _LIST_NOTE,
        _get_segments,
        {"page": _PAGE, "page_cursor": _PAGE_CURSOR, "page_length": _PAGE_LENGTH},
    ),
    _action(
        "REFINER_TRACK_EVENT",
        "Track Event",
        "Record a user event by name for a user identified by user id or email (the user is "
        "created if unknown). Use after confirming the identifier and event name. Each call "
        "records one event.",
        _track_event,
        {
            "id": s.string("Refiner user ID. Required if email is not provided."),
            "email": s.email("User email address. Required if id is not provided."),
            "event": s.string("Name of the event to track for the specified user."),
        },
        required=("event",),
        read_only=False,
    ),
    _action(
        "REFINER_UPDATE_CONTACT",
        "Update Contact",
        "Update an existing contact's attributes or account (a contact that does not exist yet "
        "is created). Use when you have a contact id or email and want to modify traits or "
        "grouping. Returns the contact_uuid.",
        _update_contact,
        {
            "id": s.string("Your internal user ID. Required if email is not provided."),
            "email": s.email("User email address. Required if id is not provided."),
            "account": {
                "type": "object",
                "description": "Nested account object for grouping users. Must include an `id` "
                "field; additional traits allowed.",
                "properties": {
                    "id": {"type": ["string", "integer"], "description": "Your account ID."}
                },
                "required": ["id"],
                "additionalProperties": _TRAIT_VALUE,
            },
            "attributes": {
                "type": "object",
                "description": "Traits to update (key=trait slug). Values: string (<=255 chars), "
                "integer, or boolean. Date-time strings accepted for keys ending with `_at`.",
                "additionalProperties": _TRAIT_VALUE,
            },
        },
        read_only=False,
    ),
)

#: The actions by catalog name (read-only mapping, in catalog order).
ACTIONS: Mapping[str, Action] = MappingProxyType({action.name: action for action in _ALL})
