"""The App Home refresh after a decision is an outbox side effect (issue 8): a `home`
message per person, queued in the decision's transaction, built from the store when
delivered (never stale), coalesced per person while it waits, and retried like any
message when Slack fails."""

from __future__ import annotations

import json
from typing import Any

from conftest import ADMIN, ADMIN2, MANAGER, Bot
from flows import card, file_request, set_pool

from bot.blocks.delivery import RETRY_ACTION
from bot.services.requests import approve_request, deny_request
from bot.store.outbox import OutboxMessage, OutboxTarget


async def homes(bot: Bot, status: str | None = None) -> list[OutboxMessage]:
    async with bot.db.read() as tx:
        found = await tx.outbox.messages(template=OutboxTarget.HOME.value)
    return [m for m in found if status is None or m.status == status]


def publishes(bot: Bot, user: str) -> list[dict[str, Any]]:
    return [
        c.parsed["view"]
        for c in bot.slack.calls_to("views.publish")
        if c.parsed["user_id"] == user and not c.faulted
    ]


def shown(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


async def audit_actions(bot: Bot, request_id: int) -> list[str]:
    async with bot.db.read() as tx:
        return [e.action for e in await tx.audit.recent(subjects=[f"request:{request_id}"])]


async def test_a_decision_queues_the_home_refreshes_in_its_transaction(bot: Bot) -> None:
    await set_pool(bot, "premium agent 5")
    request_id = await file_request(bot, "sam@example.com agent premium")
    assert await homes(bot) == []  # filing is no decision: no refresh queued

    decision = await approve_request(bot.db, bot.deps.rules, request_id, ADMIN, bot.clock.now())

    assert decision.won
    queued = await homes(bot, "pending")
    assert sorted(m.user_id or "" for m in queued) == sorted([ADMIN, MANAGER])
    assert all(m.lane == "interactive" for m in queued)
    assert "request.approved" in await audit_actions(bot, request_id)


async def test_a_refused_decision_refreshes_only_the_clickers_home(bot: Bot) -> None:
    """Nothing decided (the seat the offboarding is about is gone): the admin's Home is
    refreshed (a stale one catches up), the requester's is not, and no audit row."""
    await set_pool(bot, "premium agent 5")
    first = await file_request(bot, "sam@example.com agent premium")
    await bot.click("approve_request", str(first), ADMIN, message=card(bot.slack, first))
    reply = await bot.command("offboard sam@example.com left")
    assert "Filed offboarding #" in reply.text, reply.text
    offboard = int(reply.text.split("Filed offboarding #", 1)[1].split(":", 1)[0])
    async with bot.db.transaction() as tx:
        held = await tx.assignments.active_for_email("sam@example.com")
        assert held is not None
        await tx.assignments.revoke(held.id, bot.clock.now())
    assert await homes(bot, "pending") == []
    audit = await audit_actions(bot, offboard)

    decision = await approve_request(bot.db, bot.deps.rules, offboard, ADMIN2, bot.clock.now())

    assert not decision.won and decision.refused
    assert [m.user_id for m in await homes(bot, "pending")] == [ADMIN2]
    assert await audit_actions(bot, offboard) == audit


async def test_the_refresh_is_delivered_and_shows_the_decided_state(bot: Bot) -> None:
    await set_pool(bot, "premium agent 5")
    request_id = await file_request(bot, "sam@example.com agent premium")
    before = len(bot.slack.calls_to("views.publish"))

    await bot.click("approve_request", str(request_id), ADMIN, message=card(bot.slack, request_id))

    assert len(bot.slack.calls_to("views.publish")) == before + 2
    [admin_home] = publishes(bot, ADMIN)
    assert "Pending requests (0)" in shown(admin_home)
    assert "1/5" in shown(admin_home)  # the seat the approval granted
    [requester_home] = publishes(bot, MANAGER)
    assert f"*#{request_id}* premium agent for sam@example.com · *approved*" in shown(
        requester_home
    )
    assert [m.status for m in await homes(bot)] == ["delivered", "delivered"]


async def test_quick_decisions_coalesce_and_the_late_refresh_shows_them_all(bot: Bot) -> None:
    """Two decisions before the deliverer runs: one refresh per person waits, and when it
    goes out it shows both (built at delivery, not at queueing)."""
    await set_pool(bot, "premium agent 5")
    first = await file_request(bot, "sam@example.com agent premium")
    second = await file_request(bot, "kim@example.com agent premium")
    now = bot.clock.now()

    assert (await approve_request(bot.db, bot.deps.rules, first, ADMIN, now)).won
    assert (await deny_request(bot.db, second, ADMIN, "no budget", now)).won

    pending = await homes(bot, "pending")
    assert sorted(m.user_id or "" for m in pending) == sorted([ADMIN, MANAGER])

    await bot.deps.deliverer.deliver_interactive()
    [admin_home] = publishes(bot, ADMIN)
    assert "Pending requests (0)" in shown(admin_home)
    [requester_home] = publishes(bot, MANAGER)
    assert "*approved*" in shown(requester_home) and "*denied*" in shown(requester_home)
    assert await homes(bot, "pending") == []


async def test_a_refresh_being_sent_does_not_swallow_a_later_one(bot: Bot) -> None:
    """A refresh already claimed (it may have read the store before the new decision) does
    not count as waiting: the next decision queues its own."""
    await set_pool(bot, "premium agent 5")
    first = await file_request(bot, "sam@example.com agent premium")
    second = await file_request(bot, "kim@example.com agent premium")
    now = bot.clock.now()
    await approve_request(bot.db, bot.deps.rules, first, ADMIN, now)
    async with bot.db.transaction() as tx:
        claimed = await tx.outbox.claim(now, 100)
    assert {m.user_id for m in claimed if m.target == "home"} == {ADMIN, MANAGER}

    await deny_request(bot.db, second, ADMIN, "no budget", now)

    waiting = [m for m in await homes(bot, "pending") if m.lease_owner is None]
    assert sorted(m.user_id or "" for m in waiting) == sorted([ADMIN, MANAGER])


async def test_a_failed_publish_is_retried_by_the_outbox(bot: Bot) -> None:
    await set_pool(bot, "premium agent 5")
    request_id = await file_request(bot, "sam@example.com agent premium")
    bot.slack.fail("views.publish", status=500, plain=True, times=2)

    await bot.click("approve_request", str(request_id), ADMIN, message=card(bot.slack, request_id))

    assert publishes(bot, ADMIN) == [] and publishes(bot, MANAGER) == []
    waiting = await homes(bot, "pending")
    assert sorted(m.user_id or "" for m in waiting) == sorted([ADMIN, MANAGER])
    assert all(m.attempts == 1 and m.last_error for m in waiting)

    bot.clock.advance(minutes=5)
    report = await bot.deps.deliverer.flush()

    assert report.delivered == 2
    assert "Pending requests (0)" in shown(publishes(bot, ADMIN)[-1])
    assert "*approved*" in shown(publishes(bot, MANAGER)[-1])
    assert [m.status for m in await homes(bot)] == ["delivered", "delivered"]


async def test_a_lost_click_still_refreshes_the_clickers_home(bot: Bot) -> None:
    """As before: the admin whose click found the request decided gets a fresh Home."""
    await set_pool(bot, "premium agent 5")
    request_id = await file_request(bot, "sam@example.com agent premium")
    posted = card(bot.slack, request_id)
    await bot.click("approve_request", str(request_id), ADMIN, message=posted)

    await bot.click("approve_request", str(request_id), ADMIN2, message=posted)

    [late] = publishes(bot, ADMIN2)
    assert "Pending requests (0)" in shown(late)


async def test_home_refreshes_go_in_the_interactive_lane_before_queued_alerts(bot: Bot) -> None:
    await set_pool(bot, "premium agent 5")
    request_id = await file_request(bot, "sam@example.com agent premium")
    now = bot.clock.now()
    async with bot.db.transaction() as tx:
        for i in range(30):
            await tx.outbox.enqueue(
                OutboxTarget.CHANNEL,
                "delivery_failed",
                now,
                channel="C0ALERTS",
                key=f"bulk:{i}",
                data={"count": 0, "failures": []},
            )
    await approve_request(bot.db, bot.deps.rules, request_id, ADMIN, now)

    await bot.deps.deliverer.deliver_interactive()

    assert publishes(bot, ADMIN) and publishes(bot, MANAGER)
    async with bot.db.read() as tx:
        bulk = [m for m in await tx.outbox.messages(template="delivery_failed")]
    assert len(bulk) == 30 and all(m.status == "pending" for m in bulk)


async def test_a_retry_refreshes_the_admins_home_through_the_outbox(bot: Bot) -> None:
    now = bot.clock.now()
    async with bot.db.transaction() as tx:
        failed = await tx.outbox.enqueue(
            OutboxTarget.CHANNEL,
            "delivery_failed",
            now,
            channel="C0ALERTS",
            data={"count": 0, "failures": []},
        )
        assert failed is not None
        await tx.outbox.fail(failed, "channel_not_found", "permanent", now)
    await bot.event({"type": "app_home_opened", "user": ADMIN, "tab": "home"})
    [opened] = publishes(bot, ADMIN)
    assert "Messages not delivered (1)" in shown(opened)

    response = await bot.client.block_action(ADMIN, RETRY_ACTION, str(failed), view=opened)
    assert response.status == 200
    await bot.settle()

    assert [m.user_id for m in await homes(bot, "delivered")] == [ADMIN]
    assert "Messages not delivered" not in shown(publishes(bot, ADMIN)[-1])
