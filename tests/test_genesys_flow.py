"""Genesys Cloud as the system of record (SPEC 8), end to end: the real app with the fake
Slack and the fake Genesys. Approvals provision, revocations remove, SSO users count as
active, drift is posted once and can be adopted, and reconcile matches the org."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from alerting import alerts, buttons, run, shown
from conftest import ADMIN, ALERTS, APPROVALS, MANAGER, NINA, START, Bot, BotFactory
from fakegenesys import FakeGenesys
from fakeslack import FakeSlack
from flows import approve, card, file_request, set_pool, text_of, thread
from genesys_env import genesys_bot
from test_flow_lifecycle import approve_card, filed_id
from test_home import open_home

NINA_G = "g-nina"


@pytest.fixture
async def org() -> AsyncIterator[FakeGenesys]:
    fake = FakeGenesys()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def gbot(make_bot: BotFactory, org: FakeGenesys, tmp_path: Path) -> Bot:
    bot, _ = await genesys_bot(make_bot, org, tmp_path)
    await set_pool(bot, "premium agent 10")
    await set_pool(bot, "premium wfo 10")
    return bot


async def state_of(bot: Bot, email: str) -> tuple[str | None, str | None, str | None]:
    async with bot.db.read() as tx:
        seats = await tx.assignments.history_for_email(email)
        found = await tx.genesys.get(seats[0].id)
    assert found is not None
    return found.state, found.user_id, found.detail


async def approved_for_nina(bot: Bot) -> int:
    request_id = await file_request(bot, f"<@{NINA}|nina> agent premium +wfo dept:Support")
    await approve(bot, request_id)
    return request_id


async def test_an_approved_request_ends_with_the_licenses_assigned_in_genesys(
    gbot: Bot, org: FakeGenesys, slack: FakeSlack
) -> None:
    org.add_user(NINA_G, "nina@example.com", "Nina Novak")
    request_id = await approved_for_nina(gbot)

    assert org.held(NINA_G) == {"cloudCX3", "wem"}
    [change] = org.calls_to("/api/v2/license/organization")
    assert change.body == {
        "assignments": [
            {"licenseId": "cloudCX3", "userIdsAdd": [NINA_G]},
            {"licenseId": "wem", "userIdsAdd": [NINA_G]},
        ]
    }
    [search] = org.calls_to("/api/v2/users/search")
    assert search.body["query"][0] == {
        "type": "EXACT",
        "fields": ["email"],
        "value": "nina@example.com",
    }
    assert await state_of(gbot, "nina@example.com") == ("provisioned", NINA_G, "cloudCX3, wem")
    replies = [text_of(m) for m in thread(slack, card(slack, request_id))]
    assert any("cloudCX3, wem assigned in Genesys Cloud" in r for r in replies), replies
    check = await gbot.command("check nina@example.com", user=ADMIN)
    assert "licenses assigned in Genesys Cloud" in check.text


async def test_a_revoke_removes_the_licenses_in_genesys(gbot: Bot, org: FakeGenesys) -> None:
    org.add_user(NINA_G, "nina@example.com", "Nina Novak")
    await approved_for_nina(gbot)
    assert org.held(NINA_G) == {"cloudCX3", "wem"}

    reply = await gbot.command("revoke nina@example.com", user=ADMIN)
    assert "Revoked" in reply.text, reply.text
    assert "licenses removed in Genesys Cloud" in reply.text  # what the admin is told
    assert org.held(NINA_G) == set()
    removal = org.calls_to("/api/v2/license/organization")[-1]
    assert removal.body == {
        "assignments": [
            {"licenseId": "cloudCX3", "userIdsRemove": [NINA_G]},
            {"licenseId": "wem", "userIdsRemove": [NINA_G]},
        ]
    }
    # licenses follow roles: the bot re-reads the user after removing
    assert org.calls_to(f"/api/v2/license/users/{NINA_G}")
    assert (await state_of(gbot, "nina@example.com"))[0] == "removed"


async def test_a_removal_a_role_undoes_is_shown_not_reported_as_done(
    gbot: Bot, org: FakeGenesys
) -> None:
    org.add_user(NINA_G, "nina@example.com", "Nina Novak")
    await approved_for_nina(gbot)
    org.role_licenses[NINA_G] = {"cloudCX3"}  # a role she holds implies it

    await gbot.command("revoke nina@example.com", user=ADMIN)
    assert org.held(NINA_G) == {"cloudCX3"}
    state, _, detail = await state_of(gbot, "nina@example.com")
    assert state == "remove_refused" and "cloudCX3" in (detail or "")
    [alert] = [m for m in alerts(gbot) if "did not remove" in shown(m)]
    assert "licenses follow roles" in shown(alert).lower()


async def test_a_refusal_is_an_alert_with_genesys_message(gbot: Bot, org: FakeGenesys) -> None:
    org.add_user(NINA_G, "nina@example.com", "Nina Novak")
    org.refusals[(NINA_G, "wem")] = "LicenseNotAllowedForUser"
    await approved_for_nina(gbot)

    state, _, detail = await state_of(gbot, "nina@example.com")
    assert state == "refused" and "wem: LicenseNotAllowedForUser" in (detail or "")
    [alert] = [m for m in alerts(gbot) if "refused" in shown(m)]
    assert "LicenseNotAllowedForUser" in shown(alert)
    check = await gbot.command("check nina@example.com", user=ADMIN)
    assert "not provisioned" in check.text


async def test_a_new_hire_waits_for_the_genesys_user_then_is_provisioned(
    gbot: Bot, org: FakeGenesys, slack: FakeSlack
) -> None:
    request_id = await approved_for_nina(gbot)  # not in Genesys yet
    assert (await state_of(gbot, "nina@example.com"))[0] == "waiting_user"
    replies = [text_of(m) for m in thread(slack, card(slack, request_id))]
    assert any("waiting for the Genesys user" in r for r in replies), replies
    [waiting] = [m for m in alerts(gbot) if "Waiting for the Genesys user" in shown(m)]
    check = await gbot.command("check nina@example.com", user=ADMIN)
    assert "waiting for the Genesys user" in check.text
    last_card = [u for u in slack.updates(APPROVALS) if u["ts"] == card(slack, request_id)["ts"]]
    assert "waiting for the Genesys user" in text_of(last_card[-1])
    home = await open_home(gbot, ADMIN)
    assert "waiting for the Genesys user: nina@example.com" in json.dumps(home)
    own = await open_home(gbot, MANAGER)  # the requester's Home
    assert "waiting for the Genesys user" in json.dumps(own)

    org.add_user(NINA_G, "nina@example.com", "Nina Novak")  # IT creates her account
    gbot.clock.advance(hours=1)
    await run(gbot, "genesys")
    await gbot.deps.deliver()
    assert org.held(NINA_G) == {"cloudCX3", "wem"}
    assert (await state_of(gbot, "nina@example.com"))[0] == "provisioned"
    assert any("Resolved" in shown(u) for u in slack.updates(ALERTS))
    last_card = [u for u in slack.updates(APPROVALS) if u["ts"] == card(slack, request_id)["ts"]]
    assert "licenses assigned in Genesys Cloud" in text_of(last_card[-1])


async def test_a_genesys_outage_delays_provisioning_and_loses_nothing(
    gbot: Bot, org: FakeGenesys
) -> None:
    org.add_user(NINA_G, "nina@example.com", "Nina Novak")
    org.fail("/api/v2/users/search", status=503, times=4)  # more than the client retries
    await approved_for_nina(gbot)
    assert org.held(NINA_G) == set()
    assert (await state_of(gbot, "nina@example.com"))[0] == "pending"
    async with gbot.db.read() as tx:
        [queued] = [m for m in await tx.outbox.messages() if m.target == "genesys"]
    assert queued.status == "pending"

    gbot.clock.advance(minutes=5)
    gbot.deps.genesys._down_until = 0.0  # the fail-fast pause is over
    await gbot.deps.deliver()
    assert org.held(NINA_G) == {"cloudCX3", "wem"}
    assert (await state_of(gbot, "nina@example.com"))[0] == "provisioned"


async def test_an_sso_user_with_only_tokens_is_not_flagged_inactive(
    gbot: Bot, org: FakeGenesys
) -> None:
    gbot.clock.set(START - timedelta(days=60))
    for who in ("sso", "pwd"):
        reply = await gbot.command(f"assign {who}@example.com agent premium", user=ADMIN)
        assert "now holds" in reply.text
    gbot.clock.set(START)
    recent = (START - timedelta(days=2)).isoformat().replace("+00:00", "Z")
    old = (START - timedelta(days=59)).isoformat().replace("+00:00", "Z")
    # SSO: never a password login, a token two days ago. Password user: last seen 59 days ago.
    org.add_user("g-sso", "sso@example.com", last_token=recent, licenses=("cloudCX3",))
    org.add_user("g-pwd", "pwd@example.com", last_login=old, licenses=("cloudCX3",))

    await run(gbot, "genesys")
    users = org.calls_to("/api/v2/users", "GET")
    assert users and users[0].query["expand"] == "dateLastLogin,lasttokenissued"
    await run(gbot, "inactive")
    [summary] = [m for m in alerts(gbot) if "Inactive seats" in shown(m)]
    assert "pwd@example.com" in shown(summary)
    assert "sso@example.com" not in shown(summary)


async def test_a_license_added_by_hand_is_drift_and_can_be_adopted(
    gbot: Bot, org: FakeGenesys, slack: FakeSlack
) -> None:
    org.add_user("g-otto", "otto@example.com", "Otto Hand", licenses=("cloudCX3", "wem"))
    org.add_user("g-x", "x@example.com", licenses=("collaborate",))  # unmapped: not ours

    await run(gbot, "genesys")
    [summary] = [m for m in alerts(gbot) if "Genesys drift" in shown(m)]
    assert "otto@example.com" in shown(summary) and "unmanaged" in shown(summary)
    assert "x@example.com" not in shown(summary)
    assert await run(gbot, "genesys") == []  # unchanged drift: not posted again

    [(action, value)] = [b for b in buttons(summary) if b[0] == "genesys_adopt"]
    await gbot.click(action, value, ADMIN, message=summary)
    async with gbot.db.read() as tx:
        seat = await tx.assignments.active_for_email("otto@example.com")
        state = await tx.genesys.get(seat.id) if seat else None
    assert seat is not None and seat.seat == "premium agent +wfo"
    assert state is not None and (state.state, state.user_id) == ("provisioned", "g-otto")
    assert any("Adopted" in shown(u) for u in slack.updates(ALERTS))
    assert org.calls_to("/api/v2/license/organization") == []  # nothing sent to Genesys

    gbot.clock.advance(hours=1)
    await run(gbot, "genesys")
    await gbot.deps.deliver()
    assert any("agree again" in shown(u) for u in slack.updates(ALERTS))


async def test_remove_on_an_unmanaged_row_takes_the_license_away(
    gbot: Bot, org: FakeGenesys
) -> None:
    org.add_user("g-otto", "otto@example.com", "Otto Hand", licenses=("cloudCX3",))
    await run(gbot, "genesys")
    [summary] = [m for m in alerts(gbot) if "Genesys drift" in shown(m)]
    [(action, value)] = [b for b in buttons(summary) if b[0] == "genesys_remove"]
    assert json.loads(value)["l"] == ["cloudCX3"]
    await gbot.click(action, value, "U0OUTSIDER", message=summary)
    assert org.held("g-otto") == {"cloudCX3"}  # not an admin: nothing changed
    await gbot.click(action, value, ADMIN, message=summary)
    assert org.held("g-otto") == set()


async def test_drift_on_demand_lists_missing_and_deactivated_holders(
    gbot: Bot, org: FakeGenesys
) -> None:
    for who in ("gone", "off"):
        await gbot.command(f"assign {who}@example.com agent premium", user=ADMIN)
    org.add_user("g-off", "off@example.com", state="inactive")
    reply = await gbot.command("drift", user=ADMIN)
    assert "missing in Genesys" in reply.text and "gone@example.com" in reply.text
    assert "deactivated in Genesys" in reply.text and "off@example.com" in reply.text
    assert "genesys_provision" in reply.text
    outsider = await gbot.command("drift", user="U0OUTSIDER")
    assert "only license admins" in outsider.text


async def test_the_reconcile_report_matches_the_fake(
    gbot: Bot, org: FakeGenesys, slack: FakeSlack
) -> None:
    org.add_user(NINA_G, "nina@example.com", "Nina Novak")
    await approved_for_nina(gbot)  # ledger and Genesys: cloudCX3 + wem
    org.add_user("g-otto", "otto@example.com", licenses=("cloudCX3",))  # by hand
    org.add_user("g-ann", "ann@example.com", licenses=("cloudCX3",), state="inactive")
    org.billing_in_progress = 2

    reply = await gbot.command("report reconcile", user=ADMIN)
    assert "reconcile" in reply.text and "report (CSV) is in your DMs" in reply.text
    [data] = list(slack.uploads.values())
    rows = {r["license_id"]: r for r in csv.DictReader(io.StringIO(data.decode()))}
    cx3 = rows["cloudCX3"]
    billed = {"cloudCX3": 2, "wem": 1}  # the fake bills active holders
    assert (cx3["purchased"], cx3["ledger_held"], cx3["genesys_held"]) == ("10", "1", "3")
    assert cx3["billable_month"] == str(billed["cloudCX3"])
    assert "Genesys holds 2 more than the ledger" in cx3["differences"]
    wem = rows["wem"]
    assert (wem["purchased"], wem["ledger_held"], wem["genesys_held"], wem["billable_month"]) == (
        "10",
        "1",
        "1",
        "1",
    )
    polls = org.calls_to("/api/v2/billing/reports/billableusage")
    assert len(polls) == 3 and polls[0].query["startDate"] == "2026-11-01"


async def test_remove_on_a_deactivated_holder_ends_the_seat_and_its_licenses(
    gbot: Bot, org: FakeGenesys, slack: FakeSlack
) -> None:
    await gbot.command("assign off@example.com agent premium", user=ADMIN)
    org.add_user("g-off", "off@example.com", state="inactive", licenses=("cloudCX3",))
    await run(gbot, "genesys")
    [summary] = [m for m in alerts(gbot) if "Genesys drift" in shown(m)]
    assert "deactivated in Genesys" in shown(summary)
    [(action, value)] = [b for b in buttons(summary) if b[0] == "genesys_remove"]
    await gbot.click(action, value, ADMIN, message=summary)
    async with gbot.db.read() as tx:
        assert await tx.assignments.active_for_email("off@example.com") is None
    assert org.held("g-off") == set()
    assert any("Seat revoked" in shown(u) for u in slack.updates(ALERTS))


async def test_a_hanging_genesys_does_not_hold_the_outbox(
    gbot: Bot, org: FakeGenesys, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    org.add_user(NINA_G, "nina@example.com", "Nina Novak")
    gbot.deps.deliverer.genesys.timeout = 0.5  # type: ignore[attr-defined]
    org.fail("/api/v2/users/search", hang=True)
    request_id = await approved_for_nina(gbot)
    # the decision's Slack side went out; the hung Genesys call was given up after the
    # provisioning timeout and tried again, not waited out
    assert any("approved" in text_of(m).lower() for m in thread(slack, card(slack, request_id)))
    assert len(org.calls_to("/api/v2/users/search")) == 2
    assert org.held(NINA_G) == {"cloudCX3", "wem"}
    assert "timed out: retried on the next flush" in caplog.text


async def test_jobs_run_genesys_dry_run_shows_the_summary_and_writes_nothing(
    gbot: Bot, org: FakeGenesys
) -> None:
    await gbot.command("assign pwd@example.com agent premium", user=ADMIN)
    org.add_user("g-pwd", "pwd@example.com", last_login="2026-11-29T08:00:00Z")
    org.add_user("g-otto", "otto@example.com", licenses=("cloudCX3",))
    [message] = await run(gbot, "genesys", dry_run=True)
    assert message.target == "channel" and "Genesys drift: 2 differences" in message.text
    async with gbot.db.read() as tx:
        seat = await tx.assignments.active_for_email("pwd@example.com")
        assert await tx.alerts.open(job="genesys", kind="drift") == []
    assert seat is not None and seat.last_active_at is None
    [message] = await run(gbot, "genesys")
    async with gbot.db.read() as tx:
        seat = await tx.assignments.active_for_email("pwd@example.com")
    assert seat is not None and seat.last_active_at is not None
    assert seat.last_active_at.isoformat() == "2026-11-29T08:00:00+00:00"


async def test_a_change_swaps_the_licenses_and_offboarding_removes_them(
    gbot: Bot, org: FakeGenesys
) -> None:
    await set_pool(gbot, "standard agent 5")
    org.add_user(NINA_G, "nina@example.com", "Nina Novak")
    await approved_for_nina(gbot)
    assert org.held(NINA_G) == {"cloudCX3", "wem"}

    reply = await gbot.command("change nina@example.com agent standard -wfo", user=MANAGER)
    await approve_card(gbot, filed_id(reply.text))
    assert org.held(NINA_G) == {"cloudCX2"}
    assert (await state_of(gbot, "nina@example.com"))[0] == "provisioned"

    reply = await gbot.command("offboard nina@example.com left the company", user=ADMIN)
    assert org.held(NINA_G) == set()
    assert (await state_of(gbot, "nina@example.com"))[0] == "removed"
