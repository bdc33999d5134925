"""Results the views show: what a seat would do to its pools, what `check` found.

Computed by the use cases in bot/services, rendered by bot/blocks. Blocks import their
view types from bot/licensing (here and entities.py), never from bot/services or the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from bot.licensing.entities import Assignment
from bot.licensing.policy import Outcome, PoolState, QuotaCheck, SeatCheck
from bot.licensing.requests import LicenseRequest


@dataclass(frozen=True)
class Impact:
    """What taking one seat (and its modules) would do to every pool it draws on."""

    checks: list[SeatCheck]
    trial_refusal: str | None = None
    holder_refusal: str | None = None
    extra: list[str] = field(default_factory=list)
    # SPEC 9/10: the pools a change leaves (a seat freed in each), the department's quota
    # in each pool entered, and the monthly cost the finance stage looks at.
    leaving: list[PoolState] = field(default_factory=list)
    quotas: list[QuotaCheck] = field(default_factory=list)
    cost: Decimal | None = None
    finance: bool = False

    @property
    def allowed(self) -> bool:
        return not self.reasons

    @property
    def reasons(self) -> list[str]:
        found = [r for r in (self.holder_refusal, self.trial_refusal) if r]
        found += [q.reason for q in self.quotas if q.over]
        return found + [c.reason for c in self.checks if c.outcome is Outcome.REFUSED]

    @property
    def overages(self) -> list[SeatCheck]:
        return [c for c in self.checks if c.outcome is Outcome.OVERAGE]


@dataclass(frozen=True)
class Finding:
    """One thing `check` found: what is wrong (or right) and how to resolve it."""

    ok: bool
    problem: str
    resolution: str = ""


@dataclass(frozen=True)
class Diagnosis:
    email: str
    holding: Assignment | None
    pending: LicenseRequest | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def all_good(self) -> bool:
        return all(f.ok for f in self.findings)


@dataclass(frozen=True)
class FailedDelivery:
    """A message that ended undelivered, as an admin sees it."""

    id: int
    what: str  # the template: request_card, decision_dm, limits_alert, ...
    target: str
    where: str  # a channel id, a user id, or "" (the approvals channel)
    error: str
    failure: str  # permanent | gone
    failed_at: datetime | None
    request_id: int | None

    @property
    def gone(self) -> bool:
        return self.failure == "gone"
