"""The project's checks: ``nox -s tests lint typing``; ``nox -s bench`` and ``nox -s soak`` on demand."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typing"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

PYTHON = "3.11"
#: The suite runs on the oldest supported Python and the newest CPython the dependencies support.
TEST_PYTHONS = [PYTHON, "3.13"]


@nox.session(python=TEST_PYTHONS)
def tests(session: nox.Session) -> None:
    """Unit, resource, emulator, integration and short reliability tests."""
    session.install("-e", ".[test,cli,parquet]")
    # coverage starts before pytest, so modules imported by the pytest11 plugin are measured too
    session.run("coverage", "run", "-m", "pytest", *session.posargs)
    session.run("coverage", "report", "--skip-covered", "--sort=cover")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typing(session: nox.Session) -> None:
    """mypy --strict over the package and the examples."""
    session.install("-e", ".[test,cli,parquet]", "mypy>=1.10")
    session.run("mypy", "--strict", "refiner_async", "pytest_refiner_async.py", "examples")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run every benchmark; each prints a table and writes benchmarks/results/<name>.json."""
    session.install("-e", ".[test,cli,parquet,bench]")
    session.run("python", "benchmarks/run_all.py", *session.posargs)


@nox.session(python=PYTHON)
def soak(session: nox.Session) -> None:
    """The long seeded soak of the reliability suite."""
    session.install("-e", ".[test,cli,parquet]")
    session.run("pytest", "tests/reliability", "-m", "slow", "-s", *session.posargs)
