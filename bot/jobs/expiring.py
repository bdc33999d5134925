"""`expiring` (daily 09:00): time-bound seats (SPEC 9). A seat whose last day is within
`LICENSEBOT_EXPIRY_WARNING_DAYS` gets a DM to its holder and to its requester, and one
summary for the admins lists them with **Extend 30 days**; a seat past its last day is
revoked (through the one path every ending takes) and its holder and requester told.
Every message is keyed by seat and last day: nothing is sent twice, and an extended seat
is warned again before its new end."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.jobs.base import JobContext, Outgoing
from bot.licensing.entities import Assignment
from bot.licensing.messages import ExpiringDm, ExpiringRow, ExpiringSummary, MessageKind
from bot.licensing.policy import expiry_stage
from bot.services.alerts import AlertSpec, supersede
from bot.services.seats import end_seat
from bot.store.outbox import OutboxTarget
from bot.store.unit import Store

JOB = "expiring"
SUMMARY = MessageKind.EXPIRING_SUMMARY
WARNING_DM = MessageKind.EXPIRING_DM
ENDED_DM = MessageKind.EXPIRED_DM
LISTED = 20
PER_RUN = 500


async def expiring_job(ctx: JobContext) -> list[Outgoing]:
    now, today = ctx.clock.now(), ctx.today()
    last = today + timedelta(days=ctx.policy.expiry_warning_days)
    async with ctx.db.read() as tx:
        seats = await tx.assignments.ending_by(last, limit=PER_RUN)
    sent: list[Outgoing] = []
    warned: list[ExpiringRow] = []
    ended: list[ExpiringRow] = []
    for seat in seats:
        assert seat.ends_on is not None
        stage = expiry_stage(seat.ends_on, today, ctx.policy)
        if stage == "ended":
            told = await _end(ctx, seat, now)
            if told is not None:
                ended.append(_row(seat, today))
                sent += told
        elif stage == "warn":
            warned.append(_row(seat, today))
            async with ctx.unit() as tx:
                sent += await _dms(ctx, tx, seat, WARNING_DM, "warn", today)
    if warned or ended:
        data = ExpiringSummary(
            warning_days=ctx.policy.expiry_warning_days,
            rows=tuple(warned[:LISTED]),
            total=len(warned),
            ended=tuple(ended),
            as_of=now,
        )
        spec = AlertSpec(
            JOB,
            "summary",
            "seats",
            today.isoformat(),
            f"{len(warned)} time-bound seats ending, {len(ended)} ended",
        )
        async with ctx.unit() as tx:
            earlier = await tx.alerts.open(job=JOB, kind="summary")
            if (out := await ctx.alert(tx, spec, SUMMARY, data)) is not None:
                sent.append(out)
                if not ctx.dry_run:
                    for alert in earlier:
                        await supersede(tx, alert, f"superseded by {spec.key}", now)
    return sent


async def _end(ctx: JobContext, seat: Assignment, now: datetime) -> list[Outgoing] | None:
    """Revoke a seat past its last day; None when it changed meanwhile."""
    assert seat.ends_on is not None
    async with ctx.unit() as tx:
        if not ctx.dry_run:
            held = await tx.assignments.get(seat.id)
            if held is None or held.status != "active" or held.ends_on != seat.ends_on:
                return None  # extended, or ended by someone else meanwhile
            await end_seat(
                tx,
                held,
                actor="licensebot",
                now=now,
                reason=f"time-bound seat ended after {seat.ends_on.isoformat()}",
            )
        return await _dms(ctx, tx, seat, ENDED_DM, "ended", ctx.today())


async def _dms(
    ctx: JobContext, tx: Store, seat: Assignment, template: MessageKind, kind: str, today: date
) -> list[Outgoing]:
    """The holder's DM (when in Slack) and the requester's (when someone else), once."""
    assert seat.ends_on is not None
    requester = None
    if seat.request_id is not None:
        request = await tx.requests.get(seat.request_id)
        requester = request.requester_id if request else None
    targets: list[tuple[str, bool]] = []
    if seat.slack_user_id:
        targets.append((seat.slack_user_id, True))
    if requester and requester != seat.slack_user_id:
        targets.append((requester, False))
    sent = []
    for user_id, is_holder in targets:
        message = Outgoing(
            JOB,
            OutboxTarget.DM,
            template,
            _dm(seat, today, holder=is_holder),
            key=f"{JOB}:{kind}:{seat.id}:{seat.ends_on.isoformat()}:{user_id}",
            user_id=user_id,
        )
        if (out := await ctx.queue(tx, message)) is not None:
            sent.append(out)
    return sent


def _row(seat: Assignment, today: date) -> ExpiringRow:
    assert seat.ends_on is not None
    return ExpiringRow(
        id=seat.id,
        name=seat.name,
        email=seat.email,
        user=seat.slack_user_id,
        seat=seat.seat,
        ends_on=seat.ends_on,
        days_left=(seat.ends_on - today).days,
    )


def _dm(seat: Assignment, today: date, *, holder: bool) -> ExpiringDm:
    assert seat.ends_on is not None
    return ExpiringDm(
        id=seat.id,
        name=seat.name,
        email=seat.email,
        user=seat.slack_user_id,
        seat=seat.seat,
        ends_on=seat.ends_on,
        days_left=(seat.ends_on - today).days,
        holder=holder,
    )
