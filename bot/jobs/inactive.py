"""`inactive` (daily 09:00): one summary of the holders idle for `inactive_days` (the first
20 with Reclaim / Keep, the total and what reclaiming would free), and a DM to holders in
Slack asking whether they still need the seat.

Set-based: the scan counts and groups in SQL and fetches only the rows it shows.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.jobs.base import JobContext, Outgoing, money, price_of
from bot.licensing.entities import Assignment
from bot.licensing.messages import (
    InactiveDm,
    InactiveRow,
    InactiveSeatsSummary,
    MessageKind,
    SeatCount,
)
from bot.licensing.policy import inactive_days, inactive_since_cutoff
from bot.services.alerts import AlertSpec, supersede
from bot.services.inactive import SNOOZE_DAYS
from bot.store.activity import InactiveSummary
from bot.store.outbox import OutboxTarget

JOB = "inactive"
LISTED = 20  # holders shown with buttons; the rest are counted
ASK_PER_RUN = 50  # DMs per run: Slack rate limits; the rest are asked on the next runs
SUMMARY = MessageKind.INACTIVE_SUMMARY
DM = MessageKind.INACTIVE_DM


async def inactive_job(ctx: JobContext) -> list[Outgoing]:
    now = ctx.clock.now()
    cutoff = inactive_since_cutoff(now, ctx.policy)
    sent: list[Outgoing] = []
    # The scans from a read snapshot, so that no write lock is held while they run (0.3 s
    # at 100,000 seats); asking is a compare-and-set below, so a holder is asked once.
    async with ctx.db.read() as tx:
        summary = await tx.activity.inactive_summary(cutoff, now, limit=LISTED)
        prices = await tx.activity.prices() if summary.total else {}
        to_ask = await tx.activity.to_ask(cutoff, now, limit=ASK_PER_RUN)
    async with ctx.unit() as tx:
        if summary.total:
            data = summary_data(ctx, summary, prices, now)
            spec = AlertSpec(
                JOB,
                "summary",
                "seats",
                ctx.today().isoformat(),
                f"{summary.total:,} inactive seat holders",
            )
            earlier = await tx.alerts.open(job=JOB, kind="summary")
            if (out := await ctx.alert(tx, spec, SUMMARY, data)) is not None:
                sent.append(out)
                if not ctx.dry_run:
                    for alert in earlier:
                        await supersede(tx, alert, f"superseded by {spec.key}", now)
        for held in to_ask:
            if not ctx.dry_run and not await tx.activity.mark_asked(held.id, cutoff, now):
                continue  # another run asked them just now, or they came back meanwhile
            message = Outgoing(
                JOB,
                OutboxTarget.DM,
                DM,
                dm_data(held, now),
                key=f"{JOB}:dm:{held.id}:{_spell(held)}",
                user_id=held.slack_user_id,
            )
            if (out := await ctx.queue(tx, message)) is not None:
                sent.append(out)
    return sent


def summary_data(
    ctx: JobContext,
    summary: InactiveSummary,
    prices: dict[tuple[str, str], Decimal | None],
    now: datetime,
) -> InactiveSeatsSummary:
    cost, unpriced = Decimal(0), 0
    seats = []
    for (edition, seat_type), count in summary.by_seat.items():
        price = price_of(ctx.rules, prices, edition, seat_type)
        seats.append(SeatCount(pool=f"{edition} {seat_type}", count=count))
        if price is None:
            unpriced += count
        else:
            cost += price * count
    for (edition, module), count in summary.by_module.items():
        price = price_of(ctx.rules, prices, edition, module)
        cost += (price or 0) * count
    seats.sort(key=lambda s: (-s.count, s.pool))
    return InactiveSeatsSummary(
        total=summary.total,
        inactive_days=ctx.policy.inactive_days,
        as_of=now,
        seats=tuple(seats[:10]),
        pools=len(seats),
        monthly_cost=money(cost),
        unpriced=unpriced,
        rows=tuple(_row(held, now) for held in summary.first),
    )


def _row(held: Assignment, now: datetime) -> InactiveRow:
    return InactiveRow(**_holder(held, now))


def dm_data(held: Assignment, now: datetime) -> InactiveDm:
    return InactiveDm(**_holder(held, now), snooze_days=SNOOZE_DAYS)


def _holder(held: Assignment, now: datetime) -> dict[str, Any]:
    """What a summary row and a DM both say of an idle holder."""
    return {
        "id": held.id,
        "name": held.name,
        "email": held.email,
        "user": held.slack_user_id,
        "seat": held.seat,
        "last": held.last_active_at or held.assigned_at,
        "never": held.last_active_at is None,
        "days": inactive_days(held.last_active_at, held.assigned_at, now),
    }


def _spell(held: Assignment) -> str:
    """When this inactive spell began for asking: the last activity, or the end of a
    snooze after it. A new spell asks again."""
    start = held.last_active_at or held.assigned_at
    if held.snoozed_until and held.snoozed_until > start:
        start = held.snoozed_until
    return start.isoformat()
