"""Filing and deciding seat requests. Each decision is one transaction: the compare-and-set,
the seat, the audit rows and the messages to send all commit together or not at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.licensing.entities import Assignment
from bot.licensing.errors import LicenseError
from bot.licensing.messages import (
    DecisionPayload,
    MessageKind,
    PoolOverage,
    PoolUsage,
    StagePayload,
)
from bot.licensing.policy import SAME_APPROVER_REFUSAL, four_eyes_refusal
from bot.licensing.requests import (
    LicenseRequest,
    Person,
    RequestKind,
    RequestStatus,
    SeatChange,
    SeatRequest,
    Stage,
    can_transition,
)
from bot.licensing.views import Impact
from bot.services.genesys import queue_provision
from bot.services.ledger import Rules, evaluate_request, grant_seat
from bot.services.outcomes import announce, queue_card, refresh_homes, snapshot
from bot.services.seats import change_seat, check_end_date, end_seat
from bot.store.db import Database
from bot.store.outbox import OutboxTarget
from bot.store.unit import Store

NOT_FINANCE = (
    "this request waits for the finance stage: only a member of the finance group can give "
    "the second approval"
)
NOT_ADMIN_STAGE = "only license admins give the first approval: nothing was changed"


@dataclass(frozen=True)
class Approver:
    """Who clicked Approve (or replied `approve`), with the roles Slack says they have."""

    user_id: str
    is_admin: bool = True
    is_finance: bool = False


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
    refusals: list[str] = field(default_factory=list)  # four eyes, the wrong stage
    staged: bool = False  # the admin stage approved it; it waits for finance now

    @property
    def refused(self) -> list[str]:
        if self.won:
            return []
        return self.refusals + (self.impact.reasons if self.impact else [])


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
    check_end_date(seat.until, rules, now)
    async with db.transaction() as tx:
        holder = await tx.assignments.active_for_email(email)
        if holder is not None:
            raise LicenseError(
                f"{email} already holds a {holder.seat} seat: to upgrade, downgrade or change "
                f"modules use `/license change {email} <seat-type> <edition> [+module ...] "
                "[-module ...]`"
            )
        return await _file(
            tx,
            seat,
            RequestKind.NEW,
            None,
            requester_id,
            email,
            name,
            slack_user_id,
            approvals_channel,
            now,
        )


async def file_change(
    db: Database,
    rules: Rules,
    change: SeatChange,
    *,
    requester_id: str,
    email: str,
    name: str,
    slack_user_id: str | None,
    approvals_channel: str,
    now: datetime,
) -> LicenseRequest:
    """`/license change`: a change request for a current holder (SPEC 9)."""
    check_end_date(change.until, rules, now)
    async with db.transaction() as tx:
        held = await tx.assignments.active_for_email(email)
        if held is None:
            raise LicenseError(
                f"{email} holds no seat to change: ask for one with `/license request {email} "
                f"{change.seat_type} {change.edition}`"
            )
        for module in change.drop:
            if module not in held.modules:
                raise LicenseError(f"{email} does not hold +{module}: nothing to drop")
        modules = change.modules_from(held.modules)
        rules.catalog.check_modules(change.edition, modules)
        if (change.edition, change.seat_type, modules) == (
            held.edition,
            held.seat_type,
            held.modules,
        ) and change.until is None:
            raise LicenseError(f"{email} already holds {held.seat}: nothing to change")
        seat = SeatRequest(
            change.person,
            change.seat_type,
            change.edition,
            modules,
            held.department,
            None,
            change.reason,
            change.until,
        )
        return await _file(
            tx,
            seat,
            RequestKind.CHANGE,
            held.id,
            requester_id,
            email,
            held.name,
            held.slack_user_id or slack_user_id,
            approvals_channel,
            now,
        )


async def file_offboarding(
    db: Database,
    *,
    requester_id: str,
    email: str,
    reason: str,
    approvals_channel: str,
    now: datetime,
) -> LicenseRequest:
    """`/license offboard` by someone who is not an admin: a card an admin confirms."""
    async with db.transaction() as tx:
        held = await tx.assignments.active_for_email(email)
        if held is None:
            raise LicenseError(f"{email} holds no seat: nothing to offboard")
        seat = SeatRequest(
            _person(held),
            held.seat_type,
            held.edition,
            held.modules,
            held.department,
            None,
            reason,
        )
        return await _file(
            tx,
            seat,
            RequestKind.OFFBOARD,
            held.id,
            requester_id,
            email,
            held.name,
            held.slack_user_id,
            approvals_channel,
            now,
        )


def _person(held: Assignment) -> Person:
    return Person(email=held.email, slack_user_id=held.slack_user_id, name=held.name)


async def _file(
    tx: Store,
    seat: SeatRequest,
    kind: RequestKind,
    assignment_id: int | None,
    requester_id: str,
    email: str,
    name: str,
    slack_user_id: str | None,
    approvals_channel: str,
    now: datetime,
) -> LicenseRequest:
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
        kind=kind,
        assignment_id=assignment_id,
    )
    await tx.audit.add(
        now, requester_id, "request.filed", f"request:{request.id}", None, _snapshot(request)
    )
    await queue_card(tx, request.id, now, approvals_channel)
    return request


async def approve_request(
    db: Database,
    rules: Rules,
    request_id: int,
    approver: Approver | str,
    now: datetime,
) -> Decision:
    """Approve, stage by stage (SPEC 10): four eyes first, then the stage's role, then the
    seat rules; over the finance threshold the admin's approval moves it to finance.
    The App Homes are refreshed with it: the admin's whatever happens (a stale one catches
    up), the requester's when decided now (see refresh_homes)."""
    if isinstance(approver, str):
        approver = Approver(approver)
    admin_id = approver.user_id
    async with db.transaction() as tx:
        request = await _get(tx, request_id)
        await refresh_homes(tx, now, admin_id)
        if not can_transition(request.status, RequestStatus.APPROVED):
            return Decision(request, won=False)
        refusal = four_eyes_refusal(request.requester_id, admin_id, rules.policy)
        if refusal is None and request.stage is Stage.FINANCE:
            if request.stage_approved_by == admin_id:
                refusal = SAME_APPROVER_REFUSAL
            elif not approver.is_finance:
                refusal = NOT_FINANCE
        elif refusal is None and not approver.is_admin:
            refusal = NOT_ADMIN_STAGE
        if refusal:
            return Decision(request, won=False, refusals=[refusal])
        impact = await evaluate_request(tx, rules, request, now)
        if not impact.allowed:
            return Decision(request, won=False, impact=impact)
        if request.stage is Stage.ADMIN and impact.finance:
            if not await tx.requests.advance_stage(request_id, Stage.FINANCE, admin_id, now):
                current = await _get(tx, request_id)
                if current.status is not RequestStatus.PENDING:
                    return Decision(current, won=False)
                return Decision(
                    current,
                    won=False,
                    refusals=[
                        f"already approved by <@{current.stage_approved_by}> — waiting for finance"
                    ],
                )
            staged = await _get(tx, request_id)
            await tx.audit.add(
                now,
                admin_id,
                "request.stage_approved",
                f"request:{request_id}",
                _snapshot(request),
                _snapshot(staged),
            )
            await queue_card(tx, request_id, now, request.card_channel)
            await tx.outbox.enqueue(
                OutboxTarget.THREAD,
                MessageKind.STAGE_REPLY,
                now,
                request_id=request_id,
                data=StagePayload(by=admin_id, cost=impact.cost),
            )
            await tx.outbox.enqueue(
                OutboxTarget.DM,
                MessageKind.STAGE_DM,
                now,
                request_id=request_id,
                user_id=request.requester_id,
                data=StagePayload(by=admin_id),
            )
            await refresh_homes(tx, now, request.requester_id)
            return Decision(staged, won=True, impact=impact, staged=True)
        if not await tx.requests.decide(request_id, RequestStatus.APPROVED, admin_id, now):
            return Decision(await _get(tx, request_id), won=False)
        assignment = await _carry_out(tx, request, admin_id, now)
        decided = await _get(tx, request_id)
        await tx.audit.add(
            now,
            admin_id,
            "request.approved",
            f"request:{request_id}",
            _snapshot(request),
            _snapshot(decided),
        )
        overage = tuple(
            PoolOverage(
                pool=c.label,
                overage=c.overage_after,
                grace_ends_at=c.grace_ends_at,
                grace_starts=c.grace_starts,
            )
            for c in impact.overages
        )
        usage = tuple(
            PoolUsage(pool=c.label, used=c.used_after, purchased=c.pool.purchased if c.pool else 0)
            for c in impact.checks
        )
        freed = tuple(
            PoolUsage(pool=p.label, used=max(0, p.used - 1), purchased=p.purchased)
            for p in impact.leaving
        )
        await _announce(
            tx, decided, now, DecisionPayload(usage=usage, overage=overage, freed=freed)
        )
        if request.kind is RequestKind.NEW:  # change / offboard queue theirs in seats.py
            await queue_provision(tx, assignment.id, now)  # Genesys Cloud, after the commit
        await refresh_homes(tx, now, request.requester_id)
    return Decision(decided, won=True, impact=impact, assignment=assignment)


async def _carry_out(tx: Store, request: LicenseRequest, actor: str, now: datetime) -> Assignment:
    """What an approval does to the seats, by the request's kind."""
    if request.kind is RequestKind.NEW:
        return await grant_seat(tx, request.seat(), actor=actor, now=now, request_id=request.id)
    held = await tx.assignments.get(request.assignment_id or 0)
    if held is None or held.status != "active":
        raise LicenseError(f"{request.email} no longer holds that seat: nothing was changed")
    if request.kind is RequestKind.CHANGE:
        return await change_seat(
            tx,
            held,
            edition=request.edition,
            seat_type=request.seat_type,
            modules=request.modules,
            ends_on=request.until_date or held.ends_on,
            actor=actor,
            now=now,
        )
    return await end_seat(
        tx,
        held,
        actor=actor,
        now=now,
        reason=f"offboarding #{request.id}" + (f": {request.reason}" if request.reason else ""),
        keep_request=request.id,
    )


async def deny_request(
    db: Database, request_id: int, admin_id: str, reason: str, now: datetime
) -> Decision:
    return await _close(db, request_id, RequestStatus.DENIED, admin_id, reason, now, homes=True)


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
    *,
    homes: bool = False,
) -> Decision:
    """`homes`: an admin's decision, refreshing the App Homes like an approval's."""
    async with db.transaction() as tx:
        before = await _get(tx, request_id)
        if homes:
            await refresh_homes(tx, now, actor)
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
        await _announce(tx, after, now)
        if homes:
            await refresh_homes(tx, now, after.requester_id)
    return Decision(after, won=True)


_announce = announce


async def _get(tx: Store, request_id: int) -> LicenseRequest:
    request = await tx.requests.get(request_id)
    if request is None:
        raise RequestNotFound(request_id)
    return request


_snapshot = snapshot
