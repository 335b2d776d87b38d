"""The converter: timestamps, unknown keys, tolerance, strictness with field paths, list envelopes."""

from __future__ import annotations

import copy
import gc
import linecache
import sys
import traceback
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import cattrs
import pytest

from refiner_async import (
    Contact,
    ContactRef,
    Form,
    FormRef,
    Page,
    Report,
    Response,
    ResponseValidationError,
    Segment,
    SyncSegmentResult,
)
from refiner_async._converters import (
    MODELS,
    Converter,
    clear_caches,
    converter,
    make_converter,
    parse_timestamp,
    structure,
    structure_page,
    unstructure,
)
from refiner_async._converters._codegen import compile_fast_hook, slot_twin
from refiner_async._converters._timestamps import format_timestamp, timestamp_text

RESPONSE: dict[str, Any] = {
    "uuid": "r1",
    "first_shown_at": "2020-09-02 21:53:33",
    "completed_at": "2020-09-02T21:53:33.000000Z",
    "dismissed_at": None,
    "show_counter": 2,
    "form": {"uuid": "f1", "name": "Survey"},
    "data": {"nps": "9", "reasons": ["a", "b"], "skipped": None},
    "contact": {
        "uuid": "c1",
        "remote_id": "u1",
        "email": "a@b.io",
        "display_name": None,
        "account": {"uuid": "a1", "remote_id": "acme", "display_name": "Acme", "domain": None},
    },
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-09-02 21:53:33", datetime(2020, 9, 2, 21, 53, 33, tzinfo=UTC)),
        ("2020-09-02T21:53:33", datetime(2020, 9, 2, 21, 53, 33, tzinfo=UTC)),
        ("2020-09-02T20:44:24.000000Z", datetime(2020, 9, 2, 20, 44, 24, tzinfo=UTC)),
        ("2020-09-02T20:44:24.123456Z", datetime(2020, 9, 2, 20, 44, 24, 123456, tzinfo=UTC)),
        ("2020-09-02T20:44:24.5", datetime(2020, 9, 2, 20, 44, 24, 500000, tzinfo=UTC)),
        ("2020-09-02T20:44:24Z", datetime(2020, 9, 2, 20, 44, 24, tzinfo=UTC)),
        ("2020-09-02T22:44:24+02:00", datetime(2020, 9, 2, 20, 44, 24, tzinfo=UTC)),
        ("2020-09-02 15:44:24-05:00", datetime(2020, 9, 2, 20, 44, 24, tzinfo=UTC)),
        ("2020-09-02", datetime(2020, 9, 2, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_utc(text: str, expected: datetime) -> None:
    """Every timestamp form the API uses reads as an aware datetime in UTC."""
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC
    report = structure({"date_range_start": text}, Report)
    assert report.date_range_start == expected
    assert report.date_range_start is not None
    assert report.date_range_start.utcoffset() is not None


@pytest.mark.parametrize("text", ["", "0000-00-00 00:00:00", "0000-00-00"])
def test_empty_and_zero_dates_read_as_none(text: str) -> None:
    """An empty string or PHP's zero date means "no timestamp"."""
    assert structure({"date_range_end": text}, Report).date_range_end is None


def test_epoch_seconds_read_as_utc() -> None:
    """A number where a timestamp is expected is read as epoch seconds."""
    assert structure({"date_range_end": 0}, Report).date_range_end == datetime(
        1970, 1, 1, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "value", ["yesterday", "2020-13-45 00:00:00", {"date": "x"}, ["2020"], True]
)
def test_bad_timestamps_name_the_field(value: Any) -> None:
    """A timestamp that cannot be read raises ResponseValidationError naming the field."""
    with pytest.raises(ResponseValidationError) as caught:
        structure({"uuid": "c1", "first_seen_at": value}, Contact, method="GET", path="/contact")
    assert caught.value.field_path == "first_seen_at"
    assert caught.value.method == "GET"
    assert caught.value.path == "/contact"


def test_a_model_written_back_reads_as_itself() -> None:
    """unstructure() gives the API's shape again: timestamps as ISO-8601 in UTC with a Z, the
    nested refs as objects, unknown keys merged back; reading it again gives an equal model."""
    response = structure({**RESPONSE, "brand_new": {"x": 1}}, Response)
    written = unstructure(response)
    assert written["first_shown_at"] == "2020-09-02T21:53:33Z"
    assert written["completed_at"] == "2020-09-02T21:53:33Z"
    assert written["dismissed_at"] is None
    assert written["contact"]["account"]["uuid"] == "a1"
    assert written["brand_new"] == {"x": 1}
    assert structure(written, Response) == response


@pytest.mark.parametrize("cl", MODELS)
def test_every_model_keeps_unknown_keys_in_extra(cl: type) -> None:
    """An unknown key on any model is kept on .extra and does not disturb the known fields."""
    required = {a.name: "x" for a in attrs.fields(cl) if a.default is attrs.NOTHING}
    instance = structure({**required, "brand_new_field": {"nested": [1, 2]}}, cl)
    assert instance.extra == {"brand_new_field": {"nested": [1, 2]}}  # type: ignore[attr-defined]
    plain = structure(required, cl)
    assert plain.extra == {}  # type: ignore[attr-defined]


def test_models_are_frozen() -> None:
    """Structured models cannot be changed in place."""
    segment = structure({"uuid": "s1", "name": "A", "is_manual": True}, Segment)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        segment.name = "B"  # type: ignore[misc]


def test_nested_payloads_are_not_copied() -> None:
    """data, attributes and other free-form mappings are passed through, not copied."""
    payload = copy.deepcopy(RESPONSE)
    response = structure(payload, Response)
    assert response.data is payload["data"]


def test_response_reads_nested_refs_and_timestamps() -> None:
    """A response reads form, contact and its account, mixing both timestamp forms."""
    response = structure(copy.deepcopy(RESPONSE), Response)
    assert response.first_shown_at == datetime(2020, 9, 2, 21, 53, 33, tzinfo=UTC)
    assert response.completed_at == response.first_shown_at
    assert response.last_shown_at is None
    assert response.form is not None
    assert response.form.name == "Survey"
    assert response.contact is not None
    assert response.contact.account is not None
    assert response.contact.account.remote_id == "acme"
    assert response.data["reasons"] == ["a", "b"]


@pytest.mark.parametrize(
    ("payload", "field", "expected"),
    [
        ({"uuid": 12345}, "uuid", "12345"),  # numeric ids read as strings
        ({"uuid": "s", "is_manual": 1}, "is_manual", True),
        ({"uuid": "s", "is_manual": "0"}, "is_manual", False),
        ({"uuid": "s", "is_manual": None}, "is_manual", None),
    ],
)
def test_segment_tolerance(payload: dict[str, Any], field: str, expected: Any) -> None:
    """Numeric ids and 0/1 booleans are accepted."""
    assert getattr(structure(payload, Segment), field) == expected


def test_numbers_sent_as_strings_are_read() -> None:
    """Integral strings and floats read into int fields; numeric strings into number fields."""
    form = structure({"uuid": "f", "responses_count": "120", "views_count": 8.0}, Form)
    assert (form.responses_count, form.views_count) == (120, 8)
    assert structure({"nps": "53.5"}, Report).nps == 53.5


def test_php_empty_array_reads_as_empty_mapping() -> None:
    """PHP's [] for an empty object reads as an empty mapping; null lists read as empty tuples."""
    contact = structure({"uuid": "c", "attributes": [], "segments": None}, Contact)
    assert contact.attributes == {}
    assert contact.segments == ()


def test_a_ref_sent_as_null_or_php_empty_array_reads_as_none_among_objects() -> None:
    """On a page whose items share their keys (read by one hook), a nested ref that may be null
    reads as None from null or PHP's [], and as a model from an object, in any order."""
    conv = Converter()
    contacts = [RESPONSE["contact"], [], None, RESPONSE["contact"]]
    items = [{**RESPONSE, "uuid": f"r{n}", "contact": c} for n, c in enumerate(contacts)]
    read = conv.structure_page({"items": copy.deepcopy(items), "pagination": {}}, Response).items
    assert [None if item.contact is None else item.contact.uuid for item in read] == [
        "c1",
        None,
        None,
        "c1",
    ]
    with pytest.raises(ResponseValidationError) as caught:
        conv.structure_page(
            {"items": [*items, {**RESPONSE, "contact": [1]}], "pagination": {}}, Response
        )
    assert caught.value.field_path == "items[4].contact"


def test_open_enums_accept_new_values() -> None:
    """Enum-like strings (form channels, history actions) accept values never seen before."""
    form = structure({"uuid": "f", "channels": ["web", "smart-fridge"]}, Form)
    assert form.channels == ("web", "smart-fridge")


def test_sync_segment_accepts_segment_uid() -> None:
    """segment_uid fills segment_uuid when segment_uuid is absent; segment_uuid wins otherwise."""
    assert structure({"segment_uid": "s1"}, SyncSegmentResult).segment_uuid == "s1"
    both = structure({"segment_uuid": "s1", "segment_uid": "s2"}, SyncSegmentResult)
    assert both.segment_uuid == "s1"


@pytest.mark.parametrize(
    ("mutate", "field_path", "fragment"),
    [
        (lambda r: r["contact"].pop("uuid"), "contact.uuid", "required field missing"),
        (lambda r: r.__setitem__("show_counter", "many"), "show_counter", "expected an integer"),
        (lambda r: r.__setitem__("form", "f1"), "form", "expected an object"),
        (lambda r: r.__setitem__("data", "yes"), "data", "expected an object"),
        (
            lambda r: r["contact"]["account"].__setitem__("uuid", ["a"]),
            "contact.account.uuid",
            "expected a string",
        ),
        (lambda r: r.pop("uuid"), "uuid", "required field missing"),
    ],
)
def test_payloads_that_do_not_fit_name_the_field(
    mutate: Any, field_path: str, fragment: str
) -> None:
    """A payload that does not fit raises ResponseValidationError with the dotted field path."""
    payload = copy.deepcopy(RESPONSE)
    mutate(payload)
    with pytest.raises(ResponseValidationError) as caught:
        structure(payload, Response)
    assert caught.value.field_path == field_path
    assert fragment in str(caught.value)


def test_tuple_items_name_their_index() -> None:
    """A bad element of a nested list is named by index: segments[1].uuid."""
    with pytest.raises(ResponseValidationError) as caught:
        structure({"uuid": "c", "segments": [{"uuid": "s0"}, {"name": "no uuid"}]}, Contact)
    assert caught.value.field_path == "segments[1].uuid"


def test_a_non_object_payload_is_refused() -> None:
    """A JSON array where an object is expected is refused at the root."""
    with pytest.raises(ResponseValidationError) as caught:
        structure([1, 2], Contact)
    assert caught.value.field_path == ""


# --- structure_page ---------------------------------------------------------------------------


def test_page_reads_items_and_pagination() -> None:
    """A full envelope reads into a Page with every pagination figure."""
    payload = {
        "items": [copy.deepcopy(RESPONSE)],
        "pagination": {
            "items_count": 1234,
            "current_page": 2,
            "last_page": 25,
            "page_length": 50,
            "next_page_cursor": "abc",
        },
    }
    page = structure_page(payload, Response)
    assert isinstance(page, Page)
    assert [r.uuid for r in page.items] == ["r1"]
    assert (page.items_count, page.current_page, page.last_page, page.page_length) == (
        1234,
        2,
        25,
        50,
    )
    assert page.next_page_cursor == "abc"


@pytest.mark.parametrize(
    "payload",
    [
        {"items": [{"uuid": "f1", "name": "A"}], "pagination": {"current_page": 1, "last_page": 1}},
        {"items": [{"uuid": "f1", "name": "A"}], "pagination": None},
        {"items": [{"uuid": "f1", "name": "A"}], "pagination": []},
    ],
)
def test_page_tolerates_missing_pagination(payload: dict[str, Any]) -> None:
    """Missing pagination fields (forms send no cursor) read as None."""
    page = structure_page(payload, Form)
    assert page.items == (Form(uuid="f1", name="A"),)
    assert page.next_page_cursor is None
    assert page.items_count is None


def test_page_empty_cursor_and_null_items() -> None:
    """An empty cursor means no next page; null items read as no items."""
    page = structure_page({"items": None, "pagination": {"next_page_cursor": ""}}, Segment)
    assert page.items == ()
    assert page.next_page_cursor is None


@pytest.mark.parametrize(
    ("payload", "field_path"),
    [
        ([], ""),
        ({}, "items"),
        ({"pagination": {"items_count": 200}}, "items"),
        ({"items": [{"uuid": "s"}]}, "pagination"),
        ({"items": {"uuid": "x"}, "pagination": {}}, "items"),
        ({"items": [{"uuid": "s"}], "pagination": "p"}, "pagination"),
        ({"items": [], "pagination": {"current_page": "one"}}, "pagination.current_page"),
        ({"items": [], "pagination": {"last_page": 2.5}}, "pagination.last_page"),
        ({"items": [], "pagination": {"items_count": True}}, "pagination.items_count"),
        ({"items": [], "pagination": {"next_page_cursor": 7}}, "pagination.next_page_cursor"),
        (
            {"items": [], "pagination": {"next_page_cursor": "x" * 5000}},
            "pagination.next_page_cursor",
        ),
        (
            {"items": [{"uuid": "s"}, {"uuid": "t", "is_manual": "maybe"}], "pagination": {}},
            "items[1].is_manual",
        ),
    ],
)
def test_page_envelopes_that_do_not_fit(payload: Any, field_path: str) -> None:
    """A malformed envelope raises ResponseValidationError naming where, with method and path."""
    with pytest.raises(ResponseValidationError) as caught:
        structure_page(payload, Segment, method="GET", path="/segments")
    assert caught.value.field_path == field_path
    assert (caught.value.method, caught.value.path) == ("GET", "/segments")


def test_fast_and_detailed_converters_agree() -> None:
    """The fast hooks and cattrs' detailed hooks build equal models from the same payloads."""
    fast, detailed = make_converter(), make_converter(detailed=True)
    samples: list[tuple[Any, type]] = [
        (copy.deepcopy(RESPONSE), Response),
        ({"uuid": "c", "segments": [{"uuid": "s", "x": 1}], "attributes": [], "y": 2}, Contact),
        ({"uuid": "f", "channels": None, "responses_count": "3", "config": [1]}, Form),
        ({"nps": 1, "data": {"a": 1}, "date_range_start": "2026-01-01"}, Report),
        ({"segment_uid": "s"}, SyncSegmentResult),
    ]
    for payload, cl in samples:
        assert fast.structure(payload, cl) == detailed.structure(payload, cl)
        assert fast.structure(payload, cl).extra == detailed.structure(payload, cl).extra  # type: ignore[attr-defined]


def test_fast_hooks_refuse_models_with_validators() -> None:
    """Fast hooks fill slots directly, so a model with a validator is refused when building them."""

    @attrs.frozen
    class Checked:
        uuid: str = attrs.field(validator=attrs.validators.instance_of(str))

    with pytest.raises(TypeError, match="validators"):
        compile_fast_hook(Checked, cattrs.Converter())


def test_module_level_converter_is_shared() -> None:
    """structure() and structure_page() use the one module-level Converter."""
    assert isinstance(converter, Converter)
    assert structure({"uuid": "s"}, Segment) == converter.structure({"uuid": "s"}, Segment)


def test_fast_hooks_hand_over_real_models() -> None:
    """Models built by the fast hooks are instances of the model class itself, equal to __init__'s."""
    response = structure(copy.deepcopy(RESPONSE), Response)
    assert type(response) is Response
    assert type(response.contact) is ContactRef
    assert response.form == FormRef(uuid="f1", name="Survey")


def test_classes_whose_slots_cannot_be_swapped_use_descriptors() -> None:
    """A class with a __weakref__ slot gets no twin where CPython refuses the swap (before 3.13);
    its fast hook builds it correctly either way."""

    @attrs.frozen
    class Weak:
        uuid: str
        name: str | None = None

    assert (slot_twin(Weak) is None) == (sys.version_info < (3, 13))
    assert slot_twin(Segment) is not None
    hook = compile_fast_hook(Weak, make_converter())
    built = hook({"uuid": "w", "name": "n", "other": 1}, Weak)
    assert built == Weak(uuid="w", name="n")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.name = "m"  # type: ignore[misc]


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(7, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5),
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-2))),
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(0))),  # UTC, another object
    ],
)
def test_timestamps_are_written_as_isoformat_in_utc(value: datetime) -> None:
    """Every datetime is written as its instant's isoformat in UTC, with a Z for the offset."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    assert format_timestamp(value) == aware.isoformat().replace("+00:00", "Z")
    assert timestamp_text(value) == format_timestamp(value)
    assert timestamp_text(None) is None


def test_objects_of_one_size_with_other_keys_are_read_in_full() -> None:
    """Hooks are chosen by the number of keys: an object of a size seen before whose keys differ
    (a field missing, an unknown key instead) is still read exactly, in any order of arrival."""
    conv = make_converter()
    hook = compile_fast_hook(Segment, conv)
    first = hook({"uuid": "s1", "name": "A"}, Segment)
    other = hook({"uuid": "s2", "brand_new": [1]}, Segment)
    again = hook({"uuid": "s3", "name": "C"}, Segment)
    assert (first.uuid, first.name, first.extra) == ("s1", "A", {})
    assert (other.uuid, other.name, other.extra) == ("s2", None, {"brand_new": [1]})
    assert (again.uuid, again.name) == ("s3", "C")
    with pytest.raises(KeyError):
        hook({"name": "no uuid"}, Segment)


def test_many_key_sets_of_one_model_are_all_read() -> None:
    """More key sets than get hooks of their own, sizes shared by several, unknown keys among
    them: every one is read exactly."""
    values: dict[str, Any] = {
        "remote_id": "u1",
        "email": "a@b.io",
        "display_name": None,
        "first_seen_at": "2020-09-02 21:53:33",
        "attributes": {"plan": "pro"},
        "brand_new": [1],
    }
    read = {**values, "first_seen_at": datetime(2020, 9, 2, 21, 53, 33, tzinfo=UTC)}
    conv = Converter()
    names = list(values)
    for size in range(len(names) + 1):
        for start in range(len(names)):
            chosen = [names[(start + n) % len(names)] for n in range(size)]
            contact = conv.structure({"uuid": "c", **{k: values[k] for k in chosen}}, Contact)
            for key in names[:-1]:
                default = {} if key == "attributes" else None
                assert getattr(contact, key) == (read[key] if key in chosen else default)
            assert contact.extra == ({"brand_new": [1]} if "brand_new" in chosen else {})


def test_refs_read_from_text_alone_are_shared() -> None:
    """The same survey ref on many responses is one immutable instance; values that only compare
    equal (1, 1.0) are never shared."""
    conv = Converter()  # hooks learn key sets as they meet them: start from none
    page = {"items": [copy.deepcopy(RESPONSE) for _ in range(3)], "pagination": {}}
    items = conv.structure_page(page, Response).items
    assert items[0].form is items[1].form is items[2].form
    assert items[0].form == FormRef(uuid="f1", name="Survey")
    assert items[0].contact is not items[1].contact  # holds a nested object: built each time
    ints = conv.structure({"uuid": 1, "name": "x"}, FormRef)
    floats = conv.structure({"uuid": 1.0, "name": "x"}, FormRef)
    assert (ints.uuid, floats.uuid) == ("1", "1.0")


def test_a_shared_ref_is_taken_only_when_all_its_values_match() -> None:
    """Shared refs are looked up by their first value (the uuid): one with the same uuid and
    another name, or a name that only compares equal, is built afresh, read directly or inside a
    response."""
    conv = Converter()
    names = ["Survey", "Survey", "Renamed", "Survey", None]
    items = [
        {**RESPONSE, "uuid": f"r{n}", "form": {"uuid": "f1", "name": name}}
        for n, name in enumerate(names)
    ]
    read = conv.structure_page({"items": copy.deepcopy(items), "pagination": {}}, Response).items
    assert [item.form.name for item in read if item.form is not None] == names
    assert read[0].form is read[1].form
    assert read[4].form == FormRef(uuid="f1", name=None)
    alone = [conv.structure({"uuid": "f1", "name": name}, FormRef) for name in names]
    assert [form.name for form in alone] == names
    assert conv.structure({"uuid": "f1", "name": 1}, FormRef).name == "1"


@pytest.mark.parametrize(
    "text", ["0000-00-00 00:00:00", "", " 2020-09-02 21:53:33 ", "2020-09-02T21:53+01"]
)
def test_unusual_timestamps_on_the_fast_path(text: str) -> None:
    """PHP's zero date, padded text and 19 characters that are not the naive form read through
    the fast hooks as parse_timestamp reads them."""
    expected = (
        None if text.strip() in ("", "0000-00-00 00:00:00") else parse_timestamp(text.strip())
    )
    item = structure_page(
        {"items": [{**RESPONSE, "completed_at": text}], "pagination": {}}, Response
    ).items[0]
    assert item.completed_at == expected


def test_a_page_reads_every_timestamp_form_and_names_a_bad_one() -> None:
    """A page reads naive timestamps, other forms, zero dates and nulls side by side, and a bad
    one is named by its item and field."""
    naive = ["2020-09-02 21:53:33", "2020-09-02T21:53:34.250000"]
    times = [*naive, "2020-09-02T20:44:24.000000Z", None, "0000-00-00 00:00:00"]
    items = [{**RESPONSE, "uuid": f"r{n}", "received_at": text} for n, text in enumerate(times)]
    expected = [
        datetime(2020, 9, 2, 21, 53, 33, tzinfo=UTC),
        datetime(2020, 9, 2, 21, 53, 34, 250000, tzinfo=UTC),
        datetime(2020, 9, 2, 20, 44, 24, tzinfo=UTC),
        None,
        None,
    ]
    page = structure_page({"items": copy.deepcopy(items), "pagination": {}}, Response)
    assert [item.received_at for item in page.items] == expected
    bad = [*items, {**RESPONSE, "uuid": "r9", "received_at": "2020-13-45 00:00:00"}]
    with pytest.raises(ResponseValidationError) as caught:
        structure_page({"items": bad, "pagination": {}}, Response)
    assert caught.value.field_path == "items[5].received_at"


def test_a_timestamp_with_the_text_of_one_before_it_is_read_once() -> None:
    """A timestamp field with the same text as a timestamp field before it takes that one's
    datetime; equal values that are not text are read one by one (True is refused even after the
    epoch second 1)."""
    conv = Converter()  # a hook for these keys (the module's converter may have met too many)
    text = "2020-09-02 21:53:33"
    item = {**RESPONSE, "first_shown_at": text, "last_shown_at": text, "received_at": text}
    (read,) = conv.structure_page({"items": [item], "pagination": {}}, Response).items
    assert read.first_shown_at == datetime(2020, 9, 2, 21, 53, 33, tzinfo=UTC)
    assert read.last_shown_at is read.first_shown_at
    assert read.completed_at is not read.first_shown_at  # the same instant in another text
    assert read.received_at is read.first_shown_at  # the same text two timestamp fields back
    odd = {**RESPONSE, "first_shown_at": 1, "last_shown_at": True}
    with pytest.raises(ResponseValidationError) as caught:
        conv.structure_page({"items": [odd], "pagination": {}}, Response)
    assert caught.value.field_path == "items[0].last_shown_at"


def test_a_page_of_one_size_with_other_keys_and_odd_timestamps_is_read_exactly() -> None:
    """Items of one size are read by one hook; one among them with other keys, a timestamp sent as
    epoch seconds and one of the wrong type are still read as one at a time would, or named."""
    items = [{**RESPONSE, "uuid": f"r{n}"} for n in range(3)]
    odd = {k: v for k, v in RESPONSE.items() if k not in ("dismissed_at", "show_counter")}
    items.append({**odd, "uuid": "r3", "brand_new": 1, "received_at": 1599083613})
    assert len({len(item) for item in items}) == 1
    page = structure_page({"items": copy.deepcopy(items), "pagination": {}}, Response)
    assert [item.uuid for item in page.items] == ["r0", "r1", "r2", "r3"]
    assert page.items[3].extra == {"brand_new": 1}
    assert page.items[3].received_at == datetime(2020, 9, 2, 21, 53, 33, tzinfo=UTC)
    assert page.items[3] == structure(items[3], Response)
    with pytest.raises(ResponseValidationError) as caught:
        structure_page(
            {"items": [*items, {**RESPONSE, "received_at": ["x"]}], "pagination": {}}, Response
        )
    assert caught.value.field_path == "items[4].received_at"


@pytest.mark.parametrize("sizes", ["one size", "two sizes", "one size, other keys"])
def test_a_page_read_with_reread_takes_its_items_and_reads_them_as_before(sizes: str) -> None:
    """With ``reread`` the items leave the payload as they are read, into the same models; items
    of one size with other keys are read again from a fresh copy, and a bad item is named from
    one."""
    conv = Converter()  # hooks learn key sets as they meet them: start from none
    items = [{**RESPONSE, "uuid": f"r{n}"} for n in range(4)]
    if sizes == "two sizes":
        items[2] = {k: v for k, v in items[2].items() if k != "dismissed_at"}
    elif sizes == "one size, other keys":
        items[2] = {**{k: v for k, v in items[2].items() if k != "dismissed_at"}, "new": 1}
    expected = structure_page({"items": copy.deepcopy(items), "pagination": {}}, Response).items
    payload = {"items": copy.deepcopy(items), "pagination": {"current_page": 1}}
    rereads: list[int] = []

    def reread() -> Any:
        rereads.append(1)
        return {"items": copy.deepcopy(items), "pagination": {}}

    page = conv.structure_page(payload, Response, reread=reread)
    assert page.items == expected
    assert page.current_page == 1
    other_keys = sizes == "one size, other keys"
    assert rereads == ([1] if other_keys else [])
    assert len(payload["items"]) == (1 if other_keys else 0)  # taken up to item 2
    items = [*items[:3], {**RESPONSE, "received_at": ["x"]}, items[3]]
    with pytest.raises(ResponseValidationError) as caught:
        conv.structure_page(
            {"items": copy.deepcopy(items), "pagination": {}}, Response, reread=reread
        )
    assert caught.value.field_path == "items[3].received_at"
    assert len(rereads) == (2 if other_keys else 1)


def test_a_page_is_built_in_steps_of_a_few_items() -> None:
    """``structure_page_steps`` pauses between runs of ``step`` models (none after the last), takes
    the items as it goes, and returns the page ``structure_page`` gives."""
    items = [{**RESPONSE, "uuid": f"r{n}"} for n in range(5)]
    expected = structure_page({"items": copy.deepcopy(items), "pagination": {}}, Response)
    payload = {"items": copy.deepcopy(items), "pagination": {}}
    steps = Converter().structure_page_steps(payload, Response, reread=lambda: None, step=2)
    left = []  # the items left in the payload at each pause
    while True:
        try:
            next(steps)
        except StopIteration as done:
            page = done.value
            break
        left.append(len(payload["items"]))
    assert left == [3, 1]
    assert page == expected
    assert payload["items"] == []


def test_a_size_whose_keys_change_is_read_by_a_hook_for_its_new_keys() -> None:
    """A size's fast hook follows the keys its objects come with: after an unusual first object,
    the usual ones of that size are read by a hook of their own again, with the same result."""
    conv = Converter()
    usual = {**RESPONSE, "uuid": "r1"}
    odd = {**{k: v for k, v in usual.items() if k != "dismissed_at"}, "new": 1}
    assert len(odd) == len(usual)
    conv.structure_page({"items": [copy.deepcopy(odd)], "pagination": {}}, Response)
    by_size = conv.caches.by_size[conv.fast.get_structure_hook(Response)]
    with pytest.raises(KeyError):
        by_size[len(usual)](copy.deepcopy(usual))  # the size's hook reads the odd keys
    page = conv.structure_page({"items": [copy.deepcopy(usual)] * 2, "pagination": {}}, Response)
    assert by_size[len(usual)](copy.deepcopy(usual)) == page.items[0] == structure(usual, Response)
    again = conv.structure_page({"items": [copy.deepcopy(odd)], "pagination": {}}, Response)
    assert again.items[0] == structure(odd, Response)
    assert again.items[0].extra == {"new": 1}


def test_a_model_without_extra_never_mistakes_a_field_for_an_ignored_key() -> None:
    """A model keeping no unknown keys: an object of the same size holding a field where an earlier
    one held an unknown key still gets that field read."""

    @attrs.frozen
    class Plain:
        uuid: str
        name: str | None = None

    hook = compile_fast_hook(Plain, make_converter())
    assert hook({"uuid": "p1", "other": 1}, Plain) == Plain(uuid="p1")
    assert hook({"uuid": "p2", "name": "n"}, Plain) == Plain(uuid="p2", name="n")


def test_nested_refs_of_a_known_size_with_other_keys_are_read_in_full() -> None:
    """A response's survey ref is looked up by the response's own hook once its key set is known;
    a ref of that size with other keys, a null one or a misfit are still read exactly."""
    conv = Converter()
    first, second = (conv.structure(copy.deepcopy(RESPONSE), Response) for _ in range(2))
    assert first.form is second.form
    other = conv.structure({**RESPONSE, "form": {"uuid": "f2", "label": "x"}}, Response)
    assert other.form == FormRef(uuid="f2", extra={"label": "x"})
    assert conv.structure({**RESPONSE, "form": None}, Response).form is None
    numeric = conv.structure({**RESPONSE, "form": {"uuid": 7, "name": "Survey"}}, Response)
    assert numeric.form == FormRef(uuid="7", name="Survey")
    with pytest.raises(ResponseValidationError) as caught:
        conv.structure({**RESPONSE, "form": ["f1"]}, Response)
    assert caught.value.field_path == "form"


def test_a_traceback_through_a_generated_hook_shows_its_line() -> None:
    """Generated hook source is registered in linecache: a traceback shows the failing line."""
    hook = compile_fast_hook(Segment, make_converter())
    with pytest.raises(KeyError) as caught:
        hook({"name": "no uuid"}, Segment)
    frames = traceback.extract_tb(caught.value.__traceback__)
    generated = [f for f in frames if f.filename.startswith("<refiner_async generated hook")]
    assert [f.name for f in generated] == ["general"]
    assert generated[0].line == "v = o['uuid']"
    assert "v = o['uuid']" in "".join(traceback.format_exception(caught.value))


def test_each_generated_function_has_a_source_of_its_own() -> None:
    """Every generated function is registered under its own file name, holding its own source."""
    conv = Converter()
    conv.structure({"uuid": "s1", "name": "A"}, Segment)
    conv.structure({"uuid": "s2"}, Segment)
    hook = conv.fast.get_structure_hook(Segment)
    names = [read.__code__.co_filename for read in conv.caches.by_size[hook].values()]
    assert len(set(names)) == len(names) == 2
    sources = ["".join(linecache.getlines(name)) for name in names]
    assert all(source.startswith("def for_keys(o):") for source in sources)
    assert sources[0] != sources[1]


def test_generated_source_leaves_linecache_with_its_converter() -> None:
    """A converter's generated lines are dropped from linecache once its hooks are gone."""
    conv = Converter()
    conv.structure({"uuid": "s1", "name": "A"}, Segment)
    (read,) = conv.caches.by_size[conv.fast.get_structure_hook(Segment)].values()
    name = read.__code__.co_filename
    assert name in linecache.cache
    del conv, read
    gc.collect()
    assert name not in linecache.cache


def test_each_converter_owns_its_caches() -> None:
    """Shared instances are remembered per converter; clearing one leaves the others alone."""
    first, second = Converter(), Converter()
    refs = [first.structure({"uuid": "f1", "name": "S"}, FormRef) for _ in range(2)]
    assert refs[0] is refs[1]
    assert second.structure({"uuid": "f1", "name": "S"}, FormRef) is not refs[0]
    second.clear_caches()
    assert first.structure({"uuid": "f1", "name": "S"}, FormRef) is refs[0]
    first.clear_caches()
    assert first.structure({"uuid": "f1", "name": "S"}, FormRef) is not refs[0]


def test_clear_caches_clears_the_module_level_converter() -> None:
    """The module's clear_caches() forgets the instances structure() shares."""
    ref = structure({"uuid": "f2", "name": "S"}, FormRef)
    assert structure({"uuid": "f2", "name": "S"}, FormRef) is ref
    clear_caches()
    assert structure({"uuid": "f2", "name": "S"}, FormRef) is not ref
