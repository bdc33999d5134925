"""`limits` (hourly): pools over their limit, grace ending, grace ended, nearly full.

Each situation is one alert for as long as it lasts; when it clears (the pool is back
under its limit) the alert is resolved and its message updated in place.

Past a handful of troubled pools in one run (FOLD_AFTER), the new alerts are folded into
one summary message, worst first (SPEC 7: 200 pools going over at once is one message,
not 200). Each pool keeps its own alert; its resolution updates its line of the summary.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime, tzinfo
from typing import Any

from bot.clock import local_day
from bot.jobs.base import JobContext, Outgoing
from bot.licensing.alerts import (
    GRACE_ENDED,
    GRACE_ENDING,
    NEARLY_FULL,
    OVER,
    pool_situations,
    resolution,
)
from bot.licensing.entities import Alert
from bot.licensing.messages import (
    LimitsAlert,
    LimitsLine,
    LimitsSummary,
    MessageKind,
    Resolved,
)
from bot.services.alerts import AlertSpec, rerender
from bot.store.outbox import OutboxTarget
from bot.store.unit import Store

JOB = "limits"
TEMPLATE = MessageKind.LIMITS_ALERT
SUMMARY_TEMPLATE = MessageKind.LIMITS_SUMMARY
FOLD_AFTER = 3  # more troubled pools than this in one run: one summary message
# Worst first: refused now, refused soon, over (in grace), nearly full.
_SEVERITY = {GRACE_ENDED: 0, GRACE_ENDING: 1, OVER: 2, NEARLY_FULL: 3}


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
        new: list[tuple[AlertSpec, LimitsAlert]] = []
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
                new.append((spec, situation.limits_alert()))
        if len({spec.subject for spec, _ in new}) > FOLD_AFTER:
            if (out := await _raise_folded(ctx, tx, new, now)) is not None:
                sent.append(out)
        else:
            for spec, data in new:
                if (out := await ctx.alert(tx, spec, TEMPLATE, data)) is not None:
                    sent.append(out)
        gone = [a for a in open_alerts.values() if a.key not in current]
        folded = await tx.alerts.message_keys([a.key for a in gone]) if gone else {}
        by_message: dict[str, list[tuple[Alert, str]]] = {}
        for alert in gone:
            text = resolution(alert.kind, by_subject.get(alert.subject), policy)
            if alert.key in folded:
                by_message.setdefault(folded[alert.key], []).append((alert, text))
            elif (out := await ctx.resolve(tx, alert, text)) is not None:
                sent.append(out)
        for message_key, resolved in by_message.items():
            if (out := await _resolve_folded(ctx, tx, message_key, resolved, now)) is not None:
                sent.append(out)
    return sent


def _worst_first(line: LimitsLine) -> tuple[int, float, str]:
    share = line.used / line.purchased if line.purchased else float(line.used)
    return (_SEVERITY.get(line.kind, len(_SEVERITY)), -share, line.pool)


async def _raise_folded(
    ctx: JobContext, tx: Store, new: list[tuple[AlertSpec, LimitsAlert]], now: datetime
) -> Outgoing | None:
    """One summary message for the new alerts of this run, worst first."""
    channel = ctx.settings.alerts_channel
    raised: list[LimitsLine] = []
    for spec, data in new:
        if ctx.dry_run:
            if await tx.alerts.get(spec.key) is not None:
                continue
        elif not await tx.alerts.add(
            spec.key,
            job=spec.job,
            kind=spec.kind,
            subject=spec.subject,
            period=spec.period,
            summary=spec.summary,
            at=now,
        ):
            continue  # raised before (by a run beside this one)
        raised.append(LimitsLine(key=spec.key, **_fields(data)))
    if not raised:
        return None
    raised.sort(key=_worst_first)
    # The run's time, and which alerts it folds: two runs in one second never share a key.
    digest = hashlib.sha1("\n".join(sorted(x.key for x in raised)).encode()).hexdigest()
    key = f"{JOB}:summary:{now.isoformat()}:{digest[:12]}"
    summary = LimitsSummary(lines=tuple(raised))
    if not ctx.dry_run:
        await tx.alerts.fold_into([line.key for line in raised], key)
        await tx.outbox.enqueue(
            OutboxTarget.CHANNEL, SUMMARY_TEMPLATE, now, data=summary, channel=channel, key=key
        )
    return Outgoing(JOB, OutboxTarget.CHANNEL, SUMMARY_TEMPLATE, summary, key=key, channel=channel)


def _fields(alert: LimitsAlert) -> dict[str, Any]:
    """The alert's fields, for the summary line that carries them."""
    return {f.name: getattr(alert, f.name) for f in dataclasses.fields(alert)}


async def _resolve_folded(
    ctx: JobContext,
    tx: Store,
    message_key: str,
    resolved: list[tuple[Alert, str]],
    now: datetime,
) -> Outgoing | None:
    """Resolve folded alerts: their lines of the summary message are updated in place."""
    message = await tx.outbox.by_key(message_key)
    if message is None:
        return None
    texts: dict[str, str] = {}
    for alert, text in resolved:
        if ctx.dry_run or await tx.alerts.resolve(alert.key, now, text):
            texts[alert.key] = text
    if not texts:
        return None
    summary = message.payload
    assert isinstance(summary, LimitsSummary)
    lines = tuple(
        dataclasses.replace(line, resolved=Resolved(at=now, text=texts[line.key]))
        if line.key in texts
        else line
        for line in summary.lines
    )
    data = dataclasses.replace(summary, lines=lines)
    update_key = f"{message_key}:resolved:{now.isoformat()}"
    if not ctx.dry_run:
        await rerender(tx, message, data, now, key=update_key)
    return Outgoing(
        JOB,
        OutboxTarget.UPDATE,
        SUMMARY_TEMPLATE,
        data,
        key=update_key,
        channel=message.delivered_channel or message.channel,
    )


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
