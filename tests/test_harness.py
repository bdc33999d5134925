"""Self-tests of the test harness: tests/fakeslack.py and tests/signing.py.

They run a *bare* Bolt `AsyncApp` (no licensebot code) over HTTP with `app.web_app()`,
drive it with signed requests from `SlackClient`, and point its Web API client at
`FakeSlack`, so a failure here is a harness bug, not an app bug.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from fakeslack import FakeSlack
from signing import SlackClient, sign
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

SECRET = "harness-signing-secret"
TOKEN = "xoxb-harness-token"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = FakeSlack()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@dataclass
class Bare:
    """A bare Bolt app served over HTTP, with what its listeners saw."""

    app: AsyncApp
    slack: SlackClient
    url: str
    seen: dict[str, list[Any]] = field(default_factory=dict)

    def saw(self, kind: str) -> list[Any]:
        return self.seen.setdefault(kind, [])


def web_client(fake: FakeSlack, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=fake.url, **kwargs)


@pytest.fixture
async def bare(fake: FakeSlack) -> AsyncIterator[Bare]:
    client = web_client(fake)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    app = AsyncApp(client=client, signing_secret=SECRET)
    seen: dict[str, list[Any]] = {}

    def note(kind: str, item: Any) -> None:
        seen.setdefault(kind, []).append(item)

    @app.command("/license")
    async def on_license(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack(text=f"working on {command['text']}")
        note("command", command)
        try:
            await client.chat_postMessage(
                channel=command["channel_id"], text=f"got {command['text']}"
            )
        except SlackApiError as e:
            # Caught on purpose: in bolt 1.30 a listener that raises within ~10 ms of its
            # ack() makes Bolt drop the ack and answer 404 (asyncio_runner sets
            # ack.response = None on error after ack).
            note("api_error", e.response["error"])
            return
        await respond(text="done", replace_original=False)

    @app.action("approve")
    async def on_approve(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        note("action", body)
        if "message" in body:
            await client.chat_update(
                channel=body["container"]["channel_id"],
                ts=body["container"]["message_ts"],
                text=f"approved by <@{body['user']['id']}>",
            )
        if body.get("response_url"):
            await respond(text="clicked", replace_original=False)

    @app.view("deny_reason")
    async def on_deny(ack: AsyncAck, view: dict[str, Any], body: dict[str, Any]) -> None:
        reason = view["state"]["values"]["reason"]["reason_input"]["value"]
        if not reason:
            await ack(response_action="errors", errors={"reason": "A reason is required"})
            return
        await ack()
        note("view", {"reason": reason, "meta": view["private_metadata"], "user": body["user"]})

    @app.event("app_home_opened")
    async def on_home(event: dict[str, Any], client: AsyncWebClient) -> None:
        note("home", event)
        await client.views_publish(
            user_id=event["user"],
            view={
                "type": "home",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
            },
        )

    @app.event("message")
    async def on_message(event: dict[str, Any], request: AsyncBoltRequest) -> None:
        note("message", {"event": event, "retry": request.headers.get("x-slack-retry-num")})

    runner = web.AppRunner(app.web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    url = f"http://{host}:{port}/slack/events"
    slack = SlackClient(url, SECRET)
    harness = Bare(app=app, slack=slack, url=url, seen=seen)
    try:
        yield harness
    finally:
        await slack.close()
        await runner.cleanup()


async def eventually(check: Any, within: float = 5.0) -> None:
    """For listener-side effects that leave no Slack call: poll `check()` briefly."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


# ---------------------------------------------------------------- signing


def test_sign_matches_slack_documented_example() -> None:
    # The worked example from Slack's "Verifying requests from Slack" documentation.
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
        b"channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
        b"command=%2Fwebhook-collect&text=&"
        b"response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F"
        b"96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    headers = sign(secret, body, 1531420618)
    assert headers == {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }


# ---------------------------------------------------------------- signed requests reach Bolt


async def test_slash_command_reaches_listener_and_its_calls_land_in_fake(
    bare: Bare, fake: FakeSlack
) -> None:
    resp = await bare.slack.slash(
        "request <@U07NINA|nina> agent premium", "U0MGR", response_url=fake.response_url("cmd")
    )
    assert resp.status == 200
    # ack(text=...) alone is answered as plain text by Bolt.
    assert resp.text == "working on request <@U07NINA|nina> agent premium"

    [post] = await fake.wait_for("chat.postMessage")
    assert post.args["channel"] == "C0GENERAL"
    assert post.args["text"] == "got request <@U07NINA|nina> agent premium"
    assert post.header("authorization") == f"Bearer {TOKEN}"
    assert post.token == TOKEN
    [command] = bare.saw("command")
    assert command["user_id"] == "U0MGR"
    assert command["team_id"] == "T0TEAM"
    assert command["trigger_id"] == "trig-1"

    [reply] = await fake.wait_for("response_url")
    assert reply.args["text"] == "done"
    assert fake.responses("cmd") == [reply.parsed]
    assert fake.responses("other") == []
    # Bolt authorized the request with auth.test against the fake.
    assert [c.method for c in fake.calls_to("auth.test")] == ["auth.test"]


@pytest.mark.parametrize(
    "how",
    ["wrong_secret", "missing_signature", "stale_timestamp", "future_timestamp", "tampered"],
)
async def test_forged_unsigned_and_stale_requests_get_401(
    bare: Bare, fake: FakeSlack, how: str
) -> None:
    six_minutes = 6 * 60
    if how == "wrong_secret":
        resp = await bare.slack.slash("help", "U1", response_url=fake.response_url(), secret="nope")
    elif how == "stale_timestamp":
        resp = await bare.slack.slash(
            "help", "U1", response_url=fake.response_url(), timestamp=int(time.time()) - six_minutes
        )
    elif how == "future_timestamp":
        resp = await bare.slack.slash(
            "help", "U1", response_url=fake.response_url(), timestamp=int(time.time()) + six_minutes
        )
    elif how == "missing_signature":
        body = b"command=%2Flicense&text=help&user_id=U1&team_id=T0TEAM"
        resp = await bare.slack.post_raw(
            body, {"Content-Type": "application/x-www-form-urlencoded"}
        )
    else:  # signed for one body, sent with another
        ts = int(time.time())
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **sign(SECRET, b"command=%2Flicense&text=help&user_id=U1", ts),
        }
        resp = await bare.slack.post_raw(b"command=%2Flicense&text=revoke&user_id=U1", headers)
    assert resp.status == 401
    assert resp.json() == {"error": "invalid request"}
    # Refused before dispatch: no listener ran and nothing reached Slack.
    assert bare.saw("command") == []
    assert [c for c in fake.calls if c.method != "auth.test"] == []


async def test_a_5_minute_old_signature_is_still_accepted(bare: Bare, fake: FakeSlack) -> None:
    resp = await bare.slack.slash(
        "help", "U1", response_url=fake.response_url(), timestamp=int(time.time()) - 280
    )
    assert resp.status == 200


async def test_block_action_reaches_listener(bare: Bare, fake: FakeSlack) -> None:
    client = web_client(fake)
    await client.chat_postMessage(
        channel="C0APPROVALS",
        text="request R1",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "R1"}}],
    )
    [msg] = fake.messages("C0APPROVALS")
    assert msg["blocks"][0]["text"]["text"] == "R1"

    resp = await bare.slack.block_action(
        "U0ADMIN", "approve", "R1", message=msg, response_url=fake.response_url("act")
    )
    assert resp.status == 200
    [update] = await fake.wait_for("chat.update")
    assert update.args["channel"] == "C0APPROVALS"
    assert update.args["ts"] == msg["ts"]
    assert update.args["text"] == "approved by <@U0ADMIN>"
    await fake.wait_for("response_url")
    assert fake.responses("act")[0]["text"] == "clicked"

    [body] = bare.saw("action")
    assert body["actions"][0]["value"] == "R1"
    assert body["actions"][0]["block_id"] == "b"
    assert body["user"]["id"] == "U0ADMIN"
    assert body["channel"]["id"] == "C0APPROVALS"
    assert body["trigger_id"] == "trig-2"
    assert fake.updates("C0APPROVALS")[0]["text"] == "approved by <@U0ADMIN>"


async def test_block_action_from_app_home_view(bare: Bare, fake: FakeSlack) -> None:
    view = {"id": "V0HOME", "type": "home", "blocks": []}
    resp = await bare.slack.block_action("U0ADMIN", "approve", "R2", view=view)
    assert resp.status == 200
    await eventually(lambda: len(bare.saw("action")) == 1)
    [body] = bare.saw("action")
    assert body["container"] == {"type": "view", "view_id": "V0HOME"}
    assert body["view"]["type"] == "home"


async def test_view_submission_reaches_listener(bare: Bare) -> None:
    values = {"reason": {"reason_input": {"type": "plain_text_input", "value": "over budget"}}}
    resp = await bare.slack.view_submission(
        "U0ADMIN", "deny_reason", values, private_metadata='{"request": "R1"}'
    )
    assert resp.status == 200
    assert resp.text == ""
    [seen] = bare.saw("view")
    assert seen == {
        "reason": "over budget",
        "meta": '{"request": "R1"}',
        "user": {"id": "U0ADMIN", "username": "u", "name": "u", "team_id": "T0TEAM"},
    }


async def test_view_submission_errors_come_back_in_the_http_response(bare: Bare) -> None:
    values = {"reason": {"reason_input": {"type": "plain_text_input", "value": None}}}
    resp = await bare.slack.view_submission("U0ADMIN", "deny_reason", values)
    assert resp.status == 200
    assert resp.json() == {
        "response_action": "errors",
        "errors": {"reason": "A reason is required"},
    }
    assert bare.saw("view") == []


async def test_app_home_opened_event_reaches_listener(bare: Bare, fake: FakeSlack) -> None:
    resp = await bare.slack.event(
        {"type": "app_home_opened", "user": "U0ADMIN", "channel": "DU0ADMIN", "tab": "home"}
    )
    assert resp.status == 200
    [publish] = await fake.wait_for("views.publish")
    assert publish.args["user_id"] == "U0ADMIN"
    assert publish.parsed["view"]["type"] == "home"
    assert publish.response is not None and publish.response["view"]["id"].startswith("V")


async def test_thread_reply_event_and_retry_headers(bare: Bare, fake: FakeSlack) -> None:
    event = {
        "type": "message",
        "channel": "C0APPROVALS",
        "channel_type": "channel",
        "user": "U0ADMIN",
        "text": "approve",
        "ts": "1700000100.000200",
        "thread_ts": "1700000000.000100",
    }
    resp = await bare.slack.event(event, event_id="Ev0001")
    assert resp.status == 200
    resp = await bare.slack.event(event, event_id="Ev0001", retry_num=1)
    assert resp.status == 200
    await eventually(lambda: len(bare.saw("message")) == 2)
    # Bolt exposes request headers as lists of values.
    retries = sorted(str(m["retry"]) for m in bare.saw("message"))
    assert retries == ["None", "['1']"]
    assert all(m["event"]["thread_ts"] == "1700000000.000100" for m in bare.saw("message"))


async def test_bolt_ignores_the_bots_own_messages(bare: Bare) -> None:
    # auth.test told Bolt the bot is BBOT/UBOT; its own messages are dropped by Bolt.
    own = {
        "type": "message",
        "channel": "C1",
        "bot_id": "BBOT",
        "user": "UBOT",
        "text": "x",
        "ts": "1700000100.000300",
    }
    other = {
        "type": "message",
        "channel": "C1",
        "user": "U2",
        "text": "y",
        "ts": "1700000100.000400",
    }
    assert (await bare.slack.event(own)).status == 200
    assert (await bare.slack.event(other)).status == 200
    await eventually(lambda: len(bare.saw("message")) >= 1)
    await asyncio.sleep(0.05)
    assert [m["event"]["text"] for m in bare.saw("message")] == ["y"]


async def test_url_verification(bare: Bare) -> None:
    resp = await bare.slack.url_verification("chal-123")
    assert resp.status == 200
    assert resp.json() == {"challenge": "chal-123"}


# ---------------------------------------------------------------- faults


async def test_429_with_retry_after_then_success(fake: FakeSlack) -> None:
    client = web_client(fake)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    fake.fail("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    resp = await client.chat_postMessage(channel="C1", text="hello")
    elapsed = time.monotonic() - started
    assert resp["ok"] is True
    first, second = fake.calls_to("chat.postMessage")
    assert first.faulted and not second.faulted
    assert elapsed >= 1.0  # Retry-After was honoured
    assert [m["text"] for m in fake.messages("C1")] == ["hello"]


async def test_429_without_retry_handler_raises(fake: FakeSlack) -> None:
    client = web_client(fake, retry_handlers=[])
    fake.fail("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="hello")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"
    assert fake.messages() == []


async def test_500_retried_by_server_error_handler(fake: FakeSlack) -> None:
    plain = web_client(fake, retry_handlers=[])
    fake.fail("users.info", status=500)
    with pytest.raises(SlackApiError) as err:
        await plain.users_info(user="U1")
    assert err.value.response.status_code == 500

    fake.add_user("U1", "u1@example.com", "Una")
    retrying = web_client(fake)
    retrying.retry_handlers.append(AsyncServerErrorRetryHandler(max_retry_count=1))
    fake.fail("users.info", status=500)
    resp = await retrying.users_info(user="U1")
    assert resp["user"]["profile"]["email"] == "u1@example.com"
    assert [c.faulted for c in fake.calls_to("users.info")] == [True, True, False]


async def test_ok_false_fault_times_and_wildcard(fake: FakeSlack) -> None:
    client = web_client(fake)
    fake.fail("chat.update", error="message_not_found", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            await client.chat_update(channel="C1", ts="1.2", text="x")
        assert err.value.response["error"] == "message_not_found"
    assert (await client.chat_update(channel="C1", ts="1.2", text="x"))["ok"] is True

    fake.fail("*", error="fatal_error")
    with pytest.raises(SlackApiError):
        await client.conversations_open(users="U1")
    assert (await client.conversations_open(users="U1"))["channel"]["id"] == "DU1"
    # A method's own fault is used before a "*" fault.
    fake.fail("*", error="wild")
    fake.fail("chat.delete", error="own")
    with pytest.raises(SlackApiError) as err:
        await client.chat_delete(channel="C1", ts="1.2")
    assert err.value.response["error"] == "own"
    with pytest.raises(SlackApiError) as err:
        await client.chat_delete(channel="C1", ts="1.2")
    assert err.value.response["error"] == "wild"


async def test_wildcard_faults_spare_bolts_auth_test(bare: Bare, fake: FakeSlack) -> None:
    # "*" faults the app's own calls; Bolt's lazy auth.test still authorizes the request.
    fake.fail("*", error="boom")
    resp = await bare.slack.slash("help", "U1", response_url=fake.response_url())
    assert resp.status == 200
    [failed] = await fake.wait_for("chat.postMessage", faulted=True)
    assert failed.response == {"ok": False, "error": "boom"}
    [auth] = fake.calls_to("auth.test")
    assert not auth.faulted
    assert fake.messages() == []
    await eventually(lambda: bare.saw("api_error") == ["boom"])


async def test_timeout_fault_holds_the_request(fake: FakeSlack) -> None:
    client = web_client(fake, timeout=1, retry_handlers=[])
    fake.fail("chat.postMessage", timeout=True)
    started = time.monotonic()
    with pytest.raises((asyncio.TimeoutError, aiohttp.ClientError)):
        await client.chat_postMessage(channel="C1", text="slow")
    assert 0.9 <= time.monotonic() - started < 5
    [held] = await fake.wait_for("chat.postMessage", faulted=True)
    assert held.faulted and held.response is None
    # The next call is answered normally.
    assert (await client.chat_postMessage(channel="C1", text="fast"))["ok"] is True
    started = time.monotonic()
    await fake.stop()  # releases the held request promptly
    assert time.monotonic() - started < 5


async def test_faults_on_response_url(fake: FakeSlack) -> None:
    fake.fail("response_url", status=500)
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.response_url("x"), json={"text": "a"}) as resp:
            assert resp.status == 500
        async with session.post(fake.response_url("x"), json={"text": "b"}) as resp:
            assert resp.status == 200
    assert [r["text"] for r in fake.responses("x")] == ["b"]
    assert len(fake.calls_to("response_url")) == 2


async def test_missing_token_is_not_authed(fake: FakeSlack) -> None:
    client = AsyncWebClient(base_url=fake.url)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="x")
    assert err.value.response["error"] == "not_authed"


# ---------------------------------------------------------------- Web API answers


async def test_upload_v2_round_trip(fake: FakeSlack) -> None:
    client = web_client(fake)
    resp = await client.files_upload_v2(
        channel="DU0ADMIN", content="a,b\n1,2\n", filename="x.csv", initial_comment="hi"
    )
    assert resp["ok"] is True
    file_id = resp["file"]["id"]
    assert fake.uploads == {file_id: b"a,b\n1,2\n"}
    [get_url] = fake.calls_to("files.getUploadURLExternal")
    assert get_url.args["filename"] == "x.csv"
    assert int(get_url.args["length"]) == len(b"a,b\n1,2\n")
    [upload] = fake.calls_to("upload")
    assert upload.args == {"file_id": file_id, "length": 8, "filename": "x.csv"}
    [complete] = fake.calls_to("files.completeUploadExternal")
    assert complete.args["channel_id"] == "DU0ADMIN"
    assert complete.args["initial_comment"] == "hi"
    assert complete.parsed["files"] == [{"id": file_id, "title": "x.csv"}]
    assert resp["file"]["title"] == "x.csv"
    assert fake.files[file_id]["initial_comment"] == "hi"


async def test_post_message_answers(fake: FakeSlack) -> None:
    client = web_client(fake)
    first = await client.chat_postMessage(channel="C1", text="one")
    second = await client.chat_postMessage(channel="C1", text="two", thread_ts=first["ts"])
    dm = await client.chat_postMessage(channel="U0NINA", text="dm")
    assert first["ts"] == "1700000000.000100"
    assert float(first["ts"]) < float(second["ts"]) < float(dm["ts"])
    assert first["channel"] == "C1" and first["message"]["text"] == "one"
    assert dm["channel"] == "DU0NINA"
    # Form-encoded post with JSON-string blocks, as some callers send.
    await client.api_call(
        "chat.postMessage",
        data={"channel": "C2", "text": "f", "blocks": json.dumps([{"type": "divider"}])},
    )
    assert fake.messages("C2")[0]["blocks"] == [{"type": "divider"}]
    assert [m["text"] for m in fake.messages("C1")] == ["one", "two"]
    assert fake.messages("C1")[1]["thread_ts"] == first["ts"]
    assert [m["text"] for m in fake.messages("DU0NINA")] == ["dm"]
    assert [m["text"] for m in fake.messages("U0NINA")] == ["dm"]
    assert len(fake.messages()) == 4

    eph = await client.chat_postEphemeral(channel="C1", user="U1", text="psst")
    assert eph["message_ts"]
    link = await client.chat_getPermalink(channel="C1", message_ts=first["ts"])
    assert link["permalink"].endswith("/archives/C1/p1700000000000100")
    assert (await client.chat_delete(channel="C1", ts=first["ts"]))["ok"] is True


async def test_user_lookups_and_usergroups(fake: FakeSlack) -> None:
    client = web_client(fake)
    fake.add_user("U0NINA", "Nina@Example.com", "Nina")
    fake.add_user("U0GONE", "gone@example.com", deleted=True)
    fake.add_user("U0ROBO", None, "robo", is_bot=True)
    info = await client.users_info(user="U0NINA")
    assert info["user"]["profile"]["email"] == "Nina@Example.com"
    assert info["user"]["profile"]["real_name"] == "Nina"
    assert info["user"]["profile"]["display_name"] == "Nina"
    assert info["user"]["deleted"] is False and info["user"]["is_bot"] is False
    assert (await client.users_info(user="U0GONE"))["user"]["deleted"] is True
    assert (await client.users_info(user="U0ROBO"))["user"]["is_bot"] is True
    found = await client.users_lookupByEmail(email="nina@example.com")
    assert found["user"]["id"] == "U0NINA"
    for call in (client.users_info(user="U0NOBODY"), client.users_lookupByEmail(email="x@y.z")):
        with pytest.raises(SlackApiError) as err:
            await call
        assert err.value.response["error"] == "user_not_found"
    # GET with query parameters, as slack_sdk sends users.info.
    assert fake.calls_to("users.info")[0].args["user"] == "U0NINA"

    fake.set_usergroup("S0ADMINS", ["U0NINA", "U0BOSS"])
    group = await client.usergroups_users_list(usergroup="S0ADMINS")
    assert group["users"] == ["U0NINA", "U0BOSS"]

    opened = await client.conversations_open(users="U0NINA")
    assert opened["channel"]["id"] == "DU0NINA"


async def test_views_and_unknown_methods(fake: FakeSlack) -> None:
    client = web_client(fake)
    view = {
        "type": "modal",
        "callback_id": "req",
        "title": {"type": "plain_text", "text": "T"},
        "blocks": [],
    }
    opened = await client.views_open(trigger_id="trig-1", view=view)
    assert opened["view"]["id"].startswith("V")
    assert opened["view"]["callback_id"] == "req"
    updated = await client.views_update(view_id=opened["view"]["id"], view=view)
    assert updated["view"]["id"] == opened["view"]["id"]
    assert (await client.views_push(trigger_id="t", view=view))["view"]["id"]
    assert (await client.api_call("reactions.add", params={"name": "x"}))["ok"] is True
    assert fake.calls_to("reactions.add")[0].args == {"name": "x"}
    fake.reset_calls()
    assert fake.calls == []


async def test_wait_for_is_event_driven_and_reports_on_timeout(fake: FakeSlack) -> None:
    client = web_client(fake)

    async def later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel="C1", text="a")
        await client.chat_postMessage(channel="C2", text="b")

    task = asyncio.create_task(later())
    calls = await fake.wait_for("chat.postMessage", lambda c: c.args["channel"] == "C2", timeout=2)
    await task
    assert [c.args["text"] for c in calls] == ["b"]
    assert len(await fake.wait_for("chat.postMessage", count=2)) == 2

    with pytest.raises(AssertionError) as err:
        await fake.wait_for("views.open", timeout=0.1)
    assert "chat.postMessage" in str(err.value)
    assert "views.open" in str(err.value)
