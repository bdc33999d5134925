"""Genesys Cloud use cases (SPEC 8): queue provisioning with a decision, act on drift rows.

`queue_provision` / `queue_removal` are called inside the transaction of the change that
gives or ends a seat, so the Genesys side commits with it (an outbox row with target
`genesys`, delivered by bot/genesys/provision.py after the commit).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from bot.licensing.entities import Assignment, Seat
from bot.licensing.errors import LicenseError
from bot.licensing.messages import (
    ChangeStep,
    Done,
    GenesysDrift,
    GenesysStep,
    MessageKind,
    ProvisionStep,
    RemoveStep,
    SeatBefore,
)
from bot.licensing.views import Diagnosis, Finding
from bot.services.alerts import rerender
from bot.services.ledger import Rules, refresh_pools
from bot.store.db import Database
from bot.store.genesys import GenesysState
from bot.store.outbox import OutboxTarget
from bot.store.unit import Store

TARGET = OutboxTarget.GENESYS
DRIFT_TEMPLATE = MessageKind.GENESYS_DRIFT


async def queue_provision(tx: Store, assignment_id: int, now: datetime) -> None:
    """Assign the seat's licenses in Genesys once this transaction commits."""
    await tx.genesys.set_state(assignment_id, "pending", now)
    await tx.outbox.enqueue(
        TARGET, GenesysStep.PROVISION, now, data=ProvisionStep(assignment_id=assignment_id)
    )


async def queue_removal(
    tx: Store, assignment_id: int, now: datetime, licenses: tuple[str, ...] | None = None
) -> None:
    """Remove the seat's licenses in Genesys once this transaction commits (revoke,
    reclaim, release, offboarding, expiry; a change passes the licenses it drops)."""
    data = RemoveStep(assignment_id=assignment_id, licenses=licenses)
    await tx.outbox.enqueue(TARGET, GenesysStep.REMOVE, now, data=data)


async def queue_change(tx: Store, before: Assignment, now: datetime) -> None:
    """A seat changed in place (SPEC 9): add what the new seat maps, then remove what only
    the old one did, once this transaction commits."""
    await tx.genesys.set_state(before.id, "pending", now)
    await tx.outbox.enqueue(
        TARGET,
        GenesysStep.CHANGE,
        now,
        data=ChangeStep(
            assignment_id=before.id,
            before=SeatBefore(
                edition=before.edition, seat_type=before.seat_type, modules=tuple(before.modules)
            ),
        ),
    )


async def provision_again(
    db: Database, assignment_id: int, actor: str, now: datetime
) -> Assignment:
    """Provision (a drift row's button): queue the assignment's provisioning again."""
    async with db.transaction() as tx:
        seat = await tx.assignments.get(assignment_id)
        if seat is None or seat.status != "active":
            raise LicenseError("that seat is no longer active: nothing to provision")
        await queue_provision(tx, seat.id, now)
        await tx.audit.add(
            now, actor, "genesys.provision_requested", seat.email, None, {"assignment_id": seat.id}
        )
    return seat


async def adopt(
    db: Database,
    rules: Rules,
    *,
    email: str,
    name: str,
    user_id: str,
    licenses: tuple[str, ...],
    actor: str,
    now: datetime,
) -> Assignment:
    """Adopt (a drift row's button): record in the ledger a seat someone gave by hand in
    Genesys. It is already held there, so it is recorded even past a pool's limit (the
    limits job reports an overage); nothing is sent to Genesys."""
    if "@" not in email:
        raise LicenseError("this Genesys user has no email: adopt needs one to record the seat")
    found = rules.catalog.genesys_seat_for(set(licenses))
    if found is None:
        raise LicenseError(
            f"no seat in the catalog maps to {', '.join(licenses)}: add it to "
            "[genesys.licenses] in the catalog first"
        )
    edition, seat_type, modules = found
    async with db.transaction() as tx:
        holder = await tx.assignments.active_for_email(email)
        if holder is not None:
            raise LicenseError(f"{email} already holds a {holder.seat} seat in the ledger")
        adopted = Seat(
            email=email, name=name or email, edition=edition, seat_type=seat_type, modules=modules
        )
        seat = await tx.assignments.add(adopted, license_group=None, assigned_at=now)
        await refresh_pools(tx, edition, seat_type, modules, now)
        await tx.genesys.set_state(
            seat.id, "provisioned", now, user_id=user_id, detail=", ".join(licenses)
        )
        await tx.audit.add(
            now,
            actor,
            "assignment.adopted",
            email,
            None,
            {**seat.snapshot(), "genesys_user_id": user_id},
        )
    return seat


async def note_on_drift(
    db: Database,
    channel: str | None,
    ts: str | None,
    row_key: str,
    done: Done,
    now: datetime,
) -> bool:
    """Show on the posted drift summary that a row was acted on (updated in place)."""
    if not channel or not ts:
        return False
    async with db.transaction() as tx:
        message = await tx.outbox.by_delivery(channel, ts)
        if message is None or message.template != DRIFT_TEMPLATE:
            return False
        data = message.payload
        assert isinstance(data, GenesysDrift)
        changed = False
        rows = []
        for row in data.rows:
            if row.key == row_key and not row.done:
                row = dataclasses.replace(row, done=done)
                changed = True
            rows.append(row)
        if not changed:
            return False
        await rerender(tx, message, dataclasses.replace(data, rows=tuple(rows)), now)
    return True


_FINDINGS = {
    "pending": (True, "Genesys Cloud: queued, the licenses are being assigned", ""),
    "provisioned": (True, "Genesys Cloud: licenses assigned in Genesys Cloud", ""),
    "waiting_user": (
        False,
        "Genesys Cloud: waiting for the Genesys user (not in Genesys Cloud yet)",
        "create the user in Genesys Cloud: the licenses are assigned once it exists "
        "(checked daily)",
    ),
    "refused": (
        False,
        "Genesys Cloud: not provisioned, Genesys refused",
        "fix it in Genesys Cloud, then press Provision on `/license drift`",
    ),
    "unmapped": (True, "Genesys Cloud: ledger only (no license mapped to this seat)", ""),
}


def add_genesys_finding(diagnosis: Diagnosis, state: GenesysState | None) -> None:
    """`/license check`: where provisioning stands, first; a problem there means the
    person is not "all good"."""
    if state is None or state.state not in _FINDINGS:
        return
    ok, problem, resolution = _FINDINGS[state.state]
    if state.detail and state.state == "refused":
        problem += f": {state.detail}"
    if not ok:
        diagnosis.findings[:] = [f for f in diagnosis.findings if not f.ok]
    diagnosis.findings.insert(0, Finding(ok, problem, resolution))
