"""The seat rules applied to what the store holds now: the one place approvals, assignments
and card previews ask "may this seat be taken?"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from bot.licensing.catalog import Catalog
from bot.licensing.policy import Outcome, Policy, SeatCheck, check_add, check_trial_cap
from bot.licensing.requests import license_group
from bot.store.assignments import Assignment
from bot.store.unit import Store


@dataclass(frozen=True)
class Rules:
    policy: Policy
    catalog: Catalog
    tz: tzinfo


@dataclass(frozen=True)
class Impact:
    """What taking one seat (and its modules) would do to every pool it draws on."""

    checks: list[SeatCheck]
    trial_refusal: str | None = None
    holder_refusal: str | None = None
    extra: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.reasons

    @property
    def reasons(self) -> list[str]:
        found = [r for r in (self.holder_refusal, self.trial_refusal) if r]
        return found + [c.reason for c in self.checks if c.outcome is Outcome.REFUSED]

    @property
    def overages(self) -> list[SeatCheck]:
        return [c for c in self.checks if c.outcome is Outcome.OVERAGE]


async def evaluate_seat(
    tx: Store,
    rules: Rules,
    *,
    edition: str,
    seat_type: str,
    modules: tuple[str, ...],
    now: datetime,
    email: str | None = None,
) -> Impact:
    checks = [
        check_add(
            await tx.pools.state(edition, seat_type), f"{edition} {seat_type}", now, rules.policy
        )
    ]
    for module in modules:
        checks.append(
            check_add(
                await tx.pools.state(edition, module), f"{edition} {module}", now, rules.policy
            )
        )
    trial = await tx.trial.get()
    trial_refusal = None
    if trial is not None:
        trial_refusal = check_trial_cap(
            trial,
            now.astimezone(rules.tz).date(),
            await tx.assignments.count_active(),
            rules.policy,
        )
    holder_refusal = None
    if email:
        holder = await tx.assignments.active_for_email(email)
        if holder is not None:
            holder_refusal = (
                f"{email} already holds a {holder.seat} seat: revoke it first "
                f"(`/license revoke {email}`)"
            )
    return Impact(checks, trial_refusal, holder_refusal)


async def refresh_pools(
    tx: Store, edition: str, seat_type: str, modules: tuple[str, ...], now: datetime
) -> None:
    """After seats change: open or close the overage periods of the pools touched."""
    for item in (seat_type, *modules):
        await tx.pools.refresh_overage(edition, item, now)


async def grant_seat(
    tx: Store,
    *,
    email: str,
    name: str,
    slack_user_id: str | None,
    edition: str,
    seat_type: str,
    modules: tuple[str, ...],
    department: str | None,
    actor: str,
    now: datetime,
    request_id: int | None = None,
) -> Assignment:
    """Create the assignment, move the pools' overage state, and audit it: one step of an
    approval or a direct assignment, inside the caller's transaction."""
    assignment = await tx.assignments.add(
        email=email,
        name=name,
        slack_user_id=slack_user_id,
        edition=edition,
        seat_type=seat_type,
        modules=modules,
        department=department,
        license_group=license_group(department, seat_type) if department else None,
        assigned_at=now,
        request_id=request_id,
    )
    await refresh_pools(tx, edition, seat_type, modules, now)
    await tx.audit.add(now, actor, "assignment.created", email, None, assignment.snapshot())
    return assignment
