"""What admins look at: pool forecasts, the `check` diagnosis, date ranges in the local zone.

Reads only; the rules come from bot/licensing, the data from the store's repositories.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

from bot.licensing.entities import Assignment
from bot.licensing.errors import LicenseError
from bot.licensing.forecast import WINDOW_DAYS, Forecast, forecast
from bot.licensing.policy import PoolState, grace_ends_at, inactive_days, is_inactive
from bot.licensing.requests import LicenseRequest
from bot.licensing.views import Diagnosis, Finding  # re-exported
from bot.services.ledger import Rules
from bot.store.unit import Store

PoolKey = tuple[str, str]


async def pool_forecasts(
    tx: Store, pools: list[PoolState], now: datetime, tz: tzinfo
) -> dict[PoolKey, Forecast]:
    """Each pool's forecast from the seats taken and given back in the last 30 days."""
    flows = await tx.reports.pool_flows(now - timedelta(days=WINDOW_DAYS), now)
    today = now.astimezone(tz).date()
    found = {}
    for pool in pools:
        flow = flows.get((pool.edition, pool.item))
        added, removed = (flow.added, flow.removed) if flow else (0, 0)
        found[(pool.edition, pool.item)] = forecast(
            pool.purchased, pool.used, added, removed, today
        )
    return found


def day_range(
    since: date | None, until: date | None, tz: tzinfo
) -> tuple[datetime | None, datetime | None]:
    """`from:` and `to:` dates (both inclusive, local days) as a [start, end) instant range."""
    start = datetime.combine(since, time(), tz) if since else None
    end = datetime.combine(until + timedelta(days=1), time(), tz) if until else None
    return start, end


async def diagnose_person(
    tx: Store, rules: Rules, email: str, slack_user_id: str | None, now: datetime
) -> Diagnosis:
    holding = await tx.assignments.active_for_email(email)
    if holding is None and slack_user_id:
        holding = await tx.assignments.active_for_slack_user(slack_user_id)
    pending = await tx.requests.pending_for_email(email)
    pools: dict[str, PoolState | None] = {}
    if holding is not None:
        for item in (holding.seat_type, *holding.modules):
            pools[item] = await tx.pools.state(holding.edition, item)
    return Diagnosis(email, holding, pending, diagnose(email, holding, pending, pools, rules, now))


def diagnose(
    email: str,
    holding: Assignment | None,
    pending: LicenseRequest | None,
    pools: dict[str, PoolState | None],
    rules: Rules,
    now: datetime,
) -> list[Finding]:
    """The seed's common issues, each with its resolution; one "all good" when none."""
    tz = rules.tz
    findings: list[Finding] = []
    if pending is not None:
        since = pending.created_at.astimezone(tz).date().isoformat()
        resolution = (
            "an admin approves or denies it on its card, or the requester cancels it "
            f"with `/license cancel {pending.id}`"
        )
        if holding is not None:
            resolution = (
                f"it would be refused while they hold {holding.seat}: deny it, or the "
                f"requester cancels it with `/license cancel {pending.id}`"
            )
        findings.append(
            Finding(
                False,
                f"request #{pending.id} ({pending.edition} {pending.seat_type}) pending since "
                f"{since}",
                resolution,
            )
        )
    if holding is None:
        findings.insert(
            0,
            Finding(
                False,
                f"no license assigned to {email}",
                f"decide request #{pending.id} (below)"
                if pending
                else f"file a request (`/license request {email} <seat-type> <edition>`) or "
                f"assign one (`/license assign {email} <seat-type> <edition>`)",
            ),
        )
        return findings
    findings += _module_findings(holding, rules)
    if is_inactive(holding.last_active_at, holding.assigned_at, now, rules.policy):
        days = inactive_days(holding.last_active_at, holding.assigned_at, now)
        last = (
            f"last active {holding.last_active_at.astimezone(tz).date().isoformat()}"
            if holding.last_active_at
            else f"no activity since assigned {holding.assigned_at.astimezone(tz).date()}"
        )
        findings.append(
            Finding(
                False,
                f"inactive for {days} days ({last})",
                f"reclaim the seat with `/license revoke {holding.email}`, or ask them to "
                "sign in if they still need it",
            )
        )
    for item, pool in pools.items():
        findings += _pool_findings(holding.edition, item, pool, rules, now)
    if not [f for f in findings if not f.ok]:
        findings.append(Finding(True, "all good: licensed, modules included, active, pools OK"))
    return findings


def _module_findings(holding: Assignment, rules: Rules) -> list[Finding]:
    found = []
    for module in holding.modules:
        try:
            rules.catalog.check_modules(holding.edition, (module,))
        except LicenseError as error:
            problem, _, resolution = str(error).partition(": ")
            found.append(Finding(False, f"module {problem}", resolution))
    return found


def _pool_findings(
    edition: str, item: str, pool: PoolState | None, rules: Rules, now: datetime
) -> list[Finding]:
    label = f"{edition} {item}"
    buy = f"buy seats with `/license pool set {label} <seats>`"
    if pool is None:
        return [
            Finding(
                False,
                f"no {label} pool: the seat is not counted against purchased seats",
                f"set the pool with `/license pool set {label} <seats>`",
            )
        ]
    if not pool.overage:
        return []
    start = pool.over_since or now
    end = grace_ends_at(start, rules.policy, pool.edition)
    ends = end.astimezone(rules.tz).date().isoformat()
    if now >= end:
        return [
            Finding(
                False,
                f"{label} pool is {pool.overage} over its {pool.purchased} seats and its grace "
                f"period ended on {ends}: approvals into it are refused",
                f"{buy}, or reclaim inactive seats (`/license users inactive`)",
            )
        ]
    return [
        Finding(
            False,
            f"{label} pool is {pool.overage} over its {pool.purchased} seats "
            f"({pool.counts()}): in overage, grace ends {ends}",
            f"{buy} before {ends}, or reclaim inactive seats (`/license users inactive`)",
        )
    ]
