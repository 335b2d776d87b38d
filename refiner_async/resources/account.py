"""``client.account``: plan, usage and environments (``GET /account``), and the key check (``GET /``)."""

from __future__ import annotations

from ..models.account import AccountInfo, VerifyResult
from ._base import Resource

__all__ = ["AccountResource"]


class AccountResource(Resource):
    """The account the API key belongs to."""

    async def get(self) -> AccountInfo:
        """``GET /account``: the plan, this month's usage against its limits, and the environments."""
        return await self._fetch_one("GET", "/account", AccountInfo)

    async def verify(self) -> VerifyResult:
        """``GET /``: check the API key; returns the environment (project) it belongs to.

        A missing, malformed, unknown or revoked key raises ``AuthenticationError``.
        """
        return await self._fetch_one("GET", "/", VerifyResult)
