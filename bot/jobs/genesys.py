"""The `genesys` job (SPEC 3, 8): activity and licenses from Genesys Cloud, and drift.

Hourly when Genesys is set (a no-op in ledger-only mode):
- activity per email = the latest of `dateLastLogin` and `lastTokenIssued.dateIssued`
  (SSO users never update the first), recorded on the active seats (only forward);
- a new hire "waiting for the Genesys user" who now exists gets provisioned (queued);
- drift (unmanaged, missing, holders deleted or deactivated in Genesys) in ONE summary
  alert with Adopt / Remove / Provision per row; posted again only when it changes,
  resolved when Genesys and the ledger agree.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from bot.genesys.sync import (
    DriftRow,
    Org,
    activity_by_email,
    compare,
    digest,
    drift_data,
    read_org,
)
from bot.jobs.base import JobContext, Outgoing
from bot.licensing.entities import Assignment
from bot.licensing.messages import MessageKind
from bot.services.alerts import AlertSpec, supersede
from bot.services.genesys import queue_provision
from bot.store.unit import Store

JOB = "genesys"


@dataclass
class SyncResult:
    users: int = 0
    holders: int = 0
    activity_updated: int = 0
    provisioning_queued: int = 0
    drift: list[DriftRow] = field(default_factory=list)
    requests: int = 0
    messages: list[Outgoing] = field(default_factory=list)


async def genesys_job(ctx: JobContext) -> list[Outgoing]:
    if ctx.genesys is None:
        return []
    return (await sync(ctx)).messages


async def sync(ctx: JobContext, org: Org | None = None) -> SyncResult:
    """One read of the org and of the ledger, the comparison off the event loop, then one
    short write transaction (or, dry, none): the ledger's write lock is never held while
    Genesys is read or while 50,000 seats are compared."""
    org = org or await read_org(ctx.genesys)
    result = SyncResult(users=len(org.users), holders=len(org.holders), requests=org.requests)
    activity = activity_by_email(org)
    emails = {e for e, u in org.by_email().items() if u.get("state") == "active"}
    async with ctx.db.read() as tx:
        seats = await _active_seats(tx)
        states = await tx.genesys.active()
    newer = []
    for seat in seats:
        at = activity.get(seat.email.lower())
        if at is not None and (seat.last_active_at is None or at > seat.last_active_at):
            newer.append((seat.id, at))
    result.activity_updated = len(newer)
    # Pure CPU over every seat and user: off the event loop, acks keep flowing.
    result.drift = await asyncio.to_thread(compare, seats, states, org, ctx.rules.catalog)
    now = ctx.clock.now()
    async with ctx.unit() as tx:
        if not ctx.dry_run:
            await tx.genesys.record_activity(newer)
        for waiting in await tx.genesys.waiting():
            if waiting.email.lower() in emails:
                result.provisioning_queued += 1
                if not ctx.dry_run:
                    await queue_provision(tx, waiting.assignment_id, now)
        result.messages += await _drift_alert(ctx, tx, result.drift, now)
    return result


async def _active_seats(tx: Store, chunk: int = 2000) -> list[Assignment]:
    """Every active seat, read in slices that yield to the event loop between them."""
    seats: list[Assignment] = []
    while True:
        part = await tx.assignments.list_active(limit=chunk, offset=len(seats))
        seats += part
        if len(part) < chunk:
            return seats
        await asyncio.sleep(0)


async def _drift_alert(
    ctx: JobContext, tx: Store, rows: list[DriftRow], now: datetime
) -> list[Outgoing]:
    sent: list[Outgoing] = []
    opened = await tx.alerts.open(job=JOB, kind="drift")
    if not rows:
        for alert in opened:
            resolved = await ctx.resolve(tx, alert, "Genesys Cloud and the ledger agree again")
            if resolved is not None:
                sent.append(resolved)
        return sent
    period = f"{ctx.today().isoformat()}:{digest(rows)}"
    spec = AlertSpec(
        JOB,
        "drift",
        "org",
        period,
        f"{len(rows)} difference{'s' if len(rows) != 1 else ''} between Genesys Cloud and "
        "the ledger",
    )
    if any(a.key == spec.key for a in opened):
        return sent
    posted = await ctx.alert(tx, spec, MessageKind.GENESYS_DRIFT, drift_data(rows))
    if posted is not None:
        sent.append(posted)
        if not ctx.dry_run:
            for alert in opened:  # the newer summary replaces the older ones
                await supersede(tx, alert, "replaced by a newer drift summary", now)
    return sent
