"""The six reports, built from one consistent read of the store.

`status | assignments | modules | grace | billing | audit` — the same tables for
`/license report` and `licensebot report`. Dates are local (LICENSEBOT_TIMEZONE) ISO
dates; audit times are ISO 8601 instants in UTC.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime, tzinfo
from decimal import Decimal

from bot.licensing.catalog import Catalog
from bot.licensing.commands import REPORT_KINDS
from bot.licensing.entities import AuditFilter
from bot.licensing.policy import (
    grace_ends_at,
    inactive_days,
    inactive_since_cutoff,
    is_inactive,
    utilization_band,
)
from bot.reports.table import Table, percent
from bot.services.insight import pool_forecasts
from bot.services.ledger import Rules
from bot.store.unit import Store

Builder = Callable[[Store, Rules, datetime, AuditFilter], Awaitable[Table]]


def _date(at: datetime | None, tz: tzinfo) -> date | None:
    """A CSV date cell: the ISO day in the configured zone, or empty."""
    return at.astimezone(tz).date() if at else None


async def build_report(
    tx: Store, rules: Rules, kind: str, now: datetime, audit: AuditFilter | None = None
) -> Table:
    if kind not in BUILDERS:
        raise ValueError(f"unknown report {kind!r}: use one of {', '.join(REPORT_KINDS)}")
    return await BUILDERS[kind](tx, rules, now, audit or AuditFilter())


def _kind(item: str, catalog: Catalog) -> str:
    return "module" if item in catalog.modules else "seat"


async def status(tx: Store, rules: Rules, now: datetime, _: AuditFilter) -> Table:
    pools = await tx.pools.all_states()
    forecasts = await pool_forecasts(tx, pools, now, rules.tz)
    table = Table(
        "status",
        [
            "edition",
            "item",
            "kind",
            "purchased",
            "used",
            "available",
            "utilization_pct",
            "band",
            "overage",
            "grace_ends",
            "runs_out",
            "trend_30d",
            "buy_low",
            "buy_high",
        ],
    )
    for pool in pools:
        fc = forecasts[(pool.edition, pool.item)]
        grace = None
        ends = pool.grace_ends_at(rules.policy)
        if pool.overage and ends is not None:
            grace = ends.astimezone(rules.tz).date()
        runs_out = fc.runs_out_on.isoformat() if fc.runs_out_on else "not at this rate"
        table.rows.append(
            [
                pool.edition,
                pool.item,
                _kind(pool.item, rules.catalog),
                pool.purchased,
                pool.used,
                pool.available,
                percent(pool.used, pool.purchased),
                utilization_band(pool, rules.policy).value,
                pool.overage,
                grace,
                runs_out,
                fc.net,
                fc.buy_low,
                fc.buy_high,
            ]
        )
    purchased = sum(p.purchased for p in pools)
    used = sum(p.used for p in pools)
    over = [p for p in pools if p.overage]
    table.totals = [
        "TOTAL",
        "",
        "",
        purchased,
        used,
        sum(p.available for p in pools),
        percent(used, purchased),
        "",
        sum(p.overage for p in pools),
        "",
        "",
        "",
        sum(f.buy_low for f in forecasts.values()),
        sum(f.buy_high for f in forecasts.values()),
    ]
    table.summary = (
        f"{len(pools)} pools: {used}/{purchased} seats used, {len(over)} over their limit"
    )
    return table


async def assignments(tx: Store, rules: Rules, now: datetime, _: AuditFilter) -> Table:
    seats = await tx.assignments.list_active()
    tz = rules.tz
    table = Table(
        "assignments",
        [
            "email",
            "name",
            "slack_user_id",
            "edition",
            "seat_type",
            "modules",
            "department",
            "license_group",
            "assigned_at",
            "last_active",
            "inactive_days",
            "inactive",
            "request_id",
            "ends_on",  # the last day of a time-bound seat (SPEC 9)
        ],
    )
    inactive = 0
    for seat in seats:
        idle = is_inactive(seat.last_active_at, seat.assigned_at, now, rules.policy)
        inactive += idle
        table.rows.append(
            [
                seat.email,
                seat.name,
                seat.slack_user_id,
                seat.edition,
                seat.seat_type,
                " ".join(seat.modules),
                seat.department,
                seat.license_group,
                _date(seat.assigned_at, tz),
                _date(seat.last_active_at, tz),
                inactive_days(seat.last_active_at, seat.assigned_at, now),
                idle,
                seat.request_id,
                seat.ends_on,
            ]
        )
    table.summary = (
        f"{len(seats)} active seats, {inactive} inactive for over {rules.policy.inactive_days} days"
    )
    return table


async def modules(tx: Store, rules: Rules, now: datetime, _: AuditFilter) -> Table:
    catalog = rules.catalog
    pools = {
        (p.edition, p.item): p for p in await tx.pools.all_states() if p.item in catalog.modules
    }
    holders = await tx.reports.module_holders()
    seats = await tx.reports.active_by_edition()
    keys = set(pools) | set(holders)
    for offered in catalog.editions.values():
        if seats.get(offered.name):
            keys |= {(offered.name, m) for m in offered.modules}
    editions = list(catalog.editions)
    order = list(catalog.modules)

    def rank(key: tuple[str, str]) -> tuple[int, int, str, str]:
        edition, module = key
        return (
            editions.index(edition) if edition in editions else len(editions),
            order.index(module) if module in order else len(order),
            edition,
            module,
        )

    table = Table(
        "modules",
        [
            "edition",
            "module",
            "purchased",
            "used",
            "eligible_holders",
            "adoption_pct",
            "in_edition",
        ],
    )
    counts: list[tuple[int, int, int]] = [(0, 0, 0)]  # purchased, used, eligible
    for edition, module in sorted(keys, key=rank):
        included = edition in catalog.editions and module in catalog.editions[edition].modules
        eligible = seats.get(edition, 0) if included else 0
        used = holders.get((edition, module), 0)
        pool = pools.get((edition, module))
        counts.append((pool.purchased if pool else 0, used, eligible))
        table.rows.append(
            [
                edition,
                module,
                pool.purchased if pool else 0,
                used,
                eligible,
                percent(used, eligible),
                included,
            ]
        )
    purchased, used, eligible = (sum(column) for column in zip(*counts, strict=True))
    table.totals = ["TOTAL", "", purchased, used, eligible, percent(used, eligible), ""]
    table.summary = (
        f"{used} module seats held of {purchased} purchased; "
        f"{percent(used, eligible) or 0} % adoption among eligible holders"
    )
    return table


async def grace(tx: Store, rules: Rules, now: datetime, _: AuditFilter) -> Table:
    periods = await tx.pools.overage_periods()
    tz = rules.tz
    table = Table(
        "grace",
        ["edition", "item", "started", "ended", "grace_ends", "state", "peak_overage"],
    )
    still_open = past = 0
    for period in periods:
        ends = grace_ends_at(period.started_at, rules.policy, period.edition)
        if period.ended_at is not None:
            state = "closed"
        elif now < ends:
            state, still_open = "in grace", still_open + 1
        else:
            state, still_open, past = "grace ended", still_open + 1, past + 1
        table.rows.append(
            [
                period.edition,
                period.item,
                _date(period.started_at, tz),
                _date(period.ended_at, tz),
                _date(ends, tz),
                state,
                period.peak_overage,
            ]
        )
    table.summary = (
        f"{len(periods)} overage periods, {still_open} open ({past} past their grace period)"
    )
    return table


async def billing(tx: Store, rules: Rules, now: datetime, _: AuditFilter) -> Table:
    pools = [rules.catalog.price_pool(p) for p in await tx.pools.all_states()]
    idle_holders = await tx.reports.inactive_holders(inactive_since_cutoff(now, rules.policy))
    table = Table(
        "billing",
        [
            "edition",
            "item",
            "purchased",
            "price",
            "monthly_cost",
            "used",
            "overage",
            "overage_cost",
            "idle_seats",
            "idle_cost",
            "inactive_holders",
            "inactive_cost",
        ],
    )
    money = [Decimal(0)] * 4  # monthly, overage, idle, inactive
    for pool in pools:
        price = pool.seat_price
        inactive = idle_holders.get((pool.edition, pool.item), 0)
        counts = (pool.purchased, pool.overage, pool.available, inactive)
        costs = [price * n if price is not None else None for n in counts]
        money = [m + (c or 0) for m, c in zip(money, costs, strict=True)]
        table.rows.append(
            [
                pool.edition,
                pool.item,
                pool.purchased,
                price,
                costs[0],
                pool.used,
                pool.overage,
                costs[1],
                pool.available,
                costs[2],
                inactive,
                costs[3],
            ]
        )
    table.totals = [
        "TOTAL",
        "",
        sum(p.purchased for p in pools),
        "",
        money[0],
        sum(p.used for p in pools),
        sum(p.overage for p in pools),
        money[1],
        sum(p.available for p in pools),
        money[2],
        sum(idle_holders.values()),
        money[3],
    ]
    table.summary = (
        f"monthly ${money[0]:,.2f} for {sum(p.purchased for p in pools)} seats; idle seats "
        f"${money[2]:,.2f}; reclaiming inactive holders would save ${money[3]:,.2f}"
    )
    return table


async def audit(tx: Store, rules: Rules, now: datetime, where: AuditFilter) -> Table:
    entries = list(reversed(await tx.reports.audit(where)))  # oldest first, as a log reads
    table = Table("audit", ["id", "at", "actor", "action", "subject", "before", "after"])
    for entry in entries:
        table.rows.append(
            [
                entry.id,
                entry.at,
                entry.actor,
                entry.action,
                entry.subject,
                _json(entry.before),
                _json(entry.after),
            ]
        )
    table.summary = f"{len(entries)} audit entries"
    return table


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


BUILDERS: dict[str, Builder] = {
    "status": status,
    "assignments": assignments,
    "modules": modules,
    "grace": grace,
    "billing": billing,
    "audit": audit,
}
