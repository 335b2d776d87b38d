"""The emulator's records and the seeded data set that fills them.

Records are slotted dataclasses holding timestamps as whole epoch seconds; wire formatting lives in
the ``fmt_*`` helpers. Generated survey answers are not stored: a response keeps a 64-bit ``gen``
value and :func:`answers_for` derives its answers from it on demand (text is only built when a
response is serialized), so a million responses stay small in memory.
"""

from __future__ import annotations

import random
import time
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Final

__all__ = [
    "COMPLETED",
    "DISMISSED",
    "INCLUDE_KINDS",
    "KIND_NAMES",
    "PARTIAL",
    "VIEW",
    "Account",
    "Contact",
    "Dataset",
    "Form",
    "HistoryEntry",
    "Question",
    "Response",
    "Segment",
    "answers_for",
    "build_dataset",
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
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


def fmt_iso(ts: int | None) -> str | None:
    """Contact, account, form timestamps: ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC)."""
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(ts))


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
# Vocabulary

_FIRST = (
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Oliver",
    "Sophia",
    "Elijah",
    "Isabella",
    "Lucas",
    "Mia",
    "Mateo",
    "Amelia",
    "Levi",
    "Harper",
    "Ethan",
    "Evelyn",
    "Aiden",
    "Abigail",
    "Leo",
    "Emily",
    "Jack",
    "Ella",
    "Henry",
    "Camila",
    "Sebastian",
    "Luna",
    "Daniel",
    "Sofia",
    "Michael",
    "Avery",
    "Owen",
    "Scarlett",
    "Samuel",
    "Chloe",
    "Julian",
    "Layla",
    "Wyatt",
    "Zoe",
    "Hugo",
    "Nora",
    "Ravi",
    "Priya",
    "Kenji",
    "Yuki",
    "Fatima",
    "Omar",
    "Lea",
    "Jonas",
    "Ingrid",
    "Mateus",
    "Ana",
    "Chen",
    "Wei",
    "Aisha",
    "Tomasz",
    "Eva",
    "Marco",
    "Giulia",
)
_LAST = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Schmidt",
    "Rossi",
    "Tanaka",
    "Kowalski",
    "Dubois",
    "Jensen",
    "Silva",
    "Novak",
    "Patel",
    "Kim",
)
_CO_A = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Cyberdyne",
    "Tyrell",
    "Wonka",
    "Aperture",
    "Massive",
    "Blue",
    "Bright",
    "North",
    "Silver",
    "Quantum",
    "Pixel",
    "Cloud",
    "Delta",
    "Nimbus",
    "Orbit",
    "Summit",
)
_CO_B = (
    "Labs",
    "Systems",
    "Analytics",
    "Works",
    "Digital",
    "Software",
    "Cloud",
    "Media",
    "Partners",
    "Logistics",
    "Health",
    "Ventures",
)
_FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com")
_INDUSTRIES = ("Computer Software", "E-commerce", "Financial Services", "Healthcare", "Education")
_PLANS = ("free", "starter", "growth", "enterprise")
_ROLES = ("Manager", "Engineer", "Designer", "Founder", "Marketer", "Analyst", "Support")
_COUNTRIES = ("US", "DE", "FR", "GB", "NL", "ES", "JP", "BR", "IN", "CA")

_SENTENCES = (
    "The dashboard gives me a quick overview of everything that matters to my team.",
    "Setting up the first survey took less than ten minutes, which was a pleasant surprise.",
    "I would love to see more export options, especially for spreadsheets and BI tools.",
    "Support answered within the hour and solved the issue on the first reply.",
    "Sometimes the page loads slowly when we have a lot of responses in the list.",
    "The integration with our CRM saves us hours of manual copy and paste every week.",
    "Pricing feels a bit steep for a small team like ours, but the value is there.",
    "Our customers respond much more often to in-app surveys than to email surveys.",
    "Filtering responses by segment is exactly what our product managers needed.",
    "It would help if we could schedule reports to be sent to the whole team on Mondays.",
    "The mobile SDK was easy to integrate and has been stable in production.",
    "We use the NPS trend chart in every monthly board meeting now.",
    "Documentation is clear, although a few API examples are missing for edge cases.",
    "I am not sure how the targeting rules interact when several surveys are eligible.",
    "Tagging responses lets us route feedback to the right squad automatically.",
    "The onboarding checklist helped our new hires understand the product quickly.",
    "We had trouble with duplicate contacts when users changed their email address.",
    "Overall the product is reliable and the team keeps shipping useful improvements.",
    "A dark mode for the survey widget would match our application much better.",
    "Being able to translate surveys into five languages opened new markets for us.",
    "The webhook payloads contain everything we need to update our data warehouse.",
    "I miss a way to compare two periods side by side in the reporting view.",
    "Response rates doubled after we moved the survey to the end of the checkout flow.",
    "Permissions are a bit coarse; we would like read-only access for some colleagues.",
    "The survey editor is intuitive and the preview matches what users actually see.",
    "Our churn interviews now start from the cancellation survey answers.",
    "Search could be faster when looking for a specific user by email address.",
    "Everything works as expected and we have not needed to contact support at all.",
    "The CSV export occasionally times out for our largest survey with many answers.",
    "We appreciate that the team listens to feedback and publishes a public roadmap.",
    "The analytics could go deeper, for example with cohorts and retention curves.",
    "Embedding the survey in our help center was straightforward with the link channel.",
)

_QUESTION_SETS: Final[list[tuple[str, list[Question]]]] = [
    (
        "Net Promoter Score",
        [
            Question("nps", "nps", "How likely are you to recommend us to a friend or colleague?"),
            Question("nps_reason", "text", "What is the main reason for your score?"),
            Question("improve", "text", "What is one thing we could do better?"),
        ],
    ),
    (
        "Customer satisfaction",
        [
            Question("csat", "csat", "How satisfied are you with our support?"),
            Question(
                "support_channel",
                "choice",
                "How did you contact us?",
                ("Chat", "Email", "Phone", "Help center"),
            ),
            Question("csat_comment", "text", "Anything else you would like to share?"),
        ],
    ),
    (
        "Feature feedback: Reports",
        [
            Question("rating", "rating", "How would you rate the new reports?"),
            Question(
                "most_valuable",
                "choice",
                "Which part is most valuable to you?",
                ("Charts", "Exports", "Filters", "Scheduling"),
            ),
            Question("feedback", "text", "How could we improve the reports?"),
        ],
    ),
    (
        "Onboarding survey",
        [
            Question(
                "role", "choice", "What is your role?", ("Product", "Engineering", "CX", "Sales")
            ),
            Question(
                "team_size", "choice", "How big is your team?", ("1-10", "11-50", "51-200", "200+")
            ),
            Question(
                "goals",
                "multi",
                "What do you want to achieve?",
                ("Measure NPS", "Collect feature ideas", "Reduce churn", "Research users"),
            ),
            Question("goal_details", "text", "Tell us more about your goals."),
        ],
    ),
    (
        "Cancellation survey",
        [
            Question(
                "cancel_reason",
                "choice",
                "Why are you cancelling?",
                ("Too expensive", "Missing features", "Switched tool", "Project ended"),
            ),
            Question("nps", "nps", "How likely are you to recommend us anyway?"),
            Question("comment", "text", "What could have made you stay?"),
        ],
    ),
    (
        "Product-market fit",
        [
            Question(
                "pmf",
                "choice",
                "How would you feel if you could no longer use the product?",
                ("Very disappointed", "Somewhat disappointed", "Not disappointed"),
            ),
            Question("rating", "rating", "How would you rate the product overall?"),
            Question("main_benefit", "text", "What is the main benefit you receive?"),
        ],
    ),
]

_SEGMENT_NAMES: Final = (
    ("Power users", False, 0.25),
    ("Beta testers", True, 0.10),
    ("Trial users", False, 0.30),
    ("Enterprise accounts", False, 0.15),
    ("Interview panel", True, 0.05),
    ("Churn risk", False, 0.12),
    ("Champions", True, 0.08),
    ("Mobile users", False, 0.35),
)

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
                _SENTENCES[((h >> 5) + 7 * j) % len(_SENTENCES)] for j in range(count)
            )
    return out


# --------------------------------------------------------------------------------------------
# The seeded data set


@dataclass(slots=True)
class Dataset:
    project_uuid: str
    accounts: list[Account]
    contacts: list[Contact]
    segments: list[Segment]
    forms: list[Form]
    responses: list[Response]  # newest first


def build_dataset(
    *,
    seed: int,
    contacts: int,
    responses: int,
    forms: int,
    segments: int,
    accounts: int,
    anchor: int,
    span_days: int = 365,
) -> Dataset:
    """Build the whole data set from ``seed``: same arguments, same data."""
    rng = random.Random(seed)
    rand = rng.random
    span = span_days * DAY
    start = anchor - span
    project_uuid = new_uuid(rng)

    account_list: list[Account] = []
    used_domains: set[str] = set()
    for i in range(accounts):
        name = f"{_CO_A[int(rand() * len(_CO_A))]} {_CO_B[int(rand() * len(_CO_B))]}"
        domain = name.lower().replace(" ", "") + (".io" if rand() < 0.4 else ".com")
        if domain in used_domains:
            name = f"{name} {i + 1}"
            domain = f"{domain.split('.')[0]}{i + 1}.com"
        used_domains.add(domain)
        first = start + int(rand() * span * 0.5)
        account_list.append(
            Account(
                uuid=new_uuid(rng),
                remote_id=f"acct_{i + 1:04d}",
                display_name=name,
                domain=domain,
                first_seen_at=first,
                last_seen_at=first + int(rand() * (anchor - first)),
                attributes={
                    "industry": _INDUSTRIES[int(rand() * len(_INDUSTRIES))],
                    "employees": 5 + int(rand() * 2000),
                    "plan": _PLANS[int(rand() * len(_PLANS))],
                },
            )
        )

    segment_list: list[Segment] = []
    for i in range(segments):
        base, manual, _ = _SEGMENT_NAMES[i % len(_SEGMENT_NAMES)]
        name = base if i < len(_SEGMENT_NAMES) else f"{base} {i // len(_SEGMENT_NAMES) + 1}"
        segment_list.append(Segment(uuid=new_uuid(rng), name=name, is_manual=manual))
    shares = [_SEGMENT_NAMES[i % len(_SEGMENT_NAMES)][2] for i in range(segments)]

    contact_list: list[Contact] = []
    used_emails: set[str] = set()
    for i in range(contacts):
        first_name = _FIRST[int(rand() * len(_FIRST))]
        last_name = _LAST[int(rand() * len(_LAST))]
        account = (
            account_list[int(rand() * len(account_list))]
            if account_list and rand() < 0.85
            else None
        )
        mail_domain = account.domain if account is not None else None
        if mail_domain is None:
            mail_domain = _FREE_MAIL[int(rand() * len(_FREE_MAIL))]
        local = f"{first_name}.{last_name}".lower()
        email = f"{local}@{mail_domain}"
        if email in used_emails:
            email = f"{local}{i + 1}@{mail_domain}"
        used_emails.add(email)
        first = start + int(rand() * span * 0.8)
        signed_up = first - int(rand() * 30 * DAY)
        contact = Contact(
            uuid=new_uuid(rng),
            remote_id=None if rand() < 0.08 else f"user_{i + 1:06d}",
            email=email,
            display_name=f"{first_name} {last_name}",
            first_seen_at=first,
            last_seen_at=first + int(rand() * (anchor - first)),
            traits={
                "plan": _PLANS[int(rand() * len(_PLANS))],
                "role": _ROLES[int(rand() * len(_ROLES))],
                "country": _COUNTRIES[int(rand() * len(_COUNTRIES))],
                "sessions": 1 + int(rand() * 400),
                "is_admin": rand() < 0.2,
                "signed_up_at": fmt_iso(signed_up),
            },
            account=account,
        )
        if account is not None:
            account.members.add(contact)
        for segment, share in zip(segment_list, shares, strict=True):
            if rand() < share:
                contact.segments.append(segment)
                segment.members.add(contact)
        contact.segments.sort(key=lambda s: s.key)
        contact_list.append(contact)

    form_list: list[Form] = []
    for i in range(forms):
        base, questions = _QUESTION_SETS[i % len(_QUESTION_SETS)]
        name = base if i < len(_QUESTION_SETS) else f"{base} ({i // len(_QUESTION_SETS) + 1})"
        created = start - int(rand() * 60 * DAY)
        channels = ["web"] if rand() < 0.6 else ["web", "mobile"]
        if rand() < 0.3:
            channels.append("link")
        form = Form(
            uuid=new_uuid(rng),
            name=name,
            questions=list(questions),
            channels=channels,
            created_at=created,
            updated_at=created + int(rand() * 30 * DAY),
        )
        form.page_url = f"https://refiner.link/s/{form.uuid[:8]}" if "link" in channels else None
        draft = forms >= 4 and i % 6 == 3
        archived = forms >= 6 and i % 6 == 5
        form.history.append(HistoryEntry(new_uuid(rng), "created", created, form.snapshot()))
        if not draft:
            form.published_at = created + DAY
            form.history.append(
                HistoryEntry(new_uuid(rng), "published", created + DAY, form.snapshot())
            )
        if archived:
            form.archived_at = anchor - int(rand() * 20 * DAY)
            form.history.append(
                HistoryEntry(new_uuid(rng), "archived", form.archived_at, form.snapshot())
            )
        form_list.append(form)

    eligible = [f for f in form_list if f.published_at is not None]
    weights = list(accumulate(3.0 if f.questions[0].type == "nps" else 1.0 for f in eligible))
    total_weight = weights[-1] if weights else 0.0
    response_list: list[Response] = []
    if eligible and contact_list:
        n_contacts = len(contact_list)
        for _ in range(responses):
            form = eligible[bisect_right(weights, rand() * total_weight)]
            contact = contact_list[int(rand() * n_contacts)]
            r = rand()
            kind = (
                COMPLETED if r < 0.62 else PARTIAL if r < 0.76 else DISMISSED if r < 0.92 else VIEW
            )
            gen = rng.getrandbits(64)
            first_shown = start + int(rand() * (span - 3600))
            counter = 1 + (gen & 7 == 0) + (gen & 31 == 0)
            last_shown = first_shown + (counter - 1) * (3600 + (gen >> 8) % (3 * DAY))
            if last_shown > anchor - 3600:
                counter, last_shown = 1, first_shown
            first_data = last_data = dismissed = None
            if kind <= PARTIAL:
                first_data = last_shown + 4 + (gen >> 16) % 90
                last_data = first_data + (gen >> 24) % 240
            elif kind == DISMISSED:
                dismissed = last_shown + 2 + (gen >> 16) % 30
            response = Response(
                uuid=new_uuid(rng),
                form=form,
                contact=contact,
                kind=kind,
                first_shown_at=first_shown,
                last_shown_at=last_shown,
                show_counter=counter,
                first_data_at=first_data,
                last_data_at=last_data,
                dismissed_at=dismissed,
                gen=gen,
            )
            response_list.append(response)
    response_list.sort(key=lambda r: r.key)
    for response in response_list:
        response.contact.responses.append(response)
        response.form.count_view(response)
    return Dataset(
        project_uuid=project_uuid,
        accounts=account_list,
        contacts=contact_list,
        segments=segment_list,
        forms=form_list,
        responses=response_list,
    )
