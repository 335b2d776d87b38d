"""What an export's progress says while a 429 cooldown holds it and while it converts its file."""

from __future__ import annotations

import io
from pathlib import Path

import attrs
import pytest

from refiner_async import ExportProgress, RefinerClient, export
from refiner_async._export import _run
from refiner_async._export._progress import PlainProgress, describe
from refiner_async.cli import progress_reporter
from refiner_async.testing import FakeRefiner

pytestmark = pytest.mark.fake_refiner(seed=3, responses=600)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
async def test_a_conversion_is_reported_after_the_last_page(
    refiner_client: RefinerClient, tmp_path: Path, fmt: str
) -> None:
    """CSV and Parquet exports report one "converting" step once every item is fetched, with no
    ETA; a JSON Lines export has no such step."""
    seen: list[ExportProgress] = []
    await export(
        refiner_client, "responses", tmp_path / f"r.{fmt}", format=fmt, include="all",
        progress=seen.append,
    )  # fmt: skip
    assert [p.phase for p in seen].count("converting") == 1
    last = seen[-1]
    assert (last.phase, last.format, last.items, last.eta_seconds) == ("converting", fmt, 600, None)
    assert describe(last) == f"responses: 600 of 600 (100%), converting to {fmt}"

    seen.clear()
    await export(refiner_client, "responses", tmp_path / "r.jsonl", progress=seen.append)
    assert {p.phase for p in seen} == {"fetching"}


async def test_a_429_cooldown_is_reported_while_no_page_arrives(
    refiner_client: RefinerClient,
    fake_refiner: FakeRefiner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the API answers the first page with a 429 (Retry-After 2), progress is reported during
    the cooldown, before any page, saying how long it lasts; the ETA counts it."""
    monkeypatch.setattr(_run, "PAUSE_REPORT_INTERVAL", 0.05)
    fake_refiner.faults.add("429", path="/responses", match={"page": 1}, times=1, retry_after=2)
    seen: list[ExportProgress] = []
    summary = await export(
        refiner_client, "responses", tmp_path / "r.jsonl", page_length=200, progress=seen.append
    )
    assert summary.rate_limited == 1
    waiting = [p for p in seen if p.pages == 0]
    assert waiting, "no report during the cooldown"
    assert all(
        0 < p.paused_for < 3 for p in waiting
    )  # Retry-After 2, and a margin the limiter adds
    assert "paused" in describe(waiting[0])
    assert "by the API's rate limit (429)" in describe(waiting[0])
    assert seen[-1].paused_for == 0


def test_plain_progress_writes_a_line_when_the_stage_changes() -> None:
    """Within one interval, a pause, the end of a pause and the conversion each get a line."""
    stream = io.StringIO()
    report = PlainProgress(stream, interval=3600)
    base = {"resource": "responses", "total": 1000, "seconds": 1.0}
    report(ExportProgress(items=100, pages=1, **base))
    report(ExportProgress(items=200, pages=2, **base))  # same stage: no line
    report(ExportProgress(items=200, pages=2, paused_for=30.0, **base))
    report(ExportProgress(items=300, pages=3, **base))
    report(ExportProgress(items=1000, pages=10, phase="converting", format="csv", **base))
    assert stream.getvalue().splitlines() == [
        "responses: 100 of 1,000 (10%), 100 items/s, about 9.0 s left",
        "responses: 200 of 1,000 (20%), 200 items/s, paused 30.0 s by the API's rate limit (429), "
        "about 34.0 s left",
        "responses: 300 of 1,000 (30%), 300 items/s, about 2.3 s left",
        "responses: 1,000 of 1,000 (100%), converting to csv",
    ]


def test_the_bar_says_what_holds_it(capsys: pytest.CaptureFixture[str]) -> None:
    """On a terminal the bar's label names a 429 pause or the conversion, and shows no ETA while
    converting."""
    paused = ExportProgress("responses", items=1000, total=4000, pages=1, seconds=0.5, paused_for=9)
    with progress_reporter(terminal=True) as report:
        report(paused)
    assert "responses: paused 9.0 s by the API's rate limit (429)" in capsys.readouterr().err
    converting = attrs.evolve(paused, items=4000, paused_for=0, phase="converting", format="csv")
    with progress_reporter(terminal=True) as report:
        report(converting)
    err = capsys.readouterr().err
    assert "responses: converting to csv" in err
    assert "ETA -" in err
