"""What every job is given (JobContext) and what it returns (the messages it sends).

A job is `async def job(ctx: JobContext) -> list[Outgoing]`: it reads the store as of
`ctx.clock.now()`, writes its alerts to the outbox (keys make that idempotent), and
returns what it queued. With `ctx.dry_run` it writes nothing and returns what it would
have queued, rendered the same way: `jobs run --dry-run` shows exactly what a run posts.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bot.clock import Clock
from bot.licensing.entities import Alert
from bot.licensing.messages import (
    AlertPayload,
    MessageKind,
    Payload,
    check,
    message_kind,
    resolved,
)
from bot.licensing.policy import Policy
from bot.licensing.requests import LicenseRequest
from bot.services.alerts import AlertSpec, raise_alert, resolve_alert
from bot.services.ledger import Rules
from bot.settings import Settings
from bot.store.db import Database
from bot.store.outbox import OutboxTarget
from bot.store.unit import Store

if TYPE_CHECKING:
    from bot.context import Deps


@dataclass(frozen=True)
class Outgoing:
    """One message a job sends (or, in a dry run, would send)."""

    job: str
    target: OutboxTarget
    template: MessageKind  # for an update: the kind of the message updated in place
    payload: Payload  # the kind's payload (for an update: the message's new payload)
    key: str | None = None
    channel: str | None = None
    user_id: str | None = None
    request_id: int | None = None
    # The request as the message shows it (decided, in a dry run): not stored.
    request: LicenseRequest | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        check(self.template, self.payload)


@dataclass
class JobContext:
    db: Database
    rules: Rules
    settings: Settings
    clock: Clock
    dry_run: bool = False
    # Who approves at a stage ("admin", "finance"): Slack user ids (SPEC 10 escalation).
    approvers: Callable[[str], Awaitable[frozenset[str]]] | None = None

    genesys: Any = None  # the GenesysClient, or None in ledger-only mode (SPEC 8)

    @classmethod
    def from_deps(cls, deps: Deps, *, dry_run: bool = False) -> JobContext:
        async def approvers(stage: str) -> frozenset[str]:
            directory = deps.finance if stage == "finance" else deps.admins
            if directory is None:
                return frozenset()
            try:
                return await directory.members()
            except Exception:  # Slack unreachable (a dry run offline): the ids configured
                logging.getLogger(__name__).warning("could not list the %s approvers", stage)
                return deps.settings.admin_ids if stage == "admin" else frozenset()

        return cls(
            deps.db,
            deps.rules,
            deps.settings,
            deps.clock,
            dry_run,
            approvers,
            getattr(deps, "genesys", None),
        )

    @property
    def policy(self) -> Policy:
        return self.rules.policy

    @property
    def tz(self) -> tzinfo:
        return self.rules.tz

    def today(self) -> date:
        return self.clock.now().astimezone(self.rules.tz).date()

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Store]:
        """A write transaction (one job run at a time per database), or in a dry run a
        read: the same code path either way."""
        if self.dry_run:
            async with self.db.read() as tx:
                yield tx
        else:
            async with self.db.transaction() as tx:
                yield tx

    async def alert(
        self, tx: Store, spec: AlertSpec, template: MessageKind, data: AlertPayload
    ) -> Outgoing | None:
        """Raise an alert into the alerts channel, once per key."""
        channel = self.settings.alerts_channel
        if self.dry_run:
            if await tx.alerts.get(spec.key) is not None:
                return None
        elif not await raise_alert(
            tx, spec, template=template, data=data, channel=channel, now=self.clock.now()
        ):
            return None
        return Outgoing(
            spec.job, OutboxTarget.CHANNEL, template, data, key=spec.key, channel=channel
        )

    async def resolve(self, tx: Store, alert: Alert, text: str) -> Outgoing | None:
        """Resolve an open alert: its posted message is updated in place."""
        now = self.clock.now()
        if self.dry_run:
            message = await tx.outbox.by_key(alert.key)
            if message is None:
                return None
            data: Payload = resolved(message.payload, text, now)
        else:
            done = await resolve_alert(tx, alert, text, now)
            if done is None:
                return None
            message, data = done
        return Outgoing(
            alert.job,
            OutboxTarget.UPDATE,
            message_kind(message.template),
            data,
            key=f"{alert.key}:resolved",
            channel=alert.channel or message.channel,
        )

    async def queue(self, tx: Store, message: Outgoing) -> Outgoing | None:
        """Queue a keyed message (a DM, a thread nudge) once."""
        if self.dry_run:
            if message.key and await tx.outbox.by_key(message.key) is not None:
                return None
            return message
        queued = await tx.outbox.enqueue(
            message.target,
            message.template,
            self.clock.now(),
            data=message.payload,
            request_id=message.request_id,
            channel=message.channel,
            user_id=message.user_id,
            key=message.key,
        )
        return message if queued is not None else None


def money(value: Decimal | None) -> Decimal | None:
    """Money in a message payload: to the cent (stored as exact decimal text)."""
    return None if value is None else value.quantize(Decimal("0.01"))


def price_of(
    rules: Rules, prices: dict[tuple[str, str], Decimal | None], edition: str, item: str
) -> Decimal | None:
    """A seat's monthly price: the pool's own, else the catalog's list price."""
    return rules.catalog.seat_price(edition, item, prices.get((edition, item)))
