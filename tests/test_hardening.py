"""Issue 9, as an attacker would try it against the real app over HTTP: replays, a click
naming another card's request, junk bodies, other workspaces, odd characters and dates."""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from alerting import assign, revoke
from conftest import ADMIN, APPROVALS, MANAGER, SECRET, BotFactory, make_settings
from fakeslack import FakeSlack
from flows import card, ephemerals, file_request, request_row, set_pool, thread
from signing import SlackClient, sign

from bot.app import build_app, build_deps
from bot.licensing.errors import LicenseError
from bot.licensing.parsing import parse_command
from bot.licensing.requests import RequestStatus

FORM = "application/x-www-form-urlencoded"


def slash_body(text: str, user: str, response_url: str, team_id: str | None = "T0TEAM") -> bytes:
    fields = {
        "token": "fake-verification-token",
        "team_domain": "test",
        "channel_id": "C0GENERAL",
        "user_id": user,
        "command": "/license",
        "text": text,
        "api_app_id": "A0APP",
        "response_url": response_url,
        "trigger_id": "trig-1",
    }
    if team_id is not None:
        fields["team_id"] = team_id
    return urlencode(fields).encode()


def signed(body: bytes, content_type: str = FORM, timestamp: int | None = None) -> dict[str, str]:
    return {"Content-Type": content_type, **sign(SECRET, body, timestamp or int(time.time()))}


async def holders(bot: Any) -> list[str]:
    async with bot.db.read() as tx:
        async with tx.connection.execute(
            "SELECT email FROM assignments WHERE revoked_at IS NULL ORDER BY email"
        ) as cursor:
            return [row[0] for row in await cursor.fetchall()]


# ------------------------------------------------------------------ 5. replays


async def test_a_replayed_assign_is_refused_and_does_not_regrant_a_revoked_seat(
    make_bot: BotFactory,
) -> None:
    bot = await make_bot()
    await set_pool(bot, "premium agent 5")
    body = slash_body(
        "assign nina@example.com agent premium", ADMIN, bot.slack.response_url("captured")
    )
    headers = signed(body)
    first = await bot.client.post_raw(body, headers)
    await bot.settle()
    assert first.status == 200 and await holders(bot) == ["nina@example.com"]
    await revoke(bot, "nina@example.com")
    assert await holders(bot) == []

    again = await bot.client.post_raw(body, headers)  # captured, sent again in the window
    await bot.settle()
    assert again.status == 401
    assert await holders(bot) == []
    assert len(bot.slack.responses("captured")) == 1  # the replay was not even answered


async def test_a_replay_is_refused_after_a_restart(make_bot: BotFactory, tmp_path: Any) -> None:
    database = tmp_path / "replay.db"
    first = await make_bot(database=database)
    body = slash_body("pool set premium agent 7", ADMIN, first.slack.response_url("set"))
    headers = signed(body)
    assert (await first.client.post_raw(body, headers)).status == 200
    await first.settle()
    await first.command("pool set premium agent 3", user=ADMIN)
    await first.stop()

    second = await make_bot(database=database)  # nothing in memory: the store remembers
    response = await second.client.post_raw(body, headers)
    await second.settle()
    assert response.status == 401
    async with second.db.read() as tx:
        assert (await tx.pools.state("premium", "agent")).purchased == 3


async def test_remembered_signatures_are_pruned_after_the_window(make_bot: BotFactory) -> None:
    bot = await make_bot()
    now = [time.time()]
    guard_row = "SELECT COUNT(*) FROM replay_guard WHERE key LIKE 'sig:%'"
    from bot.guard import ReplayGuard

    guard = ReplayGuard(bot.db, wall=lambda: now[0])
    await guard.admit("v0=aa", int(now[0]), None, retry=False)
    now[0] += 7 * 60  # past the 5-minute window (and the skew allowance)
    await guard.admit("v0=bb", int(now[0]), None, retry=False)
    async with bot.db.read() as tx, tx.connection.execute(guard_row) as cursor:
        assert (await cursor.fetchone())[0] == 1


async def test_slack_retries_of_an_event_come_to_one_effect(make_bot: BotFactory) -> None:
    bot = await make_bot()
    await set_pool(bot, "premium agent 5")
    request_id = await file_request(bot, "nina@example.com agent premium")
    posted = card(bot.slack, request_id)
    event = {
        "type": "message",
        "channel": APPROVALS,
        "user": ADMIN,
        "text": "approve",
        "ts": "1800000000.000100",
        "thread_ts": posted["ts"],
    }
    assert (await bot.event(event, event_id="Ev0RETRY")).status == 200
    await bot.deps.deliver()
    assert (await request_row(bot, request_id)).status is RequestStatus.APPROVED
    replies, told = len(thread(bot.slack, posted)), len(ephemerals(bot.slack, ADMIN))

    # Slack delivers the same event again (new signature, or the very same one).
    for retry in (1, 2):
        response = await bot.event(
            event, event_id="Ev0RETRY", retry_num=retry, timestamp=int(time.time()) - retry
        )
        assert response.status == 200
    await bot.deps.deliver()
    # No second effect: not even an "already decided" note to the admin.
    assert len(thread(bot.slack, posted)) == replies
    assert len(ephemerals(bot.slack, ADMIN)) == told


# ------------------------------------------------------------------ 6. a click names its card


async def test_a_click_on_one_card_naming_another_request_is_refused(
    make_bot: BotFactory,
) -> None:
    bot = await make_bot()
    await set_pool(bot, "premium agent 5")
    one = await file_request(bot, "one@example.com agent premium")
    two = await file_request(bot, "two@example.com agent premium")
    await bot.deps.deliver()
    on_card_one = card(bot.slack, one)

    await bot.click("approve_request", str(two), ADMIN, message=on_card_one)
    await bot.click("deny_request", str(two), ADMIN, message=on_card_one)

    assert (await request_row(bot, two)).status is RequestStatus.PENDING
    assert (await request_row(bot, one)).status is RequestStatus.PENDING
    assert bot.slack.calls_to("views.open") == []
    told = [m["text"] for m in ephemerals(bot.slack, ADMIN)]
    assert told and all(f"not on request #{two}'s card" in t for t in told)
    assert await holders(bot) == []

    await bot.click("approve_request", str(two), ADMIN, message=card(bot.slack, two))
    assert (await request_row(bot, two)).status is RequestStatus.APPROVED


# ------------------------------------------------------------------ 7. junk


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"type": ', FORM),
        (b"[1, 2, 3]", "application/json"),
        (b"null", "application/json"),
        (b"payload=not%20json", FORM),
        (b"payload=%5B1%5D", FORM),  # payload=[1]
        (b"payload=null", FORM),
        (b"\xff\xfe\x00junk", FORM),  # not UTF-8
    ],
)
async def test_signed_junk_gets_a_4xx_never_a_5xx(
    make_bot: BotFactory, body: bytes, content_type: str
) -> None:
    bot = await make_bot()
    response = await bot.client.post_raw(body, signed(body, content_type))
    await bot.settle()
    assert response.status in (400, 401), response
    assert [c for c in bot.slack.calls if c.method != "auth.test"] == []


@pytest.mark.parametrize("timestamp", ["abc", "", "1e9", "-5", "١٢٣", "9" * 40])
async def test_a_non_numeric_timestamp_is_401(make_bot: BotFactory, timestamp: str) -> None:
    bot = await make_bot()
    body = slash_body("help", ADMIN, bot.slack.response_url())
    headers = signed(body) | {"X-Slack-Request-Timestamp": timestamp}
    response = await bot.client.post_raw(body, headers)
    assert response.status == 401


# ------------------------------------------------------------------ 13. one workspace


@pytest.mark.parametrize("team_id", [None, "T0OTHER"])
async def test_a_command_from_no_team_or_another_team_is_refused(
    make_bot: BotFactory, team_id: str | None
) -> None:
    bot = await make_bot()
    body = slash_body(
        "pool set premium agent 9", ADMIN, bot.slack.response_url("x"), team_id=team_id
    )
    response = await bot.client.post_raw(body, signed(body))
    await bot.settle()
    assert response.status == 200
    assert "not installed in that workspace" in response.text
    async with bot.db.read() as tx:
        assert await tx.pools.state("premium", "agent") is None
    assert bot.slack.responses("x") == []


async def test_a_click_from_another_team_is_refused(make_bot: BotFactory) -> None:
    bot = await make_bot()
    await set_pool(bot, "premium agent 5")
    request_id = await file_request(bot, "nina@example.com agent premium")
    other = SlackClient(bot.url, SECRET, team_id="T0OTHER")
    try:
        response = await other.block_action(
            ADMIN, "approve_request", str(request_id), message=card(bot.slack, request_id)
        )
    finally:
        await other.close()
    await bot.settle()
    assert response.status == 200
    assert (await request_row(bot, request_id)).status is RequestStatus.PENDING


# ------------------------------------------------------------------ 8. odd characters


@pytest.mark.parametrize(
    "char", ["\u2028", "\u2029", "\u00a0", "\u3000", "\ud800", "\ue000", "\U000f0000"]
)
def test_separators_surrogates_and_private_use_are_refused(char: str, catalog: Any) -> None:
    with pytest.raises(LicenseError) as caught:
        parse_command(f"request nina@example.com agent premium ring{char}me", catalog)
    assert "control characters are not allowed" in str(caught.value)


def test_ordinary_text_with_emoji_and_newlines_still_parses(catalog: Any) -> None:
    command = parse_command(
        "request nina@example.com agent premium 👩‍💻 hire\nstarts soon", catalog
    )
    assert command.name == "request"


async def test_a_line_separator_in_a_request_reason_never_reaches_slack(
    make_bot: BotFactory,
) -> None:
    bot = await make_bot()
    reply = await bot.command("request nina@example.com agent premium new\u2028hire")
    assert "control characters are not allowed" in reply.text
    assert not any("\u2028" in json.dumps(c.args) for c in bot.slack.calls)
    async with bot.db.read() as tx:
        assert await tx.requests.pending() == []


# ------------------------------------------------------------------ 9. dates


@pytest.mark.parametrize(
    "text",
    [
        "trial start 9999-12-31",
        "trial start 0001-01-01",
        "trial start 1999-12-31",
        "trial start 2101-01-01",
    ],
)
async def test_trial_dates_outside_the_window_are_refused_naming_it(
    make_bot: BotFactory, text: str
) -> None:
    bot = await make_bot()
    reply = await bot.command(text, user=ADMIN)
    assert "2000-01-01 to 2100-12-31" in reply.text
    assert "failed on our side" not in reply.text
    async with bot.db.read() as tx:
        assert await tx.trial.get() is None


async def test_a_request_start_date_outside_the_window_is_refused(make_bot: BotFactory) -> None:
    bot = await make_bot()
    reply = await bot.command("request nina@example.com agent premium start:9999-12-31")
    assert "2000-01-01 to 2100-12-31" in reply.text
    async with bot.db.read() as tx:
        assert await tx.requests.pending() == []


# ------------------------------------------------------------------ 15. long department


def test_a_too_long_department_is_told_the_length_limit(catalog: Any) -> None:
    with pytest.raises(LicenseError) as caught:
        parse_command(f"request nina@example.com agent premium dept:{'x' * 41}", catalog)
    assert "41 characters long, at most 40" in str(caught.value)


# ------------------------------------------------------------------ 16. Bolt's warning


async def test_building_the_app_logs_no_token_warning(
    slack: FakeSlack,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    deps = await build_deps(make_settings(slack, tmp_path / "w.db"))
    try:
        with caplog.at_level(logging.DEBUG):
            build_app(deps)
    finally:
        await deps.db.close()
    assert not [
        r
        for r in caplog.records
        if "will be unused" in r.getMessage() or "will be ignored" in r.getMessage()
    ]
    assert caplog.records is not None
    import os

    assert os.environ["SLACK_BOT_TOKEN"] == "xoxb-from-the-environment"  # restored


@pytest.fixture
def catalog() -> Any:
    from bot.licensing.catalog import load_catalog

    return load_catalog(None)


_unused = (MANAGER, assign)


# ------------------------------------------------------------------ 14. storage errors


async def _break_storage(bot: Any, how: str = "readonly") -> None:
    """The database stops taking writes, as on a read-only mount (SQLITE_READONLY)."""
    if getattr(bot.db, "dialect", "sqlite") != "sqlite":
        pytest.skip("fault injected with a SQLite pragma")
    async with bot.db.transaction() as tx:  # the connection the writes go through
        await tx.connection.execute("PRAGMA query_only = ON")


@pytest.mark.parametrize(
    ("message", "storage"),
    [
        ("attempt to write a readonly database", True),
        ("database or disk is full", True),
        ("disk I/O error", True),
        ("unable to open database file", True),
        ("no such table: pools", False),
        ("database is locked", False),
    ],
)
def test_storage_errors_are_told_apart_from_bugs(message: str, storage: bool) -> None:
    import sqlite3

    from bot.db_health import is_storage_error

    assert is_storage_error(sqlite3.OperationalError(message)) is storage
    assert not is_storage_error(ValueError(message))


@pytest.mark.parametrize("how", ["readonly"])
async def test_a_storage_failure_is_told_as_such_logged_once_and_recorded(
    make_bot: BotFactory, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await make_bot()
    await set_pool(bot, "premium agent 5")
    await _break_storage(bot, how)
    assert bot.deps.store_health.healthy
    with caplog.at_level(logging.INFO):
        for email in ("one@example.com", "two@example.com"):
            reply = await bot.command(f"assign {email} agent premium", user=ADMIN)
            assert (
                "the license database cannot be written right now; nothing was changed"
                in reply.text
            )
            assert "failed on our side" not in reply.text
    causes = [r for r in caplog.records if r.name == "bot.db_health" and r.levelno >= logging.ERROR]
    assert len(causes) == 1, [r.getMessage() for r in causes]
    assert not any("Traceback" in (r.exc_text or "") for r in caplog.records)
    health = bot.deps.store_health
    assert not health.healthy and health.at is not None
    assert "readonly" in (health.last_error or "")
    assert await holders(bot) == []


async def test_a_click_the_store_cannot_record_is_told_so(make_bot: BotFactory) -> None:
    bot = await make_bot()
    await set_pool(bot, "premium agent 5")
    request_id = await file_request(bot, "nina@example.com agent premium")
    await bot.deps.deliver()
    await _break_storage(bot, "readonly")
    await bot.click("approve_request", str(request_id), ADMIN, message=card(bot.slack, request_id))
    told = [m["text"] for m in ephemerals(bot.slack, ADMIN)]
    assert told and "cannot be written right now; nothing was changed" in told[-1]
    assert (await request_row(bot, request_id)).status is RequestStatus.PENDING


# ------------------------------------------------------------------ 15. local dates


async def test_grace_dates_are_local_dates_everywhere(make_bot: BotFactory) -> None:
    from datetime import UTC, datetime

    from alerting import run
    from conftest import NINA  # noqa: F401 - the fake Slack knows her

    from bot.clock import FixedClock

    # 03:00 UTC on Dec 1 is still Nov 30 in Los Angeles; the grace period ends 30 days
    # later, 2026-12-31T03:00Z, which is 2026-12-30 there.
    clock = FixedClock(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    bot = await make_bot(clock=clock, timezone="America/Los_Angeles")
    await set_pool(bot, "premium agent 1")
    await assign(bot, "one@example.com agent premium")
    request_id = await file_request(bot, "nina@example.com agent premium")
    await bot.deps.deliver()
    posted = card(bot.slack, request_id)
    await bot.click("approve_request", str(request_id), ADMIN, message=posted)
    await bot.deps.deliver()
    from flows import text_of

    replies = " ".join(text_of(m) for m in thread(bot.slack, posted))
    assert "grace period until 2026-12-30" in replies, replies
    assert "2026-12-31" not in replies

    clock.set(datetime(2026, 12, 29, 12, 0, tzinfo=UTC))  # within 3 days of the end
    await run(bot, "limits")
    async with bot.db.read() as tx:
        summaries = [a.summary for a in await tx.alerts.open(job="limits")]
    ending = [s for s in summaries if "grace period ends" in s]
    assert ending and "ends 2026-12-30" in ending[0], summaries


async def test_a_plain_run_mid_month_posts_no_digest_of_that_month(make_bot: BotFactory) -> None:
    from datetime import UTC, datetime

    from alerting import alerts, run

    from bot.clock import FixedClock

    clock = FixedClock(datetime(2026, 12, 14, 12, 0, tzinfo=UTC))
    bot = await make_bot(clock=clock)
    await set_pool(bot, "premium agent 10")
    sent = await run(bot, "digest")
    # Only the finished month (November), never December half-way through it.
    assert [m.key for m in sent] == ["digest:monthly:org:2026-11"]
    assert all("2026-12" not in m.get("text", "") for m in alerts(bot))
    clock.set(datetime(2026, 12, 28, 12, 0, tzinfo=UTC))
    assert await run(bot, "digest") == []  # once
    clock.set(datetime(2027, 1, 1, 9, 0, tzinfo=UTC))
    assert [m.key for m in await run(bot, "digest")] == ["digest:monthly:org:2026-12"]


async def test_a_thread_reply_the_store_cannot_record_is_told_so(make_bot: BotFactory) -> None:
    bot = await make_bot()
    await set_pool(bot, "premium agent 5")
    request_id = await file_request(bot, "nina@example.com agent premium")
    await bot.deps.deliver()
    posted = card(bot.slack, request_id)
    await _break_storage(bot)
    event = {
        "type": "message",
        "channel": APPROVALS,
        "user": ADMIN,
        "text": "approve",
        "ts": "1800000000.000200",
        "thread_ts": posted["ts"],
    }
    assert (await bot.event(event)).status == 200
    told = [m["text"] for m in ephemerals(bot.slack, ADMIN)]
    assert told and "cannot be written right now; nothing was changed" in told[-1]
    assert (await request_row(bot, request_id)).status is RequestStatus.PENDING
    assert not bot.deps.store_health.healthy


async def test_an_app_home_click_must_name_a_request_the_home_shows(make_bot: BotFactory) -> None:
    bot = await make_bot()
    await set_pool(bot, "premium agent 5")
    one = await file_request(bot, "one@example.com agent premium")
    await bot.deps.deliver()
    home = {
        "id": "V0HOME",
        "type": "home",
        "blocks": [
            {
                "type": "actions",
                "block_id": f"home_decide:{one}",
                "elements": [{"type": "button", "action_id": "approve_request", "value": str(one)}],
            }
        ],
    }
    two = await file_request(bot, "two@example.com agent premium")  # not on that Home
    response = await bot.client.block_action(ADMIN, "approve_request", str(two), view=home)
    await bot.settle()
    assert response.status == 200
    assert (await request_row(bot, two)).status is RequestStatus.PENDING
    response = await bot.client.block_action(ADMIN, "approve_request", str(one), view=home)
    await bot.settle()
    assert (await request_row(bot, one)).status is RequestStatus.APPROVED


async def test_over_socket_mode_a_redelivered_event_comes_to_nothing(make_bot: BotFactory) -> None:
    from slack_bolt.request.async_request import AsyncBoltRequest

    bot = await make_bot()
    await set_pool(bot, "premium agent 5")
    request_id = await file_request(bot, "nina@example.com agent premium")
    await bot.deps.deliver()
    posted = card(bot.slack, request_id)
    envelope = {
        "type": "event_callback",
        "team_id": "T0TEAM",
        "api_app_id": "A0APP",
        "event_id": "Ev0SOCKET",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T0TEAM", "user_id": "UBOT", "is_bot": True}],
        "event": {
            "type": "message",
            "channel": APPROVALS,
            "user": ADMIN,
            "text": "approve",
            "ts": "1800000000.000300",
            "thread_ts": posted["ts"],
        },
    }
    for _ in range(2):  # what the Socket Mode adapter hands Bolt, twice
        response = await bot.service.app.async_dispatch(
            AsyncBoltRequest(body=envelope, mode="socket_mode")
        )
        assert response.status == 200
        await bot.settle()
    await bot.deps.deliver()
    assert (await request_row(bot, request_id)).status is RequestStatus.APPROVED
    assert ephemerals(bot.slack, ADMIN) == []  # no "already decided" for the second one
