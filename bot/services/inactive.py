"""Acting on inactive seats: Keep (snooze), Reclaim / Release (revoke), and showing the
outcome on the alert line and the holder's DM. Each change writes its audit row."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot.licensing.entities import Assignment
from bot.licensing.errors import LicenseError
from bot.licensing.messages import Done, InactiveDm, InactiveSeatsSummary, MessageKind
from bot.services.alerts import rerender
from bot.services.seats import revoke_seat
from bot.store.db import Database
from bot.store.outbox import OutboxMessage
from bot.store.unit import Store

SNOOZE_DAYS = 30
SUMMARY_TEMPLATE = MessageKind.INACTIVE_SUMMARY
DM_TEMPLATE = MessageKind.INACTIVE_DM


async def holder(db: Database, assignment_id: int) -> Assignment | None:
    async with db.read() as tx:
        return await tx.assignments.get(assignment_id)


async def snooze(db: Database, assignment_id: int, actor: str, now: datetime) -> datetime:
    """Keep: the holder is not listed or asked again for SNOOZE_DAYS. Returns the end."""
    until = now + timedelta(days=SNOOZE_DAYS)
    async with db.transaction() as tx:
        held = await tx.assignments.get(assignment_id)
        if held is None or not await tx.activity.snooze(assignment_id, until):
            raise LicenseError(_gone(held))
        await tx.audit.add(
            now,
            actor,
            "assignment.snoozed",
            held.email,
            {"snoozed_until": held.snoozed_until.isoformat() if held.snoozed_until else None},
            {"snoozed_until": until.isoformat()},
        )
    return until


async def reclaim(db: Database, assignment_id: int, actor: str, now: datetime) -> Assignment:
    """Reclaim (admin) or Release (holder): revoke the seat, audited by revoke_seat."""
    held = await holder(db, assignment_id)
    if held is None or held.status != "active":
        raise LicenseError(_gone(held))
    return await revoke_seat(db, assignment_id=assignment_id, actor=actor, now=now)


async def note_on_summary(
    db: Database,
    assignment_id: int,
    done: Done,
    now: datetime,
    *,
    channel: str | None = None,
    ts: str | None = None,
) -> bool:
    """Show what happened on the holder's line: in the summary at (channel, ts), else in
    the latest summary. False when the holder is not listed there."""
    async with db.transaction() as tx:
        message = await _message_at(tx, channel, ts, SUMMARY_TEMPLATE)
        if message is None:
            latest = await tx.alerts.latest("inactive", "summary")
            message = await tx.outbox.by_key(latest.key) if latest else None
        if message is None or message.status != "delivered":
            return False
        summary = message.payload
        assert isinstance(summary, InactiveSeatsSummary)
        data = mark_row(summary, assignment_id, done)
        if data is None:
            return False
        await rerender(tx, message, data, now)
    return True


async def answer_dm(
    db: Database, channel: str | None, ts: str | None, done: Done, now: datetime
) -> bool:
    """Replace the DM's buttons with the holder's answer."""
    async with db.transaction() as tx:
        message = await _message_at(tx, channel, ts, DM_TEMPLATE)
        if message is None:
            return False
        dm = message.payload
        assert isinstance(dm, InactiveDm)
        await rerender(tx, message, replace(dm, done=done), now)
    return True


def mark_row(
    data: InactiveSeatsSummary, assignment_id: int, done: Done
) -> InactiveSeatsSummary | None:
    """The summary with one listed holder marked done (its buttons go)."""
    rows = list(data.rows)
    for index, row in enumerate(rows):
        if row.id == assignment_id:
            if row.done and done.state == "gone":
                return None  # keep the line's first outcome ("Reclaimed by ...")
            rows[index] = replace(row, done=done)
            break
    else:
        return None
    acted = dict(data.acted)
    acted[done.state] = acted.get(done.state, 0) + 1
    return replace(data, rows=tuple(rows), acted=acted)


async def _message_at(
    tx: Store, channel: str | None, ts: str | None, template: str
) -> OutboxMessage | None:
    if not channel or not ts:
        return None
    message = await tx.outbox.by_delivery(channel, ts)
    return message if message is not None and message.template == template else None


def _gone(held: Assignment | None) -> str:
    if held is None:
        return "that seat no longer exists: see `/license users inactive`"
    return f"{held.email} no longer holds that {held.seat} seat: nothing to do"
