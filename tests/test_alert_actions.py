"""Buttons on the alerts: Reclaim and Keep on the inactive summary (admins only), Keep and
Release in the holder's DM (the holder only). Each changes the seat, audits, and updates
the message it was clicked in."""

from __future__ import annotations

from datetime import timedelta

from alerting import alerts, assign, buttons, run, shown
from conftest import ADMIN, ADMIN2, ALERTS, NINA, OUTSIDER, START, Bot
from flows import dms, ephemerals, set_pool


async def three_idle_holders(bot: Bot) -> dict[str, int]:
    """premium agent 3/10, all idle 40 days; Nina is in Slack. Returns email -> seat id."""
    await set_pool(bot, "premium agent 10")
    bot.clock.set(START - timedelta(days=40))
    await assign(bot, "<@U07NINA|nina> agent premium")
    await assign(bot, "ann@example.com agent premium")
    await assign(bot, "ben@example.com agent premium")
    bot.clock.set(START)
    async with bot.db.read() as tx:
        seats = await tx.assignments.list_active()
    await run(bot, "inactive")
    return {seat.email: seat.id for seat in seats}


async def seat_status(bot: Bot, seat_id: int) -> tuple[str, object]:
    async with bot.db.read() as tx:
        seat = await tx.assignments.get(seat_id)
    assert seat is not None
    return seat.status, seat.snoozed_until


async def test_reclaim_by_a_non_admin_is_refused(bot: Bot) -> None:
    seats = await three_idle_holders(bot)
    [summary] = alerts(bot)
    await bot.click("inactive_reclaim", str(seats["ann@example.com"]), OUTSIDER, message=summary)
    await bot.click("inactive_keep", str(seats["ann@example.com"]), OUTSIDER, message=summary)
    refusals = ephemerals(bot.slack, OUTSIDER)
    assert len(refusals) == 2 and all("Only license admins" in r["text"] for r in refusals)
    assert await seat_status(bot, seats["ann@example.com"]) == ("active", None)
    assert bot.slack.updates(ALERTS) == []


async def test_reclaim_frees_the_seat_and_updates_the_alert_line(bot: Bot) -> None:
    seats = await three_idle_holders(bot)
    [summary] = alerts(bot)
    ann = seats["ann@example.com"]
    assert ("inactive_reclaim", str(ann)) in buttons(summary)

    await bot.click("inactive_reclaim", str(ann), ADMIN, message=summary)

    assert (await seat_status(bot, ann))[0] == "revoked"
    pools = await bot.command("pool", user=ADMIN)
    assert "`2/10`" in pools.text
    [update] = bot.slack.updates(ALERTS)
    assert update["ts"] == summary["ts"]
    assert f"Reclaimed by <@{ADMIN}> on 2026-11-30" in shown(update)
    assert ("inactive_reclaim", str(ann)) not in buttons(update)
    assert ("inactive_reclaim", str(seats["ben@example.com"])) in buttons(update)
    assert "1 reclaimed" in shown(update)
    assert "Reclaimed the premium agent seat" in ephemerals(bot.slack, ADMIN)[-1]["text"]
    async with bot.db.read() as tx:
        [entry] = [
            e
            for e in await tx.audit.recent(subjects=["ann@example.com"])
            if e.action == "assignment.revoked"
        ]
    assert entry.actor == ADMIN

    await bot.click("inactive_reclaim", str(ann), ADMIN2, message=summary)  # a second click
    assert "no longer holds" in ephemerals(bot.slack, ADMIN2)[-1]["text"]
    assert (await bot.command("pool", user=ADMIN)).text.count("`2/10`") == 1


async def test_keep_snoozes_for_30_days(bot: Bot) -> None:
    seats = await three_idle_holders(bot)
    [summary] = alerts(bot)
    ben = seats["ben@example.com"]
    await bot.click("inactive_keep", str(ben), ADMIN, message=summary)

    status, snoozed = await seat_status(bot, ben)
    assert status == "active" and snoozed == START + timedelta(days=30)
    update = bot.slack.updates(ALERTS)[-1]
    assert f"Kept by <@{ADMIN}>" in shown(update) and "2026-12-30" in shown(update)
    async with bot.db.read() as tx:
        [entry] = [
            e
            for e in await tx.audit.recent(subjects=["ben@example.com"])
            if e.action == "assignment.snoozed"
        ]
    assert entry.actor == ADMIN and entry.after == {"snoozed_until": snoozed.isoformat()}

    bot.clock.advance(days=1)
    await run(bot, "inactive")
    assert "ben@example.com" not in shown(alerts(bot)[-1])
    bot.clock.set(START + timedelta(days=31))  # the snooze is over
    await run(bot, "inactive")
    assert "ben@example.com" in shown(alerts(bot)[-1])


async def test_release_from_the_dm_frees_the_seat(bot: Bot) -> None:
    seats = await three_idle_holders(bot)
    nina = seats["nina@example.com"]
    [dm] = dms(bot.slack, NINA)

    await bot.click("inactive_dm_release", str(nina), NINA, message=dm)

    assert (await seat_status(bot, nina))[0] == "revoked"
    updates = bot.slack.updates()
    dm_update = [u for u in updates if u["ts"] == dm["ts"]]
    assert len(dm_update) == 1 and "You released your premium agent seat" in shown(dm_update[0])
    assert buttons(dm_update[0]) == []
    summary_update = [u for u in updates if u["ts"] == alerts(bot)[0]["ts"]]
    assert "Released by the holder" in shown(summary_update[0])
    pools = await bot.command("pool", user=ADMIN)
    assert "`2/10`" in pools.text


async def test_keep_from_the_dm_snoozes_and_others_cannot_answer(bot: Bot) -> None:
    seats = await three_idle_holders(bot)
    nina = seats["nina@example.com"]
    [dm] = dms(bot.slack, NINA)

    await bot.click("inactive_dm_release", str(nina), OUTSIDER, message=dm)
    assert "Only the person holding this seat" in ephemerals(bot.slack, OUTSIDER)[0]["text"]
    assert (await seat_status(bot, nina))[0] == "active"

    await bot.click("inactive_dm_keep", str(nina), NINA, message=dm)
    status, snoozed = await seat_status(bot, nina)
    assert status == "active" and snoozed == START + timedelta(days=30)
    dm_update = [u for u in bot.slack.updates() if u["ts"] == dm["ts"]][-1]
    assert "You kept your premium agent seat" in shown(dm_update)
    assert "2026-12-30" in shown(dm_update)

    bot.clock.set(START + timedelta(days=31))  # the snooze ends: a new spell, asked again
    await run(bot, "inactive")
    assert len(dms(bot.slack, NINA)) == 2


async def test_a_second_reclaim_keeps_the_first_outcome_on_the_line(bot: Bot) -> None:
    seats = await three_idle_holders(bot)
    [summary] = alerts(bot)
    ann = str(seats["ann@example.com"])
    await bot.click("inactive_reclaim", ann, ADMIN, message=summary)
    await bot.click("inactive_reclaim", ann, ADMIN2, message=summary)
    assert len(bot.slack.updates(ALERTS)) == 1
    assert f"Reclaimed by <@{ADMIN}>" in shown(bot.slack.updates(ALERTS)[-1])
