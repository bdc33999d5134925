"""`requests` (hourly): one nudge in the thread of a request pending past `reminder_hours`;
expiry of one pending for `request_expire_days` (card updated, thread reply, requester DM,
all queued by expire_request)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from bot.jobs.base import JobContext, Outgoing
from bot.licensing.messages import (
    DecisionPayload,
    MessageKind,
    Payload,
    RequestCard,
    RequestEscalation,
    RequestNudge,
)
from bot.licensing.requests import LicenseRequest, RequestStatus, Stage
from bot.services.requests import expire_request
from bot.store.outbox import OutboxTarget

JOB = "requests"
NUDGE = MessageKind.REQUEST_NUDGE
ESCALATION = MessageKind.REQUEST_ESCALATION
MAX_ESCALATED = 50  # DMs per request and stage: a huge admin group is not spammed


async def requests_job(ctx: JobContext) -> list[Outgoing]:
    now, policy = ctx.clock.now(), ctx.policy
    nudge_age = timedelta(hours=policy.reminder_hours)
    expire_age = timedelta(days=policy.request_expire_days)
    async with ctx.db.read() as tx:
        # Pending requests are few (they expire): this list stays short.
        stale = await tx.requests.pending(created_before=now - nudge_age + timedelta(seconds=1))
    sent: list[Outgoing] = []
    for request in stale:
        if now - request.created_at >= expire_age:
            sent += await _expire(ctx, request, now)
            continue
        if request.nudged_at is None:
            sent += await _nudge(ctx, request, now)
        waiting_since = request.stage_approved_at or request.created_at
        if now - waiting_since >= 2 * nudge_age and request.escalated_stage != request.stage.value:
            sent += await _escalate(ctx, request, now)
    return sent


async def _escalate(ctx: JobContext, request: LicenseRequest, now: datetime) -> list[Outgoing]:
    """Pending past twice the reminder hours: a DM, once, to each approver of its current
    stage who may approve it (not its filer, nor the admin who gave the first approval)."""
    stage = request.stage
    if ctx.approvers is not None:
        people = await ctx.approvers(stage.value)
    else:
        people = ctx.settings.admin_ids if stage is Stage.ADMIN else frozenset()
    excluded = {request.requester_id, request.stage_approved_by}
    targets = sorted(p for p in people if p not in excluded)[:MAX_ESCALATED]
    waiting_since = request.stage_approved_at or request.created_at
    hours = int((now - waiting_since).total_seconds() // 3600)
    sent: list[Outgoing] = []
    async with ctx.unit() as tx:
        if not ctx.dry_run and not await tx.requests.mark_escalated(request.id, stage):
            return []
        for user_id in targets:
            message = Outgoing(
                JOB,
                OutboxTarget.DM,
                ESCALATION,
                RequestEscalation(
                    hours=hours,
                    stage=stage.value,
                    channel=request.card_channel,
                    ts=request.card_ts,
                ),
                key=f"{JOB}:escalate:request:{request.id}:{stage.value}:{user_id}",
                request_id=request.id,
                request=request,
                user_id=user_id,
            )
            if (out := await ctx.queue(tx, message)) is not None:
                sent.append(out)
    return sent


async def _expire(ctx: JobContext, request: LicenseRequest, now: datetime) -> list[Outgoing]:
    if ctx.dry_run:
        expired = dataclasses.replace(
            request, status=RequestStatus.EXPIRED, decided_at=now, decided_by="licensebot"
        )
    else:
        decision = await expire_request(ctx.db, request.id, now)
        if not decision.won:
            return []  # decided meanwhile (or by another run)
        expired = decision.request
    data = DecisionPayload(status=RequestStatus.EXPIRED)

    def out(
        target: OutboxTarget, kind: MessageKind, payload: Payload, **where: str | None
    ) -> Outgoing:
        return Outgoing(JOB, target, kind, payload, request_id=request.id, request=expired, **where)

    return [
        out(
            OutboxTarget.CARD,
            MessageKind.REQUEST_CARD,
            RequestCard(),
            channel=request.card_channel,
        ),
        out(
            OutboxTarget.THREAD,
            MessageKind.DECISION_REPLY,
            data,
            channel=request.card_channel,
        ),
        out(OutboxTarget.DM, MessageKind.DECISION_DM, data, user_id=request.requester_id),
    ]


async def _nudge(ctx: JobContext, request: LicenseRequest, now: datetime) -> list[Outgoing]:
    settings = ctx.settings
    mentions = (
        [f"<!subteam^{settings.admin_group}>"]
        if settings.admin_group
        else [f"<@{admin}>" for admin in sorted(settings.admin_ids)[:10]]
    )
    if request.stage is Stage.FINANCE and settings.finance_group:
        mentions = [f"<!subteam^{settings.finance_group}>"]  # finance decides now
    hours = int((now - request.created_at).total_seconds() // 3600)
    message = Outgoing(
        JOB,
        OutboxTarget.THREAD,
        NUDGE,
        RequestNudge(hours=hours, mentions=tuple(mentions)),
        key=f"{JOB}:nudge:request:{request.id}",
        request_id=request.id,
        request=request,
        channel=request.card_channel,
    )
    async with ctx.unit() as tx:
        if not ctx.dry_run and not await tx.requests.mark_nudged(request.id, now):
            return []  # nudged by another run, or decided meanwhile
        queued = await ctx.queue(tx, message)
    return [queued] if queued is not None else []
