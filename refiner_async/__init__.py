"""refiner_async: the async Python SDK for the Refiner customer-feedback and survey API."""

from ._version import __version__

__all__ = ["__version__"]
