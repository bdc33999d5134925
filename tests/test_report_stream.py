"""Streamed reports (SPEC 7): the long reports are written a page at a time, and what they
write is exactly the table the report builders make, whatever the page size."""

from __future__ import annotations

import asyncio
import io
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import ADMIN, START, Bot
from ledger import build_ledger, last_upload, rows_of
from slack_bolt.request.async_request import AsyncBoltRequest

import bot.reports.build as build_module
import bot.store.reports as store_reports
from bot.licensing.entities import AuditFilter
from bot.reports.build import build_report
from bot.reports.stream import building, write_csv, write_report_file
from bot.store.assignments import NewSeat

KINDS = ("status", "assignments", "modules", "grace", "billing", "audit")


async def _more_ledger(bot: Bot) -> None:
    """Seats whose modules span page boundaries, and audit JSON a spreadsheet or an
    ASCII-only encoder would mangle."""
    async with bot.db.transaction() as tx:
        await tx.assignments.add_many(
            [
                NewSeat(
                    email=f"p{i:02d}@example.com",
                    name=f"Zoë {i}" if i % 2 else f"-{i}",
                    edition="premium",
                    seat_type="agent",
                    assigned_at=START - timedelta(days=i),
                    modules=("wfo",) if i % 3 == 0 else (),
                    last_active_at=START - timedelta(days=i, hours=3) if i % 4 else None,
                    department="Support" if i % 5 else None,
                )
                for i in range(1, 12)
            ]
        )
        await tx.audit.add(START, ADMIN, "note", "pool:premium/agent", None, {"n": "Zoë"})
        await tx.audit.add(START, ADMIN, "note", "x", {"b": 1, "a": [1, 2]}, -3)


def _csv(data: bytes) -> list[list[str]]:
    return rows_of(data)


@pytest.mark.parametrize("page", [2, 3, 1000])
async def test_streamed_csv_is_the_built_table(
    bot: Bot, page: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    await build_ledger(bot)
    await _more_ledger(bot)
    monkeypatch.setattr(store_reports, "STREAM_PAGE", page)
    for kind in KINDS:
        async with bot.db.read() as tx:
            table = await build_report(tx, bot.deps.rules, kind, START)
            out = io.StringIO(newline="")
            written = await write_csv(tx, bot.deps.rules, kind, START, out)
        assert out.getvalue().encode() == table.csv_bytes(), kind
        assert (written.rows, written.summary) == (len(table.rows), table.summary), kind
    assert '"{""n"": ""Zoë""}"' in table.csv_text()  # the audit JSON, unescaped
    assert "'-3" in table.csv_text()


async def test_filtered_audit_streams_the_same_rows(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    await build_ledger(bot)
    monkeypatch.setattr(store_reports, "STREAM_PAGE", 2)
    where = AuditFilter(email="nina@example.com")
    async with bot.db.read() as tx:
        table = await build_report(tx, bot.deps.rules, "audit", START, where)
        out = io.StringIO(newline="")
        await write_csv(tx, bot.deps.rules, "audit", START, out, where)
    assert len(table.rows) >= 3
    assert out.getvalue() == table.csv_text()


async def test_report_file_is_written_in_a_process_of_its_own(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A thread would share the interpreter lock with the event loop (acks beside a
    million-row report slowed): the rows are read by `python -m bot.reports.worker`."""
    await build_ledger(bot)
    seen: list[str] = []
    original = store_reports.ReportRepository.active_seat_pages

    async def spy(self, page=None):  # noqa: ANN001, ANN202 - records a read in this process
        seen.append(threading.current_thread().name)
        async for item in original(self, page):
            yield item

    monkeypatch.setattr(store_reports.ReportRepository, "active_seat_pages", spy)
    async with bot.db.read() as tx:  # the spy sees the report's reads when made here
        await write_csv(tx, bot.deps.rules, "assignments", START, io.StringIO(newline=""))
    assert seen
    seen.clear()
    written = await write_report_file(
        bot.db.path, bot.deps.rules, "assignments", START, AuditFilter()
    )
    assert written.path is not None
    data = await asyncio.to_thread(written.path.read_bytes)
    await asyncio.to_thread(written.path.unlink)
    assert seen == []  # not read in this process, by any thread
    assert written.size == len(data) and written.rows == 7
    assert _csv(data)[0][0] == "email" and len(_csv(data)) == 8


async def test_a_short_report_is_built_in_a_worker_thread(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One row per pool: cheaper to build than a process is to start. It is built here, in a
    worker thread, never on the event loop's thread."""
    await build_ledger(bot)
    seen: list[str] = []
    original = build_module.BUILDERS["status"]

    async def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - records the thread
        seen.append(threading.current_thread().name)
        return await original(*args, **kwargs)

    monkeypatch.setitem(build_module.BUILDERS, "status", spy)
    written = await write_report_file(bot.db.path, bot.deps.rules, "status", START, AuditFilter())
    assert written.path is not None
    data = await asyncio.to_thread(written.path.read_bytes)
    await asyncio.to_thread(written.path.unlink)
    assert seen and seen[0] != threading.current_thread().name
    assert written.size == len(data) and _csv(data)[0][0] == "edition"


# aiosqlite's connection thread, after a failed connect, posts to the worker thread's
# event loop once it has closed: noise from the library, not a failure of the report.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
async def test_a_failed_report_says_why_and_leaves_no_file(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    missing = tmp_path / "no such directory" / "licensebot.db"
    with pytest.raises(RuntimeError, match="unable to open database file"):
        await write_report_file(missing, bot.deps.rules, "assignments", START, AuditFilter())
    assert list(spool.iterdir()) == []
    with pytest.raises(Exception, match="unable to open database file"):  # in a thread
        await write_report_file(missing, bot.deps.rules, "status", START, AuditFilter())
    assert list(spool.iterdir()) == []


async def test_slack_report_uploads_the_streamed_file_and_leaves_no_temp_file(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    await build_ledger(bot)
    await _more_ledger(bot)
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    reply = await bot.command("report assignments", user=ADMIN)
    assert "The *assignments* report (CSV) is in your DMs" in reply.text
    assert "18 active seats" in reply.text
    args, data = last_upload(bot)
    async with bot.db.read() as tx:
        table = await build_report(tx, bot.deps.rules, "assignments", START)
    assert data == table.csv_bytes()
    assert int(bot.slack.calls_to("files.getUploadURLExternal")[-1].parsed["length"]) == len(data)
    assert await asyncio.to_thread(lambda: list(spool.iterdir())) == []


async def test_failed_byte_upload_is_reported(bot: Bot) -> None:
    await build_ledger(bot)
    bot.slack.fail("upload", status=500)
    reply = await bot.command("report assignments", user=ADMIN)
    assert "could not be uploaded" in reply.text
    assert bot.slack.calls_to("files.completeUploadExternal") == []


def test_fields_are_quoted_as_csv_writer_quotes_them() -> None:
    import csv

    from bot.reports.stream import field

    for text in ("", "plain", "a,b", 'say "hi"', "line\nbreak", "cr\rlf", " x ", "'=1", "é,ü"):
        out = io.StringIO(newline="")
        csv.writer(out, dialect="excel").writerow([text, "x"])
        assert f"{field(text)},x\r\n" == out.getvalue(), text


def _slash_over_socket_mode(bot: Bot, text: str, key: str) -> AsyncBoltRequest:
    """`/license <text>` as the Socket Mode adapter hands it to Bolt (no HTTP, so no replay
    guard write on the way: the test below holds the store's write lock meanwhile)."""
    return AsyncBoltRequest(
        body={
            "token": "verification-token",
            "team_id": "T0TEAM",
            "team_domain": "test",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "user_id": ADMIN,
            "user_name": "admin",
            "command": "/license",
            "text": text,
            "api_app_id": "A0APP",
            "is_enterprise_install": "false",
            "response_url": bot.slack.response_url(key),
            "trigger_id": "trig-1",
        },
        mode="socket_mode",
    )


async def test_a_second_report_waits_for_the_one_being_built(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SPEC 7: reports are built one at a time in `serve`. A report asked for while another
    is being built is told it follows, waits its turn, and both arrive."""
    await build_ledger(bot)
    # The first (status, built in a worker thread) stays in the middle of being built
    # until the gate opens; the real builder then runs.
    gate = threading.Event()
    original = build_module.BUILDERS["status"]

    async def held(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - the real builder, later
        await asyncio.to_thread(gate.wait)
        return await original(*args, **kwargs)

    monkeypatch.setitem(build_module.BUILDERS, "status", held)
    try:
        first = await bot.service.app.async_dispatch(
            _slash_over_socket_mode(bot, "report status", "first")
        )
        assert first.status == 200 and building()
        second = await bot.service.app.async_dispatch(
            _slash_over_socket_mode(bot, "report assignments", "second")
        )
        assert second.status == 200
        [queued] = await bot.slack.wait_for("response_url", lambda c: c.path == "/response/second")
        assert queued.parsed["text"] == "The assignments report follows the one being built"
        assert "Another report is being built: the *assignments* report follows it" in str(
            queued.parsed["blocks"]
        )
        assert bot.slack.responses("first") == []  # still being built: no word yet
        assert bot.slack.calls_to("files.completeUploadExternal") == []
    finally:
        gate.set()
    await bot.settle()
    assert not building()
    [first_done] = bot.slack.responses("first")
    assert "The *status* report (CSV) is in your DMs" in str(first_done["blocks"])
    [told, second_done] = bot.slack.responses("second")
    assert "The *assignments* report (CSV) is in your DMs" in str(second_done["blocks"])
    uploads = [
        c.parsed["files"][0]["title"] for c in bot.slack.calls_to("files.completeUploadExternal")
    ]
    assert uploads == ["licensebot status report", "licensebot assignments report"]
