"""Seat lifecycle use cases (SPEC 9): offboarding, a holder Slack deactivated, and acting
on the expiring-seats summary. Every ending goes through `seats.end_seat`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from bot.licensing.entities import Assignment
from bot.licensing.errors import LicenseError
from bot.licensing.messages import Deactivated, Done, ExpiringSummary, Extended, MessageKind
from bot.services.alerts import AlertSpec, raise_alert, rerender
from bot.services.ledger import Rules
from bot.services.outcomes import refresh_homes
from bot.services.seats import end_seat, extend_seat
from bot.store.db import Database
from bot.store.outbox import OutboxMessage

JOB = "lifecycle"
DEACTIVATED_TEMPLATE = MessageKind.DEACTIVATED_ALERT
SUMMARY_TEMPLATE = MessageKind.EXPIRING_SUMMARY
EXTEND_DAYS = 30


@dataclass(frozen=True)
class Offboarded:
    seat: Assignment
    cancelled: int


async def offboard_now(
    db: Database,
    *,
    email: str | None,
    slack_user_id: str | None,
    actor: str,
    reason: str,
    now: datetime,
) -> Offboarded:
    """An admin's `/license offboard`: the seat is revoked at once, their pending requests
    cancelled, all in one transaction."""
    async with db.transaction() as tx:
        held = None
        if email:
            held = await tx.assignments.active_for_email(email)
        elif slack_user_id:
            held = await tx.assignments.active_for_slack_user(slack_user_id)
        if held is None:
            who = email or f"<@{slack_user_id}>"
            raise LicenseError(f"{who} holds no seat: nothing to offboard (see `/license users`)")
        pending = len(await tx.requests.all_pending_for_email(held.email))
        revoked = await end_seat(
            tx,
            held,
            actor=actor,
            now=now,
            reason=f"offboarded: {reason}" if reason else "offboarded",
        )
    return Offboarded(revoked, pending)


def deactivation_spec(held: Assignment) -> AlertSpec:
    # Keyed by member and seat: one alert per member's seat, whatever Slack replays.
    return AlertSpec(
        JOB,
        "deactivated",
        held.slack_user_id or held.email,
        str(held.id),
        f"Slack deactivated {held.email}, who holds {held.seat}",
    )


async def on_deactivated(
    db: Database,
    *,
    slack_user_id: str,
    reclaim: bool,
    alerts_channel: str,
    now: datetime,
) -> bool:
    """Slack deactivated a member (`user_change`, deleted): when they hold a seat, one
    alert with Reclaim, or with `reclaim` the seat revoked at once and the alert saying so.
    True when something new happened."""
    async with db.transaction() as tx:
        held = await tx.assignments.active_for_slack_user(slack_user_id)
        if held is None:
            return False
        spec = deactivation_spec(held)
        if await tx.alerts.get(spec.key) is not None:
            return False
        if reclaim:
            await end_seat(tx, held, actor="licensebot", now=now, reason="deactivated in Slack")
        data = Deactivated(
            id=held.id,
            user=slack_user_id,
            name=held.name,
            email=held.email,
            seat=held.seat,
            revoked=reclaim,
        )
        raised = await raise_alert(
            tx, spec, template=DEACTIVATED_TEMPLATE, data=data, channel=alerts_channel, now=now
        )
        if raised and reclaim:  # nothing left to do: a notice, not an open alert
            await tx.alerts.resolve(spec.key, now, "revoked at once")
        return raised


async def reclaim_deactivated(
    db: Database,
    assignment_id: int,
    actor: str,
    now: datetime,
    *,
    channel: str | None,
    ts: str | None,
) -> Assignment:
    """Reclaim on the deactivation alert: revoke, and show it on the alert. A seat ended
    already is shown gone on the alert, then refused (after the commit: an error inside the
    transaction would undo the alert's update with it)."""
    revoked: Assignment | None = None
    async with db.transaction() as tx:
        held = await tx.assignments.get(assignment_id)
        message = await tx.outbox.by_delivery(channel, ts) if channel and ts else None
        if message is not None and message.template != DEACTIVATED_TEMPLATE:
            message = None
        alert = _deactivated(message)
        if held is None or held.status != "active":
            if message is not None and alert is not None and not alert.done:
                await rerender(tx, message, replace(alert, done=Done(state="gone")), now)
        else:
            revoked = await end_seat(tx, held, actor=actor, now=now, reason="deactivated in Slack")
            await refresh_homes(tx, now, actor)  # the admin's App Home, with the reclaim
            await tx.alerts.resolve(deactivation_spec(held).key, now, f"reclaimed by {actor}")
            if message is not None and alert is not None:
                done = Done(state="reclaimed", by=actor, at=now)
                await rerender(tx, message, replace(alert, done=done), now)
    if revoked is None:
        raise LicenseError("that seat is already revoked: nothing to do")
    return revoked


def _deactivated(message: OutboxMessage | None) -> Deactivated | None:
    if message is None:
        return None
    payload = message.payload
    assert isinstance(payload, Deactivated)
    return payload


async def extend_from_summary(
    db: Database,
    rules: Rules,
    assignment_id: int,
    actor: str,
    now: datetime,
    *,
    channel: str | None,
    ts: str | None,
) -> tuple[Assignment, date | None]:
    """**Extend 30 days** on the expiring summary: the last day moves 30 days on."""
    async with db.read() as tx:
        held = await tx.assignments.get(assignment_id)
    if held is None or held.status != "active":
        raise LicenseError("that seat is no longer held: nothing to extend")
    today = now.astimezone(rules.tz).date()
    base = max(held.ends_on or today, today)
    extended, before = await extend_seat(
        db,
        rules,
        assignment_id=assignment_id,
        until=base + timedelta(days=EXTEND_DAYS),
        actor=actor,
        now=now,
    )
    if channel and ts:
        async with db.transaction() as tx:
            message = await tx.outbox.by_delivery(channel, ts)
            if message is not None and message.template == SUMMARY_TEMPLATE:
                summary = message.payload
                assert isinstance(summary, ExpiringSummary)
                assert extended.ends_on is not None
                done = Extended(by=actor, until=extended.ends_on)
                rows = tuple(
                    replace(row, done=done) if row.id == assignment_id else row
                    for row in summary.rows
                )
                await rerender(tx, message, replace(summary, rows=rows), now)
    return extended, before
