"""The read side and the one use case of failed deliveries: what admins see (App Home,
`jobs run`) and the Retry that puts a failed message back in the queue."""

from __future__ import annotations

from datetime import datetime

from bot.licensing.views import FailedDelivery  # re-exported: what admins see
from bot.services.outcomes import refresh_homes
from bot.store.db import Database
from bot.store.outbox import OutboxMessage

MAX_LISTED = 10


def _view(message: OutboxMessage) -> FailedDelivery:
    return FailedDelivery(
        id=message.id,
        what=message.template,
        target=message.target,
        where=message.channel or message.user_id or "",
        error=message.last_error or "",
        failure=message.failure or "permanent",
        failed_at=message.failed_at,
        request_id=message.request_id,
    )


async def failed_deliveries(
    db: Database, limit: int = MAX_LISTED
) -> tuple[list[FailedDelivery], int]:
    """The newest failed messages (up to `limit`) and how many there are."""
    async with db.read() as tx:
        messages = await tx.outbox.failed(limit)
        total = await tx.outbox.failed_count()
    return [_view(m) for m in messages], total


async def retry_delivery(db: Database, message_id: int, actor: str, now: datetime) -> bool:
    """Queue a failed message again, due now (an admin's Retry); False when it is not
    failed any more (already retried, or delivered). The admin's Home is refreshed
    either way (the line leaves it, or a stale Home catches up)."""
    async with db.transaction() as tx:
        await refresh_homes(tx, now, actor)
        message = await tx.outbox.requeue(message_id, now)
        if message is None:
            return False
        await tx.audit.add(
            now,
            actor,
            "delivery.retried",
            f"outbox:{message_id}",
            None,
            {"template": message.template},
        )
    return True
