"""The programs in examples/ run against the emulator and do what their docstrings say."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from pathlib import Path
from types import ModuleType

import httpx
import orjson
import pytest
import redis.asyncio

from refiner_async.sync import DEFAULT_SETTLE
from refiner_async.testing import FakeRefiner

from .conftest import ROOT, STDERR_NOISE, connect_to, emulator_env, run_python

EXAMPLES = ROOT / "examples"


def load(name: str) -> ModuleType:
    """examples/NAME.py as a fresh module (examples/ holds scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"examples_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def run_example(name: str, *args: str, env: dict[str, str], cwd: Path) -> str:
    """Run examples/NAME.py; its stdout once it exited 0 with a clean stderr."""
    done = await run_python(str(EXAMPLES / f"{name}.py"), *args, env=env, cwd=cwd)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert STDERR_NOISE.findall(done.stderr) == [], done.stderr
    return done.stdout


def uuids_in(paths: list[Path]) -> list[str]:
    """The ``uuid`` of every line of these JSON Lines files."""
    return [orjson.loads(line)["uuid"] for path in paths for line in path.read_bytes().splitlines()]


@pytest.mark.parametrize("limit", ["in-process", "redis"])
async def test_fastapi_app_serves_every_request_through_one_client(
    limit: str,
    fake_refiner: FakeRefiner,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """Through the app's lifespan and routes: a signup reaches the emulator as a contact and one
    event, the contact reads back, an unknown one is a 404; every call went through the one
    client the lifespan opened and closed; with REDIS_URL its turns are reserved in Redis."""
    monkeypatch.setenv("REFINER_API_KEY", fake_refiner.api_key)
    monkeypatch.setenv("REFINER_BASE_URL", fake_refiner.base_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    redis_url = request.getfixturevalue("redis_server").url if limit == "redis" else None
    if redis_url is not None:
        monkeypatch.setenv("REDIS_URL", redis_url)
    app = load("fastapi_app").app
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as http,
    ):
        signup = await http.post("/signup", json={"user_id": "user-42", "email": "jane@acme.com"})
        found = await http.get("/contacts/user-42")
        missing = await http.get("/contacts/nobody")
        client = app.state.refiner
    assert signup.status_code == 201, signup.text
    assert found.status_code == 200, found.text
    assert (found.json()["remote_id"], found.json()["email"]) == ("user-42", "jane@acme.com")
    assert signup.json()["contact_uuid"] == found.json()["uuid"]
    assert missing.status_code == 404
    assert "nobody" in missing.json()["detail"]
    assert fake_refiner.stats()["events_per_user"]["user-42"] == 1
    assert client.stats.requests == 4  # identify, track, and the two reads
    assert client.closed
    if redis_url is not None:  # the buckets the client's reservations wrote
        async with redis.asyncio.Redis.from_url(redis_url) as shared:
            assert await shared.keys("refiner:*") != []


async def test_nightly_export_twice_writes_each_response_once(tmp_path: Path) -> None:
    """Two runs with new responses between them: the files hold each of the emulator's responses
    exactly once, and the second run wrote only the new ones."""
    async with FakeRefiner(
        responses=300,
        now=time.time() - 2 * 86400,  # seeded history: a month ending two days ago
        span_days=30,
        # Responses received from now on are dated a settle delay back, where a run started a
        # moment later reads them (a run leaves the last DEFAULT_SETTLE seconds for the next).
        clock=lambda: time.time() - DEFAULT_SETTLE,
    ) as fake:
        env, out = emulator_env(fake), tmp_path / "exports"
        await run_example("nightly_export", "--out-dir", str(out), env=env, cwd=tmp_path)
        first = sorted(out.glob("responses-*.jsonl"))
        new = fake.insert_responses(5)
        await asyncio.sleep(1)  # windows end on whole seconds: the next run's ends after these
        printed = await run_example("nightly_export", "--out-dir", str(out), env=env, cwd=tmp_path)
        second = sorted(set(out.glob("responses-*.jsonl")) - set(first))
        expected = fake.live_response_uuids()
    assert len(first) > 1  # a month backfilled, a week per file
    assert sorted(uuids_in(first + second)) == sorted(expected)
    assert sorted(uuids_in(second)) == sorted(new)
    assert f"{second[0]}: 5 responses" in printed


async def test_nightly_export_fails_with_one_line(
    fake_refiner: FakeRefiner, tmp_path: Path
) -> None:
    """A key the API refuses: exit status 1, one line on stderr naming the error, no file."""
    env = emulator_env(fake_refiner, REFINER_API_KEY="f" * 40)
    out = tmp_path / "exports"
    done = await run_python(
        str(EXAMPLES / "nightly_export.py"), "--out-dir", str(out), env=env, cwd=tmp_path
    )
    assert done.returncode == 1
    assert done.stderr.startswith("nightly export failed: ")
    assert done.stderr.count("\n") == 1
    assert "API key not valid" in done.stderr
    assert list(out.glob("responses-*")) == []


@pytest.mark.fake_refiner(responses=2000)
async def test_agent_dispatches_tool_calls_and_prints_their_results(
    fake_refiner: FakeRefiner, tmp_path: Path
) -> None:
    """The scripted model's bad call comes back as an error envelope naming the parameter, its
    corrected call lists the published surveys, each survey's NPS is printed as the API
    reports it, and the answer names the best one."""
    printed = await run_example("agent_tools", env=emulator_env(fake_refiner), cwd=tmp_path)
    async with connect_to(fake_refiner) as client:
        forms = await client.forms.list(state="published").collect()
        reports = {f.name: await client.reporting.get("nps", form_uuids=[f.uuid]) for f in forms}
    assert "-> error: invalid parameter list: must be one of all, published" in printed
    assert f"-> {'; '.join(f.name for f in forms)}\n" in printed
    for report in reports.values():
        assert f'"nps": {report.nps}, "count": {report.count}' in printed
    scored = {name: r.nps for name, r in reports.items() if r.count and r.nps is not None}
    best = max(scored, key=scored.__getitem__)
    assert printed.endswith(f"answer: {best} has the best NPS, {scored[best]:g}, of {len(scored)} "
                            "surveys with NPS answers.\n")  # fmt: skip
