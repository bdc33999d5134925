"""`python -m bot jobs run|list` as real processes against the fake Slack and a temp DB."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from alerting import alerts, assign, payload
from conftest import ADMIN, ALERTS, APPROVALS, Bot
from fakeslack import FakeSlack
from flows import set_pool

AS_OF = "2026-12-01T10:00:00+00:00"  # day 12 of a trial started 2026-11-20


def cli_env(slack: FakeSlack, database: Path, home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "SLACK_BOT_TOKEN": "xoxb-cli-token",
        "SLACK_API_URL": slack.url,
        "LICENSEBOT_DATABASE": str(database),
        "LICENSEBOT_APPROVALS_CHANNEL": APPROVALS,
        "LICENSEBOT_ALERTS_CHANNEL": ALERTS,
        "LICENSEBOT_ADMINS": ADMIN,
        "LICENSEBOT_SLACK_POST_RATE": "1000",  # the fake Slack does not pace
    }


async def licensebot(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def ledger(bot: Bot) -> None:
    await set_pool(bot, "standard agent 1")
    await assign(bot, "one@example.com agent standard")
    await assign(bot, "two@example.com agent standard")
    reply = await bot.command("trial start 2026-11-20", user=ADMIN)
    assert "The trial starts" in reply.text


async def test_jobs_run_as_of_posts_each_alert_once_and_dry_run_shows_it(
    make_bot, slack: FakeSlack, tmp_path: Path
) -> None:  # noqa: ANN001
    database = tmp_path / "cli.db"
    bot = await make_bot(database=database)
    await ledger(bot)
    env = cli_env(slack, database, tmp_path)

    code, out, err = await licensebot(
        env, tmp_path, "jobs", "run", "limits", "trial", "--as-of", AS_OF, "--dry-run"
    )
    assert code == 0, err
    dry = [json.loads(line) for line in out.splitlines()]
    assert [(m["job"], m["target"], m["channel"]) for m in dry] == [
        ("limits", "channel", ALERTS),
        ("trial", "channel", ALERTS),
    ]
    assert "2 days left" in dry[1]["text"]
    assert alerts(bot) == []
    async with bot.db.read() as tx:
        assert await tx.alerts.open() == [] and await tx.job_runs.all() == {}

    code, out, err = await licensebot(
        env, tmp_path, "jobs", "run", "limits", "trial", "--as-of", AS_OF
    )
    assert code == 0, err
    assert "delivered 2 message(s)" in out
    assert [payload(m) for m in alerts(bot)] == [
        {"text": m["text"], "blocks": m["blocks"]} for m in dry
    ]

    code, out, err = await licensebot(env, tmp_path, "jobs", "run", "--as-of", AS_OF)
    assert code == 0, err
    assert len(alerts(bot)) == 2 + 1  # only the digest of 2026-11 (the finished month) is new

    code, out, err = await licensebot(env, tmp_path, "jobs", "list")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["JOB", "SCHEDULE", "(UTC)"]
    rows = {line.split()[0]: line for line in lines[1:7]}
    assert set(rows) == {"limits", "trial", "inactive", "requests", "digest", "expiring"}
    assert "hourly at :00" in rows["limits"] and "2026-12-01 10:00 UTC" in rows["limits"]
    assert "daily 09:00" in rows["trial"] and "monthly, 1st 09:00" in rows["digest"]
    for row in rows.values():
        assert row.count("UTC") == 2, row  # last run and next run
        assert row.rstrip().endswith("ok"), row
    assert "outbox: 0 message(s) waiting" in out


async def test_slack_failure_exits_non_zero_and_the_next_run_delivers(
    make_bot, slack: FakeSlack, tmp_path: Path
) -> None:  # noqa: ANN001
    database = tmp_path / "cli.db"
    bot = await make_bot(database=database)
    await ledger(bot)
    env = cli_env(slack, database, tmp_path)
    slack.fail("chat.postMessage", status=500)  # the outbox retries, not the client

    code, out, err = await licensebot(env, tmp_path, "jobs", "run", "limits", "--as-of", AS_OF)
    assert code == 1
    assert err.strip().splitlines() == [
        "licensebot: 1 message(s) not delivered (slack error: fatal_error): they stay queued "
        "and go out on the next run"
    ]
    assert alerts(bot) == []

    code, out, err = await licensebot(
        env, tmp_path, "jobs", "run", "limits", "--as-of", "2026-12-01T11:00:00Z"
    )
    assert code == 0, err
    assert "delivered 1 message(s)" in out and len(alerts(bot)) == 1


async def test_bad_arguments_fail_with_one_clear_line(slack: FakeSlack, tmp_path: Path) -> None:
    env = cli_env(slack, tmp_path / "bad.db", tmp_path)
    code, _, err = await licensebot(env, tmp_path, "jobs", "run", "--as-of", "tomorrow")
    assert code == 2
    assert err.strip().splitlines() == [
        "licensebot: --as-of `tomorrow` is not an ISO-8601 instant, e.g. 2026-12-12T09:00:00+00:00"
    ]
    code, _, err = await licensebot(env, tmp_path, "jobs", "run", "limitz")
    assert code == 2
    assert err.strip() == (
        "licensebot: unknown job `limitz`: choose from limits, trial, "
        "inactive, requests, digest, expiring, genesys"
    )
    del env["LICENSEBOT_ALERTS_CHANNEL"]
    code, _, err = await licensebot(env, tmp_path, "jobs", "run")  # `list` needs no Slack
    assert code == 2 and "LICENSEBOT_ALERTS_CHANNEL" in err
