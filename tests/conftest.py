"""Fixtures: a fake Slack, and the real licensebot app served over HTTP in-process on a
real SQLite file, with an injected clock."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from fakeslack import FakeSlack
from signing import Response, SlackClient

from bot.app import Service, build_service
from bot.clock import FixedClock
from bot.settings import Settings, load_settings

SECRET = "test-signing-secret"
APPROVALS = "C0APPROVALS"
ALERTS = "C0ALERTS"
ADMIN = "U0ADMIN"
ADMIN2 = "U0ADMIN2"
MANAGER = "U0MANAGER"
OUTSIDER = "U0OUTSIDER"
NINA = "U07NINA"
START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    fake.add_user(ADMIN, "ada@example.com", "Ada Admin")
    fake.add_user(ADMIN2, "bob@example.com", "Bob Admin")
    fake.add_user(MANAGER, "maya@example.com", "Maya Manager")
    fake.add_user(OUTSIDER, "otto@example.com", "Otto Outsider")
    fake.add_user(NINA, "nina@example.com", "Nina Novak")
    yield fake
    await fake.stop()


def make_settings(slack: FakeSlack, database: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "slack_bot_token": "xoxb-test-token",
        "slack_signing_secret": SECRET,
        "slack_api_url": slack.url,
        "database": database,
        "approvals_channel": APPROVALS,
        "alerts_channel": ALERTS,
        "admins": f"{ADMIN},{ADMIN2}",
    }
    values.update(overrides)
    return load_settings(**values)


class Bot:
    """One running licensebot: its HTTP URL, a signing client, and a way to wait until the
    work each request started after its ack has finished."""

    _response_keys = itertools.count(1)

    def __init__(self, service: Service, server: TestServer, slack: FakeSlack,
                 clock: FixedClock) -> None:
        self.service = service
        self.deps = service.deps
        self.db = service.deps.db
        self.server = server
        self.slack = slack
        self.clock = clock
        self.url = str(server.make_url("/slack/events"))
        self.client = SlackClient(self.url, SECRET)

    async def settle(self) -> None:
        await self.deps.inflight.wait_idle()

    async def command(self, text: str, user: str = MANAGER, **kwargs: Any) -> Reply:
        """Run `/license <text>` and wait for its work; returns the ack and the replies."""
        key = f"r{next(self._response_keys)}"
        response = await self.client.slash(text, user, response_url=self.slack.response_url(key),
                                           **kwargs)
        await self.settle()
        return Reply(response, self.slack.responses(key))

    async def click(self, action_id: str, value: str, user: str, *,
                    message: dict | None = None, **kwargs: Any) -> Response:
        message = message or {}
        response = await self.client.block_action(
            user, action_id, value, message=message or None,
            channel_id=message.get("channel", APPROVALS) if message else APPROVALS, **kwargs)
        await self.settle()
        return response

    async def submit(self, user: str, callback_id: str, values: dict, **kwargs: Any) -> Response:
        response = await self.client.view_submission(user, callback_id, values, **kwargs)
        await self.settle()
        return response

    async def event(self, event: dict, **kwargs: Any) -> Response:
        response = await self.client.event(event, **kwargs)
        await self.settle()
        return response

    async def stop(self) -> None:
        await self.client.close()
        await self.server.close()
        await self.service.close()


class Reply:
    """What the person who typed a command saw: the ack body and the ephemeral replies."""

    def __init__(self, response: Response, replies: list[dict]) -> None:
        self.status = response.status
        self.ack = response.text
        self.replies = replies

    @property
    def text(self) -> str:
        """Everything shown to the person, ack and replies, as one string."""
        parts = [self.ack] + [r.get("text", "") for r in self.replies]
        for reply in self.replies:
            for block in reply.get("blocks") or []:
                parts.append(str(block))
        return "\n".join(parts)


BotFactory = Callable[..., Awaitable[Bot]]


@pytest.fixture
async def make_bot(slack: FakeSlack, tmp_path: Path) -> AsyncIterator[BotFactory]:
    bots: list[Bot] = []

    async def start(database: Path | None = None, clock: FixedClock | None = None,
                    **overrides: Any) -> Bot:
        settings = make_settings(slack, database or tmp_path / "licensebot.db", **overrides)
        clock = clock or FixedClock(START)
        service = await build_service(settings, clock)
        server = TestServer(service.web_app(), host="127.0.0.1")
        await server.start_server()
        bot = Bot(service, server, slack, clock)
        bots.append(bot)
        return bot

    yield start
    for bot in bots:
        if not bot.server.closed:
            await bot.stop()


@pytest.fixture
async def bot(make_bot: BotFactory) -> Bot:
    return await make_bot()
