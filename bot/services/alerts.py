"""Alerts in the store: raised once per key, resolved once, re-rendered in place.

An alert's message is an outbox row whose key is the alert's key. Changing what the
message shows (resolved, a line reclaimed) changes the row's data and queues an `update`
message, which the deliverer turns into chat.update on the posted message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.licensing.entities import Alert
from bot.licensing.messages import AlertPayload, MessageKind, Payload, UpdateOf, check, resolved
from bot.store.outbox import OutboxMessage, OutboxTarget
from bot.store.unit import Store


@dataclass(frozen=True)
class AlertSpec:
    job: str
    kind: str
    subject: str
    period: str
    summary: str

    @property
    def key(self) -> str:
        """(job, subject, period), with the kind: the alert's identity everywhere."""
        return f"{self.job}:{self.kind}:{self.subject}:{self.period}"


async def raise_alert(
    tx: Store,
    spec: AlertSpec,
    *,
    template: MessageKind,
    data: AlertPayload,
    channel: str,
    now: datetime,
) -> bool:
    """Record the alert and queue its message, unless the key was raised before."""
    added = await tx.alerts.add(
        spec.key,
        job=spec.job,
        kind=spec.kind,
        subject=spec.subject,
        period=spec.period,
        summary=spec.summary,
        at=now,
    )
    if not added:
        return False
    check(template, data)
    await tx.outbox.enqueue(
        OutboxTarget.CHANNEL, template, now, data=data, channel=channel, key=spec.key
    )
    return True


async def resolve_alert(
    tx: Store, alert: Alert, text: str, now: datetime
) -> tuple[OutboxMessage, AlertPayload] | None:
    """Resolve once (compare-and-set) and update its message in place. Returns the
    message and its new payload, or None when it was resolved already."""
    if not await tx.alerts.resolve(alert.key, now, text):
        return None
    message = await tx.outbox.by_key(alert.key)
    if message is None:
        return None
    data = resolved(message.payload, text, now)
    await rerender(tx, message, data, now, key=f"{alert.key}:resolved")
    return message, data


async def rerender(
    tx: Store,
    message: OutboxMessage,
    data: Payload,
    now: datetime,
    key: str | None = None,
) -> None:
    """Store the message's new payload and queue the chat.update that shows it."""
    assert message.key, "only keyed messages can be updated in place"
    check(message.template, data)
    await tx.outbox.set_data(message.id, data)
    await tx.outbox.enqueue(
        OutboxTarget.UPDATE,
        message.template,
        now,
        data=UpdateOf(of=message.key),
        key=key,
        channel=message.delivered_channel or message.channel,
    )


async def supersede(tx: Store, alert: Alert, text: str, now: datetime) -> None:
    """Close an alert a newer one replaces; its message stays as posted (its buttons
    keep working on what they name)."""
    await tx.alerts.resolve(alert.key, now, text)
