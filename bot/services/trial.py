"""The organization trial (SPEC 1.3): start, convert, status. Audited; converting or
restarting resolves the trial's open alerts in place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.licensing.errors import LicenseError
from bot.licensing.policy import Trial
from bot.services.alerts import resolve_alert
from bot.services.ledger import Rules
from bot.store.db import Database
from bot.store.unit import Store


@dataclass(frozen=True)
class TrialStatus:
    trial: Trial | None
    today: date
    active_seats: int
    max_users: int
    trial_days: int

    @property
    def day(self) -> int | None:
        return self.trial.day(self.today) if self.trial else None

    @property
    def state(self) -> str:
        if self.trial is None:
            return "none"
        if self.trial.converted_at is not None:
            return "converted"
        day = self.trial.day(self.today)
        if day < 1:
            return "scheduled"
        return "running" if day <= self.trial_days else "expired"


def _snapshot(trial: Trial | None) -> dict[str, Any] | None:
    if trial is None:
        return None
    converted = trial.converted_at.isoformat() if trial.converted_at else None
    return {"start": trial.start.isoformat(), "converted_at": converted}


async def start_trial(db: Database, start: date, actor: str, now: datetime) -> Trial:
    async with db.transaction() as tx:
        before = await tx.trial.get()
        await tx.trial.start(start, actor, now)
        after = await tx.trial.get()
        assert after is not None
        await tx.audit.add(
            now, actor, "trial.started", "trial", _snapshot(before), _snapshot(after)
        )
        if before is not None and before.start != start:
            await _resolve_open(tx, f"the trial was restarted on {start.isoformat()}", now)
    return after


async def convert_trial(db: Database, actor: str, now: datetime) -> Trial:
    async with db.transaction() as tx:
        before = await tx.trial.get()
        if before is None:
            raise LicenseError(
                "there is no trial to convert: start one with `/license trial start <YYYY-MM-DD>`"
            )
        if not await tx.trial.convert(actor, now):
            raise LicenseError("the trial was already converted to a paid plan")
        after = await tx.trial.get()
        assert after is not None
        await tx.audit.add(
            now, actor, "trial.converted", "trial", _snapshot(before), _snapshot(after)
        )
        await _resolve_open(tx, f"converted to a paid plan by <@{actor}>", now)
    return after


async def trial_status(db: Database, rules: Rules, now: datetime) -> TrialStatus:
    async with db.read() as tx:
        trial = await tx.trial.get()
        active = await tx.assignments.count_active()
    policy = rules.policy
    return TrialStatus(
        trial, now.astimezone(rules.tz).date(), active, policy.trial_max_users, policy.trial_days
    )


async def _resolve_open(tx: Store, text: str, now: datetime) -> None:
    for alert in await tx.alerts.open(job="trial"):
        await resolve_alert(tx, alert, text, now)
