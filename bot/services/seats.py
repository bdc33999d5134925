"""Admin changes to seats and pools: assign, revoke, set a pool. Each with its audit row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bot.licensing.errors import LicenseError
from bot.licensing.policy import PoolState
from bot.licensing.requests import SeatRequest
from bot.services.genesys import queue_provision, queue_removal
from bot.services.ledger import Impact, Rules, evaluate_seat, grant_seat, refresh_pools
from bot.store.assignments import Assignment
from bot.store.db import Database


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
    async with db.transaction() as tx:
        impact = await evaluate_seat(
            tx,
            rules,
            edition=seat.edition,
            seat_type=seat.seat_type,
            modules=seat.modules,
            now=now,
            email=email,
        )
        if not impact.allowed:
            raise LicenseError("; ".join(impact.reasons))
        assignment = await grant_seat(
            tx,
            email=email,
            name=name,
            slack_user_id=slack_user_id,
            edition=seat.edition,
            seat_type=seat.seat_type,
            modules=seat.modules,
            department=seat.department,
            actor=admin_id,
            now=now,
        )
        await queue_provision(tx, assignment.id, now)  # Genesys Cloud, after the commit
    return Assigned(assignment, impact)


async def revoke_seat(
    db: Database,
    *,
    email: str | None = None,
    slack_user_id: str | None = None,
    actor: str,
    now: datetime,
    assignment_id: int | None = None,
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
        if held is None or not await tx.assignments.revoke(held.id, now):
            raise LicenseError(f"{who} holds no active seat: see `/license users`")
        revoked = await tx.assignments.get(held.id)
        assert revoked is not None
        await refresh_pools(tx, held.edition, held.seat_type, held.modules, now)
        await tx.audit.add(
            now, actor, "assignment.revoked", held.email, held.snapshot(), revoked.snapshot()
        )
        await queue_removal(tx, held.id, now)  # Genesys Cloud, after the commit
    return revoked


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
    return before, after


def _pool(state: PoolState | None) -> dict | None:
    if state is None:
        return None
    return {
        "purchased": state.purchased,
        "used": state.used,
        "price": str(state.price) if state.price is not None else None,
    }
