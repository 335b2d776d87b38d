"""One module per API resource; each class is reached through a ``RefinerClient`` attribute."""

from .account import AccountResource
from .contacts import ContactsResource
from .events import EventsResource
from .forms import FormsResource
from .reporting import ReportingResource
from .responses import ResponsesResource
from .segments import SegmentsResource

__all__ = [
    "AccountResource",
    "ContactsResource",
    "EventsResource",
    "FormsResource",
    "ReportingResource",
    "ResponsesResource",
    "SegmentsResource",
]
