"""Every ```python block of README.md runs as written against FakeRefiner and passes mypy --strict.

The collector is the regular expression below, not pytest-examples, sybil or pytest-markdown-docs:
those run a block inside the pytest process, where a block's own ``asyncio.run()`` meets
pytest-asyncio's running loop, and none of them runs top-level ``await`` the way
``python -m asyncio`` does or prepends a section's setup block. Here each block runs in a
subprocess of its own (no loop running, nothing shared between blocks), against a FakeRefiner
of its own, with the environment a reader would have: ``REFINER_API_KEY`` and
``REFINER_BASE_URL`` naming the emulator (``SOURCES__REFINER__API_KEY`` for dlt), and
``REDIS_URL`` a real redis-server for the blocks that read it.

A block with top-level ``await`` runs as ``python -m asyncio`` runs it (compiled with
``PyCF_ALLOW_TOP_LEVEL_AWAIT``, awaited in ``asyncio.run``); a client it leaves open in its
namespace is then closed, as a reader ends such a session with ``await client.aclose()``. For
mypy that block is the body of an ``async def``, which is what it is when run. The first block of
each section in ``SETUP_SECTIONS`` is that section's setup (the README says so above it): it is
prepended to every other block of the section. A block whose first line names a test module
(``# test_feedback.py: ...``) is saved under that name and run with pytest, as its reader would, in
a directory of its own whose pytest configuration is the one the README asks for.
"""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from refiner_async.testing import FakeRefiner

from .conftest import ROOT, STDERR_NOISE, emulator_env, run_python

README = ROOT / "README.md"
#: Sections (``## Title``) whose first python block is prepended to the section's other blocks.
SETUP_SECTIONS = ("Resources",)
#: The first line of a block that is a pytest module, and the configuration the README asks for.
TEST_MODULE = re.compile(r"# (test_\w+\.py)")
PYTEST_INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"

RUNNER = """
import ast, asyncio, inspect, pathlib, sys, types
from refiner_async import RefinerClient

path = sys.argv[1]
code = compile(pathlib.Path(path).read_text(), path, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
namespace = {"__name__": "__main__", "__file__": path}
if code.co_flags & inspect.CO_COROUTINE:
    async def main():
        try:
            await types.FunctionType(code, namespace)()
        finally:
            for value in list(namespace.values()):
                if isinstance(value, RefinerClient):
                    await value.aclose()
    asyncio.run(main())
else:
    exec(code, namespace)
"""


def readme_blocks() -> list[tuple[str, str]]:
    """``(name, source)`` of every python block, with its section's setup block prepended."""
    blocks: list[tuple[str, str]] = []
    setup: dict[str, str] = {}
    section = ""
    text = README.read_text(encoding="utf-8")
    pattern = re.compile(r"^## ([^\n]+)$|^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)
    for match in pattern.finditer(text):
        if match.group(1) is not None:
            section = match.group(1).strip()
            continue
        source = match.group(2)
        line = text.count("\n", 0, match.start()) + 1
        name = f"L{line}-" + re.sub(r"\W+", "-", section).strip("-").lower()
        if section in SETUP_SECTIONS and section not in setup:
            setup[section] = source
        elif section in setup:
            source = setup[section] + "\n" + source
        blocks.append((name, source))
    return blocks


BLOCKS = readme_blocks()


def has_top_level_await(source: str) -> bool:
    code = compile(source, "<readme>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    return bool(code.co_flags & inspect.CO_COROUTINE)


def test_every_python_block_is_collected() -> None:
    """The collector finds every block the README has (a changed fence would drop one silently)."""
    assert len(BLOCKS) == README.read_text(encoding="utf-8").count("```python\n")
    assert len(BLOCKS) >= 20


@pytest.mark.fake_refiner(responses=3000, contacts=1500)
@pytest.mark.parametrize("source", [s for _, s in BLOCKS], ids=[n for n, _ in BLOCKS])
async def test_block_runs(
    source: str, fake_refiner: FakeRefiner, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The block exits 0 with no traceback, Python warning or unclosed resource on stderr (a
    library's own log lines, such as dlt's schema notes, may be there)."""
    if module := TEST_MODULE.match(source):
        script = tmp_path / module.group(1)
        (tmp_path / "pytest.ini").write_text(PYTEST_INI, encoding="utf-8")
        command = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", script.name]
    else:
        script = tmp_path / "block.py"
        command = ["-c", RUNNER, str(script)]
    script.write_text(source, encoding="utf-8")
    env = emulator_env(
        fake_refiner,
        SOURCES__REFINER__API_KEY=fake_refiner.api_key,
        DLT_DATA_DIR=str(tmp_path / "dlt"),
        RUNTIME__DLTHUB_TELEMETRY="false",
    )
    if "REDIS_URL" in source:
        env["REDIS_URL"] = request.getfixturevalue("redis_server").url
    done = await run_python(*command, env=env, cwd=tmp_path)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert STDERR_NOISE.findall(done.stderr) == [], done.stderr


def test_blocks_pass_mypy_strict(tmp_path: Path) -> None:
    """mypy --strict over every block at once (a block with top-level await as an async body)."""
    for name, source in BLOCKS:
        if has_top_level_await(source):
            source = "async def main() -> None:\n" + textwrap.indent(source, "    ")
        (tmp_path / f"{name.replace('-', '_')}.py").write_text(source, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / ".cache"),
         str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
