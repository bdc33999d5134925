"""Two cards for one request (issue 9 item 3, last part): when an ambiguous post could not
be resolved (Slack kept the first copy but the history could not be read), the request has
two cards. Each is updated on the decision, and a thread reply or a click under either
works — including the first copy, whose ts the bot never learned from Slack's answer."""

from __future__ import annotations

from typing import Any

from conftest import ADMIN, APPROVALS, MANAGER, Bot
from flows import cards, dms, ephemerals, file_request, has_buttons, request_row, set_pool, thread

PREMIUM = "<@U07NINA|nina> agent premium"


def cards_of(bot: Bot, request_id: int) -> list[dict[str, Any]]:
    return [m for m in cards(bot.slack) if f"Seat request #{request_id}:" in m.get("text", "")]


def latest(bot: Bot, posted: dict[str, Any]) -> dict[str, Any]:
    """What a person sees of a card now: its last update, else the post."""
    updates = [u for u in bot.slack.updates(APPROVALS) if u["ts"] == posted["ts"]]
    return updates[-1] if updates else posted


async def two_cards(bot: Bot) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """Slack stores the first card but the answer is lost; the history read before posting
    again is refused, so the card is posted a second time."""
    await set_pool(bot, "premium agent 3")
    bot.slack.fail("chat.postMessage", accepted=True, reset=True)
    bot.slack.fail("conversations.history", error="missing_scope")
    request_id = await file_request(bot, PREMIUM)
    bot.clock.advance(minutes=5)
    assert (await bot.deps.deliverer.flush()).delivered == 1
    stray, primary = cards_of(bot, request_id)
    assert stray["ts"] != primary["ts"]
    assert (await request_row(bot, request_id)).card_ts == primary["ts"]
    return request_id, stray, primary


async def test_approve_in_the_thread_of_the_stray_card_decides_once_and_updates_both(
    bot: Bot,
) -> None:
    request_id, stray, primary = await two_cards(bot)
    await bot.event(
        {
            "type": "message",
            "channel": APPROVALS,
            "user": ADMIN,
            "text": "approve",
            "ts": "1800000000.000001",
            "thread_ts": stray["ts"],
        }
    )
    await bot.deps.deliverer.flush()

    assert (await request_row(bot, request_id)).status == "approved"
    assert len(dms(bot.slack, MANAGER)) == 1  # decided once: one DM to the requester
    for posted in (stray, primary):
        shown = latest(bot, posted)
        assert shown is not posted, "card not updated"
        assert not has_buttons(shown), "live buttons left on a card"
        assert "(approved)" in shown.get("text", ""), shown.get("text")
    assert len(thread(bot.slack, primary)) + len(thread(bot.slack, stray)) == 1

    # a second `approve` under the other card: already decided, nothing happens twice
    await bot.event(
        {
            "type": "message",
            "channel": APPROVALS,
            "user": ADMIN,
            "text": "approve",
            "ts": "1800000000.000002",
            "thread_ts": primary["ts"],
        }
    )
    await bot.deps.deliverer.flush()
    assert len(dms(bot.slack, MANAGER)) == 1


async def test_a_click_on_the_stray_cards_approve_works_and_updates_both(bot: Bot) -> None:
    request_id, stray, primary = await two_cards(bot)
    await bot.click("approve_request", str(request_id), ADMIN, message=stray)
    await bot.deps.deliverer.flush()

    assert (await request_row(bot, request_id)).status == "approved"
    assert len(dms(bot.slack, MANAGER)) == 1
    for posted in (stray, primary):
        shown = latest(bot, posted)
        assert shown is not posted and not has_buttons(shown)
        assert "(approved)" in shown.get("text", ""), shown.get("text")


async def test_approving_on_the_primary_card_also_updates_the_stray_copy(bot: Bot) -> None:
    request_id, stray, primary = await two_cards(bot)
    await bot.click("approve_request", str(request_id), ADMIN, message=primary)
    await bot.deps.deliverer.flush()

    assert (await request_row(bot, request_id)).status == "approved"
    for posted in (stray, primary):
        shown = latest(bot, posted)
        assert shown is not posted and not has_buttons(shown)
        assert "(approved)" in shown.get("text", ""), shown.get("text")


async def test_a_click_on_the_stray_card_works_even_when_slack_history_stays_unreadable(
    bot: Bot,
) -> None:
    request_id, stray, primary = await two_cards(bot)
    bot.slack.fail("conversations.history", error="missing_scope", times=50)
    bot.slack.fail("conversations.replies", error="missing_scope", times=50)
    # the click carries the card's own message (its metadata names the outbox message)
    await bot.click("approve_request", str(request_id), ADMIN, message=stray)
    await bot.deps.deliverer.flush()

    assert (await request_row(bot, request_id)).status == "approved"
    for posted in (stray, primary):
        shown = latest(bot, posted)
        assert shown is not posted and not has_buttons(shown)


async def test_a_stray_card_does_not_vouch_for_another_request(bot: Bot) -> None:
    request_id, stray, _ = await two_cards(bot)
    other = await file_request(bot, "sam@example.com agent premium")
    await bot.click("approve_request", str(other), ADMIN, message=stray)
    assert (await request_row(bot, other)).status == "pending"
    assert (await request_row(bot, request_id)).status == "pending"
    assert any(
        "not on request" in str(m) for m in ephemerals(bot.slack, ADMIN) + bot.slack.responses()
    )
    # the stray card does vouch for its own request
    await bot.click("approve_request", str(request_id), ADMIN, message=stray)
    assert (await request_row(bot, request_id)).status == "approved"
    assert (await request_row(bot, other)).status == "pending"


async def test_every_card_posted_is_recorded(bot: Bot) -> None:
    await set_pool(bot, "premium agent 3")
    request_id = await file_request(bot, PREMIUM)
    [posted] = cards_of(bot, request_id)
    async with bot.db.read() as tx:
        assert await tx.requests.cards(request_id) == [(APPROVALS, posted["ts"])]
        found = await tx.requests.by_card(APPROVALS, posted["ts"])
    assert found is not None and found.id == request_id


async def test_migration_011_backfills_the_cards_requests_already_have(tmp_path) -> None:
    import aiosqlite

    from bot.store.db import Database

    path = tmp_path / "before011.db"
    database = await Database.open(path)  # all migrations applied
    await database.close()
    # Back to the state before 011: a request with a card, no request_cards table.
    async with aiosqlite.connect(path) as conn:
        await conn.execute("DROP TABLE request_cards")
        await conn.execute("DELETE FROM schema_migrations WHERE version = 11")
        await conn.execute(
            "INSERT INTO requests (requester_id, email, name, seat_type, edition, created_at, "
            "card_channel, card_ts) VALUES ('U1', 'a@example.com', 'A', 'agent', 'premium', "
            "'2026-12-01T10:00:00+00:00', 'C0APPROVALS', '1700000000.000100')"
        )
        await conn.commit()
    database = await Database.open(path)
    try:
        async with database.read() as tx:
            found = await tx.requests.by_card("C0APPROVALS", "1700000000.000100")
            assert found is not None
            assert await tx.requests.cards(found.id) == [("C0APPROVALS", "1700000000.000100")]
    finally:
        await database.close()


async def test_a_click_on_the_stray_card_without_metadata_in_the_payload_reads_the_card_back(
    bot: Bot,
) -> None:
    request_id, stray, primary = await two_cards(bot)
    bare = {k: v for k, v in stray.items() if k != "metadata"}
    await bot.click("approve_request", str(request_id), ADMIN, message=bare)
    await bot.deps.deliverer.flush()

    assert bot.slack.calls_to("conversations.replies")
    assert (await request_row(bot, request_id)).status == "approved"
    for posted in (stray, primary):
        shown = latest(bot, posted)
        assert shown is not posted and not has_buttons(shown)


async def test_a_stray_card_found_after_the_decision_is_updated_too(bot: Bot) -> None:
    request_id, stray, primary = await two_cards(bot)
    bot.slack.fail("conversations.history", error="missing_scope", times=50)
    await bot.click("approve_request", str(request_id), ADMIN, message=primary)
    await bot.deps.deliverer.flush()
    assert (await request_row(bot, request_id)).status == "approved"
    assert not has_buttons(latest(bot, primary))
    assert latest(bot, stray) is stray  # history unreadable: the copy is not known yet

    # someone clicks the stray copy's (stale) Approve: told, and the copy is updated
    await bot.click("approve_request", str(request_id), ADMIN, message=stray)
    await bot.deps.deliverer.flush()
    shown = latest(bot, stray)
    assert shown is not stray and not has_buttons(shown)
    assert "(approved)" in shown.get("text", "")
    assert len(dms(bot.slack, MANAGER)) == 1  # still decided once
