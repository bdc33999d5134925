"""Issue 9: `licensebot serve` start-up failures, as real processes: one line
`licensebot: ...`, exit 2, no traceback, nothing left running."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

from fakeslack import FakeSlack
from test_serve_process import free_port, serve_env


async def serve(env: dict[str, str], cwd: Path, port: int) -> tuple[int, str]:
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
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    # It must end by itself: a process left serving (or a scheduler left running) would
    # keep it alive until this timeout fails the test.
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, err.decode()


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    assert "Event loop is closed" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("licensebot:")]
    assert len(lines) == 1, stderr
    return lines[0]


async def test_an_unwritable_database_directory_is_one_line(
    slack: FakeSlack, tmp_path: Path
) -> None:
    not_a_directory = tmp_path / "file.txt"
    not_a_directory.write_text("x", encoding="utf-8")
    env = serve_env(slack, tmp_path, not_a_directory / "licensebot.db")
    code, stderr = await serve(env, tmp_path, free_port())
    assert code == 2
    line = one_line(stderr)
    assert (
        line.startswith("licensebot: cannot open the database ") and "LICENSEBOT_DATABASE" in line
    )


async def test_a_missing_catalog_file_is_one_line(slack: FakeSlack, tmp_path: Path) -> None:
    env = serve_env(slack, tmp_path, tmp_path / "c.db") | {
        "LICENSEBOT_CATALOG": str(tmp_path / "no-such-catalog.toml")
    }
    code, stderr = await serve(env, tmp_path, free_port())
    assert code == 2
    line = one_line(stderr)
    assert line.startswith("licensebot: setting LICENSEBOT_CATALOG is invalid: cannot read")


async def test_a_port_in_use_is_one_line_before_the_scheduler_starts(
    slack: FakeSlack, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = serve_env(slack, tmp_path, tmp_path / "p.db")
        code, stderr = await serve(env, tmp_path, port)
    assert code == 2
    assert (
        one_line(stderr) == f"licensebot: cannot listen on 127.0.0.1:{port}: address already in use"
    )
    assert "Scheduler started" not in stderr and "Added job" not in stderr
    # Nothing was delivered or scheduled before the failure.
    assert [c.method for c in slack.calls if c.method != "auth.test"] == []


def test_a_postgresql_url_is_not_checked_as_a_directory() -> None:
    from bot.serve import _check_database_path

    _check_database_path(Path("postgresql://user@db.example.com/licensebot"))  # no error
