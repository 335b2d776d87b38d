"""``import refiner_async`` loads the client and its request path only: the models, the converter,
the paginator and the export load when first used, and every public name is still there."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

import refiner_async

HEAVY = (
    "cattrs",
    "refiner_async.models",
    "refiner_async._converters",
    "refiner_async._pagination",
    "refiner_async._export",
    "refiner_async.resources",
)


def loaded_after(code: str) -> list[str]:
    """The HEAVY modules loaded once ``code`` has run in a fresh interpreter."""
    script = f"import sys\n{code}\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded: list[str] = ast.literal_eval(result.stdout)
    return loaded


def test_import_loads_the_client_only() -> None:
    assert loaded_after("import refiner_async\nrefiner_async.RefinerClient") == []


def test_first_use_loads_what_it_needs() -> None:
    assert loaded_after(
        "import refiner_async\nrefiner_async.RefinerClient(api_key='k').responses"
    ) == sorted(set(HEAVY) - {"refiner_async._export"})
    assert "refiner_async._export" in loaded_after("from refiner_async import export")


def test_every_public_name_resolves() -> None:
    for name in refiner_async.__all__:
        assert getattr(refiner_async, name) is not None, name
    assert set(refiner_async.__all__) <= set(dir(refiner_async))
    assert refiner_async.Response is refiner_async.models.Response
    assert refiner_async.export.__module__.startswith("refiner_async._export")
    with pytest.raises(AttributeError, match="nothing_here"):
        refiner_async.nothing_here  # noqa: B018
