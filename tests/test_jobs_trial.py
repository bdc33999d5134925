"""The trial: `/license trial start|convert|status`, the day-12 reminder and the expiry
alert on their days only, nothing once converted, and the trial seat cap."""

from __future__ import annotations

from datetime import timedelta

from alerting import alerts, assign, run, shown
from conftest import ADMIN, ALERTS, MANAGER, START, Bot

# START (2026-11-30 12:00 UTC) is day 11 of a trial that started 2026-11-20.
TRIAL_START = "2026-11-20"
DAY = timedelta(days=1)


async def start_trial(bot: Bot, start: str = TRIAL_START) -> str:
    reply = await bot.command(f"trial start {start}", user=ADMIN)
    assert "The trial starts" in reply.text, reply.text
    return reply.text


async def test_reminder_on_day_12_only_and_expiry_after_the_last_day(bot: Bot) -> None:
    text = await start_trial(bot)
    assert "until 2026-12-03" in text and "at most 50 active seats" in text

    assert await run(bot, "trial") == []  # day 11
    assert alerts(bot) == []

    bot.clock.advance(days=1)  # day 12
    sent = await run(bot, "trial")
    assert [m.key for m in sent] == ["trial:reminder:trial:2026-11-20"]
    [reminder] = alerts(bot)
    assert "2 days left: convert to a paid plan before day 14" in shown(reminder)

    assert await run(bot, "trial") == []  # day 12 again
    bot.clock.advance(hours=6)
    assert await run(bot, "trial") == []
    bot.clock.advance(days=1)  # day 13: one reminder per trial
    assert await run(bot, "trial") == []
    bot.clock.advance(days=1)  # day 14, the last day
    assert await run(bot, "trial") == []
    assert len(alerts(bot)) == 1

    bot.clock.set(START + 4 * DAY)  # day 15
    sent = await run(bot, "trial")
    assert [m.key for m in sent] == ["trial:expired:trial:2026-11-20"]
    expired = alerts(bot)[-1]
    assert "The trial expired" in shown(expired) and "2026-12-03" in shown(expired)
    bot.clock.advance(days=1)
    assert await run(bot, "trial") == []
    assert len(alerts(bot)) == 2

    status = await bot.command("trial status", user=ADMIN)
    assert "expired" in status.text


async def test_converted_trial_gets_no_alerts_and_its_reminder_is_resolved(bot: Bot) -> None:
    await start_trial(bot)
    bot.clock.advance(days=1)
    await run(bot, "trial")
    [reminder] = alerts(bot)

    reply = await bot.command("trial convert", user=ADMIN)
    assert "converted to a paid plan" in reply.text
    [update] = bot.slack.updates(ALERTS)
    assert update["ts"] == reminder["ts"] and "Resolved" in shown(update)
    assert f"converted to a paid plan by <@{ADMIN}>" in shown(update)

    for _ in range(5):
        bot.clock.advance(days=1)
        assert await run(bot, "trial") == []
    assert len(alerts(bot)) == 1
    assert "converted" in (await bot.command("trial status", user=ADMIN)).text
    async with bot.db.read() as tx:
        actions = [e.action for e in await tx.audit.recent(subjects=["trial"])]
    assert actions == ["trial.converted", "trial.started"]


async def test_converted_before_day_12_means_no_reminder(bot: Bot) -> None:
    await start_trial(bot)
    await bot.command("trial convert", user=ADMIN)
    bot.clock.advance(days=1)
    assert await run(bot, "trial") == []
    bot.clock.advance(days=4)
    assert await run(bot, "trial") == []
    assert alerts(bot) == []


async def test_status_and_a_second_convert(bot: Bot) -> None:
    none = await bot.command("trial status", user=ADMIN)
    assert "No trial is set" in none.text
    await start_trial(bot)
    status = await bot.command("trial status", user=ADMIN)
    assert "Trial day 11" in status.text and "0/50 trial seats in use" in status.text
    await bot.command("trial convert", user=ADMIN)
    again = await bot.command("trial convert", user=ADMIN)
    assert "already converted" in again.text


async def test_trial_commands_are_for_admins_only(bot: Bot) -> None:
    reply = await bot.command(f"trial start {TRIAL_START}", user=MANAGER)
    assert "only license admins" in reply.text
    async with bot.db.read() as tx:
        assert await tx.trial.get() is None


async def test_trial_seat_cap_refuses_assignments_while_it_runs(make_bot) -> None:  # noqa: ANN001
    bot = await make_bot(trial_max_users=2)
    await bot.command("pool set premium agent 10", user=ADMIN)
    await start_trial(bot)
    await assign(bot, "t1@example.com agent premium")
    await assign(bot, "t2@example.com agent premium")
    refused = await bot.command("assign t3@example.com agent premium", user=ADMIN)
    assert "the trial allows at most 2 active seats" in refused.text
    await bot.command("trial convert", user=ADMIN)
    await assign(bot, "t3@example.com agent premium")
