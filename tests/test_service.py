"""Running as a service (SPEC 11): readiness, metrics, job periods claimed once across
replicas, JSON logs, and a stop that wins within 10 s in every state (real processes)."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from conftest import ADMIN, SECRET, Bot
from fakeslack import FakeSlack
from signing import SlackClient
from test_serve_process import free_port, serve_env, wait_healthy

from bot.metrics import REGISTRY
from bot.store.db import Database

PERIOD = "2026-11-30T12:00:00+00:00"


async def get(bot: Bot, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(str(bot.server.make_url(path))) as response,
    ):
        return response.status, await response.text()


# --- readiness and metrics ---------------------------------------------------------------


async def test_readyz_is_ready_when_the_store_takes_writes(bot: Bot) -> None:
    status, body = await get(bot, "/readyz")
    assert status == 200
    assert json.loads(body) == {"ready": True, "reasons": []}


async def test_readyz_says_why_when_the_store_cannot_be_written(bot: Bot) -> None:
    if bot.db.dialect != "sqlite":
        pytest.skip("SQLite only: a read-only PostgreSQL would need the server reconfigured")
    await bot.db._connection.execute("PRAGMA query_only = ON")
    status, body = await get(bot, "/readyz")
    assert status == 503
    reasons = json.loads(body)["reasons"]
    assert len(reasons) == 1 and reasons[0].startswith("the store cannot be written")
    status, _ = await get(bot, "/healthz")  # alive all the same
    assert status == 200


async def test_readyz_reports_a_stopped_scheduler_and_slack_unreachable(bot: Bot) -> None:
    readiness = bot.service.readiness
    readiness.expect_scheduler = True
    readiness.scheduler_running = lambda: False
    readiness.slack_error = "ClientConnectorError"
    status, body = await get(bot, "/readyz")
    assert status == 503
    assert json.loads(body)["reasons"] == [
        "the scheduler is not running",
        "Slack was unreachable at start: ClientConnectorError",
    ]


async def test_metrics_count_commands_acks_and_the_outbox_backlog(bot: Bot) -> None:
    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    commands = sample("licensebot_commands_total", command="pool")
    acks = sample("licensebot_ack_seconds_count", kind="http")
    reply = await bot.command("pool set premium agent 3", ADMIN)
    assert "3 seats" in reply.text
    bot.slack.fail("*", status=500, times=50)  # the request card stays in the outbox
    await bot.command("request nina@example.com agent premium dept:Support")
    bot.slack.clear_faults()

    status, text = await get(bot, "/metrics")
    assert status == 200
    assert sample("licensebot_commands_total", command="pool") == commands + 1
    assert sample("licensebot_ack_seconds_count", kind="http") == acks + 2
    assert 'licensebot_requests{status="pending"} 1.0' in text
    backlog = [line for line in text.splitlines() if line.startswith("licensebot_outbox_backlog ")]
    assert backlog and float(backlog[0].split()[1]) >= 1
    assert "licensebot_ack_seconds_bucket" in text


# --- one replica per job period ----------------------------------------------------------


async def test_a_job_period_is_claimed_by_one_replica(store_target: Path | str) -> None:
    replicas = [await Database.open(store_target) for _ in range(3)]
    try:
        first = await asyncio.gather(
            *(db.claim_period("limits", PERIOD, f"r{n}") for n, db in enumerate(replicas))
        )
        again = await replicas[2].claim_period("limits", PERIOD, "r2")
        other_job = await replicas[1].claim_period("inactive", PERIOD, "r1")
    finally:
        for db in replicas:
            await db.close()
    assert first.count(True) == 1
    assert again is False
    assert other_job is True


# --- real processes: logs and stopping ---------------------------------------------------


async def start(tmp_path: Path, env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def read_until(process: asyncio.subprocess.Process, text: str, seen: list[str]) -> None:
    """Read the process's log lines until one contains `text` (bounded)."""
    assert process.stderr is not None
    async with asyncio.timeout(30):
        while True:
            line = (await process.stderr.readline()).decode()
            if not line:
                raise AssertionError(f"process ended before logging {text!r}: {seen}")
            seen.append(line)
            if text in line:
                return


async def stop_within(
    process: asyncio.subprocess.Process, seconds: float, seen: list[str] | None = None
) -> float:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    tail: list[bytes] = []

    async def drain() -> None:  # keep reading its log, so a full pipe never blocks it
        assert process.stderr is not None
        while line := await process.stderr.readline():
            tail.append(line)

    reader = asyncio.ensure_future(drain())
    try:
        await asyncio.wait_for(process.wait(), seconds + 5)
    finally:
        if process.returncode is None:
            process.kill()
            print(b"".join(tail[-40:]).decode(errors="replace"))
        await asyncio.wait_for(reader, 5)
        if seen is not None:
            seen += [line.decode() for line in tail]
    return time.monotonic() - started


async def test_json_logs_carry_the_request_and_libraries_stay_quiet(
    slack: FakeSlack, tmp_path: Path
) -> None:
    port = free_port()
    env = serve_env(slack, tmp_path, tmp_path / "served.db") | {"LICENSEBOT_LOG_FORMAT": "json"}
    process = await start(
        tmp_path, env, "-v", "serve", "--http", "--host", "127.0.0.1", "--port", str(port)
    )
    seen: list[str] = []
    try:
        await read_until(process, "licensebot serving", seen)
        await wait_healthy(f"http://127.0.0.1:{port}", process)
        async with SlackClient(f"http://127.0.0.1:{port}/slack/events", SECRET) as client:
            await client.slash("pool", ADMIN, response_url=slack.response_url("pool"))
        await read_until(process, "request received", seen)
    finally:
        took = await stop_within(process, 10, seen)
    entries = [json.loads(line) for line in seen if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    request = [e for e in entries if e["message"] == "request received"]
    assert request[0]["user"] == ADMIN and request[0]["command"] == "/license pool"
    assert not [e for e in entries if e["logger"].startswith(("apscheduler", "aiosqlite"))]
    assert process.returncode == 0 and took < 10


async def test_sigterm_stops_http_serving_with_work_stuck_on_slack(
    slack: FakeSlack, tmp_path: Path
) -> None:
    port = free_port()
    process = await start(
        tmp_path,
        serve_env(slack, tmp_path, tmp_path / "s.db"),
        "serve",
        "--http",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    )
    seen: list[str] = []
    try:
        await read_until(process, "licensebot serving", seen)
        slack.fail("response_url", timeout=True)  # the work after the ack hangs on Slack
        async with SlackClient(f"http://127.0.0.1:{port}/slack/events", SECRET) as client:
            ack = await client.slash("pool", ADMIN, response_url=slack.response_url("stuck"))
        assert ack.status == 200
        await slack.wait_for("response_url", faulted=True)  # in flight, held by Slack
    except BaseException:
        process.kill()
        await process.wait()
        raise
    took = await stop_within(process, 10)
    assert process.returncode == 0
    assert took < 10


async def test_sigterm_stops_socket_mode_while_slack_is_unreachable(tmp_path: Path) -> None:
    """Slack accepts the connection and never answers: auth.test, then apps.connections.open
    would wait for minutes. A stop request wins within 10 s."""
    held: list[asyncio.StreamWriter] = []

    async def black_hole(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(black_hole, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    fake = type("Unreachable", (), {"url": f"http://127.0.0.1:{port}/api/"})()
    env = serve_env(fake, tmp_path, tmp_path / "s.db") | {  # type: ignore[arg-type]
        "SLACK_APP_TOKEN": "xapp-1-A0TEST-1-0123456789abcdef"
    }
    env.pop("SLACK_SIGNING_SECRET")
    health = free_port()
    process = await start(tmp_path, env, "serve", "--health-port", str(health))
    seen: list[str] = []
    try:
        await read_until(process, "licensebot probes on", seen)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{health}/readyz") as response:
                assert response.status == 503
                assert (await response.json())["reasons"] == [
                    "starting: not connected to Slack yet"
                ]
            async with session.get(f"http://127.0.0.1:{health}/healthz") as response:
                assert response.status == 200
        took = await stop_within(process, 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        for writer in held:
            writer.close()
        server.close()
    assert process.returncode == 0, seen
    assert took < 10


async def test_a_request_signature_is_served_once_across_replicas(
    store_target: Path | str,
) -> None:
    """The replay guard's memory (migration 006) is the store's, so every replica shares
    it: the same signature offered to two replicas at once is admitted once."""
    one, two = Database.open(store_target), Database.open(store_target)
    replicas = [await one, await two]
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

    async def offer(db: Database, at: datetime) -> bool:
        async with db.transaction() as tx:
            return await tx.replays.first_sight("v0=abc", at, at + timedelta(minutes=5))

    try:
        first = await asyncio.gather(*(offer(db, now) for db in replicas))
        later = await offer(replicas[1], now + timedelta(minutes=6))
    finally:
        for db in replicas:
            await db.close()
    assert sorted(first) == [False, True]
    assert later is True  # forgotten after five minutes: its timestamp is stale by then


async def test_a_stop_waits_for_the_running_job_to_finish(bot: Bot) -> None:
    from bot.jobs.scheduler import start_scheduler

    handle = start_scheduler(bot.service)
    await handle.catch_up
    async with bot.db.transaction():  # the job waits for the store, as behind a long write
        run = asyncio.ensure_future(handle.run("limits"))
        await asyncio.sleep(0)  # one turn of the loop: the run starts and registers itself
        assert handle.running
        assert await handle.drain(within=0.05) is False  # still running: not abandoned
        assert not handle.is_running  # but nothing new starts
    assert await handle.drain(within=10) is True
    await run
    async with bot.db.read() as tx:
        runs = await tx.job_runs.all()
    assert runs["limits"].last_status == "ok"


async def test_readyz_says_why_when_postgresql_is_read_only(
    store_target: Path | str,
    make_bot,  # noqa: ANN001
) -> None:
    import asyncpg

    from bot.store.pg import repair_url

    if not isinstance(store_target, str):
        pytest.skip("PostgreSQL only: the SQLite case is the query_only test above")
    bot = await make_bot()
    url = repair_url(store_target).split("?", 1)[0]
    name = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
        await bot.db._pool.expire_connections()
        status, body = await get(bot, "/readyz")
    finally:
        await admin.execute(f"ALTER DATABASE {name} RESET default_transaction_read_only")
        await admin.close()
        await bot.db._pool.expire_connections()
    assert status == 503
    reasons = json.loads(body)["reasons"]
    assert len(reasons) == 1 and reasons[0].startswith("the store cannot be written")
    assert "read-only transaction" in reasons[0]
    status, _ = await get(bot, "/readyz")
    assert status == 200
