"""attrs models of the Refiner API's objects. Models hold data only: wire rules live in _converters."""

from .page import Page

__all__ = ["Page"]
