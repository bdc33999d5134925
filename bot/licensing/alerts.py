"""Which situations deserve an alert (SPEC 1.1-1.3, 3): pure functions of data and a clock.

A situation has a kind and, when it has one, a stable period (the start of the overage
spell, the trial's start date): the period is part of the alert's idempotency key, so
the same spell is alerted once however often the job runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.licensing.messages import LimitsAlert, TrialAlert
from bot.licensing.payloads import from_json
from bot.licensing.policy import (
    Band,
    Policy,
    PoolState,
    Trial,
    allowed_overage,
    grace_ends_at,
    utilization_band,
)

GRACE_WARNING = timedelta(days=3)  # "grace ending" is raised this long before the end

OVER = "over"
GRACE_ENDING = "grace-ending"
GRACE_ENDED = "grace-ended"
NEARLY_FULL = "nearly-full"
TRIAL_REMINDER = "reminder"
TRIAL_EXPIRED = "expired"


@dataclass(frozen=True)
class Situation:
    kind: str
    period: str | None  # None: no natural start (one alert while it lasts)
    facts: dict[str, Any] = field(default_factory=dict)

    def limits_alert(self) -> LimitsAlert:
        """A pool's situation as the payload of its `limits_alert` message."""
        return from_json(LimitsAlert, {"kind": self.kind, **self.facts})

    def trial_alert(self, active: int) -> TrialAlert:
        """The trial's situation as the payload of its `trial_alert` message."""
        return from_json(TrialAlert, {"kind": self.kind, **self.facts, "active": active})


def pool_facts(pool: PoolState) -> dict[str, Any]:
    return {
        "pool": pool.label,
        "edition": pool.edition,
        "item": pool.item,
        "used": pool.used,
        "purchased": pool.purchased,
    }


def pool_situations(pool: PoolState, now: datetime, policy: Policy) -> list[Situation]:
    """The limit alerts a pool deserves now: over its limit (and, near or past the end of
    its grace period, those too), or nearly full."""
    facts = pool_facts(pool)
    band = utilization_band(pool, policy)
    if pool.used > pool.purchased:
        since = pool.over_since or now
        ends = grace_ends_at(since, policy, pool.edition)
        facts |= {
            "overage": pool.overage,
            "allowance": allowed_overage(pool.purchased, policy),
            "over_since": since.isoformat(),
            "grace_ends": ends.isoformat(),
            "days_left": max(0, (ends - now).days),
        }
        period = since.isoformat()
        found = [Situation(OVER, period, facts)]
        if now >= ends:
            found.append(Situation(GRACE_ENDED, period, facts))
        elif now >= ends - GRACE_WARNING:
            found.append(Situation(GRACE_ENDING, period, facts))
        return found
    if band is Band.NEARLY_FULL:
        facts |= {
            "left": pool.available,
            "utilization": pool.utilization,
            "high": policy.utilization_high,
        }
        return [Situation(NEARLY_FULL, None, facts)]
    return []


def resolution(kind: str, pool: PoolState | None, policy: Policy) -> str:
    """Why an alert about a pool no longer applies, in one line."""
    if pool is None:
        return "the pool no longer exists"
    if kind == NEARLY_FULL:
        if pool.used > pool.purchased:
            return f"{pool.label} went over its limit ({pool.counts()}): see the newer alert"
        return f"{pool.label} is below {policy.utilization_high:.0%} again ({pool.counts()})"
    if pool.used > pool.purchased:
        return f"{pool.label} started a new overage ({pool.counts()}): see the newer alert"
    return f"{pool.label} is back within its {pool.purchased} seats ({pool.counts()})"


def trial_situation(trial: Trial | None, today: date, policy: Policy) -> Situation | None:
    """The day-N reminder while the trial nears its end, the expiry after its last day;
    nothing for a converted trial."""
    if trial is None or trial.converted_at is not None:
        return None
    day = trial.day(today)
    facts: dict[str, Any] = {
        "start": trial.start.isoformat(),
        "day": day,
        "trial_days": policy.trial_days,
        "last_day": trial.last_day(policy).isoformat(),
        "days_left": max(0, policy.trial_days - day),
        "max_users": policy.trial_max_users,
    }
    if day > policy.trial_days:
        return Situation(TRIAL_EXPIRED, trial.start.isoformat(), facts)
    if policy.trial_reminder_day <= day:
        return Situation(TRIAL_REMINDER, trial.start.isoformat(), facts)
    return None
