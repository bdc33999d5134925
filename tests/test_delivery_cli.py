"""`licensebot jobs run` and `serve` as real processes against a failing fake Slack: a
gone recipient is a summary line and exit 0; a plain-text 500 fails one message, the run
goes on and ends with a summary (no traceback); `serve` answers /healthz at once with a
backlog it cannot deliver."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import aiohttp
from alerting import alerts, assign
from conftest import ALERTS, NINA, START
from fakeslack import FakeSlack
from flows import set_pool
from test_crash import Served, processes  # noqa: F401 - the fixture
from test_jobs_cli import cli_env, licensebot

AS_OF = (START + timedelta(days=40)).isoformat()


async def test_gone_recipient_is_a_summary_line_and_exit_0(
    make_bot, slack: FakeSlack, tmp_path: Path
) -> None:  # noqa: ANN001
    database = tmp_path / "cli.db"
    bot = await make_bot(database=database)
    await set_pool(bot, "standard agent 5")
    await assign(bot, "<@U07NINA|nina> agent standard")
    env = cli_env(slack, database, tmp_path)
    slack.fail("conversations.open", error="user_not_found")  # Nina left Slack

    code, out, err = await licensebot(env, tmp_path, "jobs", "run", "inactive", "--as-of", AS_OF)
    assert code == 0, err
    assert "Traceback" not in err
    assert (
        "1 message(s) ended: the recipient left Slack (user_not_found); listed in the App Home"
    ) in out
    assert len(alerts(bot)) == 1  # the summary in the alerts channel still went out
    async with bot.db.read() as tx:
        [dm] = [m for m in await tx.outbox.messages() if m.user_id == NINA]
    assert dm.status == "failed" and dm.failure == "gone"

    opened = len(slack.calls_to("conversations.open"))
    code, out, err = await licensebot(env, tmp_path, "jobs", "run", "inactive", "--as-of", AS_OF)
    assert code == 0, err
    assert len(slack.calls_to("conversations.open")) == opened  # never tried again


async def test_a_plain_text_500_is_one_line_and_the_run_goes_on(
    make_bot, slack: FakeSlack, tmp_path: Path
) -> None:  # noqa: ANN001
    database = tmp_path / "cli.db"
    bot = await make_bot(database=database)
    await set_pool(bot, "standard agent 1")
    await assign(bot, "one@example.com agent standard")
    await assign(bot, "two@example.com agent standard")
    env = cli_env(slack, database, tmp_path)
    slack.fail("chat.postMessage", status=500, plain=True)

    code, out, err = await licensebot(
        env, tmp_path, "jobs", "run", "limits", "inactive", "--as-of", AS_OF
    )
    assert code == 1
    assert "Traceback" not in err
    [line] = err.strip().splitlines()
    assert line.startswith("licensebot: 1 message(s) not delivered (") and "queued" in line
    async with bot.db.read() as tx:
        queued = [m for m in await tx.outbox.messages() if m.target == "channel"]
    assert len([m for m in queued if m.status == "pending"]) == 1
    assert len(alerts(bot)) == len(queued) - 1 >= 1  # the others went out

    code, out, err = await licensebot(
        env,
        tmp_path,
        "jobs",
        "run",
        "limits",
        "--as-of",
        (START + timedelta(days=40, minutes=5)).isoformat(),
    )
    assert code == 0, err
    assert len(alerts(bot)) == len(queued)


async def test_serve_listens_at_once_with_a_backlog_slack_will_not_take(
    make_bot,  # noqa: ANN001
    slack: FakeSlack,
    tmp_path: Path,
    processes: list[Served],  # noqa: F811 - the fixture imported from test_crash
) -> None:
    database = tmp_path / "backlog.db"
    bot = await make_bot(database=database)
    async with bot.db.transaction() as tx:
        for i in range(1000):
            await tx.outbox.enqueue(
                "channel",
                "delivery_failed",
                START,
                channel=ALERTS,
                key=f"backlog:{i}",
                data={"count": 0, "failures": []},
            )
    await bot.stop()
    slack.fail("chat.postMessage", timeout=True, times=100_000)  # Slack holds every post

    served = Served(slack, database, tmp_path, "backlog")
    processes.append(served)
    await served.ready()  # /healthz answered while the backlog waits on Slack
    async with aiohttp.ClientSession() as session, session.get(f"{served.base}/healthz") as r:
        assert r.status == 200
    await slack.wait_for("chat.postMessage", faulted=True, timeout=30)  # delivering, behind
    await served.stop()
    slack.clear_faults()
