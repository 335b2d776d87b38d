"""The emulator's records, and the answers a response derives from its seed.

Records are slotted dataclasses holding timestamps as whole epoch seconds; wire formatting lives in
the ``fmt_*`` helpers. Generated survey answers are not stored: a response keeps a 64-bit ``gen``
value and :func:`answers_for` derives its answers from it on demand (text is only built when a
response is serialized), so a million responses stay small in memory.
"""

from __future__ import annotations

import functools
import random
import time
from dataclasses import dataclass, field
from typing import Any, Final

from ._vocabulary import SENTENCES

__all__ = [
    "COMPLETED",
    "DAY",
    "DISMISSED",
    "INCLUDE_KINDS",
    "KIND_NAMES",
    "PARTIAL",
    "VIEW",
    "Account",
    "Contact",
    "Form",
    "HistoryEntry",
    "Question",
    "Response",
    "Segment",
    "answers_for",
    "fmt_iso",
    "fmt_space",
    "new_uuid",
]

Scalar = str | int | float | bool | None

COMPLETED: Final = 0
PARTIAL: Final = 1
DISMISSED: Final = 2
VIEW: Final = 3
KIND_NAMES: Final = ("completed", "partial", "dismissed", "view")
# Which kinds each value of the ``include`` parameter lists.
INCLUDE_KINDS: Final[dict[str, frozenset[int]]] = {
    "completed": frozenset({COMPLETED}),
    "partials": frozenset({COMPLETED, PARTIAL}),
    "all": frozenset({COMPLETED, PARTIAL, DISMISSED, VIEW}),
}

_MASK: Final = 0xFFFFFFFFFFFFFFFF
DAY: Final = 86400


def fmt_space(ts: int | None) -> str | None:
    """Response timestamps: ``YYYY-MM-DD HH:MM:SS`` (UTC)."""
    if ts is None:
        return None
    day, second = divmod(ts, DAY)
    return f"{_date(day)} {_clock(second)}"


def fmt_iso(ts: int | None) -> str | None:
    """Contact, account, form timestamps: ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC)."""
    if ts is None:
        return None
    day, second = divmod(ts, DAY)
    return f"{_date(day)}T{_clock(second)}.000000Z"


# A listing writes seven timestamps per response: the date and the time of day are each formatted
# once and then looked up (a data set spans some hundreds of days).
@functools.lru_cache(maxsize=4096)
def _date(day: int) -> str:
    """``YYYY-MM-DD`` of the ``day``-th day since the epoch."""
    return time.strftime("%Y-%m-%d", time.gmtime(day * DAY))


@functools.lru_cache(maxsize=DAY)
def _clock(second: int) -> str:
    """``HH:MM:SS`` of the ``second``-th second of a day."""
    return f"{second // 3600:02}:{second // 60 % 60:02}:{second % 60:02}"


def new_uuid(rng: random.Random) -> str:
    """A version-4 shaped UUID string drawn from ``rng``."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _mix(a: int, b: int) -> int:
    """splitmix64-style hash of two integers: the per-question randomness of a response."""
    x = (a * 0x9E3779B97F4A7C15 + (b + 1) * 0xBF58476D1CE4E5B9) & _MASK
    x ^= x >> 31
    x = (x * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 29)


# --------------------------------------------------------------------------------------------
# Records


@dataclass(slots=True, eq=False)
class Question:
    identifier: str
    type: str  # nps | csat | rating | text | choice | multi
    label: str
    options: tuple[str, ...] = ()


@dataclass(slots=True, eq=False)
class HistoryEntry:
    uuid: str
    action: str
    created_at: int
    snapshot: dict[str, Any]

    @property
    def key(self) -> tuple[int, str]:
        return (-self.created_at, self.uuid)


@dataclass(slots=True, eq=False)
class Form:
    uuid: str
    name: str
    questions: list[Question]
    channels: list[str]
    created_at: int
    updated_at: int
    published_at: int | None = None
    archived_at: int | None = None
    first_view_at: int | None = None
    last_view_at: int | None = None
    responses_count: int = 0
    views_count: int = 0
    page_url: str | None = None
    history: list[HistoryEntry] = field(default_factory=list)

    def question_types(self) -> dict[str, str]:
        return {q.identifier: q.type for q in self.questions}

    def count_view(self, response: Response) -> None:
        """Add ``response`` to this form's counts and first/last view times."""
        self.views_count += 1
        if response.kind <= PARTIAL:
            self.responses_count += 1
        if self.first_view_at is None or response.first_shown_at < self.first_view_at:
            self.first_view_at = response.first_shown_at
        if self.last_view_at is None or response.last_shown_at > self.last_view_at:
            self.last_view_at = response.last_shown_at

    def uncount_view(self, response: Response) -> None:
        """Take a deleted ``response`` out of this form's counts (view times stay as they were)."""
        self.views_count -= 1
        if response.kind <= PARTIAL:
            self.responses_count -= 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "published": self.published_at is not None,
            "archived": self.archived_at is not None,
            "config": self.config(),
        }

    def config(self) -> dict[str, Any]:
        return {
            "form_elements": [
                {
                    "identifier": q.identifier,
                    "type": q.type,
                    "question": q.label,
                    **({"options": list(q.options)} if q.options else {}),
                }
                for q in self.questions
            ],
            "appearance": {"position": "bottom-right", "theme": "light"},
            "targeting": {"channels": self.channels},
        }


@dataclass(slots=True, eq=False)
class Segment:
    uuid: str
    name: str
    is_manual: bool
    members: set[Contact] = field(default_factory=set)

    @property
    def key(self) -> tuple[str, str]:
        return (self.name.lower(), self.uuid)


@dataclass(slots=True, eq=False)
class Account:
    uuid: str
    remote_id: str | None
    display_name: str | None
    domain: str | None
    first_seen_at: int
    last_seen_at: int
    attributes: dict[str, Scalar]
    members: set[Contact] = field(default_factory=set)


@dataclass(slots=True, eq=False)
class Contact:
    uuid: str
    remote_id: str | None
    email: str | None
    display_name: str | None
    first_seen_at: int
    last_seen_at: int
    traits: dict[str, Scalar]
    account: Account | None = None
    segments: list[Segment] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    # Serialization caches, cleared by Store.touch_contact.
    embed: bytes | None = None
    embed_attrs: bytes | None = None
    full: bytes | None = None

    @property
    def user_key(self) -> str:
        """How the journal names this user: the user ID, else the email, else the UUID."""
        return self.remote_id or self.email or self.uuid


@dataclass(slots=True, eq=False)
class Response:
    uuid: str
    form: Form
    contact: Contact
    kind: int
    first_shown_at: int
    last_shown_at: int
    show_counter: int
    first_data_at: int | None
    last_data_at: int | None
    dismissed_at: int | None
    gen: int
    answers: dict[str, Any] | None = None  # explicit answers (stored responses); else generated
    tags: list[str] | None = None
    head: bytes | None = None  # cached JSON of everything before the contact object

    @property
    def key(self) -> tuple[int, str]:
        """Sort key: newest first, then by uuid."""
        return (-self.sort_at, self.uuid)

    @property
    def sort_at(self) -> int:
        """The time responses are ordered by: last data reception, else last shown."""
        return self.last_data_at if self.last_data_at is not None else self.last_shown_at

    @property
    def completed_at(self) -> int | None:
        return self.last_data_at if self.kind == COMPLETED else None

    def data(self, types: frozenset[str] | None = None) -> dict[str, Any]:
        if self.answers is not None:
            return self.answers
        return answers_for(self.form, self.kind, self.gen, types)


# --------------------------------------------------------------------------------------------
# Answers

# Score tables: index by (hash % 100); NPS about 52% promoters, 28% passives, 20% detractors.
_NPS_TABLE: Final = tuple(
    score
    for score, weight in zip(range(11), (2, 1, 1, 2, 2, 4, 8, 12, 16, 24, 28), strict=True)
    for _ in range(weight)
)
_FIVE_TABLE: Final = tuple(
    score
    for score, weight in zip(range(1, 6), (5, 7, 16, 34, 38), strict=True)
    for _ in range(weight)
)
_NUMERIC_TYPES: Final = frozenset({"nps", "csat", "rating"})


def answers_for(
    form: Form, kind: int, gen: int, types: frozenset[str] | None = None
) -> dict[str, Any]:
    """The generated answers of a response (only the question ``types`` asked for, if given)."""
    questions = form.questions
    if kind == COMPLETED:
        answered = len(questions)
    elif kind == PARTIAL:
        answered = 1 + gen % max(1, len(questions) - 1)
    else:
        return {}
    out: dict[str, Any] = {}
    for i in range(answered):
        q = questions[i]
        if types is not None and q.type not in types:
            continue
        h = _mix(gen, i)
        if q.type == "nps":
            out[q.identifier] = _NPS_TABLE[h % 100]
        elif q.type in ("csat", "rating"):
            out[q.identifier] = _FIVE_TABLE[h % 100]
        elif q.type == "choice":
            out[q.identifier] = q.options[h % len(q.options)]
        elif q.type == "multi":
            picked = [opt for j, opt in enumerate(q.options) if (h >> j) & 1]
            out[q.identifier] = picked or [q.options[0]]
        else:
            count = 2 + h % 3
            out[q.identifier] = " ".join(
                SENTENCES[((h >> 5) + 7 * j) % len(SENTENCES)] for j in range(count)
            )
    return out
