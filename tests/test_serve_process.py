"""`licensebot serve --http` as a real process: health, a signed command, a forged one."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from conftest import ADMIN, APPROVALS, SECRET
from fakeslack import FakeSlack
from signing import SlackClient

from bot.store.db import Database


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_env(
    slack: FakeSlack, home: Path, database: Path, token: str = "xoxb-process-token"
) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "SLACK_BOT_TOKEN": token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.url.rstrip("/"),  # without the slash on purpose
        "LICENSEBOT_DATABASE": str(database),
        "LICENSEBOT_APPROVALS_CHANNEL": APPROVALS,
        "LICENSEBOT_ALERTS_CHANNEL": "C0ALERTS",
        "LICENSEBOT_ADMINS": ADMIN,
        "LICENSEBOT_SLACK_POST_RATE": "1000",  # the fake Slack does not pace
    }


@pytest.fixture
async def served(slack: FakeSlack, tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    port = free_port()
    database = tmp_path / "served.db"
    env = serve_env(slack, tmp_path, database)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        "--http",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(base, process)
        yield base, database
    finally:
        process.terminate()
        output, _ = await process.communicate()
        assert b"xoxb-process-token" not in output and SECRET.encode() not in output


async def wait_healthy(base: str, process: asyncio.subprocess.Process) -> None:
    """Readiness of another process can only be observed: poll /healthz, bounded."""
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise AssertionError("licensebot serve exited early")
            try:
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("licensebot serve did not become healthy in 30 s")


async def test_served_process_handles_signed_commands_and_refuses_forged(
    served: tuple[str, Path], slack: FakeSlack
) -> None:
    base, database = served
    async with SlackClient(f"{base}/slack/events", SECRET) as client:
        response = await client.slash(
            "pool set premium agent 12", ADMIN, response_url=slack.response_url("set")
        )
        assert response.status == 200
        replies = await slack.wait_for("response_url")
        assert "premium agent now has 12 seats" in replies[0].args["text"]

        await client.slash("pool", ADMIN, response_url=slack.response_url("pool"))
        shown = await slack.wait_for("response_url", count=2)
        assert "`0/12`" in shown[1].args["text"] or "0/12" in str(shown[1].args)

        calls_before = len(slack.calls)
        forged = await client.slash(
            "pool set premium agent 99",
            ADMIN,
            secret="wrong",
            response_url=slack.response_url("forged"),
        )
        assert forged.status == 401
        assert len(slack.calls) == calls_before

    db = await Database.open(database)
    try:
        async with db.read() as tx:
            state = await tx.pools.state("premium", "agent")
        assert state is not None and state.purchased == 12
    finally:
        await db.close()


async def test_serve_with_a_rejected_token_says_so_in_one_line(
    slack: FakeSlack, tmp_path: Path
) -> None:
    slack.fail("auth.test", error="invalid_auth")
    env = serve_env(slack, tmp_path, tmp_path / "x.db", token="xoxb-revoked-token")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        "--http",
        "--port",
        str(free_port()),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 2
    lines = [line for line in stderr.decode().splitlines() if line.startswith("licensebot:")]
    assert lines == ["licensebot: setting SLACK_BOT_TOKEN is invalid: Slack answered invalid_auth"]
    assert b"xoxb-revoked-token" not in stdout + stderr
