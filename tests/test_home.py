"""App Home: the admin's pools, forecast, pending requests (with the card's buttons) and
open alerts; a requester's own requests; Home buttons deciding exactly like the card's."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from conftest import ADMIN, ADMIN2, APPROVALS, MANAGER, NINA, START, Bot
from flows import card, dms, file_request, has_buttons, pool, request_row, set_pool, thread
from ledger import build_ledger

from bot.licensing.requests import RequestStatus


async def open_home(bot: Bot, user: str) -> dict[str, Any]:
    """Sends app_home_opened and returns the view published for that user."""
    await bot.event({"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home"})
    return published(bot, user)


def published(bot: Bot, user: str) -> dict[str, Any]:
    calls = [c for c in bot.slack.calls_to("views.publish") if c.parsed["user_id"] == user]
    assert calls, f"no Home published for {user}"
    view = calls[-1].parsed["view"]
    assert view["type"] == "home" and 1 <= len(view["blocks"]) <= 100
    return {**view, "id": calls[-1].response["view"]["id"]}


def shown(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def buttons(view: dict[str, Any], action_id: str) -> list[str]:
    return [
        e["value"]
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("action_id") == action_id
    ]


async def home_click(bot: Bot, user: str, action_id: str, value: str, view: dict[str, Any]) -> None:
    """A button in the App Home: a `view` container and no channel."""
    response = await bot.client.block_action(user, action_id, value, view=view)
    assert response.status == 200
    await bot.settle()


async def test_admin_home_shows_pools_forecast_pending_and_alerts(bot: Bot) -> None:
    await build_ledger(bot)
    pending = await file_request(bot, "pat@example.com supervisor premium")
    await set_pool(bot, "premium supervisor 2")
    async with bot.db.transaction() as tx:  # an alert as the limits job records it
        await tx.alerts.add(
            "limits:over:pool:standard/agent:2026-11-28",
            job="limits",
            kind="over",
            subject="pool:standard/agent",
            period="2026-11-28",
            summary="standard agent is 1 over its 2 seats",
            at=START,
        )
        await tx.alerts.add(
            "limits:over:pool:premium/agent:old",
            job="limits",
            kind="over",
            subject="pool:premium/agent",
            period="old",
            summary="premium agent was over",
            at=START,
        )
        await tx.alerts.resolve("limits:over:pool:premium/agent:old", START, "back under")

    view = await open_home(bot, ADMIN)
    text = shown(view)
    for expected in (
        "*premium agent*",
        "`██████████`",
        "4/4",
        "100%",
        "nearly full",
        "*standard agent*",
        "`██████████ +`",
        "3/2",
        ":warning: 1 over, grace ends 2026-12-28",
        "*standard qm*",
        "`██░░░░░░░░`",
        "Forecast: runs out 2027-03-30 (+1 in 30 days); 10–15 % buffer kept",
        "Pending requests (1)",
        f"*#{pending}* premium supervisor",
        "pat@example.com",
        f"<@{MANAGER}>",
        "Open alerts (1)",
        "standard agent is 1 over its 2 seats",
    ):
        assert expected in text, expected
    assert "premium agent was over" not in text  # resolved
    assert buttons(view, "approve_request") == [str(pending)]
    assert buttons(view, "deny_request") == [str(pending)]
    assert buttons(view, "home_new_request") == ["new"]


async def test_admin_home_without_anything_yet(bot: Bot) -> None:
    text = shown(await open_home(bot, ADMIN))
    assert "No pools yet" in text and "No pending requests." in text
    assert "No open alerts." in text


async def test_requester_home_shows_own_requests_and_new_request_button(bot: Bot) -> None:
    await set_pool(bot, "premium agent 5")
    first = await file_request(bot, "<@U07NINA|nina> agent premium +wfo")
    await bot.command(f"cancel {first}", user=MANAGER)
    second = await file_request(bot, "sam@example.com agent premium")
    await file_request(bot, "other@example.com agent premium", user=ADMIN2)

    view = await open_home(bot, MANAGER)
    text = shown(view)
    assert f"*#{second}* premium agent for sam@example.com · *pending*" in text
    assert f"*#{first}* premium agent +wfo for nina@example.com · *cancelled*" in text
    assert "other@example.com" not in text  # someone else's
    assert "License pools" not in text and buttons(view, "approve_request") == []

    await home_click(bot, MANAGER, "home_new_request", "new", view)
    [opened] = bot.slack.calls_to("views.open")
    assert opened.parsed["view"]["callback_id"] == "license_request"


async def test_home_approve_does_what_the_card_does(bot: Bot) -> None:
    await set_pool(bot, "premium agent 5")
    request_id = await file_request(bot, "<@U07NINA|nina> agent premium dept:Support")
    posted = card(bot.slack, request_id)
    view = await open_home(bot, ADMIN)
    await open_home(bot, MANAGER)
    publishes = len(bot.slack.calls_to("views.publish"))

    await home_click(bot, ADMIN, "approve_request", str(request_id), view)

    stored = await request_row(bot, request_id)
    assert stored.status is RequestStatus.APPROVED and stored.decided_by == ADMIN
    assert (await pool(bot, "premium", "agent")).used == 1
    updated = bot.slack.updates(APPROVALS)
    assert updated[-1]["ts"] == posted["ts"] and not has_buttons(updated[-1])
    assert "Approved" in json.dumps(thread(bot.slack, posted))
    assert "approved" in dms(bot.slack, MANAGER)[-1]["text"]
    # Both Homes are published again: the request has left the admin's pending list.
    assert len(bot.slack.calls_to("views.publish")) == publishes + 2
    after = published(bot, ADMIN)
    assert buttons(after, "approve_request") == [] and "Pending requests (0)" in shown(after)
    assert "*approved*" in shown(published(bot, MANAGER))

    # A second click on the stale Home finds it decided and says so by DM (no channel).
    await home_click(bot, ADMIN2, "approve_request", str(request_id), view)
    assert "already decided" in dms(bot.slack, ADMIN2)[-1]["text"]
    assert (await pool(bot, "premium", "agent")).used == 1


async def test_concurrent_home_and_card_clicks_decide_once(bot: Bot) -> None:
    await set_pool(bot, "premium agent 5")
    request_id = await file_request(bot, "<@U07NINA|nina> agent premium")
    posted = card(bot.slack, request_id)
    view = await open_home(bot, ADMIN)
    responses = await asyncio.gather(
        bot.client.block_action(ADMIN, "approve_request", str(request_id), view=view),
        bot.client.block_action(ADMIN2, "approve_request", str(request_id), message=posted),
        bot.client.block_action(ADMIN, "approve_request", str(request_id), view=view),
        bot.client.block_action(ADMIN2, "approve_request", str(request_id), message=posted),
    )
    await bot.settle()
    assert [r.status for r in responses] == [200] * 4

    assert (await request_row(bot, request_id)).status is RequestStatus.APPROVED
    assert (await pool(bot, "premium", "agent")).used == 1
    async with bot.db.read() as tx:
        approvals = [
            e
            for e in await tx.audit.recent(subjects=[f"request:{request_id}"])
            if e.action == "request.approved"
        ]
        assert len(approvals) == 1
        assert await tx.assignments.count_active() == 1
    assert len(dms(bot.slack, MANAGER)) == 1 and len(thread(bot.slack, posted)) == 1
    home_told = [m["text"] for m in dms(bot.slack, ADMIN)]
    card_told = [c.parsed["text"] for c in bot.slack.calls_to("chat.postEphemeral")]
    assert len(home_told) + len(card_told) == 3
    assert all("already decided" in t for t in home_told + card_told)


async def test_home_deny_opens_the_reason_modal_like_the_card(bot: Bot) -> None:
    await set_pool(bot, "premium agent 5")
    request_id = await file_request(bot, f"<@{NINA}|nina> agent premium")
    view = await open_home(bot, ADMIN)
    await home_click(bot, ADMIN, "deny_request", str(request_id), view)
    [opened] = bot.slack.calls_to("views.open")
    assert opened.parsed["view"]["callback_id"] == "deny_reason"
    assert opened.parsed["view"]["private_metadata"] == str(request_id)
    assert (await request_row(bot, request_id)).status is RequestStatus.PENDING


async def test_home_with_many_pools_and_requests_stays_within_100_blocks(bot: Bot) -> None:
    for item in (
        "agent",
        "supervisor",
        "executive",
        "wfo",
        "qm",
        "insights",
        "analytics",
        "chat",
        "social",
    ):
        for edition in ("premium",):
            await set_pool(bot, f"{edition} {item} 100")
    for edition in ("standard", "partner"):
        for item in ("agent", "supervisor", "executive", "chat"):
            await set_pool(bot, f"{edition} {item} 100")
    for i in range(25):
        await file_request(bot, f"hire{i:02d}@example.com agent premium")
    view = await open_home(bot, ADMIN)
    assert len(view["blocks"]) <= 100
    text = shown(view)
    assert "Pending requests (25)" in text and "and 10 more — decide them on their cards" in text
    assert len(buttons(view, "approve_request")) == 15
