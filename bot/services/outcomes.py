"""What every decided request queues, and how the audit log records a request: shared by
the request services and the seat services (a revoked holder's pending requests close)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from bot.licensing.messages import DecisionPayload, MessageKind, RequestCard
from bot.licensing.requests import LicenseRequest, RequestStatus
from bot.store.outbox import OutboxTarget
from bot.store.unit import Store


async def queue_card(tx: Store, request_id: int, now: datetime, channel: str | None) -> None:
    """The request's card posted (or updated to its current state) after the commit."""
    await tx.outbox.enqueue(
        OutboxTarget.CARD,
        MessageKind.REQUEST_CARD,
        now,
        data=RequestCard(),
        request_id=request_id,
        channel=channel,
    )


async def announce(
    tx: Store,
    request: LicenseRequest,
    now: datetime,
    data: DecisionPayload | None = None,
) -> None:
    """The card update, the thread reply and the requester's DM, queued with the decision."""
    data = dataclasses.replace(data or DecisionPayload(), status=request.status)
    await queue_card(tx, request.id, now, request.card_channel)
    await tx.outbox.enqueue(
        OutboxTarget.THREAD, MessageKind.DECISION_REPLY, now, request_id=request.id, data=data
    )
    if request.status is not RequestStatus.CANCELLED:
        await tx.outbox.enqueue(
            OutboxTarget.DM,
            MessageKind.DECISION_DM,
            now,
            request_id=request.id,
            user_id=request.requester_id,
            data=data,
        )


async def refresh_homes(tx: Store, now: datetime, *user_ids: str | None) -> None:
    """Queue a refresh of each person's App Home with the change that alters it (the
    deciding admin's, the requester's): built from the store when delivered, so a late
    delivery still shows the current state. Ids that are not Slack users are skipped."""
    for user_id in dict.fromkeys(user_ids):
        if user_id and user_id[:1] in ("U", "W"):
            await tx.outbox.queue_home(user_id, now)


def snapshot(request: LicenseRequest) -> dict[str, Any]:
    return {
        "status": request.status.value,
        "kind": request.kind.value,
        "email": request.email,
        "edition": request.edition,
        "seat_type": request.seat_type,
        "modules": list(request.modules),
        "department": request.department,
        "until": request.until_date.isoformat() if request.until_date else None,
        "stage": request.stage.value,
        "stage_approved_by": request.stage_approved_by,
        "decided_by": request.decided_by,
        "decision_reason": request.decision_reason,
    }


async def cancel_pending_for(
    tx: Store, email: str, actor: str, now: datetime, reason: str, *, keep: int | None = None
) -> list[int]:
    """Close the person's pending requests (their seat ended): each audited and announced.
    `keep` is the request being decided now, left to its own decision."""
    closed = []
    for pending in await tx.requests.all_pending_for_email(email):
        if pending.id == keep:
            continue
        if not await tx.requests.decide(pending.id, RequestStatus.CANCELLED, actor, now, reason):
            continue
        after = await tx.requests.get(pending.id)
        assert after is not None
        await tx.audit.add(
            now,
            actor,
            "request.cancelled",
            f"request:{pending.id}",
            snapshot(pending),
            snapshot(after),
        )
        await announce(tx, after, now)
        if after.requester_id != actor:  # the requester did not cancel it: tell them
            await tx.outbox.enqueue(
                OutboxTarget.DM,
                MessageKind.DECISION_DM,
                now,
                request_id=after.id,
                user_id=after.requester_id,
                data=DecisionPayload(status=after.status),
            )
        closed.append(pending.id)
    return closed
