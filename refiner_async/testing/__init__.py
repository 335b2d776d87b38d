"""Test helpers for users of refiner_async: the embedded Refiner API emulator and its pytest plugin.

``FakeRefiner`` serves the Refiner REST API v1 on 127.0.0.1 from a seeded data set, with scriptable
faults, server-side rate limits, live mutation and a request journal. It does not use the SDK.
``ASSUMPTIONS`` lists every behaviour it picked where the API is undocumented.
"""

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
