"""Seat accounting, overage and grace, trial cap, inactivity and the utilization band.

Everything here is a function of data and a clock reading: no Slack, no SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum


@dataclass(frozen=True)
class Policy:
    grace_days: int = 30
    overage_max_percent: int = 10
    inactive_days: int = 30
    trial_days: int = 14
    trial_reminder_day: int = 12
    trial_max_users: int = 50
    utilization_low: float = 0.80
    utilization_high: float = 0.95
    reminder_hours: int = 24
    request_expire_days: int = 14
    four_eyes: bool = True
    finance_threshold: Decimal | None = None  # None: no finance stage
    expiry_warning_days: int = 3
    # Editions whose grace period differs from grace_days: (edition, days) pairs, from the
    # catalog's `grace_days` (bot/services/ledger.Rules fills it in). grace_ends_at reads it.
    edition_grace_days: tuple[tuple[str, int], ...] = ()

    def grace_days_for(self, edition: str) -> int:
        return dict(self.edition_grace_days).get(edition, self.grace_days)


@dataclass(frozen=True)
class PoolState:
    """One pool as the policy needs it: what was bought, what is used, since when over."""

    edition: str
    item: str  # seat type or module
    purchased: int
    used: int
    over_since: datetime | None = None
    price: Decimal | None = None  # the pool's own monthly price per seat (None: the list price)
    # What a seat of the pool costs a month, as the domain worked it out (Catalog.price_pool):
    # the pool's own price, else the catalog's list price (`list_price`); None: unknown.
    # Carried to the views, which never ask the catalog.
    seat_price: Decimal | None = None
    list_price: bool = False

    @property
    def label(self) -> str:
        return f"{self.edition} {self.item}"

    @property
    def overage(self) -> int:
        return max(0, self.used - self.purchased)

    @property
    def available(self) -> int:
        return max(0, self.purchased - self.used)

    @property
    def utilization(self) -> float | None:
        return self.used / self.purchased if self.purchased else None

    def grace_ends_at(self, policy: Policy) -> datetime | None:
        """When this pool's grace period ends (None: the pool is not over)."""
        if self.over_since is None:
            return None
        return grace_ends_at(self.over_since, policy, self.edition)

    def counts(self) -> str:
        return f"{self.used}/{self.purchased}"


def allowed_overage(purchased: int, policy: Policy) -> int:
    """Seats a pool may go over: overage_max_percent of purchased, at least one."""
    return max(1, purchased * policy.overage_max_percent // 100)


def grace_ends_at(over_since: datetime, policy: Policy, edition: str) -> datetime:
    """The one place a grace period ends: over since then, plus the edition's grace days."""
    return over_since + timedelta(days=policy.grace_days_for(edition))


class Outcome(StrEnum):
    WITHIN = "within"  # fits in purchased seats
    OVERAGE = "overage"  # allowed, in a grace period
    REFUSED = "refused"


@dataclass(frozen=True)
class SeatCheck:
    """What adding seats to one pool would do."""

    pool: PoolState | None
    label: str
    outcome: Outcome
    used_after: int = 0
    overage_after: int = 0
    grace_ends_at: datetime | None = None
    grace_starts: bool = False
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.outcome is not Outcome.REFUSED


def check_add(
    pool: PoolState | None, label: str, now: datetime, policy: Policy, adding: int = 1
) -> SeatCheck:
    """May `adding` more seats be taken from this pool now? (SPEC 1.1)"""
    if pool is None or pool.purchased == 0:
        return SeatCheck(
            pool,
            label,
            Outcome.REFUSED,
            reason=f"no {label} seats purchased: buy seats with "
            f"`/license pool set {label} <seats>`",
        )
    used_after = pool.used + adding
    if used_after <= pool.purchased:
        return SeatCheck(pool, label, Outcome.WITHIN, used_after=used_after)
    overage_after = used_after - pool.purchased
    limit = allowed_overage(pool.purchased, policy)
    remedy = (
        f"buy seats with `/license pool set {label} <seats>` "
        "or reclaim inactive seats (`/license users inactive`)"
    )
    starts = pool.over_since is None or pool.used <= pool.purchased
    since = now if starts else pool.over_since
    assert since is not None
    ends = grace_ends_at(since, policy, pool.edition)
    if now >= ends:
        return SeatCheck(
            pool,
            label,
            Outcome.REFUSED,
            used_after,
            overage_after,
            ends,
            reason=f"the {label} grace period ended on {ends.date().isoformat()} and the pool "
            f"is still over its {pool.purchased} seats: {remedy}",
        )
    if overage_after > limit:
        return SeatCheck(
            pool,
            label,
            Outcome.REFUSED,
            used_after,
            overage_after,
            reason=f"{label} would be {overage_after} over its {pool.purchased} seats, past "
            f"the overage allowance of {limit}: {remedy}",
        )
    return SeatCheck(pool, label, Outcome.OVERAGE, used_after, overage_after, ends, starts)


# --- trial (SPEC 1.3) ---------------------------------------------------------------


@dataclass(frozen=True)
class Trial:
    start: date
    converted_at: datetime | None = None

    def day(self, today: date) -> int:
        return (today - self.start).days + 1

    def last_day(self, policy: Policy) -> date:
        return self.start + timedelta(days=policy.trial_days - 1)

    def running(self, today: date, policy: Policy) -> bool:
        return self.converted_at is None and 1 <= self.day(today) <= policy.trial_days

    def expired(self, today: date, policy: Policy) -> bool:
        return self.converted_at is None and self.day(today) > policy.trial_days


def check_trial_cap(
    trial: Trial | None, today: date, active_seats: int, policy: Policy, adding: int = 1
) -> str | None:
    """The refusal reason when a running trial would exceed its user cap, else None."""
    if trial is None or not trial.running(today, policy):
        return None
    if active_seats + adding > policy.trial_max_users:
        return (
            f"the trial allows at most {policy.trial_max_users} active seats "
            f"({active_seats} in use): convert with `/license trial convert` first"
        )
    return None


# --- inactivity (SPEC 1.4) ------------------------------------------------------------


def inactive_since_cutoff(now: datetime, policy: Policy) -> datetime:
    """An active seat whose last activity is before this instant is inactive."""
    return now - timedelta(days=policy.inactive_days)


def is_inactive(
    last_active_at: datetime | None, assigned_at: datetime, now: datetime, policy: Policy
) -> bool:
    return (last_active_at or assigned_at) < inactive_since_cutoff(now, policy)


def inactive_days(last_active_at: datetime | None, assigned_at: datetime, now: datetime) -> int:
    return (now - (last_active_at or assigned_at)).days


# --- utilization band (SPEC 1.2) ------------------------------------------------------


class Band(StrEnum):
    IN_BAND = "in band"
    NEARLY_FULL = "nearly full"
    OVER_PROVISIONED = "over-provisioned"
    OVER = "over limit"
    EMPTY = "no seats"


def utilization_band(pool: PoolState, policy: Policy) -> Band:
    if pool.purchased == 0:
        return Band.OVER if pool.used else Band.EMPTY
    if pool.used > pool.purchased:
        return Band.OVER
    ratio = pool.used / pool.purchased
    if ratio >= policy.utilization_high:
        return Band.NEARLY_FULL
    if ratio < policy.utilization_low:
        return Band.OVER_PROVISIONED
    return Band.IN_BAND


# --- approval policy (SPEC 10) ----------------------------------------------------------

FOUR_EYES_REFUSAL = "another admin must approve this: nobody approves what they filed"
SAME_APPROVER_REFUSAL = (
    "you gave the admin approval already: another member of the finance group must approve "
    "this (one person never gives both approvals)"
)


def four_eyes_refusal(filer: str, approver: str, policy: Policy) -> str | None:
    """Four eyes: the filer of a request never approves it, admin or not."""
    if policy.four_eyes and filer == approver:
        return FOUR_EYES_REFUSAL
    return None


def monthly_cost(prices: list[Decimal | None]) -> Decimal:
    """A seat's monthly cost: its seat and modules, unpriced items counting nothing."""
    return sum((p for p in prices if p is not None), Decimal(0))


def needs_finance(cost: Decimal, policy: Policy) -> bool:
    """A request at or over the finance threshold needs a second, finance, approval."""
    return policy.finance_threshold is not None and cost >= policy.finance_threshold


@dataclass(frozen=True)
class QuotaCheck:
    """What adding seats would do to a department's allocation inside one pool."""

    department: str
    label: str  # "premium agent"
    allocated: int
    used: int
    adding: int = 1

    @property
    def used_after(self) -> int:
        return self.used + self.adding

    @property
    def over(self) -> bool:
        return self.used_after > self.allocated

    def line(self) -> str:
        move = (
            f"{self.department} {self.label} {self.used}/{self.allocated} → "
            f"{self.used_after}/{self.allocated}"
        )
        return f"{move}, over the department's quota" if self.over else move

    @property
    def reason(self) -> str:
        return (
            f"{self.department} {self.label} would be {self.used_after}/{self.allocated}, over "
            f"the department's quota: raise it with `/license quota set {self.department} "
            f"{self.label} <seats>`, or free a {self.department} seat first"
        )


def check_quota(
    department: str, label: str, allocated: int | None, used: int, adding: int = 1
) -> QuotaCheck | None:
    """The department's allocation in this pool, or None: without a quota, the pool decides."""
    if allocated is None:
        return None
    return QuotaCheck(department, label, allocated, used, adding)


# --- time-bound seats (SPEC 9) ----------------------------------------------------------


def end_date_refusal(until: date | None, today: date) -> str | None:
    """A time-bound seat's last day may be today or later, never in the past."""
    if until is not None and until < today:
        return (
            f"the end date {until.isoformat()} is in the past (today is {today.isoformat()}): "
            "give today or a later day as until:YYYY-MM-DD"
        )
    return None


def expiry_stage(ends_on: date, today: date, policy: Policy) -> str | None:
    """'ended' the day after the last day; 'warn' within the warning days; else None."""
    if today > ends_on:
        return "ended"
    if (ends_on - today).days <= policy.expiry_warning_days:
        return "warn"
    return None
