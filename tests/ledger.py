"""A known ledger built through the real app (pools, a request and its approval, direct
assignments, revocations, overage periods), and how to read an uploaded report."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from conftest import ADMIN, START, Bot
from flows import approve, file_request, set_pool

EVIL = "U0EVIL"
EVIL_NAME = '=HYPERLINK("http://evil.example","click")'
EVIL_EMAIL = "-2+3@example.com"

T_OLD = START - timedelta(days=45)  # 2026-10-16: "old" assigned, never active since
T0 = START - timedelta(days=10)  # 2026-11-20: pools, Nina's request approved, seats assigned
T1 = START - timedelta(days=8)  # 2026-11-22: standard agent goes 1 over
T2 = START - timedelta(days=5)  # 2026-11-25: back under (first overage period ends)
T3 = START - timedelta(days=2)  # 2026-11-28: 1 over again (second period, open)


async def build_ledger(bot: Bot) -> int:
    """Returns Nina's request id. At START the pools are:

    premium agent 4/4 ($100): old, nina, bo, evil     premium wfo 2/2 (list $35): nina, bo
    standard agent 3/2 (list $95): cy, dee, fay       standard qm 1/5 ($20): cy
    """
    bot.slack.add_user(EVIL, EVIL_EMAIL, EVIL_NAME)
    bot.clock.set(T_OLD)
    await set_pool(bot, "premium agent 4 price:100")
    await _ok(bot, "assign old@example.com agent premium")
    bot.clock.set(T0)
    await set_pool(bot, "premium wfo 2")
    await set_pool(bot, "standard agent 2")
    await set_pool(bot, "standard qm 5 price:20")
    nina = await file_request(bot, "<@U07NINA|nina> agent premium +wfo dept:Support New hire")
    await approve(bot, nina)
    await _ok(bot, "assign bo@example.com agent premium +wfo dept:Sales")
    await _ok(bot, f"assign <@{EVIL}|x> agent premium")
    await _ok(bot, "assign cy@example.com agent standard +qm")
    await _ok(bot, "assign dee@example.com agent standard")
    bot.clock.set(T1)
    await _ok(bot, "assign eve@example.com agent standard")
    bot.clock.set(T2)
    reply = await bot.command("revoke eve@example.com", user=ADMIN)
    assert "Revoked" in reply.text, reply.text
    bot.clock.set(T3)
    await _ok(bot, "assign fay@example.com agent standard")
    bot.clock.set(START)
    return nina


async def _ok(bot: Bot, text: str) -> None:
    reply = await bot.command(text, user=ADMIN)
    assert "now holds" in reply.text, reply.text


def last_upload(bot: Bot) -> tuple[dict, bytes]:
    """The last files.completeUploadExternal call's arguments and the bytes it completed."""
    done = [c for c in bot.slack.calls_to("files.completeUploadExternal") if not c.faulted]
    assert done, "nothing was uploaded"
    args = done[-1].parsed
    file_id = args["files"][0]["id"]
    return args, bot.slack.uploads[file_id]


def rows_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


async def report_rows(bot: Bot, text: str) -> list[list[str]]:
    """Runs `/license report <text>` as the admin and parses the CSV it uploaded."""
    before = len(bot.slack.calls_to("files.completeUploadExternal"))
    reply = await bot.command(f"report {text}", user=ADMIN)
    assert "in your DMs" in reply.text, reply.text
    assert len(bot.slack.calls_to("files.completeUploadExternal")) == before + 1
    return rows_of(last_upload(bot)[1])
