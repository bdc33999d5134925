"""The `limits` job: over the limit, grace ending and ended, nearly full; once per spell,
across restarts and concurrent runs; resolved in place; delivered after Slack recovers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from alerting import alerts, assign, outbox_pending, revoke, run, run_result, shown
from conftest import ADMIN, ALERTS, START, Bot
from flows import set_pool


async def over_by_one(bot: Bot) -> None:
    """standard agent 11/10 at START: one over, grace until 2026-12-30."""
    await set_pool(bot, "standard agent 10")
    for i in range(11):
        await assign(bot, f"agent{i}@example.com agent standard")


async def test_over_limit_alert_is_posted_once_with_overage_and_grace_end(bot: Bot) -> None:
    await over_by_one(bot)
    sent = await run(bot, "limits")
    assert [m.key for m in sent] == [f"limits:over:pool:standard/agent:{START.isoformat()}"]
    [posted] = alerts(bot)
    text = shown(posted)
    for expected in (
        "standard agent is over its limit",
        "`11/10`",
        "1 over",
        "Grace period until 2026-12-30",
        "/license pool set standard agent",
    ):
        assert expected in text, expected

    bot.clock.advance(hours=1)
    assert await run(bot, "limits") == []
    bot.clock.advance(days=1)
    assert await run(bot, "limits") == []
    assert len(alerts(bot)) == 1


async def test_grace_ending_then_ended_each_once(bot: Bot) -> None:
    await over_by_one(bot)
    await run(bot, "limits")
    bot.clock.advance(days=26)  # 2026-12-26: four days left, no warning yet
    assert await run(bot, "limits") == []
    bot.clock.advance(days=1, hours=1)  # 2026-12-27 13:00: under three days left
    await run(bot, "limits")
    bot.clock.advance(hours=5)
    await run(bot, "limits")
    posted = alerts(bot)
    assert len(posted) == 2
    assert "standard agent grace period ends 2026-12-30" in shown(posted[1])
    assert "2 days left" in shown(posted[1])

    bot.clock.set(START + timedelta(days=30))  # the grace period ended
    await run(bot, "limits")
    await run(bot, "limits")
    posted = alerts(bot)
    assert len(posted) == 3
    assert "grace period ended on 2026-12-30" in shown(posted[2])
    assert "refused now" in shown(posted[2])
    refused = await bot.command("assign late@example.com agent standard", user=ADMIN)
    assert "grace period ended" in refused.text


async def test_back_under_the_limit_updates_the_original_alert_in_place(bot: Bot) -> None:
    await over_by_one(bot)
    await run(bot, "limits")
    [original] = alerts(bot)

    await revoke(bot, "agent0@example.com")
    await revoke(bot, "agent1@example.com")  # 9/10: within seats and under 95 %
    bot.clock.advance(hours=1)
    sent = await run(bot, "limits")
    assert [m.target for m in sent] == ["update"]

    assert len(alerts(bot)) == 1  # nothing re-posted
    [update] = bot.slack.updates(ALERTS)
    assert update["ts"] == original["ts"] and update["channel"] == ALERTS
    assert "Resolved" in shown(update)
    assert "standard agent is back within its 10 seats (9/10)" in shown(update)
    async with bot.db.read() as tx:
        assert await tx.alerts.open(job="limits") == []

    bot.clock.advance(hours=1)
    assert await run(bot, "limits") == []
    assert len(bot.slack.updates(ALERTS)) == 1


async def test_a_new_overage_after_resolution_is_a_new_alert(bot: Bot) -> None:
    await over_by_one(bot)
    await run(bot, "limits")
    await revoke(bot, "agent0@example.com")
    await revoke(bot, "agent1@example.com")
    bot.clock.advance(days=2)
    await run(bot, "limits")
    await assign(bot, "again1@example.com agent standard")
    await assign(bot, "again2@example.com agent standard")
    bot.clock.advance(hours=1)
    await run(bot, "limits")
    posted = alerts(bot)
    assert len(posted) == 2 and "Grace period until 2027-01-01" in shown(posted[1])


async def test_nearly_full_shows_seats_left_once(bot: Bot) -> None:
    await set_pool(bot, "premium agent 20")
    for i in range(19):
        await assign(bot, f"p{i}@example.com agent premium")
    await run(bot, "limits")
    await run(bot, "limits")
    [posted] = alerts(bot)
    assert "premium agent is nearly full" in shown(posted)
    assert "`19/20`" in shown(posted) and "1 seat left" in shown(posted)


async def test_restart_between_runs_posts_nothing_new(make_bot, tmp_path) -> None:  # noqa: ANN001
    first = await make_bot()
    await over_by_one(first)
    await first.command("trial start 2026-11-19", user=ADMIN)  # START is day 12
    await set_pool(first, "premium agent 5")
    first.clock.set(START - timedelta(days=40))
    await assign(first, "<@U07NINA|nina> agent premium")  # idle for 40 days now
    first.clock.set(START)
    sent = await run(first)  # every job
    assert sorted(m.job for m in sent) == ["digest", "inactive", "inactive", "limits", "trial"]
    posted = len(first.slack.calls_to("chat.postMessage"))
    await first.stop()

    second = await make_bot()  # same database file, nothing in memory
    assert await run(second) == []
    second.clock.advance(hours=1)
    assert await run(second) == []
    assert len(second.slack.calls_to("chat.postMessage")) == posted


async def test_two_runs_at_once_on_one_database_deliver_each_alert_once(make_bot) -> None:  # noqa: ANN001
    first = await make_bot()
    await over_by_one(first)
    await set_pool(first, "premium agent 20")
    for i in range(19):
        await assign(first, f"p{i}@example.com agent premium")
    second = await make_bot()  # a second process: its own connection to the same file

    await asyncio.gather(run(first), run(second), run(first, "limits"), run(second, "limits"))

    posted = sorted(m["text"] for m in alerts(first))
    assert len(posted) == 3, posted  # the two limit alerts and the month's digest, once each
    assert "nearly full" in posted[0] and "over its limit" in posted[1]
    assert posted[2] == "License digest 2026-10"  # the last finished month
    assert await outbox_pending(first) == 0


async def test_slack_500_delays_the_alert_until_the_next_run(bot: Bot) -> None:
    await over_by_one(bot)
    bot.slack.fail("chat.postMessage", status=500)  # the outbox retries, not the client
    result = await run_result(bot, "limits")
    assert result.delivery is not None and result.delivery.failed == 1
    assert alerts(bot) == []
    assert await outbox_pending(bot) == 1

    bot.clock.advance(hours=1)
    result = await run_result(bot, "limits")
    assert result.messages == []  # nothing new queued: the same alert goes out
    [posted] = alerts(bot)
    assert "standard agent is over its limit" in shown(posted)
    assert await outbox_pending(bot) == 0
