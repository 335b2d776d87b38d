"""refiner_async: the async Python SDK for the Refiner customer-feedback and survey API."""

from typing import TYPE_CHECKING

from ._client import RefinerClient
from ._http import ClientStats, RawResponse
from ._lazy import lazy_names
from ._types import (
    NOT_GIVEN,
    FormState,
    Include,
    NotGiven,
    OrderBy,
    PaginationMode,
    ReportType,
)
from ._version import __version__
from .errors import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InvalidParameterError,
    NotFoundError,
    OutcomeUnknownError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    RefinerError,
    ResponseDecodeError,
    ResponseTooLargeError,
    ResponseValidationError,
    ServerError,
    TLSError,
)

if TYPE_CHECKING:
    from ._export import ExportError, ExportProgress, ExportSummary, export
    from ._pagination import Paginator
    from ._serialize import to_dict
    from .models import (
        AccountInfo,
        Contact,
        ContactAccount,
        ContactRef,
        DuplicateFormResult,
        Environment,
        Form,
        FormHistoryEntry,
        FormRef,
        IdentifyResult,
        Page,
        Report,
        Response,
        Segment,
        SegmentRef,
        StoreResponseResult,
        Subscription,
        SyncSegmentResult,
        VerifyResult,
    )

# Loaded on first use, so that ``import refiner_async`` costs little more than aiohttp: the models
# and their converter, the paginator and the export.
_LAZY = {
    **dict.fromkeys(["ExportError", "ExportProgress", "ExportSummary", "export"], "._export"),
    "Paginator": "._pagination",
    "to_dict": "._serialize",
    **dict.fromkeys(
        [
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
        ],
        ".models",
    ),
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY)

# Plain sorted order (the surface test pins it), where ruff would put constants first.
__all__ = [  # noqa: RUF022
    "APIConnectionError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AccountInfo",
    "AuthenticationError",
    "BadRequestError",
    "ClientStats",
    "ConfigurationError",
    "Contact",
    "ContactAccount",
    "ContactRef",
    "DuplicateFormResult",
    "Environment",
    "ExportError",
    "ExportProgress",
    "ExportSummary",
    "Form",
    "FormHistoryEntry",
    "FormRef",
    "FormState",
    "IdentifyResult",
    "Include",
    "InvalidParameterError",
    "NOT_GIVEN",
    "NotFoundError",
    "NotGiven",
    "OrderBy",
    "OutcomeUnknownError",
    "Page",
    "PaginationError",
    "PaginationMode",
    "Paginator",
    "PermissionDeniedError",
    "RateLimitError",
    "RawResponse",
    "RefinerClient",
    "RefinerError",
    "Report",
    "ReportType",
    "Response",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "Segment",
    "SegmentRef",
    "ServerError",
    "StoreResponseResult",
    "Subscription",
    "SyncSegmentResult",
    "TLSError",
    "VerifyResult",
    "__version__",
    "export",
    "to_dict",
]
