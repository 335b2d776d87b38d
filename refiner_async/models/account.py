"""The account: plan, monthly usage, environments, and the key check."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ._base import extra_field

__all__ = ["AccountInfo", "Environment", "Subscription", "VerifyResult"]


@attrs.frozen(weakref_slot=False)
class Subscription:
    """The plan and this month's usage against its limits.

    ``mtu`` monthly tracked users, ``mte`` monthly tracked events (no limit), ``mpv`` monthly page
    views, ``msr`` monthly survey responses.
    """

    plan: str | None = None
    mtu_count: int | None = None
    mtu_limit: int | None = None
    mtu_count_updated_at: datetime | None = None
    mte_count: int | None = None
    mte_count_updated_at: datetime | None = None
    mpv_count: int | None = None
    mpv_limit: int | None = None
    mpv_count_updated_at: datetime | None = None
    msr_count: int | None = None
    msr_limit: int | None = None
    msr_count_updated_at: datetime | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(weakref_slot=False)
class Environment:
    """One environment (project) of the account, with its monthly usage."""

    uuid: str
    name: str | None = None
    mtu: int | None = None
    mte: int | None = None
    mpv: int | None = None
    msr: int | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(weakref_slot=False)
class AccountInfo:
    """The answer to ``client.account.get()``."""

    subscription: Subscription | None = None
    environments: tuple[Environment, ...] = ()
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(weakref_slot=False)
class VerifyResult:
    """The answer to ``client.verify()``: the environment the API key belongs to."""

    project_uuid: str | None = None
    project_name: str | None = None
    message: str | None = None
    extra: Mapping[str, Any] = extra_field()
