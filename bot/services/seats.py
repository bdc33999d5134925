"""Admin changes to seats and pools: assign, revoke, set a pool. Each with its audit row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from bot.licensing.entities import Assignment, Quota, Seat
from bot.licensing.errors import LicenseError
from bot.licensing.policy import PoolState, end_date_refusal
from bot.licensing.requests import SeatRequest, license_group
from bot.licensing.views import Impact
from bot.services.genesys import queue_change, queue_provision, queue_removal
from bot.services.ledger import Rules, evaluate_seat, grant_seat, refresh_pools
from bot.services.outcomes import cancel_pending_for
from bot.store.db import Database
from bot.store.unit import Store


@dataclass(frozen=True)
class Assigned:
    assignment: Assignment
    impact: Impact


async def assign_seat(
    db: Database,
    rules: Rules,
    seat: SeatRequest,
    *,
    email: str,
    name: str,
    slack_user_id: str | None,
    admin_id: str,
    now: datetime,
) -> Assigned:
    """Give a seat directly, under the same rules as an approval. Raises when refused."""
    rules.catalog.check_modules(seat.edition, seat.modules)
    check_end_date(seat.until, rules, now)
    async with db.transaction() as tx:
        given = Seat(
            email=email,
            name=name,
            slack_user_id=slack_user_id,
            edition=seat.edition,
            seat_type=seat.seat_type,
            modules=seat.modules,
            department=seat.department,
            ends_on=seat.until,
        )
        impact = await evaluate_seat(tx, rules, given, now)
        if not impact.allowed:
            raise LicenseError("; ".join(impact.reasons))
        assignment = await grant_seat(tx, given, actor=admin_id, now=now)
        await queue_provision(tx, assignment.id, now)  # Genesys Cloud, after the commit
    return Assigned(assignment, impact)


def check_end_date(until: date | None, rules: Rules, now: datetime) -> None:
    refusal = end_date_refusal(until, now.astimezone(rules.tz).date())
    if refusal:
        raise LicenseError(refusal)


async def revoke_seat(
    db: Database,
    *,
    email: str | None = None,
    slack_user_id: str | None = None,
    actor: str,
    now: datetime,
    assignment_id: int | None = None,
    reason: str | None = None,
) -> Assignment:
    """Revoke the person's active seat (by email, Slack id or assignment). Always allowed."""
    async with db.transaction() as tx:
        if assignment_id is not None:
            held = await tx.assignments.get(assignment_id)
            held = held if held and held.status == "active" else None
        elif email:
            held = await tx.assignments.active_for_email(email)
        elif slack_user_id:
            held = await tx.assignments.active_for_slack_user(slack_user_id)
        else:
            held = None
        who = email or (f"<@{slack_user_id}>" if slack_user_id else "that person")
        if held is None:
            raise LicenseError(f"{who} holds no active seat: see `/license users`")
        return await end_seat(tx, held, actor=actor, now=now, reason=reason)


async def end_seat(
    tx: Store,
    held: Assignment,
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
    keep_request: int | None = None,
) -> Assignment:
    """THE one way a seat ends (revoke, offboarding, Reclaim, Release, expiry,
    deactivation), inside the caller's transaction: the compare-and-set, the pools' overage
    state, the audit row, and the holder's pending requests cancelled. Side effects of an
    ending (e.g. removing licenses elsewhere) belong here, queued in the same transaction."""
    if not await tx.assignments.revoke(held.id, now):
        raise LicenseError(f"{held.email} holds no active seat: see `/license users`")
    revoked = await tx.assignments.get(held.id)
    assert revoked is not None
    await refresh_pools(tx, held.edition, held.seat_type, held.modules, now)
    after = revoked.snapshot()
    if reason:
        after["reason"] = reason
    await tx.audit.add(now, actor, "assignment.revoked", held.email, held.snapshot(), after)
    await cancel_pending_for(
        tx,
        held.email,
        actor,
        now,
        f"{held.email}'s seat was revoked",
        keep=keep_request,
    )
    await queue_removal(tx, held.id, now)  # Genesys Cloud: remove its licenses after commit
    return revoked


async def change_seat(
    tx: Store,
    held: Assignment,
    *,
    edition: str,
    seat_type: str,
    modules: tuple[str, ...],
    ends_on: date | None,
    actor: str,
    now: datetime,
) -> Assignment:
    """THE one way a held seat changes (SPEC 9), inside the caller's transaction: the
    assignment in place, both sides' pools, and the audit row with before and after."""
    group = license_group(held.department, seat_type) if held.department else None
    if not await tx.assignments.change(
        held.id,
        edition=edition,
        seat_type=seat_type,
        modules=modules,
        license_group=group,
        ends_on=ends_on,
    ):
        raise LicenseError(f"{held.email} no longer holds that seat: nothing was changed")
    changed = await tx.assignments.get(held.id)
    assert changed is not None
    await refresh_pools(tx, held.edition, held.seat_type, held.modules, now)
    await refresh_pools(tx, edition, seat_type, modules, now)
    await tx.audit.add(
        now, actor, "assignment.changed", held.email, held.snapshot(), changed.snapshot()
    )
    await queue_change(tx, held, now)  # Genesys Cloud: swap the licenses after commit
    return changed


async def extend_seat(
    db: Database,
    rules: Rules,
    *,
    email: str | None = None,
    slack_user_id: str | None = None,
    assignment_id: int | None = None,
    until: date,
    actor: str,
    now: datetime,
) -> tuple[Assignment, date | None]:
    """Move a seat's last day (`/license extend`, **Extend 30 days**). Returns the seat and
    the last day it had."""
    check_end_date(until, rules, now)
    async with db.transaction() as tx:
        if assignment_id is not None:
            held = await tx.assignments.get(assignment_id)
            held = held if held and held.status == "active" else None
        elif email:
            held = await tx.assignments.active_for_email(email)
        elif slack_user_id:
            held = await tx.assignments.active_for_slack_user(slack_user_id)
        else:
            held = None
        if held is None:
            who = email or (f"<@{slack_user_id}>" if slack_user_id else "that person")
            raise LicenseError(
                f"{who} holds no active seat: give them one with `/license assign` "
                "(with until:YYYY-MM-DD)"
            )
        if not await tx.assignments.set_ends_on(held.id, until):
            raise LicenseError(f"{held.email} no longer holds that seat: nothing was changed")
        after = await tx.assignments.get(held.id)
        assert after is not None
        await tx.audit.add(
            now, actor, "assignment.extended", held.email, held.snapshot(), after.snapshot()
        )
    return after, held.ends_on


async def set_quota(
    db: Database,
    rules: Rules,
    *,
    department: str,
    edition: str,
    item: str,
    seats: int,
    admin_id: str,
    now: datetime,
) -> tuple[int | None, Quota]:
    """Give a department an allocation inside a pool. Setting it below what the department
    uses now is allowed: nothing is revoked, further approvals are refused until it fits."""
    async with db.transaction() as tx:
        before = await tx.quotas.set(department, edition, item, seats, admin_id, now)
        used = await tx.assignments.count_department(
            department, edition, item, module=item in rules.catalog.modules
        )
        await tx.audit.add(
            now,
            admin_id,
            "quota.set",
            f"quota:{department}/{edition}/{item}",
            None if before is None else {"seats": before},
            {"seats": seats, "used": used},
        )
    return before, Quota(department, edition, item, seats, used)


async def set_pool(
    db: Database,
    rules: Rules,
    *,
    edition: str,
    item: str,
    seats: int,
    price: Decimal | None,
    admin_id: str,
    now: datetime,
) -> tuple[PoolState | None, PoolState]:
    kind = "module" if item in rules.catalog.modules else "seat"
    if kind == "module":
        rules.catalog.check_modules(edition, (item,))
    async with db.transaction() as tx:
        before, _ = await tx.pools.set(edition, item, kind, seats, price, now)
        await tx.pools.refresh_overage(edition, item, now)
        after = await tx.pools.state(edition, item)
        assert after is not None
        await tx.audit.add(
            now, admin_id, "pool.set", f"pool:{edition}/{item}", _pool(before), _pool(after)
        )
    priced = rules.catalog.price_pool
    return (priced(before) if before else None), priced(after)


def _pool(state: PoolState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {
        "purchased": state.purchased,
        "used": state.used,
        "price": str(state.price) if state.price is not None else None,
    }


async def revoke_for_drift(
    db: Database, assignment_id: int, actor: str, now: datetime
) -> Assignment:
    """Remove on a holder deleted or deactivated in Genesys: end the seat (which removes
    whatever licenses are left in Genesys)."""
    return await revoke_seat(db, assignment_id=assignment_id, actor=actor, now=now)
