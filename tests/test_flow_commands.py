"""The rest of the `/license` surface through HTTP: help, the modal, requests, cancel,
admin commands and their refusal, the bad-input table, and request signing."""

from __future__ import annotations

import json
import time

import pytest
from conftest import ADMIN, APPROVALS, MANAGER, NINA, OUTSIDER, SECRET, Bot
from flows import card, cards, dms, file_request, pool, request_row, set_pool, text_of
from signing import sign

from bot.licensing.requests import RequestStatus


async def store_counts(bot: Bot) -> tuple[int, ...]:
    async with bot.db.read() as tx:
        rows = []
        for table in ("requests", "pools", "assignments", "audit", "outbox"):
            async with tx.connection.execute(f"SELECT COUNT(*) FROM {table}") as cursor:
                rows.append((await cursor.fetchone())[0])
    return tuple(rows)


async def test_help_depends_on_the_role(bot: Bot) -> None:
    everyone = await bot.command("help", user=MANAGER)
    admin = await bot.command("", user=ADMIN)
    assert "/license request" in everyone.text and "pool set" not in everyone.text
    assert "pool set" in admin.text and "/license request" in admin.text


async def test_admin_group_members_are_admins(make_bot, slack) -> None:  # noqa: ANN001
    slack.set_usergroup("S0ADMINS", [OUTSIDER])
    bot = await make_bot(admins="", admin_group="S0ADMINS")
    reply = await bot.command("pool set premium agent 4", user=OUTSIDER)
    assert "now has 4 seats" in reply.text
    refused = await bot.command("pool set premium agent 9", user=MANAGER)
    assert "only license admins" in refused.text
    assert (await pool(bot, "premium", "agent")).purchased == 4
    await bot.command("pool", user=OUTSIDER)
    assert len(slack.calls_to("usergroups.users.list")) == 1  # cached briefly


@pytest.mark.parametrize(
    "text",
    [
        "pool set premium agent 10",
        "assign nina@example.com agent premium",
        "revoke nina@example.com",
        "pool",
        "trial start 2026-12-01",
    ],
)
async def test_non_admin_admin_commands_are_refused_and_change_nothing(bot: Bot, text: str) -> None:
    before = await store_counts(bot)
    reply = await bot.command(text, user=OUTSIDER)
    assert reply.status == 200 and "only license admins" in reply.text
    assert await store_counts(bot) == before


async def test_request_modal_opens_and_files_a_request(bot: Bot) -> None:
    await set_pool(bot, "premium agent 5")
    await bot.command("request", user=MANAGER)
    opened = bot.slack.calls_to("views.open")
    assert len(opened) == 1 and opened[0].parsed["view"]["callback_id"] == "license_request"
    assert opened[0].parsed["trigger_id"] == "trig-1"

    def pick(value: str) -> dict:
        return {"value": {"type": "static_select", "selected_option": {"value": value}}}

    values = {
        "hire_user": {"value": {"type": "users_select", "selected_user": NINA}},
        "seat_type": pick("agent"),
        "edition": pick("premium"),
        "modules": {
            "value": {"type": "multi_static_select", "selected_options": [{"value": "wfo"}]}
        },
        "department": {"value": {"type": "plain_text_input", "value": "Support"}},
        "start_date": {"value": {"type": "datepicker", "selected_date": "2026-12-07"}},
        "reason": {"value": {"type": "plain_text_input", "value": "Backfill for Sam"}},
    }
    await set_pool(bot, "premium wfo 5")
    response = await bot.submit(MANAGER, "license_request", values)
    assert response.status == 200 and response.text in ("", "{}")
    posted = cards(bot.slack)
    assert len(posted) == 1
    assert "Support_Agent_LicenseGroup" in text_of(posted[0]) and "+wfo" in text_of(posted[0])
    assert "Filed request #1" in dms(bot.slack, MANAGER)[0]["text"]


async def test_request_modal_errors_are_shown_on_the_fields(bot: Bot) -> None:
    values = {
        "hire_email": {"value": {"type": "plain_text_input", "value": "not-an-email"}},
        "edition": {"value": {"type": "static_select", "selected_option": {"value": "standard"}}},
        "seat_type": {"value": {"type": "static_select", "selected_option": {"value": "agent"}}},
        "modules": {
            "value": {"type": "multi_static_select", "selected_options": [{"value": "wfo"}]}
        },
        "department": {"value": {"type": "plain_text_input", "value": "Cust Care"}},
    }
    response = await bot.submit(MANAGER, "license_request", values)
    body = response.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) >= {"hire_email", "modules", "department"}
    assert "upgrade to premium or drop +wfo" in body["errors"]["modules"]
    assert cards(bot.slack) == []


async def test_requests_lists_the_callers_requests_and_cancel(bot: Bot) -> None:
    await set_pool(bot, "standard agent 5")
    mine = await file_request(bot, "a1@example.com agent standard")
    theirs = await file_request(bot, "a2@example.com agent standard", user=OUTSIDER)
    listed = await bot.command("requests", user=MANAGER)
    assert (
        f"#{mine}" in listed.text and f"#{theirs}" not in listed.text and "pending" in listed.text
    )

    refused = await bot.command(f"cancel {theirs}", user=MANAGER)
    assert "only its requester can cancel" in refused.text
    assert (await request_row(bot, theirs)).status is RequestStatus.PENDING

    done = await bot.command(f"cancel #{mine}", user=MANAGER)
    assert "cancelled" in done.text
    assert (await request_row(bot, mine)).status is RequestStatus.CANCELLED
    updated = bot.slack.updates(APPROVALS)
    assert updated and "Cancelled" in text_of(updated[-1])
    again = await bot.command(f"cancel {mine}", user=MANAGER)
    assert "already decided" in again.text
    missing = await bot.command("cancel 999", user=MANAGER)
    assert "there is no request #999" in missing.text


async def test_duplicate_requests_and_holders_are_refused(bot: Bot) -> None:
    await set_pool(bot, "standard agent 5")
    request_id = await file_request(bot, "<@U07NINA|nina> agent standard")
    again = await bot.command("request nina@example.com agent standard")
    assert f"request #{request_id} for nina@example.com is already pending" in again.text
    await bot.click("approve_request", str(request_id), ADMIN, message=card(bot.slack, request_id))
    holder = await bot.command("request nina@example.com supervisor standard")
    assert "already holds a standard agent seat" in holder.text


async def test_assign_and_revoke(bot: Bot) -> None:
    await set_pool(bot, "premium supervisor 2")
    assigned = await bot.command("assign <@U07NINA|nina> supervisor premium dept:Sales", user=ADMIN)
    assert "now holds premium supervisor" in assigned.text
    assert "Sales_Supervisor_LicenseGroup" in assigned.text
    assert (await pool(bot, "premium", "supervisor")).used == 1
    revoked = await bot.command(f"revoke <@{NINA}|nina>", user=ADMIN)
    assert "Revoked premium supervisor" in revoked.text
    assert (await pool(bot, "premium", "supervisor")).used == 0
    nothing = await bot.command("revoke nina@example.com", user=ADMIN)
    assert "holds no active seat" in nothing.text
    async with bot.db.read() as tx:
        actions = [e.action for e in await tx.audit.recent(subjects=["nina@example.com"])]
    assert actions == ["assignment.revoked", "assignment.created"]


BAD_INPUT = [
    ("frobnicate", "unknown command `frobnicate`"),
    ("request <@U07NINA|nina> agnet premium", "unknown seat type `agnet`"),
    ("request <@U07NINA|nina> agent platinum", "unknown edition `platinum`"),
    ("request <@U07NINA|nina> agent premium +teleport", "unknown module `+teleport`"),
    ("request <@U07NINA|nina> agent partner +qm", "+qm is not included in the partner edition"),
    ("request <@U07NINA|nina> agent", "a person, a seat type and an edition are needed"),
    ("request nobody agent premium", "`nobody` is not a person"),
    ("request <@U07NINA|nina> agent premium dept:Cust_Care", "breaks the naming convention"),
    ("request <@U07NINA|nina> agent premium start:next-week", "is not a date"),
    ("pool set premium agent -5", "must be a whole number"),
    ("pool set premium agent ten", "must be a whole number"),
    ("pool set premium agent 5 price:abc", "must be an amount"),
    ("cancel abc", "is not a request id"),
    ("request <@U07NINA|nina> agent premium " + "x" * 3000, "must stay under 3,000"),
    ("request <@U07NINA|nina> agent premium \x07 ring", "control characters"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_INPUT)
async def test_bad_input_gets_a_clear_answer_and_changes_nothing(
    bot: Bot, text: str, expected: str
) -> None:
    await set_pool(bot, "premium agent 5")
    before = await store_counts(bot)
    started = time.monotonic()
    reply = await bot.command(text, user=ADMIN)
    assert reply.status == 200
    assert expected in reply.text
    if not text.startswith("frobnicate"):
        assert "Usage: `/license" in reply.text
    assert await store_counts(bot) == before
    assert time.monotonic() - started < 30  # answered at all; Slack's 3 s is benchmarked
    alive = await bot.command("help")
    assert alive.status == 200


async def test_unknown_request_id_on_a_click(bot: Bot) -> None:
    await bot.click("approve_request", "4242", ADMIN, message={"ts": "1.2", "channel": APPROVALS})
    told = [c.parsed for c in bot.slack.calls_to("chat.postEphemeral")]
    assert told and "there is no request #4242" in told[-1]["text"]


def _slash_body(text: str = "pool") -> bytes:
    from urllib.parse import urlencode

    return urlencode(
        {
            "command": "/license",
            "text": text,
            "user_id": ADMIN,
            "team_id": "T0TEAM",
            "channel_id": APPROVALS,
            "response_url": "http://127.0.0.1:9/r",
            "trigger_id": "t",
        }
    ).encode()


@pytest.mark.parametrize("case", ["forged", "unsigned", "stale"])
async def test_forged_unsigned_and_stale_requests_get_401_and_no_effect(
    bot: Bot, case: str
) -> None:
    body = _slash_body("pool set premium agent 99")
    now = int(time.time())
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if case == "forged":
        headers |= sign("not-the-secret", body, now)
    elif case == "stale":
        headers |= sign(SECRET, body, now - 6 * 60)
    before = await store_counts(bot)
    response = await bot.client.post_raw(body, headers)
    await bot.settle()
    assert response.status == 401
    assert bot.slack.calls == []
    assert await store_counts(bot) == before


async def test_a_signed_request_with_a_tampered_body_is_refused(bot: Bot) -> None:
    body = _slash_body("pool")
    headers = {"Content-Type": "application/x-www-form-urlencoded"} | sign(
        SECRET, body, int(time.time())
    )
    response = await bot.client.post_raw(body.replace(b"pool", b"help"), headers)
    assert response.status == 401 and bot.slack.calls == []


async def test_healthz(bot: Bot) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.get(str(bot.server.make_url("/healthz"))) as response:
            assert response.status == 200 and json.loads(await response.text())["ok"] is True
