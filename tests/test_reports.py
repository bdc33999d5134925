"""CSV reports: each kind against a known ledger, uploaded through the fake Slack's files
upload v2 endpoints, the formula-injection guard, and the CLI in a subprocess."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sys
from pathlib import Path
from typing import Any

from conftest import ADMIN, MANAGER, OUTSIDER, START, Bot
from ledger import EVIL, EVIL_EMAIL, EVIL_NAME, build_ledger, last_upload, report_rows, rows_of

from bot.reports.table import Table, cell_text, neutralise, to_csv

ROOT = Path(__file__).resolve().parent.parent


async def test_status_report(bot: Bot) -> None:
    await build_ledger(bot)
    rows = await report_rows(bot, "status")
    assert rows[0] == [
        "edition",
        "item",
        "kind",
        "purchased",
        "used",
        "available",
        "utilization_pct",
        "band",
        "overage",
        "grace_ends",
        "runs_out",
        "trend_30d",
        "buy_low",
        "buy_high",
    ]
    # Forecast: seats taken - given back since 2026-10-31; demand + 10 % / + 15 %.
    assert rows[1:] == [
        [
            "premium",
            "agent",
            "seat",
            "4",
            "4",
            "0",
            "100.0",
            "nearly full",
            "0",
            "",
            "2026-11-30",
            "3",
            "4",
            "5",
        ],
        [
            "premium",
            "wfo",
            "module",
            "2",
            "2",
            "0",
            "100.0",
            "nearly full",
            "0",
            "",
            "2026-11-30",
            "2",
            "3",
            "3",
        ],
        [
            "standard",
            "agent",
            "seat",
            "2",
            "3",
            "0",
            "150.0",
            "over limit",
            "1",
            "2026-12-28",
            "2026-11-30",
            "3",
            "5",
            "5",
        ],
        [
            "standard",
            "qm",
            "module",
            "5",
            "1",
            "4",
            "20.0",
            "over-provisioned",
            "0",
            "",
            "2027-03-30",
            "1",
            "0",
            "0",
        ],
        ["TOTAL", "", "", "13", "10", "4", "76.9", "", "1", "", "", "", "12", "13"],
    ]


async def test_assignments_report(bot: Bot) -> None:
    nina = await build_ledger(bot)
    rows = await report_rows(bot, "assignments")
    assert rows[0] == [
        "email",
        "name",
        "slack_user_id",
        "edition",
        "seat_type",
        "modules",
        "department",
        "license_group",
        "assigned_at",
        "last_active",
        "inactive_days",
        "inactive",
        "request_id",
        "ends_on",
    ]
    by_email = {r[0]: r for r in rows[1:]}
    assert len(rows) == 8  # header + 7 active seats; eve was revoked
    assert "eve@example.com" not in by_email
    assert by_email["nina@example.com"] == [
        "nina@example.com",
        "Nina Novak",
        "U07NINA",
        "premium",
        "agent",
        "wfo",
        "Support",
        "Support_Agent_LicenseGroup",
        "2026-11-20",
        "",
        "10",
        "no",
        str(nina),
        "",
    ]
    assert by_email["old@example.com"][8:12] == ["2026-10-16", "", "45", "yes"]
    assert by_email["cy@example.com"][3:6] == ["standard", "agent", "qm"]
    assert by_email["bo@example.com"][6:8] == ["Sales", "Sales_Agent_LicenseGroup"]
    # The formula-looking email and name are neutralised (and read back as text).
    assert by_email["'" + EVIL_EMAIL][:3] == ["'" + EVIL_EMAIL, "'" + EVIL_NAME, EVIL]


async def test_modules_report(bot: Bot) -> None:
    await build_ledger(bot)
    rows = await report_rows(bot, "modules")
    assert rows[0] == [
        "edition",
        "module",
        "purchased",
        "used",
        "eligible_holders",
        "adoption_pct",
        "in_edition",
    ]
    assert rows[1:] == [
        ["premium", "wfo", "2", "2", "4", "50.0", "yes"],
        ["premium", "qm", "0", "0", "4", "0.0", "yes"],
        ["premium", "insights", "0", "0", "4", "0.0", "yes"],
        ["premium", "analytics", "0", "0", "4", "0.0", "yes"],
        ["premium", "chat", "0", "0", "4", "0.0", "yes"],
        ["premium", "social", "0", "0", "4", "0.0", "yes"],
        ["standard", "qm", "5", "1", "3", "33.3", "yes"],
        ["standard", "chat", "0", "0", "3", "0.0", "yes"],
        ["TOTAL", "", "7", "3", "30", "10.0", ""],
    ]


async def test_grace_report(bot: Bot) -> None:
    await build_ledger(bot)
    rows = await report_rows(bot, "grace")
    assert rows == [
        ["edition", "item", "started", "ended", "grace_ends", "state", "peak_overage"],
        ["standard", "agent", "2026-11-22", "2026-11-25", "2026-12-22", "closed", "1"],
        ["standard", "agent", "2026-11-28", "", "2026-12-28", "in grace", "1"],
    ]
    bot.clock.advance(days=30)  # past the open period's grace end
    later = await report_rows(bot, "grace")
    assert later[2][5] == "grace ended"


async def test_billing_report_with_totals(bot: Bot) -> None:
    await build_ledger(bot)
    rows = await report_rows(bot, "billing")
    assert rows == [
        [
            "edition",
            "item",
            "purchased",
            "price",
            "monthly_cost",
            "used",
            "overage",
            "overage_cost",
            "idle_seats",
            "idle_cost",
            "inactive_holders",
            "inactive_cost",
        ],
        ["premium", "agent", "4", "100.00", "400.00", "4", "0", "0.00", "0", "0.00", "1", "100.00"],
        ["premium", "wfo", "2", "35.00", "70.00", "2", "0", "0.00", "0", "0.00", "0", "0.00"],
        ["standard", "agent", "2", "95.00", "190.00", "3", "1", "95.00", "0", "0.00", "0", "0.00"],
        ["standard", "qm", "5", "20.00", "100.00", "1", "0", "0.00", "4", "80.00", "0", "0.00"],
        ["TOTAL", "", "13", "", "760.00", "10", "1", "95.00", "4", "80.00", "1", "100.00"],
    ]
    args, _ = last_upload(bot)
    assert "monthly $760.00 for 13 seats" in args["initial_comment"]
    assert "would save $100.00" in args["initial_comment"]


async def test_audit_report_whole_and_filtered(bot: Bot) -> None:
    nina = await build_ledger(bot)
    rows = await report_rows(bot, "audit")
    assert rows[0] == ["id", "at", "actor", "action", "subject", "before", "after"]
    async with bot.db.read() as tx:
        assert len(rows) - 1 == await tx.audit.count()
    ids = [int(r[0]) for r in rows[1:]]
    assert ids == sorted(ids)  # oldest first
    assert rows[1][1] == "2026-10-16T12:00:00+00:00" and rows[1][3] == "pool.set"

    mine = await report_rows(bot, "audit nina@example.com from:2026-11-20 to:2026-11-20")
    assert sorted((r[2], r[3], r[4]) for r in mine[1:]) == [
        (ADMIN, "assignment.created", "nina@example.com"),
        (ADMIN, "request.approved", f"request:{nina}"),
        (MANAGER, "request.filed", f"request:{nina}"),
    ]
    by_mention = await report_rows(bot, "audit <@U07NINA|nina>")
    assert by_mention[1:] == mine[1:]
    assert await report_rows(bot, "audit nina@example.com from:2026-11-21") == [mine[0]]
    evil = await report_rows(bot, f"audit {EVIL_EMAIL}")
    assert evil[1][4] == "'" + EVIL_EMAIL


async def test_upload_goes_to_the_callers_dm_with_a_summary(bot: Bot) -> None:
    await build_ledger(bot)
    reply = await bot.command("report status", user=ADMIN)
    assert reply.status == 200 and reply.ack == ""  # acked first, empty
    assert "The *status* report (CSV) is in your DMs" in reply.text
    assert "4 pools: 10/13 seats used, 1 over their limit" in reply.text
    urls = bot.slack.calls_to("files.getUploadURLExternal")
    assert urls[-1].parsed["filename"] == "licensebot-status-2026-11-30.csv"
    args, data = last_upload(bot)
    assert args["channel_id"] == f"D{ADMIN}"
    assert args["initial_comment"].startswith("licensebot status report as of 2026-11-30")
    assert "4 pools: 10/13 seats used" in args["initial_comment"]
    async with bot.db.read() as tx:
        from bot.reports.build import build_report

        expected = await build_report(tx, bot.deps.rules, "status", START)
    assert data == expected.csv_bytes()
    assert data.decode("utf-8").endswith("\r\n") and b"\r\n" in data  # RFC 4180 CRLF


def dm_opened(bot: Bot, user: str) -> list[Any]:
    return [c for c in bot.slack.calls_to("conversations.open") if c.args["users"] == user]


async def test_reports_go_to_one_dm_channel_opened_once(bot: Bot) -> None:
    await build_ledger(bot)
    for kind in ("status", "grace"):
        reply = await bot.command(f"report {kind}", user=ADMIN)
        assert "is in your DMs" in reply.text
    completed = bot.slack.calls_to("files.completeUploadExternal")
    assert [c.parsed["channel_id"] for c in completed] == [f"D{ADMIN}", f"D{ADMIN}"]
    assert len(dm_opened(bot, ADMIN)) == 1  # conversations.open is Tier 3: once per person


async def test_a_report_for_a_dm_channel_slack_no_longer_knows_is_sent_all_the_same(
    bot: Bot,
) -> None:
    await build_ledger(bot)
    await bot.command("report status", user=ADMIN)
    bot.slack.fail("files.completeUploadExternal", error="channel_not_found")
    reply = await bot.command("report grace", user=ADMIN)
    assert "is in your DMs" in reply.text  # opened anew and shared there
    shared = [c for c in bot.slack.calls_to("files.completeUploadExternal") if not c.faulted]
    assert len(shared) == 2
    assert (
        len([c for c in bot.slack.calls_to("conversations.open") if c.args["users"] == ADMIN]) == 2
    )


async def test_report_is_admin_only_and_uploads_nothing_otherwise(bot: Bot) -> None:
    reply = await bot.command("report billing", user=OUTSIDER)
    assert "only license admins" in reply.text
    bad = await bot.command("report payroll", user=ADMIN)
    assert "unknown report `payroll`" in bad.text and "Usage:" in bad.text
    filtered = await bot.command("report status nina@example.com", user=ADMIN)
    assert "filter the audit report only: nothing was uploaded" in filtered.text
    assert bot.slack.calls_to("files.getUploadURLExternal") == []


async def test_failed_upload_is_reported_to_the_admin(bot: Bot) -> None:
    bot.slack.fail("files.completeUploadExternal", status=200, error="not_in_channel")
    reply = await bot.command("report status", user=ADMIN)
    assert "could not be uploaded (not_in_channel)" in reply.text


def test_formula_injection_guard() -> None:
    for dangerous in ("=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("a")'):
        assert neutralise(dangerous) == "'" + dangerous
        assert cell_text(dangerous) == "'" + dangerous
    for safe in ("nina@example.com", "a=b", "", "1+1", "'already"):
        assert neutralise(safe) == safe
    assert cell_text(-3) == "-3"  # our own numbers stay numbers
    table = Table("t", ["a", "b"], [['=cmd|"/c calc"!A1', "x,y"], ["line\nbreak", None]])
    text = table.csv_text()
    assert text == 'a,b\r\n"\'=cmd|""/c calc""!A1","x,y"\r\n"line\nbreak",\r\n'
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["a", "b"],
        ['\'=cmd|"/c calc"!A1', "x,y"],
        ["line\nbreak", ""],
    ]
    assert to_csv([["é", "ü"]]).encode("utf-8") == "é,ü\r\n".encode()


async def test_cli_report_writes_the_same_csv(bot: Bot, tmp_path: Path) -> None:
    await build_ledger(bot)
    await bot.command("report status", user=ADMIN)
    _, uploaded = last_upload(bot)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SLACK_BOT_TOKEN": "xoxb-cli",
        "LICENSEBOT_DATABASE": str(bot.db.path),
        "LICENSEBOT_APPROVALS_CHANNEL": "C0APPROVALS",
        "LICENSEBOT_ALERTS_CHANNEL": "C0ALERTS",
        "LICENSEBOT_ADMINS": ADMIN,
        "LICENSEBOT_SLACK_POST_RATE": "1000",  # the fake Slack does not pace
    }
    out = tmp_path / "status.csv"
    code, _, err = await cli(
        env, tmp_path, "report", "status", "-o", str(out), "--as-of", START.isoformat()
    )
    assert code == 0, err.decode()
    assert out.read_bytes() == uploaded
    assert "4 pools: 10/13 seats used" in err.decode()

    code, printed, err = await cli(env, tmp_path, "report", "billing", "--as-of", START.isoformat())
    assert code == 0, err.decode()
    assert rows_of(printed)[-1][:5] == ["TOTAL", "", "13", "", "760.00"]

    code, _, err = await cli(
        {**env, "LICENSEBOT_DATABASE": str(tmp_path / "nope.db")}, tmp_path, "report", "status"
    )
    assert code == 2 and b"LICENSEBOT_DATABASE" in err


async def cli(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, bytes, bytes]:
    """`python -m bot ARGS` in a subprocess (cwd without a .env): exit code, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, stdout, stderr
