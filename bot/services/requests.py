"""Filing and deciding seat requests. Each decision is one transaction: the compare-and-set,
the seat, the audit rows and the messages to send all commit together or not at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.licensing.errors import LicenseError
from bot.licensing.requests import LicenseRequest, RequestStatus, SeatRequest, can_transition
from bot.services.genesys import queue_provision
from bot.services.ledger import Impact, Rules, evaluate_seat, grant_seat
from bot.store.assignments import Assignment
from bot.store.db import Database
from bot.store.unit import Store


class RequestNotFound(LicenseError):
    def __init__(self, request_id: int) -> None:
        super().__init__(f"there is no request #{request_id}: see `/license requests`")


@dataclass(frozen=True)
class Decision:
    """The outcome of one attempt to decide a request."""

    request: LicenseRequest
    won: bool  # this call decided it; False: it was decided already, or refused
    impact: Impact | None = None
    assignment: Assignment | None = None

    @property
    def refused(self) -> list[str]:
        return self.impact.reasons if self.impact and not self.won else []


async def file_request(
    db: Database,
    rules: Rules,
    seat: SeatRequest,
    *,
    requester_id: str,
    email: str,
    name: str,
    slack_user_id: str | None,
    approvals_channel: str,
    now: datetime,
) -> LicenseRequest:
    rules.catalog.check_modules(seat.edition, seat.modules)
    async with db.transaction() as tx:
        holder = await tx.assignments.active_for_email(email)
        if holder is not None:
            raise LicenseError(f"{email} already holds a {holder.seat} seat")
        pending = await tx.requests.pending_for_email(email)
        if pending is not None:
            raise LicenseError(
                f"request #{pending.id} for {email} is already pending: "
                f"cancel it with `/license cancel {pending.id}` to file a new one"
            )
        request = await tx.requests.add(
            seat,
            requester_id=requester_id,
            email=email,
            name=name,
            slack_user_id=slack_user_id,
            at=now,
        )
        await tx.audit.add(
            now, requester_id, "request.filed", f"request:{request.id}", None, _snapshot(request)
        )
        await tx.outbox.enqueue(
            "card", "request_card", now, request_id=request.id, channel=approvals_channel
        )
    return request


async def approve_request(
    db: Database, rules: Rules, request_id: int, admin_id: str, now: datetime
) -> Decision:
    async with db.transaction() as tx:
        request = await _get(tx, request_id)
        if not can_transition(request.status, RequestStatus.APPROVED):
            return Decision(request, won=False)
        impact = await evaluate_seat(
            tx,
            rules,
            edition=request.edition,
            seat_type=request.seat_type,
            modules=request.modules,
            now=now,
            email=request.email,
        )
        if not impact.allowed:
            return Decision(request, won=False, impact=impact)
        if not await tx.requests.decide(request_id, RequestStatus.APPROVED, admin_id, now):
            return Decision(await _get(tx, request_id), won=False)
        assignment = await grant_seat(
            tx,
            email=request.email,
            name=request.name,
            slack_user_id=request.slack_user_id,
            edition=request.edition,
            seat_type=request.seat_type,
            modules=request.modules,
            department=request.department,
            actor=admin_id,
            now=now,
            request_id=request.id,
        )
        decided = await _get(tx, request_id)
        await tx.audit.add(
            now,
            admin_id,
            "request.approved",
            f"request:{request_id}",
            _snapshot(request),
            _snapshot(decided),
        )
        overage = [
            {
                "pool": c.label,
                "overage": c.overage_after,
                "grace_ends_at": c.grace_ends_at.isoformat() if c.grace_ends_at else None,
                "grace_starts": c.grace_starts,
            }
            for c in impact.overages
        ]
        usage = [
            {"pool": c.label, "used": c.used_after, "purchased": c.pool.purchased if c.pool else 0}
            for c in impact.checks
        ]
        await _announce(tx, decided, now, {"usage": usage, "overage": overage})
        await queue_provision(tx, assignment.id, now)  # Genesys Cloud, after the commit
    return Decision(decided, won=True, impact=impact, assignment=assignment)


async def deny_request(
    db: Database, request_id: int, admin_id: str, reason: str, now: datetime
) -> Decision:
    return await _close(db, request_id, RequestStatus.DENIED, admin_id, reason, now)


async def cancel_request(db: Database, request_id: int, user_id: str, now: datetime) -> Decision:
    async with db.read() as tx:
        request = await _get(tx, request_id)
    if request.requester_id != user_id:
        raise LicenseError(
            f"request #{request_id} was filed by someone else: only its requester can cancel it"
        )
    return await _close(db, request_id, RequestStatus.CANCELLED, user_id, None, now)


async def expire_request(db: Database, request_id: int, now: datetime) -> Decision:
    return await _close(db, request_id, RequestStatus.EXPIRED, "licensebot", None, now)


async def _close(
    db: Database,
    request_id: int,
    status: RequestStatus,
    actor: str,
    reason: str | None,
    now: datetime,
) -> Decision:
    async with db.transaction() as tx:
        before = await _get(tx, request_id)
        # The state machine says whether the move is legal; the compare-and-set in `decide`
        # makes sure only one concurrent caller makes it.
        if not can_transition(before.status, status) or not await tx.requests.decide(
            request_id, status, actor, now, reason
        ):
            return Decision(before, won=False)
        after = await _get(tx, request_id)
        await tx.audit.add(
            now,
            actor,
            f"request.{status.value}",
            f"request:{request_id}",
            _snapshot(before),
            _snapshot(after),
        )
        await _announce(tx, after, now, {})
    return Decision(after, won=True)


async def _announce(tx: Store, request: LicenseRequest, now: datetime, data: dict) -> None:
    """The card update, the thread reply and the requester's DM, queued with the decision."""
    data = {**data, "status": request.status.value}
    await tx.outbox.enqueue(
        "card", "request_card", now, request_id=request.id, channel=request.card_channel
    )
    await tx.outbox.enqueue("thread", "decision_reply", now, request_id=request.id, data=data)
    if request.status is not RequestStatus.CANCELLED:
        await tx.outbox.enqueue(
            "dm", "decision_dm", now, request_id=request.id, user_id=request.requester_id, data=data
        )


async def _get(tx: Store, request_id: int) -> LicenseRequest:
    request = await tx.requests.get(request_id)
    if request is None:
        raise RequestNotFound(request_id)
    return request


def _snapshot(request: LicenseRequest) -> dict:
    return {
        "status": request.status.value,
        "email": request.email,
        "edition": request.edition,
        "seat_type": request.seat_type,
        "modules": list(request.modules),
        "department": request.department,
        "decided_by": request.decided_by,
        "decision_reason": request.decision_reason,
    }
