"""The seeded data set the emulator serves: accounts, contacts, segments, surveys and responses,
built from a seed (same arguments, same data), with the records of ``_records`` and the words of
``_vocabulary``."""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from typing import Final

from . import _vocabulary as words
from ._records import (
    COMPLETED,
    DAY,
    DISMISSED,
    PARTIAL,
    VIEW,
    Account,
    Contact,
    Form,
    HistoryEntry,
    Question,
    Response,
    Segment,
    fmt_iso,
    new_uuid,
)

__all__ = ["Dataset", "build_dataset"]

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
        name = f"{words.CO_A[int(rand() * len(words.CO_A))]} {words.CO_B[int(rand() * len(words.CO_B))]}"
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
                    "industry": words.INDUSTRIES[int(rand() * len(words.INDUSTRIES))],
                    "employees": 5 + int(rand() * 2000),
                    "plan": words.PLANS[int(rand() * len(words.PLANS))],
                },
            )
        )

    segment_list: list[Segment] = []
    for i in range(segments):
        base, manual, _ = words.SEGMENT_NAMES[i % len(words.SEGMENT_NAMES)]
        name = (
            base if i < len(words.SEGMENT_NAMES) else f"{base} {i // len(words.SEGMENT_NAMES) + 1}"
        )
        segment_list.append(Segment(uuid=new_uuid(rng), name=name, is_manual=manual))
    shares = [words.SEGMENT_NAMES[i % len(words.SEGMENT_NAMES)][2] for i in range(segments)]

    contact_list: list[Contact] = []
    used_emails: set[str] = set()
    for i in range(contacts):
        first_name = words.FIRST[int(rand() * len(words.FIRST))]
        last_name = words.LAST[int(rand() * len(words.LAST))]
        account = (
            account_list[int(rand() * len(account_list))]
            if account_list and rand() < 0.85
            else None
        )
        mail_domain = account.domain if account is not None else None
        if mail_domain is None:
            mail_domain = words.FREE_MAIL[int(rand() * len(words.FREE_MAIL))]
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
                "plan": words.PLANS[int(rand() * len(words.PLANS))],
                "role": words.ROLES[int(rand() * len(words.ROLES))],
                "country": words.COUNTRIES[int(rand() * len(words.COUNTRIES))],
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
