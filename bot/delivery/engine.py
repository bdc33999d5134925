"""The outbox deliverer: claims due messages, sends each through its target, records the
outcome. Nothing is ever dropped silently.

- Lanes: interactive messages (cards, thread replies, DMs, updates) are claimed before
  bulk ones (channel alerts, digests); a listener's delivery claims only interactive
  ones, so a card never waits behind a burst of alerts.
- Destinations: messages for one destination (a channel, a person's DM) go out one at a
  time, in order; destinations are served concurrently, each paced on its own (Pacer).
- Outcomes (outcomes.classify): transient failures are retried with exponential backoff
  (capped at 5 minutes, forever; `next_attempt_at`, and a message not due is never
  claimed); permanent ones end the message as failed, kept and shown to admins (App Home,
  with Retry; one alert in the alerts channel per run); a gone recipient ends it at once.
  Any failure is contained to its message: the run goes on.
- Ambiguous posts: see bot.delivery.slack (message metadata + history).

Targets: `Deliverer.targets` maps each OutboxTarget to a handler (an async function of an
Attempt returning Sent). Slack's are in bot.delivery.slack, the App Home's (`home`,
views.publish of a Home built when delivered) in bot.delivery.home (`serve_homes`); a
second system (Genesys provisioning) adds its member to OutboxTarget and its handler with
`add_target`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.delivery.home import HomeSource, HomeTarget, home_destination
from bot.delivery.outcomes import Kind, NotReady, Outcome, backoff, classify
from bot.delivery.pacing import Pacer
from bot.delivery.slack import Attempt, Handler, Sent, SlackTarget
from bot.licensing.messages import DeliveryFailed, FailedItem, MessageKind
from bot.metrics import delivery_failed
from bot.services.ledger import Rules
from bot.slack import DmChannels
from bot.store.db import Database
from bot.store.outbox import Addressable, Failure, Lane, OutboxMessage, OutboxTarget

log = logging.getLogger(__name__)

# Waiting on another message (or on Genesys): due again at once, behind older ones.
NOT_READY_WAIT = timedelta(0)
PER_DESTINATION = 20  # messages of one destination sent per pass (the rest wait their turn)
FAILED_ALERT_TEMPLATE = MessageKind.DELIVERY_FAILED


class Superseded(Exception):
    """The message was delivered or taken over by another process meanwhile."""


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0  # transient: not delivered yet, still queued (retried with backoff)
    waiting: int = 0  # waiting for another message (a reply for its card)
    ended: int = 0  # permanent failures: kept as failed, shown to admins
    gone: int = 0  # recipients who left Slack: ended, recorded
    errors: list[str] = field(default_factory=list)  # transient, one per failure
    ended_errors: list[str] = field(default_factory=list)  # permanent
    gone_errors: list[str] = field(default_factory=list)

    def merge(self, other: DeliveryReport) -> None:
        self.delivered += other.delivered
        self.failed += other.failed
        self.waiting += other.waiting
        self.ended += other.ended
        self.gone += other.gone
        self.errors += other.errors
        self.ended_errors += other.ended_errors
        self.gone_errors += other.gone_errors


@dataclass
class _Attempt:
    message: OutboxMessage
    deliverer: Deliverer

    async def fence(self, *, posting: bool = False) -> None:
        async with self.deliverer._db.transaction() as tx:
            held = await tx.outbox.fence(
                self.message.id, self.deliverer._clock.now(), posting=posting
            )
        if not held:
            raise Superseded(f"outbox {self.message.id} was taken over")

    async def not_posted(self) -> None:
        async with self.deliverer._db.transaction() as tx:
            await tx.outbox.not_posted(self.message.id)


class _OutboxClient(AsyncWebClient):
    """The shared client (its session, token, base URL and timeout, read through on every
    call) without slack_sdk's retry handlers: a post retried after a dropped connection
    could post twice, and a 429 slept out inside the client would hold the whole batch.
    The outbox retries instead."""

    def __init__(self, shared: AsyncWebClient) -> None:
        self.__dict__.update(shared.__dict__)
        self._shared = shared
        self.retry_handlers = []

    @property
    def session(self) -> Any:
        return self._shared.session

    @session.setter
    def session(self, value: Any) -> None:
        pass  # always the shared one

    @property
    def token(self) -> Any:
        return self._shared.token

    @token.setter
    def token(self, value: Any) -> None:
        pass


def delivery_client(client: AsyncWebClient) -> AsyncWebClient:
    return _OutboxClient(client)


class _Flush:
    """The state of one flush: a queue and a worker per destination."""

    def __init__(self, deliverer: Deliverer, report: DeliveryReport) -> None:
        self.deliverer = deliverer
        self.report = report
        self.queues: dict[str, deque[OutboxMessage]] = {}
        self.workers: dict[str, asyncio.Task[None]] = {}
        self.tried: set[int] = set()  # done with for this flush
        self.waited: set[int] = set()  # waited on another message once: one more look
        self.changed = asyncio.Event()
        self._reserved: Counter[str] = Counter()  # accepted in the claim under way
        self.seen = 0  # due messages the last claim looked at

    def wants(self, message: Addressable) -> bool:
        """During a claim: lease this one? Not when this process holds it already, this
        flush has tried it, or its destination's queue is full; it then stays free in the
        store for whoever has room (a claim used to lease it and give it back)."""
        self.seen += 1
        if message.id in self.deliverer._held or message.id in self.tried:
            return False
        destination = self.deliverer.destination(message)
        queued = len(self.queues.get(destination, ())) + self._reserved[destination]
        if queued >= PER_DESTINATION:
            return False
        self._reserved[destination] += 1
        return True

    def take(self, claimed: list[OutboxMessage]) -> None:
        """Queue what the claim leased (`wants` chose it, so its queue has room)."""
        self._reserved.clear()
        for message in claimed:
            self.queues.setdefault(self.deliverer.destination(message), deque()).append(message)
            self.deliverer._held.add(message.id)

    def start_workers(self) -> None:
        # Oldest first: messages queued together go out in the order they were queued
        # (lanes decide what is claimed first; destinations then run side by side).
        ordered = sorted(self.queues.items(), key=lambda item: item[1][0].id if item[1] else 0)
        for destination, queue in ordered:
            worker = self.workers.get(destination)
            if queue and (worker is None or worker.done()):
                self.workers[destination] = asyncio.ensure_future(self._work(destination, queue))

    def busy(self) -> bool:
        return any(not w.done() for w in self.workers.values())

    async def room(self) -> None:
        self.changed.clear()
        if self.busy():
            await self.changed.wait()

    def cancel(self) -> None:
        for worker in self.workers.values():
            worker.cancel()

    async def finish(self) -> None:
        while self.busy():
            await asyncio.gather(*self.workers.values(), return_exceptions=True)

    async def _work(self, destination: str, queue: deque[OutboxMessage]) -> None:
        deliverer = self.deliverer
        lock = deliverer._locks.setdefault(destination, asyncio.Lock())
        try:
            async with deliverer._concurrency:
                while queue and not deliverer.stopping:
                    message = queue.popleft()
                    waiting = False
                    try:
                        async with lock:
                            waiting = await deliverer._deliver_one(message, self.report)
                    finally:
                        deliverer._held.discard(message.id)
                        if waiting and message.id not in self.waited:
                            self.waited.add(message.id)  # what it waits for may come now
                        else:
                            self.tried.add(message.id)
                    if len(queue) <= PER_DESTINATION // 2:
                        self.changed.set()
        finally:
            self.changed.set()


class Deliverer:
    def __init__(
        self,
        db: Database,
        client: AsyncWebClient,
        clock: Clock,
        rules: Rules,
        approvals_channel: str,
        *,
        alerts_channel: str | None = None,
        pacer: Pacer | None = None,
        backoff: Callable[[int], timedelta] = backoff,
        inline_wait: float = 30.0,
        concurrency: int = 32,
        dm_channels: DmChannels | None = None,
    ) -> None:
        self._db = db
        self._client = delivery_client(client)
        self._clock = clock
        self._alerts_channel = alerts_channel
        self._pacer = pacer or Pacer()
        self.backoff = backoff
        self._concurrency = asyncio.Semaphore(concurrency)
        self.slack = SlackTarget(
            db,
            self._client,
            clock,
            rules,
            approvals_channel,
            self._pacer,
            inline_wait=inline_wait,
            dm_channels=dm_channels,
        )
        # The one dispatch point: each target's handler (and, for non-Slack ones, which
        # messages must go one at a time). A new system adds its OutboxTarget member here.
        self.targets: dict[str, Handler] = {str(k): v for k, v in self.slack.handlers().items()}
        self.targets[OutboxTarget.GENESYS] = self._genesys_step
        # Targets whose handler renews the lease itself just before each call it makes (the
        # fence that matters); the others are fenced once before their handler runs.
        self._fencing: set[str] = {str(k) for k in self.slack.handlers()}
        self._destinations: dict[str, Callable[[Addressable], str]] = {
            OutboxTarget.GENESYS: lambda message: "genesys",  # in order, one at a time
        }
        self._genesys: Any = None
        self._held: set[int] = set()  # claimed by a flush of this process, not done yet
        self._bulk_flushes = 0  # flushes of this process sending bulk messages now
        self.stopping = False
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def genesys(self) -> Any:
        """The Genesys Cloud provisioner (bot.genesys.provision.Provisioner), or None:
        ledger-only mode, where `genesys` messages are done without a call."""
        return self._genesys

    @genesys.setter
    def genesys(self, provisioner: Any) -> None:
        self._genesys = provisioner
        self.slack.card_hook = provisioner.on_card if provisioner is not None else None

    async def _genesys_step(self, attempt: Attempt) -> Sent:
        if self._genesys is None:
            return Sent(None, None)
        channel, ts = await self._genesys.deliver(attempt.message)
        return Sent(channel, ts)

    @property
    def pacer(self) -> Pacer:
        return self._pacer

    @pacer.setter
    def pacer(self, pacer: Pacer) -> None:
        """Swap the pacing (tests and benchmarks inject its clock and sleep)."""
        self._pacer = pacer
        self.slack.pacer = pacer

    def serve_homes(self, source: HomeSource) -> None:
        """Deliver `home` messages (App Home refreshes) built from `source`."""
        self.add_target(
            OutboxTarget.HOME,
            HomeTarget(self.slack, source).deliver,
            lambda message: home_destination(message.user_id),
            fences=True,
        )

    def add_target(
        self,
        target: OutboxTarget | str,
        handler: Handler,
        destination: Callable[[Addressable], str] | None = None,
        *,
        fences: bool = False,
    ) -> None:
        """Deliver messages of `target` with `handler` (messages with one `destination`
        go one at a time, in order; default: one destination for the whole target).
        `fences`: the handler calls `attempt.fence()` just before each call it makes, so
        the deliverer need not fence (a store write) before it runs."""
        self.targets[str(target)] = handler
        if destination is not None:
            self._destinations[str(target)] = destination
        if fences:
            self._fencing.add(str(target))
        else:
            self._fencing.discard(str(target))

    def destination(self, message: Addressable) -> str:
        custom = self._destinations.get(message.target)
        if custom is not None:
            return custom(message)
        if message.target in self.slack.handlers():
            return self.slack.destination(message)
        return f"target:{message.target}"

    # ------------------------------------------------------------------ flushing

    async def flush(
        self, batch: int = 100, *, lanes: tuple[Lane, ...] | None = None
    ) -> DeliveryReport:
        """Deliver what is due now (in `lanes`, default all) and return what happened.

        One worker per destination sends its messages in order, paced on its own; the
        flush keeps claiming as the workers drain their queues (no barrier between
        batches, so one rate-limited channel never idles the others). Each message is
        tried at most once per flush. Safe to run concurrently (leases, and one message
        per destination at a time)."""
        run = _Flush(self, DeliveryReport())
        bulk = lanes is None or Lane.BULK in lanes
        self._bulk_flushes += bulk
        try:
            while not self.stopping:
                run.seen = 0
                async with self._db.transaction() as tx:
                    claimed = await tx.outbox.claim(
                        self._clock.now(), batch, lanes=lanes, accept=run.wants
                    )
                run.take(claimed)
                if claimed:
                    run.start_workers()
                if run.seen < batch and len(claimed) == run.seen:
                    await run.finish()  # everything due was taken: drain, then look again
                    if not claimed:
                        break
                    continue
                if not run.busy():
                    if not claimed:
                        break
                    continue
                await run.room()  # a queue has room again (or a worker ended)
        except BaseException:
            run.cancel()  # stopping (serve shuts down): leases stay, taken back on restart
            raise
        finally:
            self._bulk_flushes -= bulk
        if self.stopping:
            await run.finish()
            left = [m for queue in run.queues.values() for m in queue]
            if left:  # not sent: back to the queue for whoever runs next
                await self._give_back(left)
                self._held.difference_update(m.id for m in left)
            return run.report
        if run.report.ended and await self._tell_admins():
            if lanes is None or Lane.BULK in lanes:  # the alert goes out with this run
                run.report.merge(await self.flush(batch, lanes=(Lane.BULK,)))
        return run.report

    def stop(self) -> None:
        """Shutting down: every flush ends after the message it is sending (never in the
        middle of a store write, as cancelling it could), giving back what it held."""
        self.stopping = True

    async def deliver_interactive(self) -> DeliveryReport:
        """Cards, replies, DMs and updates only."""
        return await self.flush(lanes=(Lane.INTERACTIVE,))

    async def bulk_after_change(self) -> DeliveryReport:
        """The bulk messages a change caused, unless a flush of this process is sending
        bulk already (it takes them)."""
        if self._bulk_flushes:
            return DeliveryReport()
        return await self.flush(lanes=(Lane.BULK,))

    async def _give_back(self, messages: list[OutboxMessage]) -> None:
        """Not an attempt: their turn comes with a later claim."""
        async with self._db.transaction() as tx:
            await tx.outbox.give_back([message.id for message in messages])

    async def _deliver_one(self, message: OutboxMessage, report: DeliveryReport) -> bool:
        """Send one message and record the outcome; True when it waits on another."""
        handler = self.targets.get(message.target)
        try:
            if handler is None:
                raise LookupError(f"unknown outbox target {message.target!r}")
            attempt = _Attempt(message, self)
            if message.target not in self._fencing:
                await attempt.fence()
            sent = await handler(attempt)
        except Superseded:
            return False
        except NotReady as waiting:
            report.waiting += 1
            async with self._db.transaction() as tx:
                await tx.outbox.release(
                    message.id,
                    str(waiting),
                    retry_at=self._clock.now() + NOT_READY_WAIT,
                    count_attempt=False,
                )
            return True
        except Exception as error:  # contained: one message's failure never stops the run
            await self._failed(message, classify(error), report)
            return False
        report.delivered += 1
        async with self._db.transaction() as tx:
            await tx.outbox.delivered(message.id, self._clock.now(), sent.channel, sent.ts)
            request_id = message.request_id
            if message.target == OutboxTarget.CARD and request_id and sent.channel and sent.ts:
                await tx.requests.set_card(request_id, sent.channel, sent.ts)
                await tx.requests.add_card(request_id, sent.channel, sent.ts, self._clock.now())
        return False

    async def _failed(
        self, message: OutboxMessage, outcome: Outcome, report: DeliveryReport
    ) -> None:
        now = self._clock.now()
        delivery_failed(outcome.detail)
        if outcome.kind is Kind.TRANSIENT:
            report.failed += 1
            report.errors.append(outcome.detail)
            wait = self.backoff(message.attempts + 1)
            if outcome.retry_after is not None:
                wait = max(wait, timedelta(seconds=outcome.retry_after))
            log.warning(
                "outbox %s (%s) not delivered, retried in %ss: %s",
                message.id,
                message.template,
                int(wait.total_seconds()),
                outcome.detail,
            )
            async with self._db.transaction() as tx:
                await tx.outbox.release(message.id, outcome.detail, retry_at=now + wait)
            return
        failure = Failure.GONE if outcome.kind is Kind.GONE else Failure.PERMANENT
        if failure is Failure.GONE:
            report.gone += 1
            report.gone_errors.append(outcome.detail)
        else:
            report.ended += 1
            report.ended_errors.append(outcome.detail)
        log.error(
            "outbox %s (%s to %s) cannot be delivered (%s): kept as failed for admins",
            message.id,
            message.template,
            message.channel or message.user_id or message.target,
            outcome.detail,
        )
        async with self._db.transaction() as tx:
            await tx.outbox.fail(message.id, outcome.detail, failure, now)

    async def _tell_admins(self) -> bool:
        """One alert in the alerts channel for the messages that failed for good since the
        last one (never for a failed alert of this kind, nor for gone recipients, which the
        App Home lists)."""
        if not self._alerts_channel:
            return False
        now = self._clock.now()
        async with self._db.transaction() as tx:
            fresh = [
                m
                for m in await tx.outbox.failed(limit=200)
                if m.notified_at is None
                and m.failure == Failure.PERMANENT
                and m.template != FAILED_ALERT_TEMPLATE
            ]
            if not fresh:
                return False
            for message in fresh:
                await tx.outbox.mark_notified(message.id, now)
            await tx.outbox.enqueue(
                OutboxTarget.CHANNEL,
                FAILED_ALERT_TEMPLATE,
                now,
                channel=self._alerts_channel,
                key=f"delivery:failed:{min(m.id for m in fresh)}:{max(m.id for m in fresh)}:"
                f"{now.isoformat()}",
                data=DeliveryFailed(
                    count=len(fresh),
                    failures=tuple(
                        FailedItem(
                            id=m.id,
                            what=m.template,
                            where=m.channel or m.user_id or "",
                            error=m.last_error or "",
                        )
                        for m in fresh[:10]
                    ),
                ),
            )
        return True


__all__ = ["Deliverer", "DeliveryReport", "NotReady", "Sent", "Superseded", "delivery_client"]
