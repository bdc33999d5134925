"""Which request a card is for (issue 9 item 3): a request may have two cards when an
ambiguous post could not be resolved; the bot never learned the ts of the first copy.
Such a copy still carries the metadata naming its outbox message, so a thread reply or
a click under it is traced back to the request, and the card is recorded from then on
(updated on the decision with the others)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.licensing.requests import LicenseRequest, RequestStatus
from bot.services.outcomes import queue_card
from bot.services.queries import request_on_card
from bot.store.db import Database
from bot.store.outbox import OutboxTarget

log = logging.getLogger(__name__)

METADATA_EVENT = "licensebot_outbox"  # bot.delivery.slack.METADATA_EVENT


def outbox_id_of(posted: dict[str, Any] | None) -> int | None:
    """The outbox message id named by a posted message's metadata, if it has one."""
    meta = (posted or {}).get("metadata") or {}
    if not isinstance(meta, dict) or meta.get("event_type") != METADATA_EVENT:
        return None
    value = (meta.get("event_payload") or {}).get("outbox_id")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


async def adopt_card(
    db: Database, channel: str, ts: str, posted: dict[str, Any] | None, now: datetime
) -> LicenseRequest | None:
    """When `posted` (the message at channel/ts) is a card the deliverer posted, record it
    as one of its request's cards and return the request; else None."""
    outbox_id = outbox_id_of(posted)
    if outbox_id is None:
        return None
    async with db.transaction() as tx:
        message = await tx.outbox.get(outbox_id)
        if (
            message is None
            or message.target != OutboxTarget.CARD
            or message.request_id is None
            or (message.delivered_channel or channel) != channel
        ):
            return None
        new = await tx.requests.add_card(message.request_id, channel, ts, now)
        request = await tx.requests.get(message.request_id)
        if new and request is not None and request.status is not RequestStatus.PENDING:
            # Decided while this copy was unknown: it still shows live buttons.
            await queue_card(tx, request.id, now, request.card_channel)
    if request is not None:
        log.info("request #%s: another copy of its card found at %s %s", request.id, channel, ts)
    return request


async def request_of_card(
    db: Database, client: AsyncWebClient, channel: str, ts: str, now: datetime
) -> LicenseRequest | None:
    """The request whose card is the message channel/ts: a recorded card, else (a copy the
    bot never learned the ts of) the message's metadata, read from Slack."""
    request = await request_on_card(db, channel, ts)
    if request is not None:
        return request
    try:
        response = await client.conversations_replies(
            channel=channel, ts=ts, limit=1, include_all_metadata=True
        )
    except SlackApiError as error:
        log.info("cannot read the message %s %s (%s)", channel, ts, error.response.get("error"))
        return None
    parent = next((m for m in response.get("messages") or [] if m.get("ts") == ts), None)
    return await adopt_card(db, channel, ts, parent, now)
