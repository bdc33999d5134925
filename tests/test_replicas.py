"""Three `licensebot serve --http` replicas on one PostgreSQL behave as one bot (SPEC 11):
requests and double clicks spread over them, one replica SIGKILLed mid-burst, and still
one decision per request, each card, thread reply and DM once, and each alert once."""

from __future__ import annotations

import asyncio
import re
import sys
from collections import Counter
from pathlib import Path

import aiohttp
from conftest import ADMIN, ALERTS, APPROVALS, MANAGER, SECRET
from fakeslack import FakeSlack
from flows import card, cards
from signing import SlackClient
from test_crash import Served, _assert_told_once

from bot.licensing.requests import RequestStatus
from bot.store.db import Database

COUNT = 12


async def _until(database: str, check: str, wanted: int) -> None:
    """Other processes' progress can only be observed: poll the store, bounded."""
    db = await Database.open(database)
    try:
        for _ in range(1200):
            async with db.read() as tx, tx.connection.execute(check) as cursor:
                found = int((await cursor.fetchone())[0])
            if found >= wanted:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{check}: {found} of {wanted}")
    finally:
        await db.close()


async def test_three_replicas_one_killed_mid_burst_act_as_one_bot(
    slack: FakeSlack, tmp_path: Path, pg_store: str
) -> None:
    replicas = [Served(slack, pg_store, tmp_path, f"replica{n}") for n in range(3)]  # type: ignore[arg-type]
    clients = [SlackClient(f"{r.base}/slack/events", SECRET) for r in replicas]
    try:
        await asyncio.gather(*(r.ready() for r in replicas))
        await clients[0].slash(
            "pool set premium agent 100", ADMIN, response_url=slack.response_url("pool")
        )
        await slack.wait_for("response_url")

        async def file(i: int) -> None:
            response = await clients[i % 3].slash(
                f"request replica{i}@example.com agent premium",
                MANAGER,
                response_url=slack.response_url(f"file{i}"),
            )
            assert response.status == 200

        await asyncio.gather(*(file(i) for i in range(COUNT)))
        await slack.wait_for(
            "chat.postMessage",
            lambda c: not c.args.get("thread_ts") and c.args.get("channel") == APPROVALS,
            count=COUNT,
            timeout=60,
        )
        ids = sorted(int(re.findall(r"#(\d+):", m["text"])[0]) for m in cards(slack))
        assert len(ids) == COUNT == len(set(ids))

        async def click(request_id: int, first: int) -> None:
            """A load balancer's view: the click goes to a replica; a dead one's share
            goes to the next."""
            for k in range(3):
                n = (first + k) % 3
                if replicas[n].returncode is not None:
                    continue
                try:
                    response = await clients[n].block_action(
                        ADMIN, "approve_request", str(request_id), message=card(slack, request_id)
                    )
                except (OSError, aiohttp.ClientError):
                    continue
                assert response.status == 200
                return
            raise AssertionError("no replica answered")

        # Slack refuses every call (unambiguously: nothing is posted) while the first half
        # is double-clicked on two replicas at once; once some are decided, replica 2 dies.
        slack.fail("*", error="fatal_error", times=1_000_000)
        half = ids[: COUNT // 2]
        await asyncio.gather(*(click(i, i % 3) for i in half), *(click(i, i % 3 + 1) for i in half))
        await _until(
            pg_store, "SELECT COUNT(*) FROM requests WHERE status = 'approved'", len(half) // 2
        )
        replicas[2].process.kill()
        replicas[2].process.wait(30)
        slack.clear_faults()
        rest = ids[COUNT // 2 :]
        await asyncio.gather(*(click(i, i % 3) for i in rest), *(click(i, i % 3 + 1) for i in rest))
        await slack.wait_for(
            "chat.postMessage",
            lambda c: str(c.args.get("channel")) in (f"D{MANAGER}", MANAGER),
            count=COUNT,
            timeout=90,
        )
        assert replicas[2].returncode == -9

        # Over the pool now: every survivor and a CLI run the limits job at once.
        await clients[0].slash(
            f"pool set premium agent {COUNT - 1}", ADMIN, response_url=slack.response_url("shrink")
        )
        await slack.wait_for("response_url", count=2)
        env = {**_env(replicas[0], slack), "LICENSEBOT_DATABASE": pg_store}
        runs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "jobs",
                "run",
                "limits",
                cwd=tmp_path,
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            for _ in range(3)
        ]
        outputs = await asyncio.gather(*(r.communicate() for r in runs))
        assert all(r.returncode == 0 for r in runs), [o[1] for o in outputs]
        await slack.wait_for("chat.postMessage", lambda c: c.args.get("channel") == ALERTS)
    finally:
        for client in clients:
            await client.close()
        for replica in replicas[:2]:
            if replica.returncode is None:
                await replica.stop()

    _assert_told_once(slack, ids)
    assert Counter(int(re.findall(r"#(\d+):", m["text"])[0]) for m in cards(slack)) == Counter(ids)
    over = [m for m in slack.messages(ALERTS) if "premium agent" in m.get("text", "")]
    assert len(over) == 1, over

    db = await Database.open(pg_store)
    try:
        async with db.read() as tx:
            states = [r.status for r in await tx.requests.for_requester(MANAGER, 10**6)]
            decisions = Counter(
                e.subject
                for e in await tx.audit.recent(limit=None)
                if e.action == "request.approved"
            )
            assert await tx.outbox.pending_count() == 0
    finally:
        await db.close()
    assert states == [RequestStatus.APPROVED] * COUNT
    assert decisions == Counter(f"request:{i}" for i in ids)


def _env(served: Served, slack: FakeSlack) -> dict[str, str]:
    import os

    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(served.log.parent),
        "SLACK_BOT_TOKEN": "xoxb-crash-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.url,
        "LICENSEBOT_APPROVALS_CHANNEL": APPROVALS,
        "LICENSEBOT_ALERTS_CHANNEL": ALERTS,
        "LICENSEBOT_ADMINS": ADMIN,
        "LICENSEBOT_SLACK_POST_RATE": "1000",  # the fake Slack does not pace
    }
