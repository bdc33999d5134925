"""The `inactive` job: one summary per run (first 20 with Reclaim / Keep, the totals and
what reclaiming frees), the holder DM once per inactive spell, snoozes respected."""

from __future__ import annotations

from datetime import timedelta

from alerting import alerts, assign, buttons, run, shown
from conftest import ADMIN, NINA, START, Bot
from flows import dms, set_pool

from bot.blocks.base import MAX_BLOCKS
from bot.services.imports import import_activity, import_assignments

LONG_AGO = (START - timedelta(days=60)).date().isoformat()


async def seed_holders(bot: Bot, count: int, *, assigned: str = LONG_AGO) -> None:
    lines = ["email,name,edition,seat_type,modules,department,assigned_at"]
    lines += [
        f"idle{i:04d}@example.com,Idle {i},premium,agent,{'wfo' if i % 2 else ''},Support,"
        f"{assigned}"
        for i in range(count)
    ]
    result = await import_assignments(
        bot.db,
        bot.deps.rules,
        "\n".join(lines),
        source="seed.csv",
        actor="test",
        now=bot.clock.now(),
    )
    assert result.changed == count


async def test_1000_inactive_holders_make_one_summary_per_run(bot: Bot) -> None:
    await set_pool(bot, "premium agent 1200 price:100")
    await set_pool(bot, "premium wfo 600 price:35")
    await seed_holders(bot, 1000)

    sent = await run(bot, "inactive")
    assert [m.target for m in sent] == ["channel"]
    [summary] = alerts(bot)
    assert len(summary["blocks"]) <= MAX_BLOCKS
    text = shown(summary)
    assert "1,000 seat holders" in text and "60 days idle" in text
    assert "*1,000 seats* and *$117,500.00/month*" in text  # 1000 x $100 + 500 x $35
    assert "premium agent 1,000" in text
    assert "The 20 longest idle of 1,000 are listed" in text
    listed = buttons(summary)
    assert len(listed) == 40
    assert {action for action, _ in listed} == {"inactive_reclaim", "inactive_keep"}

    assert await run(bot, "inactive") == []  # the same day: already posted
    bot.clock.advance(days=1)
    await run(bot, "inactive")
    posted = alerts(bot)
    assert len(posted) == 2 and len(posted[1]["blocks"]) <= MAX_BLOCKS


async def test_new_hires_count_from_assignment_and_activity_resets(bot: Bot) -> None:
    await set_pool(bot, "premium agent 10")
    bot.clock.set(START - timedelta(days=31))
    await assign(bot, "old@example.com agent premium")
    bot.clock.set(START - timedelta(days=29))
    await assign(bot, "new@example.com agent premium")
    bot.clock.set(START)

    await run(bot, "inactive")
    [summary] = alerts(bot)
    assert "old@example.com" in shown(summary) and "new@example.com" not in shown(summary)
    assert "never active, assigned 2026-10-30" in shown(summary)

    csv = "email,last_active\nold@example.com,2026-11-29\n"
    await import_activity(
        bot.db, bot.deps.rules, csv, source="a.csv", actor=ADMIN, now=bot.clock.now()
    )
    bot.clock.advance(days=1)
    assert await run(bot, "inactive") == []  # nobody inactive: no summary
    bot.clock.advance(days=2)  # new@ passes 30 days since its assignment
    await run(bot, "inactive")
    latest = alerts(bot)[-1]
    assert "new@example.com" in shown(latest) and "old@example.com" not in shown(latest)


async def test_holder_in_slack_is_asked_once_per_spell(bot: Bot) -> None:
    await set_pool(bot, "premium agent 10")
    bot.clock.set(START - timedelta(days=40))
    await assign(bot, "<@U07NINA|nina> agent premium")
    await assign(bot, "ghost@example.com agent premium")  # not in Slack: listed, not asked
    bot.clock.set(START)

    sent = await run(bot, "inactive")
    assert sorted(m.target for m in sent) == ["channel", "dm"]
    [dm] = dms(bot.slack, NINA)
    assert "Do you still need your premium agent seat?" in shown(dm)
    assert [a for a, _ in buttons(dm)] == ["inactive_dm_keep", "inactive_dm_release"]

    for _ in range(3):
        bot.clock.advance(days=1)
        await run(bot, "inactive")
    assert len(dms(bot.slack, NINA)) == 1  # asked once while the spell lasts
    assert len(alerts(bot)) == 4  # one summary per daily run


async def test_dry_run_writes_nothing(bot: Bot) -> None:
    await set_pool(bot, "premium agent 10")
    bot.clock.set(START - timedelta(days=40))
    await assign(bot, "<@U07NINA|nina> agent premium")
    bot.clock.set(START)
    dry = await run(bot, "inactive", dry_run=True)
    assert sorted(m.target for m in dry) == ["channel", "dm"]
    assert alerts(bot) == [] and dms(bot.slack, NINA) == []
    async with bot.db.read() as tx:
        assert await tx.outbox.messages(template="inactive_summary") == []
        assert await tx.alerts.open() == []
        runs = await tx.job_runs.all()
    assert "inactive" not in runs
    again = await run(bot, "inactive", dry_run=True)
    assert [m.payload() for m in again] == [m.payload() for m in dry]
