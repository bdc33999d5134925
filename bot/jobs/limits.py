"""`limits` (hourly): pools over their limit, grace ending, grace ended, nearly full.

Each situation is one alert for as long as it lasts; when it clears (the pool is back
under its limit) the alert is resolved and its message updated in place.
"""

from __future__ import annotations

from datetime import tzinfo

from bot.clock import local_day
from bot.jobs.base import JobContext, Outgoing
from bot.licensing.alerts import OVER, pool_situations, resolution
from bot.services.alerts import AlertSpec

JOB = "limits"
TEMPLATE = "limits_alert"


async def limits_job(ctx: JobContext) -> list[Outgoing]:
    now, policy = ctx.clock.now(), ctx.policy
    sent: list[Outgoing] = []
    async with ctx.unit() as tx:
        pools = await tx.pools.all_states()
        if not ctx.dry_run and any(p.overage and p.over_since is None for p in pools):
            # Seats added without a ledger refresh (an import): open their overage now,
            # so the spell has a start that keys its alerts and its grace period.
            for pool in pools:
                if pool.overage and pool.over_since is None:
                    await tx.pools.refresh_overage(pool.edition, pool.item, now)
            pools = await tx.pools.all_states()
        by_subject = {_subject(p.edition, p.item): p for p in pools}
        open_alerts = {(a.kind, a.subject): a for a in await tx.alerts.open(job=JOB)}
        current: set[str] = set()
        for subject, pool in by_subject.items():
            for situation in pool_situations(pool, now, policy):
                existing = open_alerts.get((situation.kind, subject))
                if existing and situation.period in (None, existing.period):
                    current.add(existing.key)  # alerted already, still true
                    continue
                spec = AlertSpec(
                    JOB,
                    situation.kind,
                    subject,
                    situation.period or ctx.today().isoformat(),
                    _summary(situation.kind, situation.facts, ctx.tz),
                )
                current.add(spec.key)
                data = {"kind": situation.kind, **situation.facts}
                if (out := await ctx.alert(tx, spec, TEMPLATE, data)) is not None:
                    sent.append(out)
        for alert in open_alerts.values():
            if alert.key in current:
                continue
            text = resolution(alert.kind, by_subject.get(alert.subject), policy)
            if (out := await ctx.resolve(tx, alert, text)) is not None:
                sent.append(out)
    return sent


def _subject(edition: str, item: str) -> str:
    return f"pool:{edition}/{item}"


def _summary(kind: str, facts: dict, tz: tzinfo) -> str:
    counts = f"{facts['used']}/{facts['purchased']}"
    if kind == OVER:
        return f"{facts['pool']} is {facts['overage']} over its limit ({counts})"
    if kind == "grace-ending":
        return f"{facts['pool']} grace period ends {local_day(facts['grace_ends'], tz)} ({counts})"
    if kind == "grace-ended":
        return f"{facts['pool']} grace period ended: approvals refused ({counts})"
    return f"{facts['pool']} is nearly full ({counts})"
