"""The `requests` job: one nudge in the thread past `reminder_hours`, expiry after
`request_expire_days` (card updated, thread reply, the requester told); and the `digest`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerting import alerts, assign, run, shown
from conftest import ADMIN, ADMIN2, APPROVALS, MANAGER, START, Bot
from flows import card, dms, file_request, has_buttons, request_row, set_pool, thread

from bot.licensing.requests import RequestStatus


async def test_one_nudge_after_24_hours_then_expiry_after_14_days(bot: Bot) -> None:
    await set_pool(bot, "premium agent 10")
    request_id = await file_request(bot, "<@U07NINA|nina> agent premium")
    posted = card(bot.slack, request_id)

    bot.clock.advance(hours=23)
    assert await run(bot, "requests") == []
    bot.clock.advance(hours=2)  # 25 hours pending
    sent = await run(bot, "requests")
    assert [(m.target, m.key) for m in sent] == [("thread", f"requests:nudge:request:{request_id}")]
    [nudge] = thread(bot.slack, posted)
    assert f"Request #{request_id} has waited 25 hours" in shown(nudge)
    assert f"<@{ADMIN}>" in shown(nudge) and f"<@{ADMIN2}>" in shown(nudge)
    for _ in range(3):
        bot.clock.advance(hours=1)
        assert await run(bot, "requests") == []
    assert len(thread(bot.slack, posted)) == 1
    assert (await request_row(bot, request_id)).status is RequestStatus.PENDING

    bot.clock.set(START + timedelta(days=14))
    sent = await run(bot, "requests")
    assert sorted(m.target for m in sent) == ["card", "dm", "thread"]
    assert (await request_row(bot, request_id)).status is RequestStatus.EXPIRED
    updated = bot.slack.updates(APPROVALS)[-1]
    assert updated["ts"] == posted["ts"] and "Expired" in shown(updated)
    assert not has_buttons(updated)
    assert "Expired" in shown(thread(bot.slack, posted)[-1])
    [told] = dms(bot.slack, MANAGER)
    assert "expired without a decision" in told["text"]

    bot.clock.advance(days=1)
    assert await run(bot, "requests") == []
    assert len(dms(bot.slack, MANAGER)) == 1


async def test_a_decided_request_is_neither_nudged_nor_expired(bot: Bot) -> None:
    await set_pool(bot, "premium agent 10")
    request_id = await file_request(bot, "<@U07NINA|nina> agent premium")
    await bot.command(f"cancel {request_id}", user=MANAGER)
    bot.clock.advance(days=20)
    assert await run(bot, "requests") == []


async def test_dry_run_of_an_expiry_shows_the_messages_and_changes_nothing(bot: Bot) -> None:
    await set_pool(bot, "premium agent 10")
    request_id = await file_request(bot, "<@U07NINA|nina> agent premium")
    bot.clock.advance(days=15)
    dry = await run(bot, "requests", dry_run=True)
    assert sorted(m.target for m in dry) == ["card", "dm", "thread"]
    assert (await request_row(bot, request_id)).status is RequestStatus.PENDING
    real = await run(bot, "requests")
    assert [m.payload() for m in real] == [m.payload() for m in dry]
    dm = next(m for m in dry if m.target == "dm")
    assert dm.payload() == {k: dms(bot.slack, MANAGER)[0][k] for k in ("text", "blocks")}


async def test_monthly_digest_on_the_first(bot: Bot) -> None:
    await set_pool(bot, "premium agent 10 price:100")  # 3/10: over-provisioned, 7 idle
    await set_pool(bot, "premium wfo 4")
    await set_pool(bot, "standard agent 2")  # 2/2: nearly full
    bot.clock.set(START - timedelta(days=45))
    await assign(bot, "a@example.com agent premium +wfo")
    bot.clock.set(START)
    await assign(bot, "b@example.com agent premium")
    await assign(bot, "c@example.com agent premium")
    await assign(bot, "d@example.com agent standard")
    await assign(bot, "e@example.com agent standard")

    bot.clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    sent = await run(bot, "digest")
    assert [m.key for m in sent] == ["digest:monthly:org:2026-11"]
    [digest] = alerts(bot)
    text = shown(digest)
    for expected in (
        "License digest 2026-11",
        "target 80%–95%",
        "premium agent `3/10` 30.0% · over-provisioned",
        "standard agent `2/2` 100.0% · nearly full",
        "premium agent: 7 idle · $700.00/month",
        "*Inactive*: 1 of 5 active seats (20.0%)",
        "wfo 1/3 (33%)",
    ):
        assert expected in text, expected
    assert await run(bot, "digest") == []
    async with bot.db.read() as tx:
        assert await tx.alerts.open(job="digest") == []
