"""GET /reporting computed from the data."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest


def _half_up(x: float) -> int:
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


@pytest.mark.fake_refiner(responses=0)
async def test_nps_formula_on_known_answers(api):
    """NPS = round(100*(promoters-detractors)/count), promoters 9-10, detractors 0-6, half up."""
    form = next(
        f
        for f in (await api.ok("/forms", {"include_config": 1}))["items"]
        if f["config"]["form_elements"][0]["type"] == "nps"
    )
    scores = [10, 7, 7, 7, 7, 7, 7, 7]  # 1 promoter, 7 passives: 100*1/8 = 12.5 -> 13
    for n, score in enumerate(scores):
        status, _ = await api.post(
            "/responses", {"form_uuid": form["uuid"], "id": f"r{n}", "nps": score}
        )
        assert status == 200
    report = await api.ok("/reporting", {"type": "nps"})
    assert report["count"] == 8
    assert report["data"] == {"detractors": 0, "passives": 7, "promoters": 1}
    assert report["nps"] == 13
    for n, score in enumerate([0, 3, 6]):
        await api.post("/responses", {"form_uuid": form["uuid"], "id": f"d{n}", "nps": str(score)})
    report = await api.ok("/reporting", {"type": "nps"})
    assert report["data"] == {"detractors": 3, "passives": 7, "promoters": 1}
    assert report["nps"] == _half_up(100 * (1 - 3) / 11) == -18


async def test_nps_matches_the_listed_answers(api):
    """NPS over a date range equals the standard formula over the responses the API lists."""
    forms = (await api.ok("/forms", {"include_config": 1, "list": "all_with_archived"}))["items"]
    nps_questions = {
        (f["uuid"], e["identifier"])
        for f in forms
        for e in f["config"]["form_elements"]
        if e["type"] == "nps"
    }
    params = {"date_range_start": "2000-01-01", "date_range_end": "2100-01-01"}
    items = await api.walk("/responses", {**params, "include": "partials", "page_length": 1000})
    scores = [
        int(v)
        for i in items
        for k, v in i["data"].items()
        if (i["form"]["uuid"], k) in nps_questions
    ]
    promoters = sum(s >= 9 for s in scores)
    detractors = sum(s <= 6 for s in scores)
    report = await api.ok("/reporting", {**params, "type": "nps"})
    assert report["count"] == len(scores) > 50
    assert report["data"]["promoters"] == promoters
    assert report["data"]["detractors"] == detractors
    assert report["nps"] == _half_up(100 * (promoters - detractors) / len(scores))
    assert report["date_range_start"] == "2000-01-01T00:00:00Z"
    assert report["date_range_end"] == "2100-01-01T00:00:00Z"


async def test_default_range_is_last_seven_days_to_end_of_today(api):
    """Without dates the range is 00:00 seven days ago to 00:00 tomorrow (UTC), echoed back."""
    report = await api.ok("/reporting", {"type": "count"})
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert report["date_range_start"] == (today - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert report["date_range_end"] == (today + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert set(report) == {"views", "responses", "date_range_start", "date_range_end"}
    assert report["views"] >= report["responses"] > 0


async def test_other_report_types(api):
    """csat, ratings and distribution carry their own fields, computed from the answers."""
    wide = {"date_range_start": "2000-01-01", "date_range_end": "2100-01-01"}
    csat = await api.ok("/reporting", {**wide, "type": "csat"})
    assert sum(csat["data"].values()) == csat["count"] > 0
    assert csat["csat"] == _half_up(100 * csat["data"]["satisfied"] / csat["count"])
    ratings = await api.ok("/reporting", {**wide, "type": "ratings"})
    assert sum(ratings["data"].values()) == ratings["count"] > 0
    assert ratings["sum"] == sum(int(k) * v for k, v in ratings["data"].items())
    assert ratings["average"] == round(ratings["sum"] / ratings["count"], 2)
    dist = await api.ok("/reporting", {**wide, "type": "distribution"})
    assert sum(dist["data"].values()) == dist["datapoints"] >= dist["responses"] > 0
    only = await api.ok(
        "/reporting", {**wide, "type": "distribution", "question_identifiers[]": "nps"}
    )
    assert set(only["data"]) <= {str(n) for n in range(11)}


async def test_reporting_type_is_required(api):
    """A missing or unknown type is 400 {"error": ...}."""
    for params in ({}, {"type": "vibes"}):
        status, body = await api.get("/reporting", params)
        assert status == 400
        assert isinstance(body["error"], str)
