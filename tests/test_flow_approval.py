"""Request → approval end to end: signed HTTP into the real app, a fake Slack, real SQLite."""

from __future__ import annotations

import asyncio

from conftest import ADMIN, ADMIN2, APPROVALS, MANAGER, NINA, OUTSIDER, Bot
from flows import (
    approve,
    card,
    cards,
    dms,
    ephemerals,
    file_request,
    has_buttons,
    pool,
    request_row,
    set_pool,
    text_of,
    thread,
)

from bot.licensing.requests import RequestStatus


async def test_happy_path_card_update_thread_dm_and_pool_count(bot: Bot) -> None:
    await set_pool(bot, "premium agent 400")
    await set_pool(bot, "premium wfo 50")
    request_id = await file_request(
        bot, "<@U07NINA|nina> agent premium +wfo dept:Support start:2026-12-07 Starting Monday"
    )

    posted = card(bot.slack, request_id)
    shown = text_of(posted)
    for expected in (
        f"#{request_id}",
        "Nina Novak",
        "nina@example.com",
        f"<@{NINA}>",
        "Agent",
        "Premium",
        "+wfo",
        "Support_Agent_LicenseGroup",
        f"<@{MANAGER}>",
        "2026-12-07",
        "Starting Monday",
        "premium agent 0/400 → 1/400",
        "premium wfo 0/50 → 1/50",
    ):
        assert expected in shown, expected
    assert has_buttons(posted)

    await approve(bot, request_id)

    updated = bot.slack.updates(APPROVALS)
    assert len(updated) == 1 and updated[0]["ts"] == posted["ts"]
    assert not has_buttons(updated[0])
    assert "Approved" in text_of(updated[0]) and f"<@{ADMIN}>" in text_of(updated[0])
    replies = thread(bot.slack, posted)
    assert len(replies) == 1 and "Approved" in text_of(replies[0])
    assert "premium agent now 1/400" in text_of(replies[0])
    dm = dms(bot.slack, MANAGER)
    assert len(dm) == 1 and "approved" in dm[0]["text"]
    assert "Support_Agent_LicenseGroup" in dm[0]["text"]

    assert (await request_row(bot, request_id)).status is RequestStatus.APPROVED
    assert (await pool(bot, "premium", "agent")).used == 1
    assert (await pool(bot, "premium", "wfo")).used == 1
    shown_pools = await bot.command("pool", user=ADMIN)
    assert "`1/400`" in shown_pools.text and "`1/50`" in shown_pools.text


async def test_deny_by_button_asks_a_reason_in_a_modal(bot: Bot) -> None:
    await set_pool(bot, "standard agent 10")
    request_id = await file_request(bot, "<@U07NINA|nina> agent standard")
    await bot.click("deny_request", str(request_id), ADMIN, message=card(bot.slack, request_id))

    opened = bot.slack.calls_to("views.open")
    assert len(opened) == 1
    view = opened[0].parsed["view"]
    assert view["callback_id"] == "deny_reason" and view["private_metadata"] == str(request_id)
    assert (await request_row(bot, request_id)).status is RequestStatus.PENDING

    response = await bot.submit(
        ADMIN,
        "deny_reason",
        {"reason": {"value": {"type": "plain_text_input", "value": "Budget freeze until Q1"}}},
        private_metadata=str(request_id),
    )
    assert response.status == 200
    stored = await request_row(bot, request_id)
    assert (
        stored.status is RequestStatus.DENIED and stored.decision_reason == "Budget freeze until Q1"
    )
    updated = bot.slack.updates(APPROVALS)
    assert "Denied" in text_of(updated[-1]) and "Budget freeze until Q1" in text_of(updated[-1])
    assert not has_buttons(updated[-1])
    assert "Budget freeze until Q1" in text_of(thread(bot.slack, card(bot.slack, request_id))[0])
    assert "denied" in dms(bot.slack, MANAGER)[0]["text"]
    assert (await pool(bot, "standard", "agent")).used == 0


async def test_deny_modal_without_reason_shows_field_error(bot: Bot) -> None:
    await set_pool(bot, "standard agent 10")
    request_id = await file_request(bot, "<@U07NINA|nina> agent standard")
    response = await bot.submit(
        ADMIN,
        "deny_reason",
        {"reason": {"value": {"type": "plain_text_input", "value": "  "}}},
        private_metadata=str(request_id),
    )
    assert response.json()["response_action"] == "errors"
    assert "reason" in response.json()["errors"]
    assert (await request_row(bot, request_id)).status is RequestStatus.PENDING


async def test_approve_and_deny_by_thread_reply(bot: Bot) -> None:
    await set_pool(bot, "standard agent 10")
    first = await file_request(bot, "<@U07NINA|nina> agent standard")
    second = await file_request(bot, "sam@example.com agent standard")
    first_card, second_card = card(bot.slack, first), card(bot.slack, second)

    await bot.event(
        {
            "type": "message",
            "channel": APPROVALS,
            "user": ADMIN,
            "text": "approve",
            "ts": "1800000000.000001",
            "thread_ts": first_card["ts"],
        }
    )
    await bot.event(
        {
            "type": "message",
            "channel": APPROVALS,
            "user": ADMIN2,
            "text": "deny duplicate of #12",
            "ts": "1800000000.000002",
            "thread_ts": second_card["ts"],
        }
    )

    assert (await request_row(bot, first)).status is RequestStatus.APPROVED
    denied = await request_row(bot, second)
    assert denied.status is RequestStatus.DENIED and denied.decided_by == ADMIN2
    assert denied.decision_reason == "duplicate of #12"
    assert "Denied" in text_of(thread(bot.slack, second_card)[-1])
    assert len(dms(bot.slack, MANAGER)) == 2


async def test_thread_chatter_and_non_admin_replies_change_nothing(bot: Bot) -> None:
    await set_pool(bot, "standard agent 10")
    request_id = await file_request(bot, "<@U07NINA|nina> agent standard")
    posted = card(bot.slack, request_id)
    await bot.event(
        {
            "type": "message",
            "channel": APPROVALS,
            "user": ADMIN,
            "text": "approve after I check the budget?",
            "ts": "1800000000.1",
            "thread_ts": posted["ts"],
        }
    )
    await bot.event(
        {
            "type": "message",
            "channel": APPROVALS,
            "user": OUTSIDER,
            "text": "approve",
            "ts": "1800000000.2",
            "thread_ts": posted["ts"],
        }
    )
    assert (await request_row(bot, request_id)).status is RequestStatus.PENDING
    refused = ephemerals(bot.slack, OUTSIDER)
    assert len(refused) == 1 and "Only license admins" in refused[0]["text"]
    assert bot.slack.updates(APPROVALS) == []


async def test_non_admin_click_is_refused_and_changes_nothing(bot: Bot) -> None:
    await set_pool(bot, "premium agent 5")
    request_id = await file_request(bot, "<@U07NINA|nina> agent premium")
    await approve(bot, request_id, user=OUTSIDER)
    await bot.click("deny_request", str(request_id), OUTSIDER, message=card(bot.slack, request_id))

    refused = ephemerals(bot.slack, OUTSIDER)
    assert len(refused) == 2 and all("Only license admins" in r["text"] for r in refused)
    assert (await request_row(bot, request_id)).status is RequestStatus.PENDING
    assert (await pool(bot, "premium", "agent")).used == 0
    assert bot.slack.updates(APPROVALS) == [] and bot.slack.calls_to("views.open") == []
    assert dms(bot.slack, MANAGER) == []


async def test_four_concurrent_approvals_by_two_admins_decide_once(bot: Bot) -> None:
    await set_pool(bot, "premium agent 5")
    request_id = await file_request(bot, "<@U07NINA|nina> agent premium")
    posted = card(bot.slack, request_id)
    responses = await asyncio.gather(
        *[
            bot.client.block_action(admin, "approve_request", str(request_id), message=posted)
            for admin in (ADMIN, ADMIN2, ADMIN, ADMIN2)
        ]
    )
    await bot.settle()
    assert [r.status for r in responses] == [200] * 4

    stored = await request_row(bot, request_id)
    assert stored.status is RequestStatus.APPROVED
    assert (await pool(bot, "premium", "agent")).used == 1
    async with bot.db.read() as tx:
        approvals = [
            e
            for e in await tx.audit.recent(subjects=[f"request:{request_id}"])
            if e.action == "request.approved"
        ]
    assert len(approvals) == 1
    assert len(dms(bot.slack, MANAGER)) == 1
    assert len(thread(bot.slack, posted)) == 1
    told = ephemerals(bot.slack, ADMIN) + ephemerals(bot.slack, ADMIN2)
    assert len(told) == 3 and all("already decided" in t["text"] for t in told)


async def test_last_seat_then_overage_into_grace_then_refusal_after_grace(bot: Bot) -> None:
    await set_pool(bot, "standard agent 2")
    ids = [await file_request(bot, f"hire{i}@example.com agent standard") for i in range(4)]
    assert "standard agent 0/2 → 1/2" in text_of(card(bot.slack, ids[1]))  # preview at filing
    await approve(bot, ids[0])
    await approve(bot, ids[1])  # the last seat
    assert (await pool(bot, "standard", "agent")).used == 2

    await approve(bot, ids[2])  # one over: allowed, grace starts now (2026-11-30) for 30 days
    reply = thread(bot.slack, card(bot.slack, ids[2]))[-1]
    assert "1 over" in text_of(reply) and "enters grace period until 2026-12-30" in text_of(reply)
    over = await pool(bot, "standard", "agent")
    assert over.used == 3 and over.over_since == bot.clock.now()
    shown = await bot.command("pool", user=ADMIN)
    assert "`3/2`" in shown.text and "grace ends 2026-12-30" in shown.text

    bot.clock.advance(days=31)
    await set_pool(bot, "standard agent 2")  # nothing bought; still over
    await bot.command("revoke hire0@example.com", user=ADMIN)  # 2/2: overage over
    await bot.command("assign late@example.com agent standard", user=ADMIN)  # new grace
    assert (await pool(bot, "standard", "agent")).over_since == bot.clock.now()

    bot.clock.advance(days=30)  # that grace period has ended, the pool still over
    await approve(bot, ids[3])
    assert (await request_row(bot, ids[3])).status is RequestStatus.PENDING
    refusal = ephemerals(bot.slack, ADMIN)[-1]["text"]
    assert "grace period ended on 2027-01-30" in refusal and "/license pool set" in refusal
    assert (await pool(bot, "standard", "agent")).used == 3


async def test_overage_past_the_allowance_is_refused(bot: Bot) -> None:
    await set_pool(bot, "partner agent 1")
    ids = [await file_request(bot, f"p{i}@example.com agent partner") for i in range(3)]
    await approve(bot, ids[0])
    await approve(bot, ids[1])  # 1 over = the minimum allowance of one seat
    await approve(bot, ids[2])
    assert (await request_row(bot, ids[2])).status is RequestStatus.PENDING
    assert "overage allowance of 1" in ephemerals(bot.slack, ADMIN)[-1]["text"]
    assert (await pool(bot, "partner", "agent")).used == 2


async def test_request_for_an_email_only_new_hire(bot: Bot) -> None:
    await set_pool(bot, "standard agent 10")
    request_id = await file_request(bot, "leo.new@example.com agent standard dept:Sales")
    stored = await request_row(bot, request_id)
    assert stored.email == "leo.new@example.com" and stored.slack_user_id is None
    assert "leo.new@example.com" in text_of(card(bot.slack, request_id))
    assert "Sales_Agent_LicenseGroup" in text_of(card(bot.slack, request_id))
    await approve(bot, request_id)
    async with bot.db.read() as tx:
        seat = await tx.assignments.active_for_email("leo.new@example.com")
    assert seat is not None and seat.license_group == "Sales_Agent_LicenseGroup"


async def test_module_the_edition_lacks_is_refused_with_the_fix(bot: Bot) -> None:
    await set_pool(bot, "standard agent 10")
    reply = await bot.command("request <@U07NINA|nina> agent standard +wfo")
    assert reply.status == 200
    assert (
        "+wfo is not included in the standard edition: upgrade to premium or drop +wfo"
        in reply.text
    )
    assert cards(bot.slack) == []
    async with bot.db.read() as tx:
        assert await tx.requests.pending() == []


async def test_restart_then_approve_a_card_filed_before(make_bot, tmp_path) -> None:  # noqa: ANN001
    first = await make_bot()
    await set_pool(first, "premium agent 3")
    request_id = await file_request(first, "<@U07NINA|nina> agent premium")
    posted = card(first.slack, request_id)
    await first.stop()

    second = await make_bot()  # same database file, new process state
    await second.click("approve_request", str(request_id), ADMIN, message=posted)
    assert (await request_row(second, request_id)).status is RequestStatus.APPROVED
    assert second.slack.updates(APPROVALS)[-1]["ts"] == posted["ts"]
    assert len(dms(second.slack, MANAGER)) == 1


async def test_rate_limited_first_post_is_retried_and_posted_once(bot: Bot) -> None:
    await set_pool(bot, "premium agent 3")
    bot.slack.fail("chat.postMessage", status=429, retry_after=1)
    request_id = await file_request(bot, "<@U07NINA|nina> agent premium")
    attempts = bot.slack.calls_to("chat.postMessage")
    assert [c.faulted for c in attempts] == [True, False]
    assert len(cards(bot.slack)) == 1 and card(bot.slack, request_id)["ts"]
    assert (await request_row(bot, request_id)).card_ts == card(bot.slack, request_id)["ts"]


async def test_slack_down_delays_the_card_but_never_loses_it(bot: Bot) -> None:
    await set_pool(bot, "premium agent 3")
    bot.slack.fail("chat.postMessage", status=500, times=3)
    request_id = await file_request(bot, "<@U07NINA|nina> agent premium")
    assert cards(bot.slack) == []
    async with bot.db.read() as tx:
        assert await tx.outbox.pending_count() == 1

    assert (await bot.deps.deliverer.flush()).delivered == 0  # not due: backing off
    bot.slack.clear_faults()  # Slack is back
    bot.clock.advance(minutes=5)  # past the longest backoff
    report = await bot.deps.deliverer.flush()  # the next delivery run
    assert report.delivered == 1
    assert len(cards(bot.slack)) == 1 and card(bot.slack, request_id)


async def test_escaping_user_text_cannot_ping_or_link(bot: Bot) -> None:
    await set_pool(bot, "premium agent 3")
    request_id = await file_request(
        bot,
        "<@U07NINA|nina> agent premium <!channel> @here <!subteam^S123> "
        "<https://evil.example|click> *bold*",
    )
    shown = text_of(card(bot.slack, request_id))
    for forbidden in ("<!channel>", "<!subteam", "<https://evil", "@here"):
        assert forbidden not in shown
    assert "&lt;!channel&gt;" in shown and "&lt;https://evil.example|click&gt;" in shown
