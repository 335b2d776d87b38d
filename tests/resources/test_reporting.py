"""client.reporting.get: key[] arrays, dates, and every report field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from refiner_async import RefinerClient, Report


async def test_get_sends_type_arrays_and_dates(api: Any, client: RefinerClient) -> None:
    """reporting.get() sends type, form_uuids[], segment_uuids[], tag_uuids[], question_identifiers[] and ISO dates."""
    query = [
        ("type", "nps"),
        ("form_uuids[]", "f1"),
        ("form_uuids[]", "f2"),
        ("segment_uuids[]", "s1"),
        ("tag_uuids[]", "t1"),
        ("question_identifiers[]", "nps"),
        ("date_range_start", "2026-01-01T00:00:00Z"),
        ("date_range_end", "2026-02-01"),
    ]
    api.add(
        "GET",
        "/reporting",
        query,
        payload={
            "nps": 53,
            "count": 66,
            "data": {"detractors": 5, "passives": 21, "promoters": 40},
            "date_range_start": "2026-01-01T00:00:00Z",
            "date_range_end": "2026-02-01T00:00:00Z",
        },
    )
    report = await client.reporting.get(
        "nps",
        form_uuids=["f1", "f2"],
        segment_uuids=["s1"],
        tag_uuids=["t1"],
        question_identifiers=["nps"],
        date_range_start=datetime(2026, 1, 1),
        date_range_end="2026-02-01",
    )
    assert report == Report(
        nps=53,
        count=66,
        data={"detractors": 5, "passives": 21, "promoters": 40},
        date_range_start=datetime(2026, 1, 1, tzinfo=UTC),
        date_range_end=datetime(2026, 2, 1, tzinfo=UTC),
    )
    assert api.only().params == query


async def test_count_report_leaves_other_fields_none(api: Any, client: RefinerClient) -> None:
    """A count report has views and responses; nps, csat, average, sum, data stay None."""
    api.add(
        "GET",
        "/reporting",
        {"type": "count"},
        payload={"views": 1, "responses": 1, "date_range_start": "2026-01-01 00:00:00"},
    )
    report = await client.reporting.get("count")
    assert (report.views, report.responses) == (1, 1)
    assert (report.nps, report.csat, report.average, report.sum, report.data) == (None,) * 5
    assert report.date_range_end is None


async def test_ratings_and_distribution_reports(api: Any, client: RefinerClient) -> None:
    """ratings reads average/sum/count/data; distribution reads datapoints/responses; extras kept."""
    api.add(
        "GET",
        "/reporting",
        {"type": "ratings"},
        payload={"average": 4.2, "sum": 420, "count": 100, "data": {"1": 2, "5": 50}},
    )
    api.add(
        "GET",
        "/reporting",
        {"type": "distribution"},
        payload={"datapoints": 9, "responses": 7, "data": {"Red": 4}, "median": 3},
    )
    ratings = await client.reporting.get("ratings")
    assert (ratings.average, ratings.sum, ratings.count) == (4.2, 420, 100)
    assert ratings.data == {"1": 2, "5": 50}
    distribution = await client.reporting.get("distribution")
    assert (distribution.datapoints, distribution.responses) == (9, 7)
    assert distribution.extra == {"median": 3}


async def test_csat_report(api: Any, client: RefinerClient) -> None:
    """A csat report reads csat as a number and its data as sent."""
    api.add("GET", "/reporting", {"type": "csat"}, payload={"csat": 87.5, "count": 8, "data": {}})
    report = await client.reporting.get("csat")
    assert report.csat == 87.5
    assert report.data == {}
