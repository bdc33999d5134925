"""Delivery of the outbox to Slack: post, update, DM; record channel and ts.

A failure leaves the message pending for the next flush (after each change, and on the
scheduler's `deliver` interval); a delivered message is never sent again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import alerts as _alerts  # noqa: F401 - registers the alert templates
from bot.blocks.base import Message
from bot.blocks.requests import request_card
from bot.blocks.templates import render
from bot.clock import Clock
from bot.licensing.requests import RequestStatus
from bot.metrics import delivery_failed
from bot.services.ledger import Rules, evaluate_request
from bot.store.db import Database
from bot.store.outbox import OutboxMessage

log = logging.getLogger(__name__)

GIVE_UP_AFTER = 50  # attempts; a permanent error (deleted channel) must not retry forever


class NotReady(Exception):
    """The message depends on one not delivered yet (a thread reply before its card)."""


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)


class Deliverer:
    def __init__(
        self,
        db: Database,
        client: AsyncWebClient,
        clock: Clock,
        rules: Rules,
        approvals_channel: str,
    ) -> None:
        self._db = db
        self._client = client
        self._clock = clock
        self._rules = rules
        self._approvals_channel = approvals_channel
        self._lock = asyncio.Lock()

    async def flush(self, batch: int = 100) -> DeliveryReport:
        """Deliver what is pending now. One flush at a time per process; leases keep two
        processes from sending the same message."""
        report = DeliveryReport()
        async with self._lock:
            while True:
                async with self._db.transaction() as tx:
                    claimed = await tx.outbox.claim(self._clock.now(), batch)
                before = report.delivered
                for message in claimed:
                    await self._deliver_one(message, report)
                # A Genesys side effect queues its outcome (a thread reply, an alert): one
                # more round sends it now rather than on the next flush.
                again = report.delivered > before and any(m.target == "genesys" for m in claimed)
                if (len(claimed) < batch and not again) or report.delivered == before:
                    break
        return report

    async def _deliver_one(self, message: OutboxMessage, report: DeliveryReport) -> None:
        try:
            channel, ts = await self._send(message)
        except NotReady as waiting:
            report.waiting += 1
            async with self._db.transaction() as tx:
                await tx.outbox.release(message.id, str(waiting))
            return
        except (SlackApiError, aiohttp.ClientError, TimeoutError, LookupError) as error:
            detail = _describe(error)
            log.warning("outbox %s (%s) not delivered: %s", message.id, message.template, detail)
            report.failed += 1
            report.errors.append(detail)
            delivery_failed(detail)
            async with self._db.transaction() as tx:
                await tx.outbox.release(
                    message.id, detail, give_up=message.attempts + 1 >= GIVE_UP_AFTER
                )
            return
        report.delivered += 1
        async with self._db.transaction() as tx:
            await tx.outbox.delivered(message.id, self._clock.now(), channel, ts)
            if message.target == "card" and message.request_id is not None and ts:
                await tx.requests.set_card(message.request_id, channel, ts)

    async def _send(self, message: OutboxMessage) -> tuple[str | None, str | None]:
        if message.target == "card":
            return await self._send_card(message)
        if message.target == "update":
            return await self._send_update(message)
        if message.target == "genesys":  # Genesys Cloud side effects: bot/genesys/provision.py
            provisioner = getattr(self, "genesys", None)  # None: ledger-only mode
            return await provisioner.deliver(message) if provisioner else (None, None)
        request = None
        if message.request_id is not None:
            async with self._db.read() as tx:
                request = await tx.requests.get(message.request_id)
        rendered = render(message.template, request, message.data, self._rules.tz)
        if message.target == "thread":
            if request is None or not request.card_ts:
                raise NotReady("waiting for the request card")
            return await self._post(
                request.card_channel or self._approvals_channel, rendered, thread_ts=request.card_ts
            )
        if message.target == "dm":
            opened = await self._client.conversations_open(users=message.user_id)
            return await self._post(opened["channel"]["id"], rendered)
        if message.target == "channel":
            assert message.channel
            return await self._post(
                message.channel, rendered, thread_ts=message.data.get("thread_ts")
            )
        raise LookupError(f"unknown outbox target {message.target!r}")

    async def _send_card(self, message: OutboxMessage) -> tuple[str | None, str | None]:
        assert message.request_id is not None
        async with self._db.read() as tx:
            request = await tx.requests.get(message.request_id)
            if request is None:
                raise LookupError(f"request {message.request_id} is gone")
            impact = None
            if request.status is RequestStatus.PENDING:
                impact = await evaluate_request(tx, self._rules, request, self._clock.now())
        card = request_card(request, impact, self._rules.tz)
        if getattr(self, "genesys", None) is not None:  # SPEC 8: provisioning on the card
            await self.genesys.on_card(card, request.id)  # type: ignore[attr-defined]
        if request.card_ts and request.card_channel:
            await self._client.chat_update(
                channel=request.card_channel, ts=request.card_ts, **card.payload()
            )
            return request.card_channel, request.card_ts
        return await self._post(message.channel or self._approvals_channel, card)

    async def _send_update(self, message: OutboxMessage) -> tuple[str | None, str | None]:
        """Re-render a posted message from its current data (resolved, a line acted on)
        and update it in place: chat.update on the ts it was posted with."""
        async with self._db.read() as tx:
            original = await tx.outbox.by_key(message.data["of"])
            request = None
            if original is not None and original.request_id is not None:
                request = await tx.requests.get(original.request_id)
        if original is None or original.status == "failed":
            raise LookupError(f"nothing to update: {message.data['of']!r} was never posted")
        if original.status != "delivered" or not original.delivered_ts:
            raise NotReady("waiting for the message it updates")
        rendered = render(original.template, request, original.data, self._rules.tz)
        assert original.delivered_channel
        await self._client.chat_update(
            channel=original.delivered_channel, ts=original.delivered_ts, **rendered.payload()
        )
        return original.delivered_channel, original.delivered_ts

    async def _post(
        self, channel: str, message: Message, thread_ts: str | None = None
    ) -> tuple[str | None, str | None]:
        kwargs = message.payload()
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        response = await self._client.chat_postMessage(channel=channel, **kwargs)
        return response.get("channel"), response.get("ts")


def _describe(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return f"slack error: {error.response.get('error') or error.response.status_code}"
    return f"{type(error).__name__}: {error}"
