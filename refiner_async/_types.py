"""Types of the public signatures: :data:`NOT_GIVEN` (an option left out) and the closed sets of
values some parameters take, as ``Literal`` types that type checkers hold calls to (the SDK checks
them at run time as well, for untyped callers)."""

from __future__ import annotations

from typing import Final, Literal

__all__ = [
    "NOT_GIVEN",
    "FormState",
    "Include",
    "NotGiven",
    "OrderBy",
    "PaginationMode",
    "ReportType",
]

#: Which responses a list or report counts: completed ones, partial ones, or both.
Include = Literal["completed", "partials", "all"]
#: How a list is read: by page number, by cursor, or chosen from its size (``"auto"``).
PaginationMode = Literal["auto", "pages", "cursor", "windows"]
#: The orders ``contacts.list(order_by=...)`` accepts.
OrderBy = Literal["first_seen_at", "last_seen_at", "last_form_submission_at"]
#: The forms ``forms.list(state=...)`` lists.
FormState = Literal["all", "published", "drafts", "archived", "all_with_archived"]
#: The reports ``reporting.get(type)`` computes.
ReportType = Literal["nps", "csat", "ratings", "distribution", "count"]


class NotGiven:
    """The type of :data:`NOT_GIVEN`: an option the caller left out, so that ``None`` can keep a
    meaning of its own (``with_options(deadline=None)`` means "no deadline")."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"  # pickles as the module attribute: one instance, always


#: An option left out: the setting keeps the value it had.
NOT_GIVEN: Final = NotGiven()
