"""Crashes: `licensebot serve --http` killed with SIGKILL in the middle of a burst of
approvals, then restarted on the same database. Every request is either decided, with its
card, thread reply and DM each delivered once (the outbox takes back the dead process's
leases at start), or still pending and decidable; the database passes integrity_check."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from conftest import ADMIN, APPROVALS, MANAGER, SECRET, START
from fakeslack import FakeSlack
from flows import card, has_buttons, text_of
from signing import SlackClient
from slow import size
from test_serve_process import free_port, wait_healthy

from bot.licensing.requests import RequestStatus
from bot.store.db import Database
from bot.store.outbox import LEASE, lease_owner, owner_gone
from bot.store.unit import Store


class Served:
    """One `licensebot serve --http` process on a database, its output kept in a file."""

    def __init__(self, slack: FakeSlack, database: Path, folder: Path, name: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"{name}.log"
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(folder),
            "SLACK_BOT_TOKEN": "xoxb-crash-token",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.url,
            "LICENSEBOT_DATABASE": str(database),
            "LICENSEBOT_APPROVALS_CHANNEL": APPROVALS,
            "LICENSEBOT_ALERTS_CHANNEL": "C0ALERTS",
            "LICENSEBOT_ADMINS": ADMIN,
            "LICENSEBOT_SLACK_POST_RATE": "1000",  # the fake Slack does not pace
        }
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: ASYNC220 - started once, not awaited
                [
                    sys.executable,
                    "-m",
                    "bot",
                    "serve",
                    "--http",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                cwd=folder,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def ready(self) -> None:
        await wait_healthy(self.base, self)  # type: ignore[arg-type]

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    async def stop(self) -> None:
        """SIGTERM, then wait without blocking the loop: the fake Slack it may still be
        talking to while it shuts down runs on this loop."""
        self.process.terminate()
        for _ in range(600):
            if self.process.poll() is not None:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"licensebot did not stop:\n{self.log.read_text()[-2000:]}")


@pytest.fixture
async def processes() -> AsyncIterator[list[Served]]:
    started: list[Served] = []
    yield started
    for served in started:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait(30)


async def test_sigkill_mid_approvals_then_restart_delivers_each_message_once(
    slack: FakeSlack, tmp_path: Path, processes: list[Served]
) -> None:
    count = size(24, 200)
    database = tmp_path / "crash.db"
    first = Served(slack, database, tmp_path, "first")
    processes.append(first)
    await first.ready()
    async with SlackClient(f"{first.base}/slack/events", SECRET) as client:
        await client.slash(
            "pool set premium agent 1000", ADMIN, response_url=slack.response_url("pool")
        )
        sem = asyncio.Semaphore(8)

        async def file(i: int) -> None:
            async with sem:
                await client.slash(
                    f"request crash{i}@example.com agent premium",
                    MANAGER,
                    response_url=slack.response_url(f"file{i}"),
                )

        await asyncio.gather(*(file(i) for i in range(count)))
        await slack.wait_for(
            "chat.postMessage",
            lambda c: not c.args.get("thread_ts") and c.args.get("channel") == APPROVALS,
            count=count,
            timeout=60,
        )
        ids = sorted(int(re.findall(r"#(\d+):", m["text"])[0]) for m in slack.messages(APPROVALS))

        # Slack stops answering: every delivery after a decision hangs in flight, holding
        # its lease. Half the clicks are acked; once some of them are decided the process
        # is killed, with the rest of its work (and the other half of the burst) undone.
        slack.fail("*", timeout=True, times=100_000)
        half = count // 2
        clicks = asyncio.Semaphore(4)

        async def click(request_id: int) -> None:
            async with clicks:
                try:
                    response = await client.block_action(
                        ADMIN, "approve_request", str(request_id), message=card(slack, request_id)
                    )
                except (OSError, aiohttp.ClientError):
                    return  # the process is dead
                assert response.status == 200

        await asyncio.gather(*(click(i) for i in ids[:half]))
        await _until_decided(database, half // 2)
        await _until_in_flight(database)
        first.process.kill()
        first.process.wait(30)  # nothing to wait for: SIGKILL is not handled
        await asyncio.gather(*(click(i) for i in ids[half:]))
    assert first.returncode == -9

    db = await Database.open(database)
    try:
        async with db.read() as tx:
            decided = [
                r.id
                for r in await tx.requests.for_requester(MANAGER, limit=10**6)
                if r.status is RequestStatus.APPROVED
            ]
            in_flight = [
                m for m in await tx.outbox.messages() if m.status == "pending" and m.lease_owner
            ]
    finally:
        await db.close()
    assert half // 2 <= len(decided) <= half
    assert in_flight and all(f":{first.process.pid}:" in (m.lease_owner or "") for m in in_flight)

    slack.clear_faults()
    second = Served(slack, database, tmp_path, "second")
    processes.append(second)
    await second.ready()  # it listens first, and delivers what was left in the background
    await _until_delivered(database)
    _assert_told_once(slack, decided)

    pending = sorted(set(ids) - set(decided))
    async with SlackClient(f"{second.base}/slack/events", SECRET) as client:
        for request_id in pending:
            response = await client.block_action(
                ADMIN, "approve_request", str(request_id), message=card(slack, request_id)
            )
            assert response.status == 200
    await slack.wait_for(
        "chat.postMessage",
        lambda c: str(c.args.get("channel")) == f"D{MANAGER}" or c.args.get("channel") == MANAGER,
        count=count,
        timeout=60,
    )
    await _until_delivered(database)  # the thread replies too, each in its lane
    await second.stop()
    _assert_told_once(slack, ids)

    db = await Database.open(database)
    try:
        async with db.read() as tx:
            states = {r.id: r.status for r in await tx.requests.for_requester(MANAGER, 10**6)}
            assert await tx.outbox.pending_count() == 0
        assert await db.integrity_check() == "ok"
    finally:
        await db.close()
    assert set(states.values()) == {RequestStatus.APPROVED} and len(states) == count


async def _until(database: Path, ready: Callable[[Store], Awaitable[bool]], what: str) -> None:
    """Another process's progress can only be observed: poll its database, bounded."""
    db = await Database.open(database)
    try:
        for _ in range(600):
            async with db.read() as tx:
                if await ready(tx):
                    return
            await asyncio.sleep(0.05)
        raise AssertionError(f"never happened: {what}")
    finally:
        await db.close()


async def _until_decided(database: Path, wanted: int) -> None:
    async def decided(tx: Store) -> bool:
        requests = await tx.requests.for_requester(MANAGER, 10**6)
        return sum(r.status is RequestStatus.APPROVED for r in requests) >= wanted

    await _until(database, decided, f"{wanted} approvals decided")


async def _until_in_flight(database: Path) -> None:
    """A decision commits before its deliveries are claimed: wait for a leased message."""

    async def leased(tx: Store) -> bool:
        return any(m.status == "pending" and m.lease_owner for m in await tx.outbox.messages())

    await _until(database, leased, "a delivery in flight")


async def _until_delivered(database: Path) -> None:
    """Wait (bounded) until the served process has delivered the outbox backlog."""

    async def drained(tx: Store) -> bool:
        return await tx.outbox.pending_count() == 0

    await _until(database, drained, "the backlog delivered")


def _assert_told_once(slack: FakeSlack, ids: list[int]) -> None:
    """Card updated to its decision, one thread reply, one DM, for each request."""
    dm_ids = Counter(
        int(i)
        for m in slack.messages(f"D{MANAGER}")
        for i in re.findall(r"Your request #(\d+)", m["text"])
    )
    for request_id in ids:
        posted = card(slack, request_id)
        replies = [
            m
            for m in slack.messages(APPROVALS)
            if m.get("thread_ts") == posted["ts"] and f"Request #{request_id} approved" in m["text"]
        ]
        final = [u for u in slack.updates(APPROVALS) if u["ts"] == posted["ts"]]
        assert len(replies) == 1, (request_id, replies)
        assert dm_ids[request_id] == 1, (request_id, dm_ids[request_id])
        assert final and not has_buttons(final[-1]) and "Approved" in text_of(final[-1])


# --- the lease rule itself -----------------------------------------------------------------


def test_a_lease_is_taken_back_only_from_a_dead_holder() -> None:
    ended = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    ended.wait()
    host = socket.gethostname()
    assert owner_gone(f"{host}:{ended.pid}:abc")
    assert owner_gone(f"{host}:{os.getpid()}:an-earlier-life")
    assert not owner_gone(lease_owner())
    assert not owner_gone(f"{host}:{os.getppid()}:alive")
    assert not owner_gone(f"another-host:{ended.pid}:abc")
    assert not owner_gone("garbage")


async def test_claim_skips_a_live_lease_and_takes_a_dead_one(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "lease.db")
    try:
        async with db.transaction() as tx:
            first = await tx.outbox.enqueue("channel", "t", START, channel="C1")
            second = await tx.outbox.enqueue("channel", "t", START, channel="C1")
            assert len(await tx.outbox.claim(START)) == 2
            live = f"{socket.gethostname()}:{os.getppid()}:alive"
            await tx.connection.execute(
                "UPDATE outbox SET lease_owner = ? WHERE id = ?", (live, first)
            )
            await tx.connection.execute(
                "UPDATE outbox SET lease_owner = ? WHERE id = ?",
                (f"{socket.gethostname()}:{os.getpid()}:old", second),
            )
        async with db.transaction() as tx:
            again = await tx.outbox.claim(START + timedelta(seconds=1))
            assert [m.id for m in again] == [second]
        async with db.transaction() as tx:
            # A live holder's lease is only taken when it expires.
            assert first in [m.id for m in await tx.outbox.claim(START + LEASE * 2)]
    finally:
        await db.close()
