"""attrs models of the Refiner API's objects. Models hold data only: wire rules live in _converters.

Every model is ``@attrs.frozen(weakref_slot=False)``: frozen, slotted, and without a ``__weakref__``
slot, so that the converter can fill a plain slotted twin and hand it over as the model (see
``_converters._codegen.slot_twin``), which halves the cost of building a page of models.
"""

from .account import AccountInfo, Environment, Subscription, VerifyResult
from .contacts import Contact, ContactAccount, IdentifyResult, SegmentRef
from .forms import DuplicateFormResult, Form, FormHistoryEntry, FormRef
from .page import Page
from .reporting import Report
from .responses import ContactRef, Response, StoreResponseResult
from .segments import Segment, SyncSegmentResult

__all__ = [
    "AccountInfo",
    "Contact",
    "ContactAccount",
    "ContactRef",
    "DuplicateFormResult",
    "Environment",
    "Form",
    "FormHistoryEntry",
    "FormRef",
    "IdentifyResult",
    "Page",
    "Report",
    "Response",
    "Segment",
    "SegmentRef",
    "StoreResponseResult",
    "Subscription",
    "SyncSegmentResult",
    "VerifyResult",
]
