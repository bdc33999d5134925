"""Provisioning in Genesys Cloud: the `genesys` outbox target (SPEC 8).

A decision that gives or ends a seat queues, in its own transaction, an outbox message
with target `genesys` and template `provision` or `remove` (bot/services/genesys.py). The
deliverer hands it here after the commit:

- find the Genesys user (the id recorded on the assignment, else by email),
- `POST /api/v2/license/organization` with `userIdsAdd` / `userIdsRemove`,
- read each per-user result, and after a removal re-read the user's licenses (licenses
  follow roles: a removal can be refused or undone),
- record the Genesys user id and the state on the assignment; tell people (a thread
  reply under the request's card; an alert with Genesys's own message on a refusal; a
  "waiting for the Genesys user" alert while the new hire does not exist yet).

Genesys unreachable (time-outs, 5xx, 429s after the retries): the message goes back to
the outbox (NotReady, never given up on) and is tried again on the next flush, for as
long as the outage lasts.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from bot.blocks.base import MAX_BLOCKS, Message, context
from bot.blocks.genesys import genesys_state_line
from bot.clock import Clock
from bot.genesys.client import (
    GenesysAuthError,
    GenesysClient,
    GenesysError,
    GenesysUnavailable,
    succeeded,
)
from bot.jobs.outbox import NotReady
from bot.licensing.catalog import Catalog
from bot.licensing.entities import Assignment
from bot.licensing.messages import (
    ChangeStep,
    GenesysAlert,
    GenesysStatus,
    GenesysStep,
    MessageKind,
    ProvisionStep,
    RemoveStep,
    SeatBefore,
)
from bot.services.alerts import AlertSpec, raise_alert, resolve_alert
from bot.services.outcomes import queue_card
from bot.store.db import Database
from bot.store.genesys import WAITING_USER
from bot.store.outbox import OutboxMessage, OutboxTarget
from bot.store.unit import Store

log = logging.getLogger(__name__)

TARGET = OutboxTarget.GENESYS
PROVISION = GenesysStep.PROVISION
REMOVE = GenesysStep.REMOVE
CHANGE = GenesysStep.CHANGE

PROVISIONED = "provisioned"
REFUSED = "refused"
UNMAPPED = "unmapped"
REMOVED = "removed"
REMOVE_REFUSED = "remove_refused"

STATE_TEXT = {
    "pending": "queued for Genesys Cloud",
    PROVISIONED: "licenses assigned in Genesys Cloud",
    WAITING_USER: "waiting for the Genesys user",
    REFUSED: "not provisioned: Genesys Cloud refused",
    UNMAPPED: "ledger only (no Genesys license mapped to this seat)",
    REMOVED: "licenses removed in Genesys Cloud",
    REMOVE_REFUSED: "licenses still held in Genesys Cloud",
}


class GenesysNotReady(NotReady):
    """Genesys is unavailable: the message stays queued and is retried later."""


@dataclass
class Provisioner:
    db: Database
    client: GenesysClient
    catalog: Catalog
    clock: Clock
    alerts_channel: str
    tz: tzinfo
    timeout: float = 20.0  # seconds one provisioning may take inside a delivery

    async def deliver(self, message: OutboxMessage) -> tuple[str | None, str | None]:
        step = message.payload
        assert isinstance(step, ProvisionStep | RemoveStep | ChangeStep), step
        assignment_id = step.assignment_id
        async with self.db.read() as tx:
            seat = await tx.assignments.get(assignment_id)
            state = await tx.genesys.get(assignment_id)
        if seat is None or state is None:
            return None, None
        try:
            # Bounded: the deliverer's next flush retries, and Slack messages queued
            # behind this one do not wait out a Genesys outage.
            async with asyncio.timeout(self.timeout):
                if isinstance(step, RemoveStep):
                    await self._remove(seat, state.user_id, step.licenses)
                elif isinstance(step, ChangeStep):
                    await self._change(seat, state.user_id, step.before)
                else:
                    await self._provision(seat, state.user_id)
        except TimeoutError:
            log.warning(
                "genesys %s of assignment %s timed out: retried on the next flush",
                message.template,
                assignment_id,
            )
            raise GenesysNotReady("Genesys Cloud did not answer in time") from None
        except (GenesysUnavailable, GenesysAuthError) as error:
            # An outage, or credentials rotated under us: delay, never lose.
            log.warning(
                "genesys %s of assignment %s delayed: %s", message.template, assignment_id, error
            )
            raise GenesysNotReady(f"Genesys Cloud unavailable: {error}") from None
        return None, None

    async def on_card(self, card: Message, request_id: int) -> None:
        """The request card shows where provisioning of its seat stands."""
        async with self.db.read() as tx:
            state = await tx.genesys.for_request(request_id)
        line = genesys_state_line(state.state, state.detail) if state else None
        if line and len(card.blocks) < MAX_BLOCKS:
            card.blocks.append(context(line))

    async def _provision(self, seat: Assignment, known_user: str | None) -> None:
        now = self.clock.now()
        if seat.status != "active":
            return  # revoked before it was provisioned: the removal handles it
        licenses = self.catalog.genesys_licenses(seat.edition, seat.seat_type, seat.modules)
        if not licenses:
            async with self.db.transaction() as tx:
                await tx.genesys.set_state(seat.id, UNMAPPED, now)
            return
        user_id = known_user or await self._find(seat.email)
        if user_id is None:
            await self._waiting(seat, now)
            return
        try:
            results = await self.client.change_licenses(user_id, add=licenses)
        except GenesysError as error:  # 403 missing permission, 400 ...: a refusal
            await self._refused(seat, user_id, str(error), now, removing=False)
            return
        failures = _failures(results, licenses, user_id)
        if failures:
            await self._refused(seat, user_id, failures, now, removing=False)
            return
        async with self.db.transaction() as tx:
            await tx.genesys.set_state(
                seat.id, PROVISIONED, now, user_id=user_id, detail=", ".join(licenses)
            )
            await _resolve(
                tx, _waiting_spec(seat), "the Genesys user exists: licenses assigned", now
            )
            await tx.audit.add(
                now,
                "licensebot",
                "genesys.provisioned",
                seat.email,
                None,
                {"user_id": user_id, "licenses": list(licenses)},
            )
            await _tell_thread(
                tx,
                seat,
                now,
                PROVISIONED,
                f"licenses {', '.join(licenses)} assigned in Genesys Cloud",
            )

    async def _change(self, seat: Assignment, known_user: str | None, before: SeatBefore) -> None:
        """A change swaps the licenses: add the new seat's (as a provisioning), then remove
        those only the old seat had, re-reading them (licenses follow roles)."""
        old = self.catalog.genesys_licenses(before.edition, before.seat_type, before.modules)
        new = self.catalog.genesys_licenses(seat.edition, seat.seat_type, seat.modules)
        dropped = tuple(i for i in old if i not in new)
        await self._provision(seat, known_user)
        if not dropped or seat.status != "active":
            return
        async with self.db.read() as tx:
            state = await tx.genesys.get(seat.id)
        user_id = (state.user_id if state else None) or known_user
        if user_id is None:
            return  # no Genesys user: nothing of the old seat to remove
        now = self.clock.now()
        try:
            results = await self.client.change_licenses(user_id, remove=dropped)
        except GenesysUnavailable:
            raise
        except GenesysError as error:
            await self._refused(seat, user_id, str(error), now, removing=True)
            return
        failures = _failures(results, dropped, user_id)
        still = sorted(await self.client.user_licenses(user_id) & set(dropped))
        if still:
            why = f"still held after the change: {', '.join(still)} (a role implies it)"
            failures = f"{failures}; {why}" if failures else why
        if failures:
            await self._refused(seat, user_id, failures, now, removing=True)
            return
        async with self.db.transaction() as tx:
            await tx.audit.add(
                now,
                "licensebot",
                "genesys.removed",
                seat.email,
                None,
                {"user_id": user_id, "licenses": list(dropped)},
            )

    async def _remove(
        self, seat: Assignment, known_user: str | None, licenses: tuple[str, ...] | None = None
    ) -> None:
        now = self.clock.now()
        wanted = tuple(
            licenses or self.catalog.genesys_licenses(seat.edition, seat.seat_type, seat.modules)
        )
        if not wanted:
            async with self.db.transaction() as tx:
                await tx.genesys.set_state(seat.id, UNMAPPED, now)
                await _resolve(tx, _waiting_spec(seat), "the seat ended", now)
            return
        user_id = known_user or await self._find(seat.email)
        if user_id is None:
            async with self.db.transaction() as tx:
                await tx.genesys.set_state(
                    seat.id, REMOVED, now, detail="no Genesys user: nothing to remove"
                )
                await _resolve(tx, _waiting_spec(seat), "the seat ended", now)
            return
        try:
            results = await self.client.change_licenses(user_id, remove=wanted)
        except GenesysError as error:
            await self._refused(seat, user_id, str(error), now, removing=True)
            return
        failures = _failures(results, wanted, user_id)
        # Licenses follow roles: what Genesys says it removed may still be held.
        still = sorted(await self.client.user_licenses(user_id) & set(wanted))
        if still:
            why = (
                f"still held after removal: {', '.join(still)} (a role the user holds implies "
                "it: licenses follow roles, remove the role in Genesys Cloud)"
            )
            failures = f"{failures}; {why}" if failures else why
        if failures:
            await self._refused(seat, user_id, failures, now, removing=True)
            return
        async with self.db.transaction() as tx:
            await tx.genesys.set_state(
                seat.id, REMOVED, now, user_id=user_id, detail=", ".join(wanted)
            )
            await tx.audit.add(
                now,
                "licensebot",
                "genesys.removed",
                seat.email,
                None,
                {"user_id": user_id, "licenses": list(wanted)},
            )
            await _tell_thread(
                tx, seat, now, REMOVED, f"licenses {', '.join(wanted)} removed in Genesys Cloud"
            )

    async def _find(self, email: str) -> str | None:
        user = await self.client.find_user(email)
        if user is None or user.get("state", "active") == "deleted":
            return None
        return str(user["id"])

    async def _waiting(self, seat: Assignment, now: datetime) -> None:
        async with self.db.transaction() as tx:
            before = await tx.genesys.get(seat.id)
            await tx.genesys.set_state(
                seat.id,
                WAITING_USER,
                now,
                detail=f"{seat.email} is not in Genesys Cloud yet: retried daily",
            )
            await raise_alert(
                tx,
                _waiting_spec(seat),
                template=MessageKind.GENESYS_ALERT,
                data=GenesysAlert(kind="waiting", email=seat.email, name=seat.name, seat=seat.seat),
                channel=self.alerts_channel,
                now=now,
            )
            if before is None or before.state != WAITING_USER:
                await _tell_thread(
                    tx,
                    seat,
                    now,
                    WAITING_USER,
                    f"waiting for the Genesys user: {seat.email} is not in Genesys Cloud yet. "
                    "The licenses are assigned once the user exists (checked daily).",
                )

    async def _refused(
        self, seat: Assignment, user_id: str, message: str, now: datetime, *, removing: bool
    ) -> None:
        state = REMOVE_REFUSED if removing else REFUSED
        async with self.db.transaction() as tx:
            await tx.genesys.set_state(seat.id, state, now, user_id=user_id, detail=message[:500])
            await tx.audit.add(
                now,
                "licensebot",
                f"genesys.{state}",
                seat.email,
                None,
                {"user_id": user_id, "message": message[:500]},
            )
            await raise_alert(
                tx,
                AlertSpec(
                    "genesys",
                    "remove-refused" if removing else "refused",
                    f"assignment:{seat.id}",
                    now.isoformat(),
                    f"Genesys Cloud refused to {'remove' if removing else 'assign'} the "
                    f"licenses of {seat.email}",
                ),
                template=MessageKind.GENESYS_ALERT,
                data=GenesysAlert(
                    kind="remove-refused" if removing else "refused",
                    email=seat.email,
                    name=seat.name,
                    seat=seat.seat,
                    message=message[:1500],
                    assignment_id=seat.id,
                ),
                channel=self.alerts_channel,
                now=now,
            )
            await _tell_thread(
                tx,
                seat,
                now,
                state,
                f"{'not removed' if removing else 'not provisioned'} in Genesys Cloud: "
                f"{message[:500]}",
            )


def _waiting_spec(seat: Assignment) -> AlertSpec:
    return AlertSpec(
        "genesys",
        "waiting",
        f"assignment:{seat.id}",
        "user",
        f"waiting for the Genesys user: {seat.email} ({seat.seat})",
    )


async def _resolve(tx: Store, spec: AlertSpec, text: str, now: datetime) -> None:
    alert = await tx.alerts.get(spec.key)
    if alert is not None and alert.resolved_at is None:
        await resolve_alert(tx, alert, text, now)


async def _tell_thread(tx: Store, seat: Assignment, now: datetime, state: str, text: str) -> None:
    """A reply under the request's card, and the card updated to show the state, when
    the seat came from a request."""
    if seat.request_id is None:
        return
    await queue_card(tx, seat.request_id, now, None)
    await tx.outbox.enqueue(
        OutboxTarget.THREAD,
        MessageKind.GENESYS_STATUS,
        now,
        request_id=seat.request_id,
        data=GenesysStatus(state=state, text=text, email=seat.email),
    )


def _failures(results: list[dict[str, Any]], licenses: tuple[str, ...], user_id: str) -> str:
    """Every per-user result that is not a success, as Genesys worded it ("" when none).
    A license with no result at all is a failure too: never reported as done."""
    problems = []
    answered = set()
    for result in results:
        if str(result.get("userId", user_id)) != user_id:
            continue
        answered.add(str(result.get("licenseId")))
        if not succeeded(result):
            problems.append(f"{result.get('licenseId')}: {result.get('result') or 'no result'}")
    problems += [f"{i}: no result in Genesys's answer" for i in licenses if i not in answered]
    return "; ".join(problems)
