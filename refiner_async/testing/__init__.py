"""Test helpers for users of refiner_async: the embedded Refiner API emulator and its pytest plugin.

``FakeRefiner`` serves the Refiner REST API v1 on 127.0.0.1 from a seeded data set, with scriptable
faults, server-side rate limits, live mutation and a request journal. It does not use the SDK.
``ASSUMPTIONS`` lists every behaviour it picked where the API is undocumented.

The names are imported on first use: ``import refiner_async.testing`` does not load aiohttp.web or
the emulator. The pytest fixtures are in the top-level module ``pytest_refiner_async``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from ._assumptions import ASSUMPTIONS
    from ._faults import FAULT_KINDS, Fault, FaultKind, FaultPlan
    from ._journal import JournalEntry
    from ._server import FakeRefiner, serve

__all__ = [
    "ASSUMPTIONS",
    "FAULT_KINDS",
    "FakeRefiner",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "JournalEntry",
    "serve",
]

_HOME = {
    "ASSUMPTIONS": "._assumptions",
    "FAULT_KINDS": "._faults",
    "Fault": "._faults",
    "FaultKind": "._faults",
    "FaultPlan": "._faults",
    "JournalEntry": "._journal",
    "FakeRefiner": "._server",
    "serve": "._server",
}


__getattr__, __dir__ = lazy_names(__name__, _HOME)
