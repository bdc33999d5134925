"""Seat lifecycle and approval policy (SPEC 9, 10) end to end: signed requests into the real
app, the fake Slack, the real SQLite store."""

from __future__ import annotations

import json
from typing import Any

from conftest import ADMIN, ADMIN2, ALERTS, APPROVALS, MANAGER, NINA, OUTSIDER, Bot
from flows import (
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
from test_home import home_click, open_home

from bot.licensing.requests import RequestKind, RequestStatus


def card_of(bot: Bot, request_id: int) -> dict[str, Any]:
    """The approvals card of any kind of request (request, change, offboarding)."""
    found = [m for m in cards(bot.slack) if f" #{request_id}:" in m.get("text", "")]
    assert len(found) == 1, [m.get("text") for m in cards(bot.slack)]
    return found[0]


async def approve_card(bot: Bot, request_id: int, user: str = ADMIN) -> None:
    await bot.click("approve_request", str(request_id), user, message=card_of(bot, request_id))


def filed_id(text: str) -> int:
    for marker in ("Filed request #", "Filed change #", "Filed offboarding #"):
        if marker in text:
            return int(text.split(marker, 1)[1].split(":", 1)[0])
    raise AssertionError(text)


async def holder(bot: Bot, email: str) -> Any:
    async with bot.db.read() as tx:
        return await tx.assignments.active_for_email(email)


async def audit(bot: Bot, action: str) -> list[Any]:
    async with bot.db.read() as tx:
        rows = await tx.connection.execute_fetchall(
            "SELECT actor, subject, before, after FROM audit WHERE action = ? ORDER BY id",
            (action,),
        )
    return [(r[0], r[1], json.loads(r[2] or "null"), json.loads(r[3] or "null")) for r in rows]


async def give_seat(bot: Bot, text: str) -> None:
    reply = await bot.command(f"assign {text}", user=ADMIN)
    assert "now holds" in reply.text, reply.text


async def thread_reply(bot: Bot, posted: dict[str, Any], user: str, text: str, n: int) -> None:
    await bot.event(
        {
            "type": "message",
            "channel": APPROVALS,
            "user": user,
            "text": text,
            "ts": f"1800000000.{n:06d}",
            "thread_ts": posted["ts"],
        }
    )


# --- four eyes (SPEC 10) ---------------------------------------------------------------


async def test_four_eyes_the_filer_never_approves_by_button_thread_or_home(bot: Bot) -> None:
    await set_pool(bot, "standard agent 10")
    request_id = await file_request(bot, "<@U07NINA|nina> agent standard", user=ADMIN)
    posted = card_of(bot, request_id)

    await approve_card(bot, request_id, user=ADMIN)
    await thread_reply(bot, posted, ADMIN, "approve", 1)
    view = await open_home(bot, ADMIN)
    await home_click(bot, ADMIN, "approve_request", str(request_id), view)

    assert (await request_row(bot, request_id)).status is RequestStatus.PENDING
    assert (await pool(bot, "standard", "agent")).used == 0
    assert await holder(bot, "nina@example.com") is None
    told = [text_of(m) for m in ephemerals(bot.slack, ADMIN)] + [
        text_of(m) for m in dms(bot.slack, ADMIN)
    ]
    assert sum("another admin must approve this" in t for t in told) == 3, told
    assert not bot.slack.updates(APPROVALS) and not thread(bot.slack, posted)

    await approve_card(bot, request_id, user=ADMIN2)
    stored = await request_row(bot, request_id)
    assert stored.status is RequestStatus.APPROVED and stored.decided_by == ADMIN2


async def test_four_eyes_off_lets_the_filer_approve(make_bot: Any) -> None:
    bot = await make_bot(four_eyes=False)
    await set_pool(bot, "standard agent 10")
    request_id = await file_request(bot, "<@U07NINA|nina> agent standard", user=ADMIN)
    await approve_card(bot, request_id, user=ADMIN)
    assert (await request_row(bot, request_id)).status is RequestStatus.APPROVED


# --- change (SPEC 9) -------------------------------------------------------------------


async def test_change_card_shows_both_pools_and_approval_moves_the_seat(bot: Bot) -> None:
    await set_pool(bot, "premium agent 10")
    await set_pool(bot, "premium wfo 5")
    await set_pool(bot, "standard agent 2")
    await set_pool(bot, "standard agent 2")
    await give_seat(bot, "<@U07NINA|nina> agent premium +wfo dept:Support")
    await give_seat(bot, "a@example.com agent standard")
    await give_seat(bot, "b@example.com agent standard")

    reply = await bot.command(
        "change <@U07NINA|nina> agent standard -wfo back to basics", user=MANAGER
    )
    request_id = filed_id(reply.text)
    posted = card_of(bot, request_id)
    shown = text_of(posted)
    assert "Seat change" in shown and "back to basics" in shown
    assert "leaves premium agent 1/10 → 0/10 (a seat freed)" in shown
    assert "leaves premium wfo 1/5 → 0/5 (a seat freed)" in shown
    assert "enters :warning: standard agent 2/2 → 3/2: 1 over, enters grace period" in shown
    assert has_buttons(posted)
    assert (await request_row(bot, request_id)).kind is RequestKind.CHANGE

    await approve_card(bot, request_id, user=ADMIN)

    held = await holder(bot, "nina@example.com")
    assert (held.edition, held.seat_type, held.modules) == ("standard", "agent", ())
    assert held.license_group == "Support_Agent_LicenseGroup"
    assert (await pool(bot, "premium", "agent")).used == 0
    assert (await pool(bot, "premium", "wfo")).used == 0
    assert (await pool(bot, "standard", "agent")).used == 3
    [(actor, subject, before, after)] = await audit(bot, "assignment.changed")
    assert actor == ADMIN and subject == "nina@example.com"
    assert before["edition"] == "premium" and before["modules"] == ["wfo"]
    assert after["edition"] == "standard" and after["modules"] == []
    assert "Approved" in text_of(bot.slack.updates(APPROVALS)[-1])
    assert "premium agent now 0/10 (a seat freed)" in text_of(thread(bot.slack, posted)[-1])
    assert "change #" in dms(bot.slack, MANAGER)[-1]["text"]


async def test_change_refused_into_a_full_pool_changes_nothing(bot: Bot) -> None:
    await set_pool(bot, "standard agent 5")
    await set_pool(bot, "premium agent 0")
    await give_seat(bot, "<@U07NINA|nina> agent standard")
    request_id = filed_id((await bot.command("change nina@example.com agent premium")).text)
    assert ":no_entry:" in text_of(card_of(bot, request_id))
    await approve_card(bot, request_id, user=ADMIN)
    assert (await request_row(bot, request_id)).status is RequestStatus.PENDING
    assert (await holder(bot, "nina@example.com")).edition == "standard"
    assert any("cannot be approved" in text_of(m) for m in ephemerals(bot.slack, ADMIN))


async def test_request_and_change_point_at_each_other(bot: Bot) -> None:
    await set_pool(bot, "standard agent 5")
    reply = await bot.command("change nina@example.com agent premium")
    assert "holds no seat to change" in reply.text and "/license request" in reply.text
    await give_seat(bot, "nina@example.com agent standard")
    reply = await bot.command("request nina@example.com agent premium")
    assert "already holds" in reply.text and "/license change" in reply.text
    reply = await bot.command("change nina@example.com agent standard")
    assert "nothing to change" in reply.text
    reply = await bot.command("change nina@example.com agent standard -qm")
    assert "does not hold +qm" in reply.text
    reply = await bot.command("change nina@example.com agent partner +wfo")
    assert "not included in the partner edition" in reply.text
    async with bot.db.read() as tx:
        assert await tx.requests.pending() == []


# --- offboarding (SPEC 9) --------------------------------------------------------------


async def test_admin_offboard_revokes_at_once_and_cancels_pending_requests(bot: Bot) -> None:
    await set_pool(bot, "standard agent 5")
    await set_pool(bot, "premium agent 5")
    await give_seat(bot, "<@U07NINA|nina> agent standard")
    change_id = filed_id((await bot.command("change nina@example.com agent premium")).text)

    reply = await bot.command("offboard <@U07NINA|nina> left the company", user=ADMIN)
    assert "Offboarded" in reply.text and "1 pending request for them cancelled" in reply.text
    assert await holder(bot, "nina@example.com") is None
    assert (await pool(bot, "standard", "agent")).used == 0
    cancelled = await request_row(bot, change_id)
    assert cancelled.status is RequestStatus.CANCELLED and cancelled.decided_by == ADMIN
    assert "Cancelled" in text_of(bot.slack.updates(APPROVALS)[-1])
    told = dms(bot.slack, MANAGER)[-1]["text"]
    assert f"change #{change_id}" in told and "cancelled" in told and "was revoked" in told
    [(actor, _, before, after)] = await audit(bot, "assignment.revoked")
    assert actor == ADMIN and before["status"] == "active" and after["status"] == "revoked"
    assert "left the company" in after["reason"]


async def test_offboard_by_a_non_admin_files_a_card_an_admin_confirms(bot: Bot) -> None:
    await set_pool(bot, "standard agent 5")
    await give_seat(bot, "<@U07NINA|nina> agent standard")
    reply = await bot.command("offboard nina@example.com last day was Friday", user=MANAGER)
    request_id = filed_id(reply.text)
    assert await holder(bot, "nina@example.com") is not None
    posted = card_of(bot, request_id)
    assert "Offboarding" in text_of(posted) and has_buttons(posted)

    await approve_card(bot, request_id, user=MANAGER)  # not an admin
    assert await holder(bot, "nina@example.com") is not None
    await approve_card(bot, request_id, user=ADMIN)
    assert await holder(bot, "nina@example.com") is None
    assert (await request_row(bot, request_id)).status is RequestStatus.APPROVED
    assert "revoked" in dms(bot.slack, MANAGER)[-1]["text"]


async def test_offboard_bad_input(bot: Bot) -> None:
    reply = await bot.command("offboard nobody@example.com", user=ADMIN)
    assert "holds no seat" in reply.text
    reply = await bot.command("offboard nobody@example.com", user=MANAGER)
    assert "holds no seat" in reply.text
    reply = await bot.command("offboard", user=ADMIN)
    assert "Usage: `/license offboard" in reply.text
    reply = await bot.command("offboard not-a-person", user=ADMIN)
    assert "is not a person" in reply.text


async def test_deactivated_holder_gets_one_alert_with_reclaim(bot: Bot) -> None:
    await set_pool(bot, "standard agent 5")
    await give_seat(bot, "<@U07NINA|nina> agent standard")
    event = {"type": "user_change", "user": {"id": NINA, "deleted": True, "name": "nina"}}
    await bot.event(event)
    await bot.event(event)
    await bot.event({"type": "user_change", "user": {"id": OUTSIDER, "deleted": True}})
    await bot.event({"type": "user_change", "user": {"id": NINA, "deleted": False}})

    alerts = bot.slack.messages(ALERTS)
    assert len(alerts) == 1
    assert "deactivated" in text_of(alerts[0]) and "nina@example.com" in text_of(alerts[0])
    assert has_buttons(alerts[0])
    assert await holder(bot, "nina@example.com") is not None

    await bot.click("deactivated_reclaim", json_value(alerts[0]), OUTSIDER, message=alerts[0])
    assert await holder(bot, "nina@example.com") is not None
    await bot.click("deactivated_reclaim", json_value(alerts[0]), ADMIN, message=alerts[0])
    assert await holder(bot, "nina@example.com") is None
    updated = bot.slack.updates(ALERTS)[-1]
    assert "Reclaimed by" in text_of(updated) and not has_buttons(updated)
    async with bot.db.read() as tx:
        assert await tx.alerts.open(job="lifecycle") == []  # off the App Home's open alerts
    await bot.event(event)
    assert len(bot.slack.messages(ALERTS)) == 1


async def test_reclaim_of_a_seat_already_ended_says_so_on_the_alert(bot: Bot) -> None:
    """The seat ended another way (here: `/license revoke`) before Reclaim was pressed: the
    admin is told, and the alert loses its button and says the seat is gone, rather than
    offering a Reclaim that can only fail."""
    await set_pool(bot, "standard agent 5")
    await give_seat(bot, "<@U07NINA|nina> agent standard")
    await bot.event({"type": "user_change", "user": {"id": NINA, "deleted": True, "name": "x"}})
    [alert] = bot.slack.messages(ALERTS)
    revoked = await bot.command("revoke nina@example.com", user=ADMIN)
    assert "Revoked" in revoked.text or "revoked" in revoked.text
    before = len(bot.slack.updates(ALERTS))
    await bot.click("deactivated_reclaim", json_value(alert), ADMIN, message=alert)
    assert "that seat is already revoked" in text_of(ephemerals(bot.slack, ADMIN)[-1])
    updates = bot.slack.updates(ALERTS)
    assert len(updates) == before + 1
    assert "No longer holds this seat" in text_of(updates[-1]) and not has_buttons(updates[-1])


async def test_deactivation_revokes_at_once_when_configured(make_bot: Any) -> None:
    bot = await make_bot(reclaim_on_deactivation=True)
    await set_pool(bot, "standard agent 5")
    await give_seat(bot, "<@U07NINA|nina> agent standard")
    await bot.event({"type": "user_change", "user": {"id": NINA, "deleted": True}})
    assert await holder(bot, "nina@example.com") is None
    [alert] = bot.slack.messages(ALERTS)
    assert "revoked at once" in text_of(alert) and not has_buttons(alert)
    async with bot.db.read() as tx:
        assert await tx.alerts.open() == []
    [(actor, *_)] = await audit(bot, "assignment.revoked")
    assert actor == "licensebot"


def json_value(message: dict[str, Any]) -> str:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id"):
                return str(element["value"])
    raise AssertionError("no button")


# --- time-bound seats (SPEC 9) ---------------------------------------------------------


async def test_time_bound_seat_warned_extended_and_ended_once(bot: Bot) -> None:
    from datetime import datetime

    from alerting import alerts, buttons, run

    await set_pool(bot, "standard agent 10")
    request_id = await file_request(
        bot, "<@U07NINA|nina> agent standard until:2026-12-05 seasonal", user=MANAGER
    )
    assert "2026-12-05" in text_of(card_of(bot, request_id))
    await approve_card(bot, request_id, user=ADMIN)
    assert str((await holder(bot, "nina@example.com")).ends_on) == "2026-12-05"
    await give_seat(bot, "sam@example.com agent standard until:2026-12-01")

    assert "until 2026-12-05" in (await bot.command("check nina@example.com", user=ADMIN)).text
    assert "until 2026-12-05" in (await bot.command("users", user=ADMIN)).text
    view = await open_home(bot, ADMIN)
    assert "until 2026-12-01" in json.dumps(view["blocks"])  # sam ends within 3 days

    bot.clock.set(datetime.fromisoformat("2026-12-01T09:00:00+00:00"))
    assert await run(bot, "expiring") != []
    [summary] = alerts(bot)
    assert "sam@example.com" in text_of(summary) and "nina" not in text_of(summary)
    assert not dms(bot.slack, NINA)

    bot.clock.set(datetime.fromisoformat("2026-12-02T09:00:00+00:00"))
    await run(bot, "expiring")
    assert await holder(bot, "sam@example.com") is None  # ended after 2026-12-01
    summary = alerts(bot)[-1]
    assert "nina@example.com" in text_of(summary) and "Ended and revoked" in text_of(summary)
    nina_seat = await holder(bot, "nina@example.com")
    assert buttons(summary) == [("expiring_extend", str(nina_seat.id))]
    assert "last day is 2026-12-05" in dms(bot.slack, NINA)[-1]["text"]
    assert "nina@example.com" in dms(bot.slack, MANAGER)[-1]["text"]
    async with bot.db.read() as tx:
        assert len(await tx.alerts.open(job="expiring")) == 1  # the new one supersedes
    posted = len(bot.slack.messages())
    assert await run(bot, "expiring") == []
    assert len(bot.slack.messages()) == posted  # nothing twice

    await bot.click("expiring_extend", buttons(summary)[0][1], MANAGER, message=summary)
    assert str((await holder(bot, "nina@example.com")).ends_on) == "2026-12-05"
    await bot.click("expiring_extend", buttons(summary)[0][1], ADMIN, message=summary)
    assert str((await holder(bot, "nina@example.com")).ends_on) == "2027-01-04"
    assert "Extended to 2027-01-04" in text_of(bot.slack.updates(ALERTS)[-1])
    [(actor, _, before, after)] = await audit(bot, "assignment.extended")
    assert actor == ADMIN and before["ends_on"] == "2026-12-05"
    assert after["ends_on"] == "2027-01-04"

    reply = await bot.command("extend <@U07NINA|nina> 2026-12-03", user=ADMIN)
    assert "until 2026-12-03" in reply.text and "was 2027-01-04" in reply.text
    bot.clock.set(datetime.fromisoformat("2026-12-04T09:00:00+00:00"))
    await run(bot, "expiring")
    assert await holder(bot, "nina@example.com") is None
    assert "ended after 2026-12-03" in dms(bot.slack, NINA)[-1]["text"]
    [(actor, *_), _] = await audit(bot, "assignment.revoked")
    assert actor == "licensebot"


async def test_time_bound_bad_input(bot: Bot) -> None:
    await set_pool(bot, "standard agent 10")
    reply = await bot.command("request nina@example.com agent standard until:2026-11-01")
    assert "is in the past" in reply.text
    reply = await bot.command("assign nina@example.com agent standard until:2026-11-29", user=ADMIN)
    assert "is in the past" in reply.text
    reply = await bot.command("request nina@example.com agent standard until:tomorrow")
    assert "is not a date" in reply.text
    reply = await bot.command("extend nina@example.com 2027-01-01", user=ADMIN)
    assert "holds no active seat" in reply.text
    await give_seat(bot, "nina@example.com agent standard")
    reply = await bot.command("extend nina@example.com 2026-11-01", user=ADMIN)
    assert "is in the past" in reply.text
    reply = await bot.command("extend nina@example.com 2027-01-01", user=MANAGER)
    assert "only license admins" in reply.text
    assert (await holder(bot, "nina@example.com")).ends_on is None
    reply = await bot.command("extend nina@example.com", user=ADMIN)
    assert "Usage: `/license extend" in reply.text


async def test_assignments_report_shows_the_end_date(bot: Bot) -> None:
    from bot.reports.build import build_report

    await set_pool(bot, "standard agent 10")
    await give_seat(bot, "nina@example.com agent standard until:2027-03-31")
    async with bot.db.read() as tx:
        table = await build_report(tx, bot.deps.rules, "assignments", bot.clock.now())
    assert table.header[-1] == "ends_on"
    assert str(table.rows[0][-1]) == "2027-03-31"


# --- department quotas (SPEC 10) -------------------------------------------------------


async def test_department_quota_on_the_card_and_refused_on_approval(bot: Bot) -> None:
    await set_pool(bot, "premium agent 10")
    assert "only license admins" in (await bot.command("quota", user=MANAGER)).text
    assert "No department quotas" in (await bot.command("quota", user=ADMIN)).text
    reply = await bot.command("quota set support premium agent 1", user=ADMIN)
    assert "Support may hold 1 premium agent seats (new quota); it uses 0 now" in reply.text
    await give_seat(bot, "nina@example.com agent premium dept:Support")

    over = await file_request(bot, "sam@example.com agent premium dept:Support")
    shown = text_of(card_of(bot, over))
    assert "Support premium agent 1/1 → 2/1, over the department's quota" in shown
    assert "premium agent 1/10 → 2/10" in shown  # the pool itself has room
    await approve_card(bot, over, user=ADMIN)
    assert (await request_row(bot, over)).status is RequestStatus.PENDING
    refusal = text_of(ephemerals(bot.slack, ADMIN)[-1])
    assert "over the department's quota" in refusal
    assert "/license quota set Support premium agent" in refusal

    other = await file_request(bot, "tom@example.com agent premium dept:Sales")
    await approve_card(bot, other, user=ADMIN)
    assert (await request_row(bot, other)).status is RequestStatus.APPROVED

    reply = await bot.command("assign ann@example.com agent premium dept:Support", user=ADMIN)
    assert "over the department's quota" in reply.text
    assert await holder(bot, "ann@example.com") is None

    reply = await bot.command("quota set Support premium agent 0", user=ADMIN)
    assert "(was 1)" in reply.text and "below what Support uses now (1/0)" in reply.text
    assert await holder(bot, "nina@example.com") is not None  # nobody loses a seat
    listed = (await bot.command("quota", user=ADMIN)).text
    assert "Support* premium agent `1/0`" in listed and "1 over" in listed
    reply = await bot.command("quota set Support premium agent 2", user=ADMIN)
    await approve_card(bot, over, user=ADMIN)
    assert (await request_row(bot, over)).status is RequestStatus.APPROVED
    changes = await audit(bot, "quota.set")
    assert [(b, a["seats"]) for _, _, b, a in changes] == [
        (None, 1),
        ({"seats": 1}, 0),
        ({"seats": 0}, 2),
    ]


async def test_quota_bad_input(bot: Bot) -> None:
    reply = await bot.command("quota set Sup-port premium agent 5", user=ADMIN)
    assert "naming convention" in reply.text
    reply = await bot.command("quota set Support premium nothing 5", user=ADMIN)
    assert "Usage: `/license quota set" in reply.text
    reply = await bot.command("quota set Support premium agent many", user=ADMIN)
    assert "whole number" in reply.text
    reply = await bot.command("quota set Support partner wfo 5", user=ADMIN)
    assert "not included in the partner edition" in reply.text
    reply = await bot.command("quota set Support premium agent 5", user=MANAGER)
    assert "only license admins" in reply.text
    async with bot.db.read() as tx:
        assert await tx.quotas.all() == []


# --- finance stage (SPEC 10) -----------------------------------------------------------

FINANCE = "S0FINANCE"


async def finance_bot(make_bot: Any) -> Bot:
    bot = await make_bot(finance_group=FINANCE, finance_threshold="100")
    bot.slack.set_usergroup(FINANCE, [OUTSIDER, ADMIN2])
    await set_pool(bot, "premium agent 10 price:80")
    await set_pool(bot, "premium wfo 10 price:30")
    await set_pool(bot, "standard agent 10 price:50")
    return bot


async def test_finance_stage_admin_then_finance_member(make_bot: Any) -> None:
    bot = await finance_bot(make_bot)
    request_id = await file_request(bot, "<@U07NINA|nina> agent premium +wfo")
    posted = card_of(bot, request_id)
    assert "an admin, then finance (monthly cost $110.00" in text_of(posted)

    await approve_card(bot, request_id, user=OUTSIDER)  # finance first: not yet
    assert (await request_row(bot, request_id)).stage_approved_by is None
    await approve_card(bot, request_id, user=ADMIN)
    staged = await request_row(bot, request_id)
    assert staged.status is RequestStatus.PENDING and staged.stage_approved_by == ADMIN
    assert await holder(bot, "nina@example.com") is None
    updated = bot.slack.updates(APPROVALS)[-1]
    assert f"approved by <@{ADMIN}> — waiting for finance" in text_of(updated)
    assert has_buttons(updated)
    assert "waiting for finance" in text_of(thread(bot.slack, posted)[-1])
    assert "now waits for finance" in dms(bot.slack, MANAGER)[-1]["text"]
    home = json.dumps((await open_home(bot, ADMIN))["blocks"], ensure_ascii=False)
    assert f"approved by <@{ADMIN}> — waiting for finance" in home

    await approve_card(bot, request_id, user=ADMIN)  # one person never gives both
    assert "one person never gives both" in text_of(ephemerals(bot.slack, ADMIN)[-1])
    await approve_card(bot, request_id, user=MANAGER)
    assert (await request_row(bot, request_id)).status is RequestStatus.PENDING

    view = await open_home(bot, OUTSIDER)  # a finance member, not an admin
    assert "Waiting for finance (1)" in json.dumps(view["blocks"])
    await home_click(bot, OUTSIDER, "approve_request", str(request_id), view)
    done = await request_row(bot, request_id)
    assert done.status is RequestStatus.APPROVED and done.decided_by == OUTSIDER
    final = text_of(bot.slack.updates(APPROVALS)[-1])
    assert f"by <@{OUTSIDER}> (finance)" in final and f"admin approval by <@{ADMIN}>" in final
    assert (await holder(bot, "nina@example.com")).modules == ("wfo",)
    [(actor, *_)] = await audit(bot, "request.stage_approved")
    assert actor == ADMIN


async def test_finance_stage_admin_in_finance_group_cannot_give_both(make_bot: Any) -> None:
    bot = await finance_bot(make_bot)
    request_id = await file_request(bot, "<@U07NINA|nina> agent premium +wfo")
    await approve_card(bot, request_id, user=ADMIN2)
    await approve_card(bot, request_id, user=ADMIN2)
    assert (await request_row(bot, request_id)).status is RequestStatus.PENDING
    posted = card_of(bot, request_id)
    await thread_reply(bot, posted, OUTSIDER, "deny not in this quarter's budget", 7)
    denied = await request_row(bot, request_id)
    assert denied.status is RequestStatus.DENIED and denied.decided_by == OUTSIDER
    assert "denied" in dms(bot.slack, MANAGER)[-1]["text"]


async def test_finance_stage_below_threshold_and_finance_deny_only_at_its_stage(
    make_bot: Any,
) -> None:
    bot = await finance_bot(make_bot)
    cheap = await file_request(bot, "<@U07NINA|nina> agent standard")
    assert "finance" not in text_of(card_of(bot, cheap))
    await approve_card(bot, cheap, user=ADMIN)
    assert (await request_row(bot, cheap)).status is RequestStatus.APPROVED

    dear = await file_request(bot, "sam@example.com agent premium +wfo")
    await thread_reply(bot, card_of(bot, dear), OUTSIDER, "deny too expensive", 8)
    assert (await request_row(bot, dear)).status is RequestStatus.PENDING  # admin stage


async def test_finance_stage_for_a_change(make_bot: Any) -> None:
    bot = await finance_bot(make_bot)
    await give_seat(bot, "nina@example.com agent standard")
    request_id = filed_id((await bot.command("change nina@example.com agent premium +wfo")).text)
    await approve_card(bot, request_id, user=ADMIN)
    assert (await holder(bot, "nina@example.com")).edition == "standard"
    await approve_card(bot, request_id, user=OUTSIDER)
    assert (await holder(bot, "nina@example.com")).edition == "premium"


# --- escalation (SPEC 10) --------------------------------------------------------------


async def test_escalation_dms_each_admin_once_after_twice_the_reminder_hours(bot: Bot) -> None:
    from alerting import run

    await set_pool(bot, "premium agent 10")
    mine = await file_request(bot, "<@U07NINA|nina> agent premium")
    own = await file_request(bot, "sam@example.com agent premium", user=ADMIN)
    bot.clock.advance(hours=47)
    sent = await run(bot, "requests")
    assert {m.target for m in sent} == {"thread"}  # the 24-hour nudges only
    assert not dms(bot.slack, ADMIN) and not dms(bot.slack, ADMIN2)

    bot.clock.advance(hours=1)
    sent = await run(bot, "requests")
    escalated = sorted((m.user_id, m.key) for m in sent if m.target == "dm")
    assert escalated == [
        (ADMIN, f"requests:escalate:request:{mine}:admin:{ADMIN}"),
        (ADMIN2, f"requests:escalate:request:{mine}:admin:{ADMIN2}"),
        (ADMIN2, f"requests:escalate:request:{own}:admin:{ADMIN2}"),  # not its filer
    ]
    told = text_of(dms(bot.slack, ADMIN)[-1])
    assert f"Seat request #{mine}" in told and "waited 48 hours" in told
    assert "https://slack.com/archives/" in text_of(dms(bot.slack, ADMIN)[-1])
    bot.clock.advance(hours=5)
    assert await run(bot, "requests") == []
    assert len(dms(bot.slack, ADMIN2)) == 2


async def test_escalation_at_the_finance_stage_goes_to_finance_members(make_bot: Any) -> None:
    from alerting import run

    bot = await finance_bot(make_bot)
    request_id = await file_request(bot, "<@U07NINA|nina> agent premium +wfo")
    await approve_card(bot, request_id, user=ADMIN2)  # admin stage, by a finance member
    bot.clock.advance(hours=48)
    sent = await run(bot, "requests")
    assert [m.user_id for m in sent if m.target == "dm"] == [OUTSIDER]
    [nudge] = [m for m in sent if m.target == "thread"]
    shown = json.dumps(nudge.blocks)
    assert f"<!subteam^{FINANCE}>" in shown and f"<@{ADMIN}>" not in shown
    assert "waited 48 hours for finance approval" in text_of(dms(bot.slack, OUTSIDER)[-1])
    bot.clock.advance(hours=24)
    assert [m for m in await run(bot, "requests") if m.target == "dm"] == []


async def test_request_modal_takes_a_last_day(bot: Bot) -> None:
    await set_pool(bot, "standard agent 5")
    values = {
        "hire_user": {"value": {"type": "users_select", "selected_user": NINA}},
        "seat_type": {"value": {"type": "static_select", "selected_option": {"value": "agent"}}},
        "edition": {"value": {"type": "static_select", "selected_option": {"value": "standard"}}},
        "start_date": {"value": {"type": "datepicker", "selected_date": "2026-12-07"}},
        "until_date": {"value": {"type": "datepicker", "selected_date": "2026-12-01"}},
    }
    response = await bot.submit(MANAGER, "license_request", values)
    assert response.json()["errors"] == {"until_date": "the last day is before the start date"}
    values["until_date"]["value"]["selected_date"] = "2027-01-31"
    response = await bot.submit(MANAGER, "license_request", values)
    assert response.status == 200
    [posted] = cards(bot.slack)
    assert "2027-01-31 (time-bound seat)" in text_of(posted)


async def test_help_lists_the_lifecycle_commands(bot: Bot) -> None:
    everyone = (await bot.command("help", user=MANAGER)).text
    assert "/license change" in everyone and "/license offboard" in everyone
    assert "/license extend" not in everyone and "/license quota" not in everyone
    admin = (await bot.command("help", user=ADMIN)).text
    for usage in ("/license extend", "/license quota set", "until:"):
        assert usage in admin, usage


async def test_concurrent_clicks_change_a_seat_once_and_stage_once(make_bot: Any) -> None:
    import asyncio

    bot = await finance_bot(make_bot)
    bot.slack.set_usergroup(FINANCE, [OUTSIDER])  # neither admin can give the second stage
    await give_seat(bot, "nina@example.com agent standard")
    change = filed_id((await bot.command("change nina@example.com agent premium")).text)
    posted = card_of(bot, change)
    responses = await asyncio.gather(
        *[
            bot.client.block_action(admin, "approve_request", str(change), message=posted)
            for admin in (ADMIN, ADMIN2, ADMIN, ADMIN2)
        ]
    )
    await bot.settle()
    assert [r.status for r in responses] == [200] * 4
    assert (await holder(bot, "nina@example.com")).edition == "premium"
    assert len(await audit(bot, "assignment.changed")) == 1
    assert (await pool(bot, "standard", "agent")).used == 0
    assert (await pool(bot, "premium", "agent")).used == 1

    dear = await file_request(bot, "sam@example.com agent premium +wfo")
    posted = card_of(bot, dear)
    await asyncio.gather(
        *[
            bot.client.block_action(admin, "approve_request", str(dear), message=posted)
            for admin in (ADMIN, ADMIN2, ADMIN, ADMIN2)
        ]
    )
    await bot.settle()
    staged = await request_row(bot, dear)
    assert staged.status is RequestStatus.PENDING and staged.stage_approved_by in (ADMIN, ADMIN2)
    assert len(await audit(bot, "request.stage_approved")) == 1


async def test_unknown_person_is_told_for_every_new_command(bot: Bot) -> None:
    for text, user in (
        ("change <@U0NOBODY|ghost> agent premium", MANAGER),
        ("offboard <@U0NOBODY|ghost>", ADMIN),
        ("offboard <@U0NOBODY|ghost>", MANAGER),
        ("extend <@U0NOBODY|ghost> 2027-01-01", ADMIN),
    ):
        reply = await bot.command(text, user=user)
        assert "could not look up &lt;@U0NOBODY&gt; (user_not_found)" in reply.text, text
    async with bot.db.read() as tx:
        assert await tx.requests.pending() == []


async def test_change_with_until_makes_the_seat_time_bound(bot: Bot) -> None:
    await set_pool(bot, "standard agent 5")
    await set_pool(bot, "standard qm 5")
    await give_seat(bot, "nina@example.com agent standard")
    reply = await bot.command("change nina@example.com agent standard +qm until:2027-01-15 pilot")
    request_id = filed_id(reply.text)
    assert "until 2027-01-15" in reply.text
    assert "2027-01-15 (time-bound seat)" in text_of(card_of(bot, request_id))
    await approve_card(bot, request_id)
    held = await holder(bot, "nina@example.com")
    assert held.modules == ("qm",) and str(held.ends_on) == "2027-01-15"
    reply = await bot.command("change nina@example.com agent standard until:2026-11-01")
    assert "is in the past" in reply.text


async def test_revoke_cancels_the_holders_pending_requests(bot: Bot) -> None:
    await set_pool(bot, "standard agent 5")
    await give_seat(bot, "nina@example.com agent standard")
    pending = filed_id((await bot.command("change nina@example.com agent standard +qm")).text)
    reply = await bot.command("revoke nina@example.com", user=ADMIN)
    assert "Revoked" in reply.text
    assert (await request_row(bot, pending)).status is RequestStatus.CANCELLED
    [(_, subject, before, after)] = await audit(bot, "request.cancelled")
    assert subject == f"request:{pending}"
    assert (before["status"], after["status"]) == ("pending", "cancelled")
