"""The Slack side effects of the outbox: post a card, reply in its thread, DM, post in a
channel, update a posted message.

Every post carries message metadata naming its outbox message
(`{"event_type": "licensebot_outbox", "event_payload": {"outbox_id": N}}`). When an
earlier attempt sent the post and never saw the answer (a timeout, a dropped connection,
a 5xx: Slack may have stored it), the next attempt first looks for it in the channel's
recent history (or the thread's replies) and adopts its ts instead of posting it twice.

Calls go through `SlackTarget.call`: paced per (method, channel) by the `Pacer`, with
429 + Retry-After honoured for that channel only, and any answer slack_sdk cannot read
(a plain-text 500) turned into `Unreadable`, a transient failure of this one message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.base import Message
from bot.blocks.templates import render
from bot.clock import Clock
from bot.delivery.outcomes import NotReady, RateLimited, Unreadable
from bot.delivery.outcomes import retry_after as retry_after_of
from bot.delivery.pacing import Pacer
from bot.licensing.messages import RequestCard, UpdateOf
from bot.licensing.requests import LicenseRequest, RequestStatus
from bot.services.ledger import Rules, evaluate_request
from bot.slack import DmChannels
from bot.store.db import Database
from bot.store.outbox import Addressable, OutboxMessage, OutboxTarget

log = logging.getLogger(__name__)

METADATA_EVENT = "licensebot_outbox"
HISTORY_LIMIT = 100  # how far back (messages) an ambiguous post is looked for
INLINE_429_TRIES = 8  # 429s waited out within one attempt before it is released


@dataclass(frozen=True)
class Sent:
    """Where a message ended up (None for a side effect without a Slack message)."""

    channel: str | None
    ts: str | None


class Attempt(Protocol):
    """One delivery attempt of one outbox message, as the deliverer hands it out."""

    message: OutboxMessage

    async def fence(self, *, posting: bool = False) -> None:
        """Renew the lease just before a call; raises Superseded when the message was
        delivered or taken by another process meanwhile."""
        ...

    async def not_posted(self) -> None:
        """Slack refused the post outright: nothing to look for next time."""
        ...


Handler = Callable[[Attempt], Awaitable[Sent]]


def metadata_for(message_id: int) -> dict[str, Any]:
    return {"event_type": METADATA_EVENT, "event_payload": {"outbox_id": message_id}}


def outbox_id_of(posted: dict[str, Any]) -> int | None:
    meta = posted.get("metadata") or {}
    if not isinstance(meta, dict) or meta.get("event_type") != METADATA_EVENT:
        return None
    value = (meta.get("event_payload") or {}).get("outbox_id")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class SlackTarget:
    def __init__(
        self,
        db: Database,
        client: AsyncWebClient,
        clock: Clock,
        rules: Rules,
        approvals_channel: str,
        pacer: Pacer,
        *,
        inline_wait: float = 30.0,
        dm_channels: DmChannels | None = None,
    ) -> None:
        self._db = db
        self._client = client
        self._clock = clock
        self._rules = rules
        self._approvals_channel = approvals_channel
        self.pacer = pacer
        self._inline_wait = inline_wait
        self.card_hook: Callable[[Message, int], Awaitable[None]] | None = None
        self.dm_channels = dm_channels or DmChannels()

    def handlers(self) -> dict[OutboxTarget, Handler]:
        return {
            OutboxTarget.CARD: self.card,
            OutboxTarget.THREAD: self.thread,
            OutboxTarget.DM: self.dm,
            OutboxTarget.CHANNEL: self.channel,
            OutboxTarget.UPDATE: self.update,
        }

    def destination(self, message: Addressable) -> str:
        """Messages with one destination go out one at a time, in order (a card before
        its update and its thread reply); different destinations go out concurrently."""
        if message.target == OutboxTarget.DM:
            return f"dm:{message.user_id}"
        if message.target in (OutboxTarget.CARD, OutboxTarget.THREAD):
            return message.channel or self._approvals_channel
        return message.channel or f"{message.target}:{message.key or message.id}"

    # ------------------------------------------------------------------ the targets

    async def card(self, attempt: Attempt) -> Sent:
        message = attempt.message
        assert message.request_id is not None
        async with self._db.read() as tx:
            request = await tx.requests.get(message.request_id)
            if request is None:
                raise LookupError(f"request {message.request_id} is gone")
            impact = None
            if request.status is RequestStatus.PENDING:
                impact = await evaluate_request(tx, self._rules, request, self._clock.now())
        card = render(message.template, request, RequestCard(impact=impact), self._rules.tz)
        if self.card_hook is not None:  # e.g. where Genesys provisioning of the seat stands
            await self.card_hook(card, request.id)
        if request.card_ts and request.card_channel:
            # Every card the bot has for the request (two when an ambiguous post could not
            # be resolved) shows the same state: no live buttons left on a stray copy.
            for channel, ts in await self.cards_of(request):
                await attempt.fence()
                await self.call("chat.update", channel, channel=channel, ts=ts, **card.payload())
            return Sent(request.card_channel, request.card_ts)
        return await self.post(attempt, message.channel or self._approvals_channel, card)

    async def cards_of(self, request: LicenseRequest) -> list[tuple[str, str]]:
        """The recorded cards of the request, primary first; when a card post of it was
        retried (a copy Slack kept may not have been adopted), its channel's history is
        read again for copies carrying that outbox message's metadata and they are
        recorded too."""
        assert request.card_channel and request.card_ts
        async with self._db.read() as tx:
            cards = await tx.requests.cards(request.id)
            retried = await tx.outbox.retried_cards(request.id)
        if retried:
            found = await self.find_copies(request.card_channel, set(retried))
            new = [ts for ts in found if (request.card_channel, ts) not in cards]
            if new:
                async with self._db.transaction() as tx:
                    for ts in new:
                        await tx.requests.add_card(
                            request.id, request.card_channel, ts, self._clock.now()
                        )
                cards += [(request.card_channel, ts) for ts in new]
        if (request.card_channel, request.card_ts) not in cards:
            cards.insert(0, (request.card_channel, request.card_ts))
        return cards

    async def find_copies(self, channel: str, message_ids: set[int]) -> list[str]:
        """The ts of every message in the channel's recent history posted for one of
        `message_ids` (by metadata); none when the history cannot be read."""
        try:
            response = await self.call(
                "conversations.history",
                channel,
                channel=channel,
                limit=HISTORY_LIMIT,
                include_all_metadata=True,
            )
        except SlackApiError as error:
            if error.response.status_code >= 500 or error.response.status_code == 429:
                raise
            log.warning(
                "cannot look for other copies of a card in %s (%s)",
                channel,
                error.response.get("error"),
            )
            return []
        return [
            str(posted["ts"])
            for posted in response.get("messages") or []
            if posted.get("ts") and outbox_id_of(posted) in message_ids
        ]

    async def thread(self, attempt: Attempt) -> Sent:
        request = await self._request(attempt.message)
        if request is None or not request.card_ts:
            raise NotReady("waiting for the request card")
        message = attempt.message
        rendered = render(message.template, request, message.payload, self._rules.tz)
        return await self.post(
            attempt,
            request.card_channel or self._approvals_channel,
            rendered,
            thread_ts=request.card_ts,
        )

    async def dm(self, attempt: Attempt) -> Sent:
        message = attempt.message
        request = await self._request(message)
        rendered = render(message.template, request, message.payload, self._rules.tz)
        assert message.user_id is not None
        return await self.dm_channels.send(
            message.user_id, self._open_dm, lambda channel: self.post(attempt, channel, rendered)
        )

    async def _open_dm(self, user_id: str) -> str:
        opened = await self.call("conversations.open", "*", users=user_id)
        return str(opened["channel"]["id"])

    async def channel(self, attempt: Attempt) -> Sent:
        message = attempt.message
        if not message.channel:
            raise LookupError("a channel message without a channel")
        request = await self._request(message)
        rendered = render(message.template, request, message.payload, self._rules.tz)
        return await self.post(attempt, message.channel, rendered)

    async def update(self, attempt: Attempt) -> Sent:
        """Re-render a posted message from its current data (resolved, a line acted on)
        and update it in place: chat.update on the ts it was posted with."""
        message = attempt.message
        of = message.payload
        assert isinstance(of, UpdateOf)
        async with self._db.read() as tx:
            original = await tx.outbox.by_key(of.of)
            request = None
            if original is not None and original.request_id is not None:
                request = await tx.requests.get(original.request_id)
        if original is None or original.status == "failed":
            raise LookupError(f"nothing to update: {of.of!r} was never posted")
        if original.status != "delivered" or not original.delivered_ts:
            raise NotReady("waiting for the message it updates")
        rendered = render(original.template, request, original.payload, self._rules.tz)
        assert original.delivered_channel
        await attempt.fence()
        await self.call(
            "chat.update",
            original.delivered_channel,
            channel=original.delivered_channel,
            ts=original.delivered_ts,
            **rendered.payload(),
        )
        return Sent(original.delivered_channel, original.delivered_ts)

    # ------------------------------------------------------------------ posting

    async def post(
        self, attempt: Attempt, channel: str, message: Message, thread_ts: str | None = None
    ) -> Sent:
        """chat.postMessage with metadata naming the outbox message; after an ambiguous
        earlier attempt, the copy Slack kept (if any) is adopted instead."""
        outbox = attempt.message
        if outbox.post_started_at is not None:
            found = await self.find_posted(channel, outbox.id, thread_ts)
            if found is not None:
                log.info("outbox %s was posted before (ts %s): adopted", outbox.id, found.ts)
                return found
        kwargs = message.payload()
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        try:
            response = await self.call(
                "chat.postMessage",
                channel,
                before=lambda: attempt.fence(posting=True),
                channel=channel,
                metadata=metadata_for(outbox.id),
                **kwargs,
            )
        except RateLimited:
            await attempt.not_posted()
            raise
        except SlackApiError as error:
            if error.response.status_code < 500:
                await attempt.not_posted()  # refused outright: Slack kept nothing
            raise
        return Sent(response.get("channel"), response.get("ts"))

    async def find_posted(
        self, channel: str, message_id: int, thread_ts: str | None = None
    ) -> Sent | None:
        """The copy of outbox message `message_id` Slack kept in `channel` (or in the
        thread of `thread_ts`), found by its metadata among the recent messages."""
        try:
            if thread_ts:
                response = await self.call(
                    "conversations.replies",
                    channel,
                    channel=channel,
                    ts=thread_ts,
                    limit=HISTORY_LIMIT,
                    include_all_metadata=True,
                )
            else:
                response = await self.call(
                    "conversations.history",
                    channel,
                    channel=channel,
                    limit=HISTORY_LIMIT,
                    include_all_metadata=True,
                )
        except SlackApiError as error:
            if error.response.status_code >= 500 or error.response.status_code == 429:
                raise
            # The history cannot be read (a scope missing, not in the channel): posting
            # again is the lesser harm than never delivering.
            log.warning(
                "outbox %s: cannot look for an earlier copy in %s (%s); posting it",
                message_id,
                channel,
                error.response.get("error"),
            )
            return None
        for posted in response.get("messages") or []:
            if outbox_id_of(posted) == message_id:
                return Sent(response.get("channel") or channel, posted.get("ts"))
        return None

    # ------------------------------------------------------------------ one call

    async def call(
        self,
        method: str,
        pace_key: str,
        /,
        *,
        before: Callable[[], Awaitable[None]] | None = None,
        **kwargs: Any,
    ) -> Any:
        """One Web API call, paced for (method, channel: `pace_key`); 429s are waited out here (for
        this channel only) up to `inline_wait` seconds, then RateLimited."""
        for _ in range(INLINE_429_TRIES):
            await self.pacer.acquire(method, pace_key)
            if before is not None:
                await before()
            try:
                send = getattr(self._client, method.replace(".", "_"))
                return await send(**_clean(kwargs))
            except SlackApiError as error:
                if error.response.status_code != 429:
                    raise
                retry_after = retry_after_of(error)
                self.pacer.hold(method, pace_key, retry_after)
                if retry_after > self._inline_wait:
                    raise RateLimited(method, retry_after) from None
            except (aiohttp.ClientError, TimeoutError, OSError):
                raise
            except Exception as error:  # slack_sdk could not read the answer
                raise Unreadable(f"{method}: {type(error).__name__}: {error}") from error
        raise RateLimited(method, self.pacer.held_for(method, pace_key))

    async def _request(self, message: OutboxMessage) -> LicenseRequest | None:
        if message.request_id is None:
            return None
        async with self._db.read() as tx:
            return await tx.requests.get(message.request_id)


def _clean(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}
