"""The pytest plugin: fake_refiner (with its marker), fake_refiner_factory, refiner_client."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from refiner_async import RefinerClient
from refiner_async.testing import FakeRefiner
from tests.conftest import readme_example

#: The README's test module, run by pytest-asyncio in its default strict mode by the README test.
README_TESTS = readme_example("## Testing with FakeRefiner", "# test_feedback.py")
STRICT_MARK = "@pytest.mark.asyncio\n"
LOOP_SCOPE = "asyncio_default_fixture_loop_scope = function\n"  # pytest-asyncio warns without it
#: The same tests under the other ways of running async tests: (pytest.ini, marker, pytest options).
OTHER_RUNNERS = {
    "pytest-asyncio auto mode": ("asyncio_mode = auto\n" + LOOP_SCOPE, "", []),
    "anyio beside pytest-asyncio": (LOOP_SCOPE, "@pytest.mark.anyio\n", []),
    "anyio without pytest-asyncio": ("", "@pytest.mark.anyio\n", ["-p", "no:asyncio"]),
}


def run_pytest(directory, *options: str) -> subprocess.CompletedProcess[str]:
    """``pytest -q`` in ``directory`` (its own rootdir and configuration), in a new process."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_fake_refiner_fixture_is_started(fake_refiner):
    """fake_refiner is a started emulator with a /v1 base URL and a key."""
    assert isinstance(fake_refiner, FakeRefiner)
    assert fake_refiner.base_url.startswith("http://127.0.0.1:")
    assert fake_refiner.base_url.endswith("/v1")
    assert fake_refiner.port > 0
    assert fake_refiner.api_key


@pytest.mark.fake_refiner(responses=123, contacts=40, forms=3, seed=9)
async def test_marker_sets_options(fake_refiner):
    """@pytest.mark.fake_refiner(...) passes its keyword arguments to FakeRefiner."""
    assert len(fake_refiner.live_response_uuids("all")) == 123
    assert len(fake_refiner.store.contacts) == 40
    assert len(fake_refiner.store.forms) == 3
    assert fake_refiner.seed == 9


async def test_factory_starts_independent_emulators(fake_refiner_factory):
    """fake_refiner_factory starts as many emulators as asked, each on its own port."""
    one = await fake_refiner_factory(responses=10)
    two = await fake_refiner_factory(responses=20, seed=2)
    assert one.port != two.port
    assert len(one.live_response_uuids("all")) == 10
    assert len(two.live_response_uuids("all")) == 20


def test_fixtures_work_in_a_fresh_pytest_run(tmp_path):
    """In a separate pytest run, the entry-point plugin provides the fixtures and the marker,
    and stops the emulator after the test."""
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = error\n"
    )
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import aiohttp
            import pytest

            seen = {}

            @pytest.mark.fake_refiner(responses=5)
            async def test_uses_fixture(fake_refiner):
                seen["fake"] = fake_refiner
                headers = {"Authorization": f"Bearer {fake_refiner.api_key}"}
                async with aiohttp.ClientSession(headers=headers) as session:
                    url = fake_refiner.base_url + "/responses?include=all"
                    async with session.get(url) as r:
                        assert (await r.json())["pagination"]["items_count"] == 5

            def test_stopped_after():
                assert seen["fake"].open_connections() == 0
                assert seen["fake"]._runner is None
            """
        )
    )
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


@pytest.mark.parametrize("runner", OTHER_RUNNERS)
def test_readme_tests_run_under_each_async_runner(tmp_path, runner):
    """The README's tests pass as written for strict mode, unmarked in auto mode, and marked
    ``anyio`` with or without pytest-asyncio installed, with every warning an error."""
    ini, mark, options = OTHER_RUNNERS[runner]
    assert README_TESTS.count(STRICT_MARK) == 2
    (tmp_path / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n" + ini)
    (tmp_path / "test_feedback.py").write_text(README_TESTS.replace(STRICT_MARK, mark))
    result = run_pytest(tmp_path, *options)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_a_pytest_run_without_the_fixtures_imports_nothing_of_the_sdk(tmp_path):
    """The plugin is loaded in every pytest run of an environment with the SDK; until a test asks
    for a fixture, neither the SDK, its emulator nor aiohttp is imported."""
    (tmp_path / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n" + LOOP_SCOPE)
    (tmp_path / "test_unrelated.py").write_text(
        textwrap.dedent(
            """
            import sys

            def test_nothing_of_the_sdk_is_loaded(pytestconfig):
                assert pytestconfig.pluginmanager.has_plugin("refiner_async")
                loaded = [m for m in sys.modules if m.split(".")[0] in ("refiner_async", "aiohttp")]
                assert loaded == []
            """
        )
    )
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


@pytest.mark.fake_refiner(responses=30)
async def test_refiner_client_is_connected(refiner_client, fake_refiner):
    """refiner_client is a RefinerClient pointed at fake_refiner, authenticated with its key."""
    assert isinstance(refiner_client, RefinerClient)
    assert refiner_client.base_url == fake_refiner.base_url
    responses = await refiner_client.responses.list(include="all").collect()
    assert len(responses) == 30
    assert {r.uuid for r in responses} == fake_refiner.all_response_uuids(include="all")
    assert fake_refiner.stats()["requests"]["/v1/responses"] == {"200": 1}
