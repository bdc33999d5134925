"""Fixtures: a fake Slack, and the real licensebot app served over HTTP in-process on a
real SQLite file, with an injected clock."""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from fakeslack import FakeSlack
from signing import Response, SlackClient
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.app import Service, build_service
from bot.clock import FixedClock
from bot.delivery import Pacer
from bot.delivery.pacing import post_rates
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


# --- the store under test: SQLite always, PostgreSQL where LICENSEBOT_TEST_POSTGRES names one.
# Each session gets its own database (lb_<random>, dropped at the end) and each test its
# own schema in it, so parallel runs and tests never see each other's rows.

PG_ENV = "LICENSEBOT_TEST_POSTGRES"
PG_NOT_CONFIGURED = f"PostgreSQL not configured: set {PG_ENV}"
_pg_skipped: list[str] = []


class PostgresServer:
    """The session's own database on the server LICENSEBOT_TEST_POSTGRES names."""

    def __init__(self, admin_url: str) -> None:
        from bot.store.pg import repair_url

        self.admin_url = repair_url(admin_url)
        self.name = f"lb_{secrets.token_hex(5)}"
        base, _, _ = self.admin_url.rpartition("/")
        self.url = f"{base}/{self.name}"
        self._schemas = itertools.count(1)

    async def _admin(self, sql: str) -> None:
        import asyncpg

        connection = await asyncpg.connect(self.admin_url, timeout=5)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    def create(self) -> None:
        asyncio.run(
            self._admin(
                f"CREATE DATABASE {self.name} TEMPLATE template0 ENCODING 'UTF8' "
                "LC_COLLATE 'C' LC_CTYPE 'C'"
            )
        )

    def drop(self) -> None:
        asyncio.run(self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"))

    def fresh_schema(self) -> str:
        """A URL whose connections see only a new, empty schema."""
        import asyncpg

        schema = f"t{next(self._schemas)}"

        async def create() -> None:
            connection = await asyncpg.connect(self.url, timeout=5)
            try:
                await connection.execute(f"CREATE SCHEMA {schema}")
            finally:
                await connection.close()

        asyncio.run(create())
        return f"{self.url}?search_path={schema}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | None]:
    """The session's PostgreSQL database, or None (with the reason kept) when there is none."""
    url = os.environ.get(PG_ENV)
    if not url:
        _pg_skipped.append(PG_NOT_CONFIGURED)
        yield None
        return
    server = PostgresServer(url)
    try:
        server.create()
    except Exception as error:  # unreachable, refused, no such role: say so, skip
        _pg_skipped.append(f"PostgreSQL at {url} unreachable: {type(error).__name__}: {error}")
        yield None
        return
    yield server
    server.drop()


def postgres_url(server: PostgresServer | None) -> str:
    """A fresh PostgreSQL store for one test, or skip the test saying why."""
    if server is None:
        pytest.skip(_pg_skipped[-1] if _pg_skipped else PG_NOT_CONFIGURED)
    return server.fresh_schema()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_server: PostgresServer | None
) -> Path | str:
    """What LICENSEBOT_DATABASE would say: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return tmp_path / "licensebot.db"
    return postgres_url(postgres_server)


@pytest.fixture
def pg_store(postgres_server: PostgresServer | None) -> str:
    """A fresh PostgreSQL store (tests that only make sense on PostgreSQL)."""
    return postgres_url(postgres_server)


def _skip_reason(report: Any) -> str:
    longrepr = getattr(report, "longrepr", "")
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return str(text).removeprefix("Skipped: ")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    skipped = [
        r
        for r in terminalreporter.stats.get("skipped", [])
        if "PostgreSQL not configured" in str(getattr(r, "longrepr", ""))
        or "unreachable" in str(getattr(r, "longrepr", ""))
    ]
    if skipped:
        # Under pytest-xdist the workers kept the reason; each skip report carries it.
        reason = _pg_skipped[-1] if _pg_skipped else _skip_reason(skipped[-1])
        terminalreporter.write_line(
            f"{len(skipped)} PostgreSQL variants skipped: {reason}", yellow=True
        )


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


def make_settings(slack: FakeSlack, database: Path | str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "slack_bot_token": "xoxb-test-token",
        "slack_signing_secret": SECRET,
        "slack_api_url": slack.url,
        "database": database,
        "approvals_channel": APPROVALS,
        "alerts_channel": ALERTS,
        "admins": f"{ADMIN},{ADMIN2}",
        # The fake Slack takes posts as fast as they come; the tests that pace (delivery,
        # the benchmark) set Slack's real rate themselves.
        "slack_post_rate": 1000,
    }
    values.update(overrides)
    return load_settings(**values)


class Bot:
    """One running licensebot: its HTTP URL, a signing client, and a way to wait until the
    work each request started after its ack has finished."""

    _response_keys = itertools.count(1)

    def __init__(
        self, service: Service, server: TestServer, slack: FakeSlack, clock: FixedClock
    ) -> None:
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
        response = await self.client.slash(
            text, user, response_url=self.slack.response_url(key), **kwargs
        )
        await self.settle()
        return Reply(response, self.slack.responses(key))

    async def click(
        self, action_id: str, value: str, user: str, *, message: dict | None = None, **kwargs: Any
    ) -> Response:
        message = message or {}
        response = await self.client.block_action(
            user,
            action_id,
            value,
            message=message or None,
            channel_id=message.get("channel", APPROVALS) if message else APPROVALS,
            **kwargs,
        )
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


# --- waits: a retry or a pacing wait in an in-process bot passes at once ----------------------
# What is waited for (Retry-After, backoff) and how often a call is retried stay the bot's;
# only the sleeping is skipped. Tests that look at the waits inject their own pacer.


class SkippedTime:
    """A monotonic clock that runs with real time plus every wait it was asked to sleep."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.skipped

    async def sleep(self, seconds: float) -> None:
        self.skipped += max(0.0, seconds)
        await asyncio.sleep(0)


class _RateLimitRetryWithoutSleep(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 retry (same retries) without sleeping out the Retry-After."""

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error  # type: ignore[misc]
        state.next_attempt_requested = True
        state.increment_current_attempt()


def skip_waits(service: Service, settings: Settings) -> None:
    """Pacing on skipped time, and slack_sdk's retries of the shared client without sleeps."""
    waits = SkippedTime()
    service.deps.deliverer.pacer = Pacer(
        post_rates(settings.slack_post_rate), monotonic=waits.monotonic, sleep=waits.sleep
    )
    handlers: list[AsyncRetryHandler] = []
    for handler in service.deps.client.retry_handlers:
        if isinstance(handler, AsyncRateLimitErrorRetryHandler):
            handler = _RateLimitRetryWithoutSleep(handler.max_retry_count)
        else:
            handler.interval_calculator = FixedValueRetryIntervalCalculator(0.0)
        handlers.append(handler)
    service.deps.client.retry_handlers = handlers


@pytest.fixture
async def make_bot(slack: FakeSlack, store_target: Path | str) -> AsyncIterator[BotFactory]:
    bots: list[Bot] = []

    async def start(
        database: Path | str | None = None, clock: FixedClock | None = None, **overrides: Any
    ) -> Bot:
        settings = make_settings(slack, database or store_target, **overrides)
        clock = clock or FixedClock(START)
        service = await build_service(settings, clock)
        skip_waits(service, settings)
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
