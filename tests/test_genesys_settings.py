"""Genesys settings (SPEC 4, 8): the pair goes together, the region gives the hosts, and
`serve` says ledger-only once, stops on wrong credentials in one line, and serves when
Genesys is unreachable."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import make_settings
from fakegenesys import CLIENT_ID, CLIENT_SECRET, FakeGenesys
from fakeslack import FakeSlack
from test_serve_process import free_port, serve_env, wait_healthy

from bot.genesys import make_client
from bot.settings import SettingsError


@pytest.fixture
async def org() -> AsyncIterator[FakeGenesys]:
    fake = FakeGenesys()
    await fake.start()
    yield fake
    await fake.stop()


def test_client_id_and_secret_go_together(slack: FakeSlack, tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as error:
        make_settings(slack, tmp_path / "x.db", genesys_client_id="abc")
    assert "GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET go together" in str(error.value)
    with pytest.raises(SettingsError) as error:
        make_settings(slack, tmp_path / "x.db", genesys_client_secret="s3cret-value")
    assert "s3cret-value" not in str(error.value)


def test_unset_is_ledger_only_and_the_region_gives_the_hosts(
    slack: FakeSlack, tmp_path: Path
) -> None:
    assert make_client(make_settings(slack, tmp_path / "x.db")) is None
    settings = make_settings(
        slack, tmp_path / "x.db", genesys_client_id="id", genesys_client_secret="secret"
    )
    client = make_client(settings)
    assert client is not None
    assert client.endpoints.api_url == "https://api.mypurecloud.com"
    assert client.endpoints.login_url == "https://login.mypurecloud.com"
    assert client.limiter.per_minute == 300
    settings = make_settings(
        slack,
        tmp_path / "x.db",
        genesys_client_id="id",
        genesys_client_secret="secret",
        genesys_region="usw2.pure.cloud",
        genesys_api_url="http://127.0.0.1:9/",
        genesys_rate_per_minute=120,
    )
    client = make_client(settings)
    assert client is not None
    assert client.endpoints.api_url == "http://127.0.0.1:9"
    assert client.endpoints.login_url == "https://login.usw2.pure.cloud"
    assert client.limiter.per_minute == 120
    with pytest.raises(SettingsError, match="GENESYS_API_URL"):
        make_settings(slack, tmp_path / "x.db", genesys_api_url="api.example.com")


async def serve(env: dict[str, str], cwd: Path, port: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        "--http",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_serve_stops_on_wrong_genesys_credentials_in_one_line(
    slack: FakeSlack, org: FakeGenesys, tmp_path: Path
) -> None:
    env = {
        **serve_env(slack, tmp_path, tmp_path / "x.db"),
        "GENESYS_CLIENT_ID": CLIENT_ID,
        "GENESYS_CLIENT_SECRET": "not-the-secret",
        "GENESYS_API_URL": org.url,
        "GENESYS_LOGIN_URL": org.url,
    }
    process = await serve(env, tmp_path, free_port())
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 2
    lines = [line for line in stderr.decode().splitlines() if line.startswith("licensebot:")]
    assert len(lines) == 1 and lines[0].startswith(
        "licensebot: setting GENESYS_CLIENT_SECRET is invalid: Genesys refused"
    )
    assert b"not-the-secret" not in stdout + stderr


@pytest.mark.parametrize("genesys", ["unset", "unreachable"])
async def test_serve_runs_ledger_only_or_with_genesys_unreachable(
    slack: FakeSlack, tmp_path: Path, genesys: str
) -> None:
    env = serve_env(slack, tmp_path, tmp_path / "x.db")
    if genesys == "unreachable":
        dead = f"http://127.0.0.1:{free_port()}"
        env |= {
            "GENESYS_CLIENT_ID": CLIENT_ID,
            "GENESYS_CLIENT_SECRET": CLIENT_SECRET,
            "GENESYS_API_URL": dead,
            "GENESYS_LOGIN_URL": dead,
        }
    port = free_port()
    process = await serve(env, tmp_path, port)
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", process)
    finally:
        process.terminate()
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    log = stderr.decode()
    if genesys == "unset":
        assert log.count("ledger-only mode") == 1
    else:
        assert "Genesys Cloud unreachable at start" in log and "serving" in log
        assert CLIENT_SECRET not in log


def test_every_client_in_the_process_shares_one_budget(slack: FakeSlack, tmp_path: Path) -> None:
    settings = make_settings(
        slack, tmp_path / "x.db", genesys_client_id="shared", genesys_client_secret="secret"
    )
    first, second = make_client(settings), make_client(settings)
    assert first is not None and second is not None
    assert first.limiter is second.limiter
