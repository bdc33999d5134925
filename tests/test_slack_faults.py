"""Slack failing ~30 % of Web API calls at random (429 with Retry-After, 500, and hangs
longer than the client waits): a burst of requests and a jobs run still end with every
card and every alert posted exactly once, after the outbox is flushed."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import aiohttp
from conftest import ADMIN, ALERTS, APPROVALS, MANAGER, NINA, Bot
from flows import card, set_pool
from slow import size

from bot.jobs.runner import execute
from bot.store.outbox import OutboxMessage

CHAOS = 0.3
MAX_FLUSHES = 200  # each flush retries what is still pending; 30 % failures end long before


async def _flush_all(bot: Bot) -> None:
    for _ in range(MAX_FLUSHES):
        await bot.deps.deliverer.flush()  # both lanes (a listener's flush: interactive only)
        async with bot.db.read() as tx:
            if await tx.outbox.pending_count() == 0:
                return
    raise AssertionError(f"the outbox still has messages after {MAX_FLUSHES} flushes")


async def _outbox(bot: Bot) -> list[OutboxMessage]:
    async with bot.db.read() as tx:
        return await tx.outbox.messages()


async def test_a_burst_of_requests_posts_every_card_exactly_once(bot: Bot) -> None:
    await set_pool(bot, "premium agent 1000")
    count = size(20, 200)
    async with _chaos(bot):
        sem = asyncio.Semaphore(10)

        async def file(i: int) -> None:
            async with sem:
                response = await bot.client.slash(
                    f"request chaos{i}@example.com agent premium",
                    MANAGER,
                    response_url=bot.slack.response_url(f"c{i}"),
                )
                assert response.status == 200

        await asyncio.gather(*(file(i) for i in range(count)))
        await bot.settle()
        assert any(c.faulted for c in bot.slack.calls_to("chat.postMessage"))
        await _flush_all(bot)

    async with bot.db.read() as tx:
        requests = await tx.requests.pending()
    assert len(requests) == count  # no filing lost to a lookup Slack did not answer
    for request in requests:
        assert request.card_ts == card(bot.slack, request.id)["ts"]  # card() asserts one


async def test_a_jobs_run_posts_every_alert_exactly_once(bot: Bot) -> None:
    await set_pool(bot, "premium agent 10")
    await set_pool(bot, "standard agent 2")
    for i in range(10):
        await bot.command(f"assign full{i}@example.com agent premium", user=ADMIN)
    for who in ("<@U07NINA|nina>", "over1@example.com", "over2@example.com"):
        reply = await bot.command(f"assign {who} agent standard", user=ADMIN)
        assert "now holds" in reply.text, reply.text
    bot.clock.advance(days=40)  # every holder is now inactive
    bot.slack.reset_calls()

    async with _chaos(bot):
        first = await execute(bot.deps, ["limits", "inactive"])
        assert not first.failed and first.messages
        await _flush_all(bot)
        again = await execute(bot.deps, ["limits", "inactive"])  # same period: nothing new
        await _flush_all(bot)
    assert again.messages == []
    assert any(c.faulted for c in bot.slack.calls)

    rows = [m for m in await _outbox(bot) if m.key and m.target in ("channel", "dm")]
    assert rows and all(m.status == "delivered" for m in rows)
    posted = Counter(
        (m["channel"], m["ts"])
        for m in bot.slack.messages()
        if m["channel"] in (ALERTS, f"D{NINA}")
    )
    assert set(posted.values()) == {1}
    assert set(posted) == {(m.delivered_channel, m.delivered_ts) for m in rows}
    assert any(m.user_id == NINA for m in rows)  # the holder in Slack was asked by DM
    assert all(m["channel"] != APPROVALS for m in bot.slack.messages())


class _chaos:
    """Slack fails CHAOS of the calls inside the block; the client waits 0.5 s at most."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def __aenter__(self) -> None:
        self.original = self.bot.deps.client.session
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.5))
        self.bot.deps.client.session = self.session
        self.bot.slack.chaos(CHAOS, seed=20261130)
        self.bot.deps.deliverer.backoff = lambda attempts: timedelta(0)  # retry at once

    async def __aexit__(self, *exc: object) -> None:
        self.bot.slack.clear_faults()
        self.bot.deps.client.session = self.original
        await self.session.close()
