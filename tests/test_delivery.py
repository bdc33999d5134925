"""The outbox deliverer (issue 9 items 1-4, issue 11 lanes): never lose, never starve,
never post twice after an ambiguous timeout, contain one bad answer, interactive first.

Time is the injected clock (backoff is stored as `next_attempt_at`): nothing sleeps."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from conftest import ADMIN, ALERTS, APPROVALS, MANAGER, NINA, OUTSIDER, START, Bot
from flows import approve, card, cards, dms, file_request, request_row, set_pool, text_of, thread
from test_home import buttons, open_home, shown

from bot.blocks.delivery import RETRY_ACTION
from bot.delivery import METADATA_EVENT, Pacer, Rate, backoff
from bot.store.outbox import Addressed, OutboxMessage

PREMIUM = "<@U07NINA|nina> agent premium"


async def outbox(bot: Bot) -> list[OutboxMessage]:
    async with bot.db.read() as tx:
        return await tx.outbox.messages()


async def message(bot: Bot, message_id: int) -> OutboxMessage:
    async with bot.db.read() as tx:
        found = await tx.outbox.get(message_id)
    assert found is not None
    return found


def posts(bot: Bot) -> int:
    return len(bot.slack.calls_to("chat.postMessage"))


async def queue_alerts(bot: Bot, count: int, channel: str = ALERTS) -> list[int]:
    """Bulk messages as the jobs queue them (a channel alert each)."""
    ids = []
    async with bot.db.transaction() as tx:
        for i in range(count):
            new = await tx.outbox.enqueue(
                "channel",
                "delivery_failed",
                bot.clock.now(),
                channel=channel,
                key=f"bulk:{i}",
                data={"count": 1, "failures": [{"what": "test", "where": "C1", "error": str(i)}]},
            )
            assert new is not None
            ids.append(new)
    return ids


def injected_pacer(bot: Bot, rates: dict[str, Rate] | None = None) -> Pacer:
    """Pacing on the injected clock: a wait moves the clock instead of sleeping."""

    async def sleep(seconds: float) -> None:
        bot.clock.advance(seconds=seconds)

    return Pacer(rates, monotonic=lambda: bot.clock.now().timestamp(), sleep=sleep)


# --- 1. never lose -------------------------------------------------------------------------


def test_backoff_doubles_up_to_five_minutes_and_never_ends() -> None:
    waits = [backoff(n).total_seconds() for n in range(1, 12)]
    assert waits[:4] == [2, 4, 8, 16]
    assert max(waits) == 300 and waits[-1] == 300
    assert backoff(10_000) == timedelta(minutes=5)


@pytest.mark.heavy  # `pytest -m heavy` (CI runs it)
async def test_a_thousand_failed_attempts_then_delivered_exactly_once(bot: Bot) -> None:
    await set_pool(bot, "premium agent 3")
    # Slack is down for 1,000 attempts, failing every transient way it can.
    kinds: list[dict[str, Any]] = [
        {"status": 500},
        {"status": 503, "plain": True},
        {"status": 429, "retry_after": 60},
        {"error": "internal_error"},
        {"reset": True},
    ]
    for i in range(1000):
        bot.slack.fail("chat.postMessage", **kinds[i % len(kinds)])
    request_id = await file_request(bot, PREMIUM)
    [queued] = await outbox(bot)
    bot.deps.deliverer.pacer = injected_pacer(bot)  # Retry-After honoured in injected time

    for attempt in range(1, 1000):
        current = await message(bot, queued.id)
        assert current.status == "pending" and current.attempts == attempt
        assert current.next_attempt_at is not None
        assert current.next_attempt_at - bot.clock.now() <= timedelta(minutes=5)
        if attempt % 97 == 0:  # not due yet: not even tried
            before = posts(bot)
            assert (await bot.deps.deliverer.flush()).failed == 0
            assert posts(bot) == before
        bot.clock.set(current.next_attempt_at)
        report = await bot.deps.deliverer.flush()
        assert report.failed == 1 and report.delivered == 0 and report.ended == 0

    current = await message(bot, queued.id)
    assert current.attempts == 1000 and current.status == "pending"
    bot.clock.set(current.next_attempt_at)  # Slack answers again
    report = await bot.deps.deliverer.flush()
    assert report.delivered == 1
    assert len(cards(bot.slack)) == 1 and card(bot.slack, request_id)
    assert (await request_row(bot, request_id)).card_ts == card(bot.slack, request_id)["ts"]
    bot.clock.advance(hours=1)
    assert (await bot.deps.deliverer.flush()).delivered == 0  # delivered means done
    assert len(cards(bot.slack)) == 1


async def test_a_refused_message_is_kept_shown_alerted_once_and_retried(bot: Bot) -> None:
    await set_pool(bot, "premium agent 3")
    bot.slack.fail("chat.postMessage", error="is_archived")
    request_id = await file_request(bot, PREMIUM)
    assert cards(bot.slack) == []
    [failed] = [m for m in await outbox(bot) if m.target == "card"]
    assert failed.status == "failed" and failed.failure == "permanent"
    assert "is_archived" in (failed.last_error or "")

    await bot.deps.deliverer.flush()  # the scheduler's delivery: the alert goes out
    alerts = bot.slack.messages(ALERTS)
    assert len(alerts) == 1
    assert "could not be delivered" in text_of(alerts[0])
    assert "request card" in text_of(alerts[0]) and "is_archived" in text_of(alerts[0])
    await bot.deps.deliverer.flush()
    bot.clock.advance(hours=1)
    await bot.deps.deliverer.flush()
    assert len(bot.slack.messages(ALERTS)) == 1  # told once
    assert cards(bot.slack) == []  # and not retried on its own

    view = await open_home(bot, ADMIN)
    assert "Messages not delivered (1)" in shown(view) and "is_archived" in shown(view)
    assert buttons(view, RETRY_ACTION) == [str(failed.id)]

    # Not an admin: nothing happens.
    await bot.client.block_action(OUTSIDER, RETRY_ACTION, str(failed.id), view=view)
    await bot.settle()
    assert (await message(bot, failed.id)).status == "failed"

    # The channel is unarchived; the admin clicks Retry.
    await bot.client.block_action(ADMIN, RETRY_ACTION, str(failed.id), view=view)
    await bot.settle()
    assert (await message(bot, failed.id)).status == "delivered"
    posted = card(bot.slack, request_id)
    assert (await request_row(bot, request_id)).card_ts == posted["ts"]
    assert "Messages not delivered" not in shown(await open_home(bot, ADMIN))
    async with bot.db.read() as tx:
        assert "delivery.retried" in [e.action for e in await tx.audit.recent(limit=10)]


# --- 2. no starvation, gone recipients -------------------------------------------------------


async def test_failing_messages_not_due_never_stand_before_a_new_card(bot: Bot) -> None:
    await set_pool(bot, "premium agent 400")
    people = [f"U0GONE{i:03d}" for i in range(40)]
    async with bot.db.transaction() as tx:
        for person in people:
            await tx.outbox.enqueue(
                "dm",
                "delivery_failed",
                bot.clock.now(),
                user_id=person,
                data={"count": 0, "failures": []},
            )
    bot.slack.fail("conversations.open", status=500, times=len(people))
    first = await bot.deps.deliverer.flush()
    assert first.failed == len(people)  # each tried once, then backing off

    opened = len(bot.slack.calls_to("conversations.open"))
    request_id = await file_request(bot, PREMIUM)  # a new card behind 40 failing DMs
    assert card(bot.slack, request_id)
    assert len(bot.slack.calls_to("conversations.open")) == opened  # none was due

    async with bot.db.transaction() as tx:  # due order: the new one first
        claimed = await tx.outbox.claim(bot.clock.now() + timedelta(minutes=10), 5)
    assert all(m.user_id in people for m in claimed)


async def test_claim_takes_interactive_then_due_order_and_skips_what_is_not_due(bot: Bot) -> None:
    at = bot.clock.now()
    async with bot.db.transaction() as tx:
        bulk = await tx.outbox.enqueue("channel", "t", at, channel=ALERTS)
        later = await tx.outbox.enqueue("dm", "t", at, user_id=NINA)
        await tx.outbox.release(later, "boom", retry_at=at + timedelta(seconds=30))
        dm = await tx.outbox.enqueue("dm", "t", at, user_id=MANAGER)
        assert [m.id for m in await tx.outbox.claim(at, 10)] == [dm, bulk]
    async with bot.db.transaction() as tx:
        soon = at + timedelta(seconds=40)  # the others are still leased
        assert [m.id for m in await tx.outbox.claim(soon, 10)] == [later]


async def test_a_claim_leases_only_what_its_caller_accepts(bot: Bot) -> None:
    at = bot.clock.now()
    async with bot.db.transaction() as tx:
        first = await tx.outbox.enqueue("channel", "t", at, channel="C1", key="a")
        other = await tx.outbox.enqueue("channel", "t", at, channel="C2", key="b")
        second = await tx.outbox.enqueue("channel", "t", at, channel="C1", key="c")
        dm = await tx.outbox.enqueue("dm", "t", at, user_id=MANAGER)
    seen: list[tuple[int, str | None, str | None]] = []

    def only_c1(message: Addressed) -> bool:
        seen.append((message.id, message.channel, message.user_id))
        return message.channel == "C1"

    async with bot.db.transaction() as tx:
        claimed = await tx.outbox.claim(at, 10, accept=only_c1)
    assert [m.id for m in claimed] == [first, second] and claimed[0].template == "t"
    # every due message offered, in claim order (interactive first), only where it goes
    assert seen == [(dm, None, MANAGER), (first, "C1", None), (other, "C2", None),
                    (second, "C1", None)]  # fmt: skip
    leased = {m.id for m in await outbox(bot) if m.lease_owner}
    assert leased == {first, second}  # the others were neither leased nor given back
    async with bot.db.transaction() as tx:
        assert [m.id for m in await tx.outbox.claim(at, 10)] == [dm, other]


async def test_a_gone_recipient_ends_the_dm_at_once_and_the_rest_goes_out(bot: Bot) -> None:
    await set_pool(bot, "premium agent 3")
    request_id = await file_request(bot, PREMIUM)
    bot.slack.fail("conversations.open", error="user_not_found")  # the manager left Slack
    await approve(bot, request_id)
    posted = card(bot.slack, request_id)
    assert len(thread(bot.slack, posted)) == 1 and bot.slack.updates(APPROVALS)
    assert dms(bot.slack, MANAGER) == []
    [dm] = [m for m in await outbox(bot) if m.target == "dm"]
    assert dm.status == "failed" and dm.failure == "gone" and dm.attempts == 1

    opened = len(bot.slack.calls_to("conversations.open"))
    bot.clock.advance(days=1)
    report = await bot.deps.deliverer.flush()
    assert report.failed == report.gone == 0
    assert len(bot.slack.calls_to("conversations.open")) == opened  # never tried again
    assert bot.slack.messages(ALERTS) == []  # nothing anyone can fix: no alert
    view = await open_home(bot, ADMIN)
    assert "left Slack" in shown(view) and buttons(view, RETRY_ACTION) == []


async def queue_dm(bot: Bot, user: str) -> int:
    async with bot.db.transaction() as tx:
        new = await tx.outbox.enqueue(
            "dm", "delivery_failed", bot.clock.now(), user_id=user, data={"count": 0}
        )
    assert new is not None
    return new


def opened_for(bot: Bot, user: str) -> int:
    return len([c for c in bot.slack.calls_to("conversations.open") if c.args["users"] == user])


async def test_a_persons_dm_channel_is_opened_once_not_before_each_dm(bot: Bot) -> None:
    await set_pool(bot, "premium agent 3")
    first = await file_request(bot, PREMIUM)
    second = await file_request(bot, "<@U0OUTSIDER|otto> agent premium")
    await approve(bot, first)
    await approve(bot, second)
    told = [m["text"] for m in dms(bot.slack, MANAGER)]
    assert any(f"#{first}" in t for t in told) and any(f"#{second}" in t for t in told)
    assert opened_for(bot, MANAGER) == 1  # conversations.open is Tier 3: once per person


async def test_the_listeners_and_the_outbox_share_a_persons_dm_channel(bot: Bot) -> None:
    await set_pool(bot, "premium agent 3")
    await bot.command("request", user=MANAGER)  # the modal: its outcome is DMed
    values = {
        "hire_user": {"value": {"type": "users_select", "selected_user": NINA}},
        "seat_type": {"value": {"type": "static_select", "selected_option": {"value": "agent"}}},
        "edition": {"value": {"type": "static_select", "selected_option": {"value": "premium"}}},
    }
    response = await bot.submit(MANAGER, "license_request", values)
    assert response.status == 200
    [posted] = cards(bot.slack)
    request_id = int(text_of(posted).split("#")[1].split(":")[0])
    await approve(bot, request_id)
    told = [m["text"] for m in dms(bot.slack, MANAGER)]
    assert any("Filed request" in t for t in told) and any(f"#{request_id}" in t for t in told)
    assert len(told) >= 2 and opened_for(bot, MANAGER) == 1


async def test_a_dm_channel_slack_no_longer_knows_is_opened_again(bot: Bot) -> None:
    await queue_dm(bot, MANAGER)
    await bot.deps.deliverer.flush()
    assert opened_for(bot, MANAGER) == 1 and len(dms(bot.slack, MANAGER)) == 1
    bot.slack.fail("chat.postMessage", error="channel_not_found")
    await queue_dm(bot, MANAGER)
    report = await bot.deps.deliverer.flush()
    # refused in the remembered channel, then opened anew and sent in the same attempt
    assert report.delivered == 1 and report.failed == report.ended == 0
    assert opened_for(bot, MANAGER) == 2 and len(dms(bot.slack, MANAGER)) == 2


async def test_a_person_who_left_after_a_dm_is_gone_not_a_failure(bot: Bot) -> None:
    await queue_dm(bot, MANAGER)
    await bot.deps.deliverer.flush()
    # Deactivated: the remembered DM channel is archived and the person cannot be found.
    bot.slack.fail("chat.postMessage", error="is_archived")
    bot.slack.fail("conversations.open", error="user_not_found")
    gone = await queue_dm(bot, MANAGER)
    report = await bot.deps.deliverer.flush()
    assert report.gone == 1 and report.ended == 0  # as for a DM never sent before
    assert (await message(bot, gone)).failure == "gone"
    assert bot.slack.messages(ALERTS) == []  # nothing anyone can fix: no alert


# --- 3. the ambiguous timeout --------------------------------------------------------------


async def test_a_card_slack_kept_after_a_dropped_answer_is_adopted_not_posted_again(
    bot: Bot,
) -> None:
    await set_pool(bot, "premium agent 3")
    bot.slack.fail("chat.postMessage", accepted=True, reset=True)
    request_id = await file_request(bot, PREMIUM)
    kept = card(bot.slack, request_id)  # Slack stored it; the bot never saw the answer
    assert kept["metadata"]["event_type"] == METADATA_EVENT
    [queued] = await outbox(bot)
    assert kept["metadata"]["event_payload"]["outbox_id"] == queued.id
    assert queued.status == "pending" and queued.post_started_at is not None

    bot.clock.advance(minutes=5)
    assert (await bot.deps.deliverer.flush()).delivered == 1
    history = bot.slack.calls_to("conversations.history")
    assert history and history[-1].args.get("include_all_metadata") in ("1", 1, True, "true")
    assert card(bot.slack, request_id)["ts"] == kept["ts"]  # still one card
    assert (await request_row(bot, request_id)).card_ts == kept["ts"]

    await approve(bot, request_id)  # the one card is updated and its thread works
    assert [u["ts"] for u in bot.slack.updates(APPROVALS)] == [kept["ts"]]
    assert len(thread(bot.slack, kept)) == 1


async def test_a_reply_or_dm_kept_after_a_dropped_answer_is_found_not_posted_again(
    bot: Bot,
) -> None:
    await set_pool(bot, "premium agent 3")
    request_id = await file_request(bot, PREMIUM)
    posted = card(bot.slack, request_id)
    bot.slack.fail("chat.postMessage", accepted=True, reset=True)  # the reply or the DM
    await approve(bot, request_id)
    assert len(thread(bot.slack, posted)) == 1 and len(dms(bot.slack, MANAGER)) == 1
    assert any(m.status == "pending" for m in await outbox(bot))
    bot.clock.advance(minutes=5)
    assert (await bot.deps.deliverer.flush()).delivered == 1
    looked = bot.slack.calls_to("conversations.replies") + bot.slack.calls_to(
        "conversations.history"
    )
    assert looked
    assert len(thread(bot.slack, posted)) == 1 and len(dms(bot.slack, MANAGER)) == 1
    assert all(m.status == "delivered" for m in await outbox(bot))


async def test_a_post_that_never_reached_slack_is_posted_after_looking(bot: Bot) -> None:
    await set_pool(bot, "premium agent 3")
    bot.slack.fail("chat.postMessage", reset=True)  # dropped before Slack kept anything
    request_id = await file_request(bot, PREMIUM)
    assert cards(bot.slack) == []
    bot.clock.advance(minutes=5)
    assert (await bot.deps.deliverer.flush()).delivered == 1
    assert bot.slack.calls_to("conversations.history")
    assert card(bot.slack, request_id)


# --- 4. containment ------------------------------------------------------------------------


async def test_a_plain_text_500_fails_that_message_only(bot: Bot) -> None:
    await set_pool(bot, "premium agent 3")
    await queue_alerts(bot, 3)
    bot.slack.fail("chat.postMessage", status=500, plain=True)
    report = await bot.deps.deliverer.flush()
    assert report.delivered == 2 and report.failed == 1
    assert "500" in report.errors[0] or "unreadable" in report.errors[0]
    [left] = [m for m in await outbox(bot) if m.status == "pending"]
    assert left.post_started_at is not None  # ambiguous: looked for before posting again
    bot.clock.advance(minutes=1)
    assert (await bot.deps.deliverer.flush()).delivered == 1
    assert len(bot.slack.messages(ALERTS)) == 3


# --- 5. lanes ------------------------------------------------------------------------------


async def test_a_card_goes_out_at_once_while_a_backlog_of_alerts_is_delivered(bot: Bot) -> None:
    await set_pool(bot, "premium agent 3")
    await queue_alerts(bot, 200)
    # Slack's pace of one post a second per channel, on a clock that moves only when the
    # pacer waits, and a wait that lasts until the card is out: the backlog posts its
    # first alert, then waits its turn in #alerts, as it would for a second in `serve`.
    now = [0.0]
    card_out = asyncio.Event()

    async def wait_turn(seconds: float) -> None:
        await card_out.wait()
        now[0] += seconds

    bot.deps.deliverer.pacer = Pacer(
        {"chat.postMessage": Rate(1.0, burst=1)}, monotonic=lambda: now[0], sleep=wait_turn
    )
    backlog = asyncio.ensure_future(bot.deps.deliverer.flush())  # as `serve` starts it
    await bot.slack.wait_for("chat.postMessage", lambda c: c.args.get("channel") == ALERTS)
    # its listener delivers the card; were the card behind the alerts it would wait for
    # ever on the held pace: bounded, so the test fails instead of hanging
    request_id = await asyncio.wait_for(file_request(bot, PREMIUM), 30)
    assert card(bot.slack, request_id)
    assert len(bot.slack.messages(ALERTS)) == 1  # the card did not wait behind the alerts
    bot.deps.deliverer.stop()  # as `serve` stops it: after the message in flight
    card_out.set()
    await backlog
    async with bot.db.read() as tx:
        assert not [m for m in await tx.outbox.messages() if m.lease_owner]  # all given back
    async with bot.db.transaction() as tx:  # due order: interactive before bulk
        await tx.outbox.enqueue("dm", "t", bot.clock.now() + timedelta(seconds=1), user_id=MANAGER)
        first = await tx.outbox.claim(bot.clock.now() + timedelta(minutes=2), 1)
    assert first[0].target == "dm"


async def test_scheduled_delivery_sends_bulk_and_paces_per_channel(bot: Bot) -> None:
    await queue_alerts(bot, 3, channel=ALERTS)
    await queue_alerts_in(bot, 3, "C0OTHER")
    now = [0.0]
    granted: dict[str, list[float]] = {ALERTS: [], "C0OTHER": []}

    async def sleep(seconds: float) -> None:
        # A wait ends `seconds` after it began; waits of two channels at once overlap.
        began = now[0]
        await asyncio.sleep(0)  # as a real wait, it lets the other channel's worker run
        now[0] = max(now[0], began + seconds)

    class Recorded(Pacer):
        async def acquire(self, method: str, channel: str) -> None:
            await super().acquire(method, channel)
            granted[channel].append(now[0])

    bot.deps.deliverer.pacer = Recorded(
        {"chat.postMessage": Rate(1.0, burst=1)}, monotonic=lambda: now[0], sleep=sleep
    )
    report = await bot.deps.deliverer.flush()
    assert report.delivered == 6
    assert len(bot.slack.messages(ALERTS)) == 3 and len(bot.slack.messages("C0OTHER")) == 3
    # One post a second in each channel ...
    for times in granted.values():
        assert len(times) == 3 and all(b - a >= 1.0 for a, b in pairwise(times))
    # ... and the channels paced side by side: however the two workers interleave, at most
    # 4 s on the clock (2 s when they overlap fully); one pace for both would take 5 s.
    assert 2.0 <= now[0] <= 4.0


async def queue_alerts_in(bot: Bot, count: int, channel: str) -> None:
    async with bot.db.transaction() as tx:
        for i in range(count):
            await tx.outbox.enqueue(
                "channel",
                "delivery_failed",
                bot.clock.now(),
                channel=channel,
                key=f"bulk:{channel}:{i}",
                data={"count": 0, "failures": []},
            )


def test_start_is_a_fixed_instant() -> None:
    assert START.tzinfo is not None and APPROVALS and MANAGER
