"""Checks on call arguments, made before anything is sent: one pure function per rule.

Each check returns the value to send (sometimes normalised) or raises
:class:`~refiner_async.errors.InvalidParameterError` naming the parameter. Nothing here does I/O.
"""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, get_args

from ._protocol import encode_query
from ._types import FormState, Include, OrderBy, PaginationMode, ReportType
from .errors import InvalidParameterError

__all__ = [
    "FORM_STATES",
    "INCLUDES",
    "ORDER_BY",
    "PAGINATION_MODES",
    "REPORT_TYPES",
    "account",
    "answers",
    "api_path",
    "boolean",
    "choice",
    "contact_lookup",
    "cursor",
    "date_range",
    "email_address",
    "event_name",
    "id_or_email",
    "identifier",
    "identifier_list",
    "identify_body",
    "mapping_or_none",
    "max_items",
    "non_empty_text",
    "optional_choice",
    "optional_email",
    "optional_identifier",
    "optional_text",
    "page_length",
    "query_budget",
    "resume",
    "search",
    "tags",
    "timestamp",
    "traits",
    "user_id",
]

ORDER_BY: tuple[str, ...] = get_args(OrderBy)
FORM_STATES: tuple[str, ...] = get_args(FormState)
INCLUDES: tuple[str, ...] = get_args(Include)
REPORT_TYPES: tuple[str, ...] = get_args(ReportType)
PAGINATION_MODES: tuple[str, ...] = get_args(PaginationMode)

MAX_PAGE_LENGTH = 1000
MAX_EMAIL_CHARS = 254
MAX_IDENTIFIER_CHARS = 255
MAX_TRAIT_CHARS = 255  # the API's limit for string trait values
MAX_TAGS = 20
MAX_LIST_ITEMS = 100  # UUIDs in one list filter (100 UUIDs are ~5.3 KB of query string)
MAX_SEARCH_CHARS = 500  # at most 12 bytes each once UTF-8 percent-encoded: 6,000 bytes
#: The longest query string a call may build. Servers and proxies commonly refuse a request line
#: over 8 KiB (nginx's default buffer is 8 KiB, Apache's LimitRequestLine 8,190 bytes); 6,000 bytes
#: leave room for the path, the paginator's page and cursor parameters and the method.
MAX_QUERY_BYTES = 6000
#: Integers are sent as JSON numbers; beyond signed 64 bits the encoder fails and servers overflow.
MIN_INT, MAX_INT = -(2**63), 2**63 - 1

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TRAIT_KEY = re.compile(r"[^\x00-\x1f\x7f\[\]]+")  # no control characters, no brackets
#: Trait names identify-user cannot take: the API reads these top-level body keys as the contact's
#: identifiers (``id``, ``email``, ``uuid``), its account, a nested traits object (``attributes``,
#: some sources), or the API key (``api_key``, accepted in the body by the API).
RESERVED_TRAIT_KEYS = frozenset({"id", "email", "account", "uuid", "attributes", "api_key"})
#: Body keys that answers of store-response may never use, whatever the call (the API key).
_RESERVED_BODY_KEYS = frozenset({"api_key"})

# An email address, a documented subset of RFC 5322's addr-spec (with RFC 6531's UTF-8): the local
# part is a dot-atom (atext runs separated by single dots; quoted strings and comments refused), the
# domain is two or more labels of letters, digits and inner hyphens (no IP literals), the last not
# all digits. Characters of the query syntax (``?``, ``&``, ``=``, ``#``, ``/``) can only appear in
# the local part, where RFC 5322 allows them.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]|[^\x00-\x7f]"
_LOCAL_PART = re.compile(rf"(?:{_ATEXT})+(?:\.(?:{_ATEXT})+)*")
_LABEL = re.compile(r"[^\W_](?:[^\W_]|-)*(?<!-)")  # letters and digits, inner hyphens
MAX_LOCAL_PART_CHARS = 64
MAX_LABEL_CHARS = 63


def _type_name(value: object) -> str:
    return type(value).__name__


def user_id(param: str, value: object) -> str:
    """The caller's own id of a user or account: a non-empty string of at most 255 characters
    without control characters. ``/`` is allowed: ids travel only as query values (percent-encoded)
    or in JSON bodies, never in a path, and refiner-api.md sets no rule against it."""
    if not isinstance(value, str):
        raise InvalidParameterError(param, f"expected a string, got {_type_name(value)}")
    if not value.strip():
        raise InvalidParameterError(param, "must not be empty")
    if len(value) > MAX_IDENTIFIER_CHARS:
        raise InvalidParameterError(param, f"longer than {MAX_IDENTIFIER_CHARS} characters")
    if _CONTROL.search(value):
        raise InvalidParameterError(param, "must not contain control characters")
    return value


def identifier(param: str, value: object) -> str:
    """A Refiner UUID or a question identifier: :func:`user_id`'s rules, and no ``/`` (Refiner
    never makes one with it, so a ``/`` there is a mistake such as a path)."""
    user_id(param, value)
    assert isinstance(value, str)
    if "/" in value:
        raise InvalidParameterError(param, "must not contain control characters or '/'")
    return value


def optional_identifier(param: str, value: object) -> str | None:
    """:func:`identifier`, or None."""
    return None if value is None else identifier(param, value)


def identifier_list(param: str, values: object) -> list[str] | None:
    """A list (or tuple, set) of identifiers, or None; a bare string is refused."""
    if values is None:
        return None
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InvalidParameterError(param, f"expected a list of strings, got {_type_name(values)}")
    items = list(values)
    if len(items) > MAX_LIST_ITEMS:
        raise InvalidParameterError(param, f"at most {MAX_LIST_ITEMS} items; got {len(items)}")
    for index, item in enumerate(items):
        identifier(f"{param}[{index}]", item)
    return items


def email_address(value: object, param: str = "email") -> str:
    """An email address in the RFC 5322 subset described at ``_LOCAL_PART``: at most 254
    characters, a dot-atom local part of at most 64, ``@``, and a domain of two or more labels."""
    if not isinstance(value, str):
        raise InvalidParameterError(param, f"expected a string, got {_type_name(value)}")
    if len(value) > MAX_EMAIL_CHARS:
        raise InvalidParameterError(param, f"longer than {MAX_EMAIL_CHARS} characters")
    if _CONTROL.search(value) or any(ch.isspace() for ch in value):
        raise InvalidParameterError(
            param, "must not contain spaces, line breaks or control characters"
        )
    local, _, domain = value.rpartition("@")
    labels = domain.split(".")
    if (
        not _LOCAL_PART.fullmatch(local)
        or len(local) > MAX_LOCAL_PART_CHARS
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) and len(label) <= MAX_LABEL_CHARS for label in labels)
        or labels[-1].isdigit()
    ):
        raise InvalidParameterError(param, f"not an email address: {value[:60]!r}")
    return value


def optional_email(value: object, param: str = "email") -> str | None:
    """:func:`email`, or None."""
    return None if value is None else email_address(value, param)


def contact_lookup(*, id: object, email: object, uuid: object) -> dict[str, str]:
    """Exactly one of ``id``, ``email``, ``uuid``: ``{name: value}`` for the query string."""
    given = {k: v for k, v in (("id", id), ("email", email), ("uuid", uuid)) if v is not None}
    if len(given) != 1:
        names = ", ".join(given) or "none"
        raise InvalidParameterError(
            "id/email/uuid", f"give exactly one of id, email or uuid (got {names})"
        )
    ((name, value),) = given.items()
    if name == "email":
        return {"email": email_address(value)}
    if name == "id":
        return {"id": user_id("id", value)}
    return {name: identifier(name, value)}


def id_or_email(*, id: object, email: object) -> dict[str, str]:
    """``id`` or ``email`` or both (at least one): the identifiers to send."""
    if id is None and email is None:
        raise InvalidParameterError("id/email", "give id or email (or both)")
    sent: dict[str, str] = {}
    if id is not None:
        sent["id"] = user_id("id", id)
    if email is not None:
        sent["email"] = email_address(email)
    return sent


def non_empty_text(param: str, value: object) -> str:
    """A string with something other than spaces in it."""
    if not isinstance(value, str):
        raise InvalidParameterError(param, f"expected a string, got {_type_name(value)}")
    if not value.strip():
        raise InvalidParameterError(param, "must not be empty")
    if _CONTROL.search(value):
        raise InvalidParameterError(param, "must not contain control characters")
    return value


def event_name(value: object) -> str:
    """An event name: a non-empty string."""
    return non_empty_text("event", value)


def optional_text(param: str, value: object) -> str | None:
    """A string or None."""
    if value is not None and not isinstance(value, str):
        raise InvalidParameterError(param, f"expected a string, got {_type_name(value)}")
    return value


def search(value: object, param: str = "search") -> str | None:
    """A search text or None: no control characters, at most ``MAX_SEARCH_CHARS`` characters (so
    that, percent-encoded, it fits the query string budget ``MAX_QUERY_BYTES``)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidParameterError(param, f"expected a string, got {_type_name(value)}")
    if _CONTROL.search(value):
        raise InvalidParameterError(param, "must not contain control characters")
    if len(value) > MAX_SEARCH_CHARS:
        raise InvalidParameterError(
            param, f"longer than {MAX_SEARCH_CHARS} characters; got {len(value)}"
        )
    return value


def cursor(value: object, param: str = "cursor") -> str:
    """A page cursor as a previous page's ``next_page_cursor`` gave it: a non-empty string without
    control characters (an empty one would silently restart at page 1)."""
    if not isinstance(value, str):
        raise InvalidParameterError(param, f"expected a cursor string, got {_type_name(value)}")
    if not value:
        raise InvalidParameterError(param, "must not be empty")
    if _CONTROL.search(value):
        raise InvalidParameterError(param, "must not contain control characters")
    return value


def query_budget(params: Mapping[str, object]) -> None:
    """Refuse a call whose filters would not fit a URL: their percent-encoded query string may not
    exceed ``MAX_QUERY_BYTES``; the error names the largest filter."""
    sizes: dict[str, int] = {}
    for key, text in encode_query(params):
        name = key.removesuffix("[]").split("[", 1)[0]
        sizes[name] = (
            sizes.get(name, 0) + len(urllib.parse.quote(key) + urllib.parse.quote(text)) + 2
        )
    total = sum(sizes.values())
    if total > MAX_QUERY_BYTES:
        largest = max(sizes, key=sizes.__getitem__)
        raise InvalidParameterError(
            largest,
            f"the filters need {total} bytes of query string, over the {MAX_QUERY_BYTES} a URL "
            "can safely carry; split the call",
        )


_PATH_REFUSED = re.compile(r"[\s\x00-\x1f\x7f?#\\]")  # whitespace, control, ?, #, backslash


def api_path(value: object, param: str = "path") -> str:
    """A path below the base URL, as ``client.get``/``post`` take it: ``/contacts``.

    It must start with one ``/`` (no scheme or host: ``//host`` and ``https://...`` are refused),
    carry no query or fragment (parameters go in ``params``), no whitespace, control characters or
    backslash, and no ``.`` or ``..`` segment, percent-encoded or not (they would climb out of the
    base URL's ``/v1``).
    """
    if not isinstance(value, str):
        raise InvalidParameterError(param, f"must be a str, got {_type_name(value)}")
    if not value.startswith("/") or value.startswith("//"):
        raise InvalidParameterError(
            param, f"must be a path below the base URL starting with one '/', got {value!r}"
        )
    decoded = urllib.parse.unquote(value)
    if _PATH_REFUSED.search(value) or _PATH_REFUSED.search(decoded):
        raise InvalidParameterError(
            param,
            "must not carry a query, a fragment, whitespace, control characters or a backslash "
            f"(give parameters in params), got {value!r}",
        )
    if any(segment in (".", "..") for segment in decoded.split("/")):
        raise InvalidParameterError(param, f"must not have '.' or '..' segments, got {value!r}")
    return value


def mapping_or_none(param: str, value: object) -> Mapping[str, Any] | None:
    """A mapping of parameters (or None), as the escape hatch's ``params`` and ``json`` take."""
    if value is None or isinstance(value, Mapping):
        return value
    raise InvalidParameterError(param, f"must be a mapping or None, got {_type_name(value)}")


def boolean(param: str, value: object) -> bool:
    """A real ``bool`` (not 0/1 or a string)."""
    if not isinstance(value, bool):
        raise InvalidParameterError(param, f"expected True or False, got {value!r}")
    return value


def choice(param: str, value: object, allowed: tuple[str, ...]) -> str:
    """One of ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise InvalidParameterError(param, f"must be one of {', '.join(allowed)}; got {value!r}")
    return value


def optional_choice(param: str, value: object, allowed: tuple[str, ...]) -> str | None:
    """:func:`choice`, or None."""
    return None if value is None else choice(param, value, allowed)


def page_length(value: object) -> int:
    """An int from 1 to 1000 (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterError("page_length", f"expected an int, got {_type_name(value)}")
    if not 1 <= value <= MAX_PAGE_LENGTH:
        raise InvalidParameterError(
            "page_length", f"must be between 1 and {MAX_PAGE_LENGTH}; got {value}"
        )
    return value


def max_items(value: object) -> int | None:
    """None or an int >= 0 (bools refused)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterError(
            "max_items", f"expected an int or None, got {_type_name(value)}"
        )
    if value < 0:
        raise InvalidParameterError("max_items", f"must be >= 0; got {value}")
    return value


def resume(value: object) -> str | None:
    """A resume token's type: a string or None (the paginator decodes it)."""
    if value is not None and not isinstance(value, str):
        raise InvalidParameterError("resume", f"expected a token string, got {_type_name(value)}")
    return value


def when(param: str, value: object) -> datetime:
    """An aware UTC datetime from a datetime (naive = UTC), a date, or an ISO-8601 string."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("z", "Z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidParameterError(
                param, f"not an ISO-8601 date or date-time: {value[:40]!r}"
            ) from None
    else:
        raise InvalidParameterError(
            param, f"expected a datetime or an ISO-8601 string, got {_type_name(value)}"
        )
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def timestamp(param: str, value: object) -> datetime | date | str | None:
    """A date parameter to send: a datetime or date as given (the wire layer writes ISO-8601 UTC),
    or an ISO-8601 string, checked and passed through; None stays None."""
    if value is None:
        return None
    when(param, value)
    if isinstance(value, str):
        if _CONTROL.search(value):
            raise InvalidParameterError(param, "must not contain control characters")
        return value.strip()
    return value  # type: ignore[return-value]


def date_range(start: object, end: object) -> tuple[Any, Any]:
    """Both ends checked with :func:`timestamp`; ``date_range_start`` may not be after ``date_range_end``."""
    sent_start = timestamp("date_range_start", start)
    sent_end = timestamp("date_range_end", end)
    if (
        start is not None
        and end is not None
        and when("date_range_start", start) > when("date_range_end", end)
    ):
        raise InvalidParameterError(
            "date_range_start", f"is after date_range_end ({start!s} > {end!s})"
        )
    return sent_start, sent_end


def _json_int(param: str, value: int) -> int:
    """An int that fits a signed 64-bit JSON number."""
    if not MIN_INT <= value <= MAX_INT:
        raise InvalidParameterError(
            param, f"integer out of the signed 64-bit range ({MIN_INT} to {MAX_INT})"
        )
    return value


def _trait_value(param: str, key: str, value: object) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _json_int(param, value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidParameterError(param, "must be a finite number")
        return value
    if key.endswith("_at") and isinstance(value, datetime | date):
        return value
    if isinstance(value, str):
        if key.endswith("_at"):
            when(param, value)  # the API reads *_at strings as dates
            return value.strip()
        if len(value) > MAX_TRAIT_CHARS:
            raise InvalidParameterError(param, f"longer than {MAX_TRAIT_CHARS} characters")
        return value
    if isinstance(value, datetime | date):
        raise InvalidParameterError(
            param, "dates are only accepted for traits whose name ends in _at"
        )
    raise InvalidParameterError(
        param,
        "expected a str (at most 255 characters), int, float, bool, or a datetime for keys "
        f"ending in _at; got {_type_name(value)}",
    )


def _trait_key(param: str, key: object) -> str:
    if not isinstance(key, str) or not _TRAIT_KEY.fullmatch(key):
        raise InvalidParameterError(
            param, f"trait names must be non-empty strings without brackets; got {key!r}"
        )
    return key


def traits(param: str, values: object) -> dict[str, object]:
    """Trait name -> value, each checked (``param`` names the mapping, e.g. ``attributes``)."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise InvalidParameterError(param, f"expected a mapping, got {_type_name(values)}")
    checked: dict[str, object] = {}
    for key, value in values.items():
        name = _trait_key(param, key)
        checked[name] = _trait_value(f"{param}[{name!r}]", name, value)
    return checked


def account(value: object) -> dict[str, object] | None:
    """The ``account`` to group a contact into: a mapping with a non-empty ``id`` plus traits."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidParameterError("account", f"expected a mapping, got {_type_name(value)}")
    if value.get("id") is None:
        raise InvalidParameterError("account", "must include 'id'")
    account_id = value["id"]
    if isinstance(account_id, int) and not isinstance(account_id, bool):
        account_id = str(account_id)
    checked = traits("account", {k: v for k, v in value.items() if k != "id"})
    return {"id": user_id("account['id']", account_id), **checked}


def identify_body(
    *, id: object, email: object, attributes: object, account_value: object
) -> dict[str, object]:
    """The identify-user body: traits flat at the top level, ``account`` nested.

    A trait named like a key the API reads itself (``RESERVED_TRAIT_KEYS``) is refused: it would
    be dropped, or read as an identifier, the account, nested traits or the API key."""
    sent = id_or_email(id=id, email=email)
    checked = traits("attributes", attributes)
    for key in checked:
        if key in RESERVED_TRAIT_KEYS:
            hint = f"; pass it as {key}=" if key in ("id", "email", "account") else ""
            raise InvalidParameterError(
                f"attributes[{key!r}]", f"is a name the API reads itself, not a trait{hint}"
            )
    body = dict(checked)
    body.update(sent)
    grouped = account(account_value)
    if grouped is not None:
        body["account"] = grouped
    return body


def tags(value: object, param: str = "tags") -> list[str]:
    """A non-empty list of at most 20 tag names."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidParameterError(param, f"expected a list of strings, got {_type_name(value)}")
    items = list(value)
    if not items:
        raise InvalidParameterError(param, "must name at least one tag")
    if len(items) > MAX_TAGS:
        raise InvalidParameterError(param, f"at most {MAX_TAGS} tags; got {len(items)}")
    for index, item in enumerate(items):
        non_empty_text(f"{param}[{index}]", item)
    return items


def answers(value: object, reserved: Iterable[str]) -> dict[str, object]:
    """Answers keyed by question identifier: scalars or lists of scalars, none named like a reserved key."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidParameterError("data", f"expected a mapping, got {_type_name(value)}")
    blocked = frozenset(reserved) | _RESERVED_BODY_KEYS
    checked: dict[str, object] = {}
    for key, answer in value.items():
        name = _trait_key("data", key)
        param = f"data[{name!r}]"
        if name in blocked:
            raise InvalidParameterError(param, "clashes with a parameter of the call")
        if isinstance(answer, list | tuple):
            checked[name] = [_answer_scalar(param, item) for item in answer]
        else:
            checked[name] = _answer_scalar(param, answer)
    return checked


def _answer_scalar(param: str, value: object) -> object:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return _json_int(param, value)
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise InvalidParameterError(
        param, f"expected a str, int, float, bool or a list of those; got {_type_name(value)}"
    )
