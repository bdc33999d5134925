"""The seat rules applied to what the store holds now: the one place approvals, assignments
and card previews ask "may this seat be taken?"."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from decimal import Decimal

from bot.licensing.catalog import Catalog
from bot.licensing.entities import Assignment, Seat
from bot.licensing.policy import (
    Policy,
    PoolState,
    QuotaCheck,
    check_add,
    check_quota,
    check_trial_cap,
    monthly_cost,
    needs_finance,
)
from bot.licensing.requests import LicenseRequest, RequestKind, license_group
from bot.licensing.views import Impact  # re-exported for the use cases
from bot.store.unit import Store


@dataclass(frozen=True)
class Rules:
    policy: Policy
    catalog: Catalog
    tz: tzinfo

    def __post_init__(self) -> None:
        # A grace period per edition is catalog data (`grace_days` under an edition):
        # the policy carries it, and grace_ends_at (bot/licensing/policy.py) reads it.
        grace = self.catalog.edition_grace_days()
        if grace and self.policy.edition_grace_days != grace:
            object.__setattr__(self, "policy", replace(self.policy, edition_grace_days=grace))


async def evaluate_seat(tx: Store, rules: Rules, seat: Seat, now: datetime) -> Impact:
    """What giving `seat` would do now: each pool it draws on, the trial cap, whether its
    holder has a seat already, the department's quotas, the cost and the finance stage."""
    edition, seat_type, modules = seat.edition, seat.seat_type, seat.modules
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
    if seat.email:
        holder = await tx.assignments.active_for_email(seat.email)
        if holder is not None:
            holder_refusal = (
                f"{seat.email} already holds a {holder.seat} seat: revoke it first "
                f"(`/license revoke {seat.email}`)"
            )
    quotas = await _quotas(tx, seat.department, edition, (seat_type, *modules), rules)
    cost = await seat_cost(tx, rules, edition, seat_type, modules)
    return Impact(
        checks,
        trial_refusal,
        holder_refusal,
        quotas=quotas,
        cost=cost,
        finance=needs_finance(cost, rules.policy),
    )


async def _quotas(
    tx: Store, department: str | None, edition: str, items: tuple[str, ...], rules: Rules
) -> list[QuotaCheck]:
    """The department's allocation in each pool a seat would draw on (SPEC 10)."""
    if not department:
        return []
    found = []
    for item in items:
        allocated = await tx.quotas.get(department, edition, item)
        if allocated is None:
            continue
        used = await tx.assignments.count_department(
            department, edition, item, module=item in rules.catalog.modules
        )
        check = check_quota(department, f"{edition} {item}", allocated, used)
        if check is not None:
            found.append(check)
    return found


async def seat_cost(
    tx: Store, rules: Rules, edition: str, seat_type: str, modules: tuple[str, ...]
) -> Decimal:
    """Monthly cost of a seat and its modules: each pool's price, else the catalog's."""
    prices = []
    for item in (seat_type, *modules):
        pool = await tx.pools.state(edition, item)
        prices.append(rules.catalog.seat_price(edition, item, pool.price if pool else None))
    return monthly_cost(prices)


async def evaluate_request(
    tx: Store, rules: Rules, request: LicenseRequest, now: datetime
) -> Impact:
    """What approving this request would do now, whatever its kind (card and approval)."""
    if request.kind is RequestKind.NEW:
        return await evaluate_seat(tx, rules, request.seat(), now)
    held = await tx.assignments.get(request.assignment_id) if request.assignment_id else None
    if held is None or held.status != "active":
        gone = f"{request.email} no longer holds the seat this request is about: nothing to do"
        return Impact([], holder_refusal=gone)
    if request.kind is RequestKind.OFFBOARD:
        return Impact([])
    return await evaluate_change(
        tx,
        rules,
        held,
        edition=request.edition,
        seat_type=request.seat_type,
        modules=request.modules,
        now=now,
    )


async def evaluate_change(
    tx: Store,
    rules: Rules,
    held: Assignment,
    *,
    edition: str,
    seat_type: str,
    modules: tuple[str, ...],
    now: datetime,
) -> Impact:
    """A change frees a seat in each pool it leaves and takes one in each it enters; pools
    kept on both sides do not move (SPEC 9)."""
    before = {(held.edition, held.seat_type), *((held.edition, m) for m in held.modules)}
    after = {(edition, seat_type), *((edition, m) for m in modules)}
    leaving = []
    for pool_edition, item in sorted(before - after):
        state = await tx.pools.state(pool_edition, item)
        leaving.append(state or PoolState(pool_edition, item, 0, 1))
    entering = [item for item in (seat_type, *modules) if (edition, item) in after - before]
    checks = [
        check_add(await tx.pools.state(edition, item), f"{edition} {item}", now, rules.policy)
        for item in entering
    ]
    quotas = await _quotas(tx, held.department, edition, tuple(entering), rules)
    cost = await seat_cost(tx, rules, edition, seat_type, modules)
    return Impact(
        checks,
        leaving=leaving,
        quotas=quotas,
        cost=cost,
        finance=needs_finance(cost, rules.policy),
    )


async def refresh_pools(
    tx: Store, edition: str, seat_type: str, modules: tuple[str, ...], now: datetime
) -> None:
    """After seats change: open or close the overage periods of the pools touched."""
    for item in (seat_type, *modules):
        await tx.pools.refresh_overage(edition, item, now)


async def grant_seat(
    tx: Store, seat: Seat, *, actor: str, now: datetime, request_id: int | None = None
) -> Assignment:
    """Create the assignment, move the pools' overage state, and audit it: one step of an
    approval or a direct assignment, inside the caller's transaction."""
    group = license_group(seat.department, seat.seat_type) if seat.department else None
    assignment = await tx.assignments.add(
        seat, license_group=group, assigned_at=now, request_id=request_id
    )
    await refresh_pools(tx, seat.edition, seat.seat_type, seat.modules, now)
    await tx.audit.add(now, actor, "assignment.created", seat.email, None, assignment.snapshot())
    return assignment
