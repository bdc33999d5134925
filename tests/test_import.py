"""`licensebot import activity|assignments FILE.csv`: the whole file is checked first, bad
rows are named by line, a bad file changes nothing; changes are audited."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alerting import assign
from conftest import START, Bot
from fakeslack import FakeSlack
from flows import pool, set_pool
from test_jobs_cli import cli_env, licensebot

from bot.services.imports import ImportRejected, import_activity, import_assignments

SEATS = """email,name,edition,seat_type,modules,department,assigned_at,slack_user_id
ann@example.com,Ann Agent,premium,agent,wfo qm,Support,2026-10-01,
ben@example.com,Ben Boss,premium,supervisor,,Sales,2026-10-02T08:30:00+00:00,U0BEN
cy@example.com,,standard,agent,+qm,,,
"""


async def activity(bot: Bot, text: str):  # noqa: ANN201
    return await import_activity(
        bot.db, bot.deps.rules, text, source="activity.csv", actor="cli", now=bot.clock.now()
    )


async def seats(bot: Bot, text: str):  # noqa: ANN201
    return await import_assignments(
        bot.db, bot.deps.rules, text, source="seats.csv", actor="cli", now=bot.clock.now()
    )


async def audit_count(bot: Bot) -> int:
    async with bot.db.read() as tx:
        return await tx.audit.count()


async def test_activity_moves_last_active_forward_and_is_audited(bot: Bot) -> None:
    await set_pool(bot, "premium agent 5")
    await assign(bot, "ann@example.com agent premium")
    result = await activity(
        bot,
        "email,last_active\nANN@example.com,2026-11-20\n"
        "nobody@example.com,2026-11-21T10:00:00Z\n"
        "ann@example.com,2026-11-25T08:00:00+00:00\n",
    )
    assert (result.rows, result.changed) == (3, 1)
    assert result.skipped == ["nobody@example.com: holds no active seat"]
    async with bot.db.read() as tx:
        seat = await tx.assignments.active_for_email("ann@example.com")
        entries = await tx.audit.recent(limit=2)
    assert seat is not None and seat.last_active_at == datetime(2026, 11, 25, 8, tzinfo=UTC)
    assert [e.action for e in entries] == ["import.activity", "assignment.activity"]
    assert entries[1].after == {"last_active_at": "2026-11-25T08:00:00+00:00"}

    older = await activity(bot, "email,last_active\nann@example.com,2026-11-01\n")
    assert older.changed == 0  # activity never moves back


async def test_malformed_activity_file_changes_nothing_and_names_the_lines(bot: Bot) -> None:
    await set_pool(bot, "premium agent 5")
    await assign(bot, "ann@example.com agent premium")
    before = await audit_count(bot)
    text = (
        "email,last_active\n"
        "ann@example.com,2026-11-20\n"
        "ann@example.com,2026-13-01\n"
        "not-an-email,2026-11-20\n"
        "\n"
        "ann@example.com,2027-01-01\n"
    )
    with pytest.raises(ImportRejected) as rejected:
        await activity(bot, text)
    assert str(rejected.value) == "activity.csv: 3 bad rows, nothing was imported"
    assert rejected.value.problems == [
        "line 3: last_active `2026-13-01` is not an ISO date (YYYY-MM-DD)",
        "line 4: `not-an-email` is not an email address",
        "line 6: last_active `2027-01-01` is in the future",
    ]
    async with bot.db.read() as tx:
        seat = await tx.assignments.active_for_email("ann@example.com")
    assert seat is not None and seat.last_active_at is None
    assert await audit_count(bot) == before


async def test_missing_column_is_named(bot: Bot) -> None:
    with pytest.raises(ImportRejected) as rejected:
        await activity(bot, "mail,last_active\nann@example.com,2026-11-20\n")
    assert rejected.value.problems == [
        "line 1: missing column email: the header must be email,last_active"
    ]


async def test_assignments_import_adds_seats_with_groups_and_audit(bot: Bot) -> None:
    await set_pool(bot, "standard agent 0")  # cy makes it 1 over: the overage opens now
    result = await seats(bot, SEATS)
    assert (result.rows, result.changed, result.skipped) == (3, 3, [])
    async with bot.db.read() as tx:
        ann = await tx.assignments.active_for_email("ann@example.com")
        ben = await tx.assignments.active_for_email("ben@example.com")
        cy = await tx.assignments.active_for_email("cy@example.com")
        actions = [e.action for e in await tx.audit.recent(limit=4)]
    assert ann is not None and ann.modules == ("qm", "wfo") and ann.name == "Ann Agent"
    assert ann.license_group == "Support_Agent_LicenseGroup"
    assert ann.assigned_at == datetime(2026, 10, 1, tzinfo=UTC)
    assert ben is not None and ben.slack_user_id == "U0BEN"
    assert ben.assigned_at == datetime(2026, 10, 2, 8, 30, tzinfo=UTC)
    assert cy is not None and cy.name == "cy" and cy.assigned_at == START
    assert actions == ["import.assignments"] + ["assignment.imported"] * 3
    assert (await pool(bot, "standard", "agent")).over_since == START

    again = await seats(bot, SEATS)  # the same file again: nothing new, nothing wrong
    assert again.changed == 0 and len(again.skipped) == 3


async def test_bad_assignment_rows_change_nothing(bot: Bot) -> None:
    await set_pool(bot, "premium agent 5")
    before = await audit_count(bot)
    text = (
        "email,name,edition,seat_type,modules,department,assigned_at\n"
        "ok@example.com,Ok,premium,agent,,,\n"
        "bad@example.com,Bad,standard,agent,wfo,,\n"
        "ok@example.com,Again,premium,agent,,,\n"
        "dept@example.com,Dept,premium,agent,,Sales-EU,\n"
        "seat@example.com,Seat,premium,janitor,,,\n"
    )
    with pytest.raises(ImportRejected) as rejected:
        await seats(bot, text)
    problems = rejected.value.problems
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 4", "line 5", "line 6"]
    assert "+wfo is not included in the standard edition" in problems[0]
    assert "ok@example.com is also on line 2" in problems[1]
    assert "breaks the naming convention" in problems[2]
    assert "unknown seat type `janitor`" in problems[3]
    async with bot.db.read() as tx:
        assert await tx.assignments.count_active() == 0
    assert await audit_count(bot) == before


async def test_a_row_for_someone_holding_another_seat_is_refused(bot: Bot) -> None:
    await set_pool(bot, "premium agent 5")
    await assign(bot, "ann@example.com agent premium")
    with pytest.raises(ImportRejected) as rejected:
        await seats(bot, SEATS)
    assert rejected.value.problems == [
        "line 2: ann@example.com already holds a premium agent seat: revoke it first "
        "(`/license revoke ann@example.com`)"
    ]
    async with bot.db.read() as tx:
        assert await tx.assignments.count_active() == 1


async def test_cli_import_reports_bad_lines_and_imports_a_good_file(
    make_bot, slack: FakeSlack, tmp_path: Path
) -> None:  # noqa: ANN001
    database = tmp_path / "import.db"
    bot = await make_bot(database=database)
    env = cli_env(slack, database, tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text(SEATS.replace("wfo qm", "wfo warp"))
    code, out, err = await licensebot(env, tmp_path, "import", "assignments", str(bad))
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "licensebot: bad.csv: 1 bad row, nothing was imported",
        "  line 2: unknown module `+warp`: use +wfo, +qm, +insights, +analytics, +chat or +social",
    ]
    async with bot.db.read() as tx:
        assert await tx.assignments.count_active() == 0

    good = tmp_path / "seats.csv"
    good.write_text(SEATS)
    code, out, err = await licensebot(env, tmp_path, "import", "assignments", str(good))
    assert code == 0, err
    assert out.splitlines() == ["seats.csv: 3 rows, 3 added, 0 skipped"]
    recent = "2025-06-01"  # in the past for the process's own (system) clock
    seen = tmp_path / "activity.csv"
    seen.write_text(f"email,last_active\nann@example.com,{recent}\nzed@example.com,{recent}\n")
    code, out, err = await licensebot(env, tmp_path, "import", "activity", str(seen))
    assert code == 0, err
    assert out.splitlines() == [
        "activity.csv: 2 rows, 1 updated, 1 skipped",
        "  skipped zed@example.com: holds no active seat",
    ]
    async with bot.db.read() as tx:
        ann = await tx.assignments.active_for_email("ann@example.com")
    assert ann is not None and ann.last_active_at is not None


async def test_a_large_file_is_written_in_batches_with_each_seat_audited(bot: Bot) -> None:
    """Past the 500-email lookup pages: every seat, its modules and its audit snapshot (with
    the id the seat was given) land together; a held seat deep in the file is found."""
    await set_pool(bot, "premium agent 5000")
    await assign(bot, "held@example.com agent premium")
    rows = [
        f"u{i:04d}@example.com,U {i},premium,agent,{'wfo' if i % 2 else ''},,2026-10-01"
        for i in range(1200)
    ]
    header = "email,name,edition,seat_type,modules,department,assigned_at\n"
    clash = header + "\n".join([*rows[:1100], "held@example.com,H,premium,agent,wfo,,"]) + "\n"
    with pytest.raises(ImportRejected) as rejected:
        await seats(bot, clash)
    assert [p.split(":")[0] for p in rejected.value.problems] == ["line 1102"]
    before = await audit_count(bot)
    result = await seats(bot, header + "\n".join(rows) + "\n")
    assert (result.rows, result.changed) == (1200, 1200)
    assert await audit_count(bot) == before + 1201
    async with bot.db.read() as tx:
        assert await tx.assignments.count_active() == 1201
        last = await tx.assignments.active_for_email("u1199@example.com")
        entries = await tx.audit.recent(subjects=["u1199@example.com"])
    assert last is not None and last.modules == ("wfo",)
    assert entries[0].after == last.snapshot()


async def test_a_large_activity_file_moves_only_forward(bot: Bot) -> None:
    await set_pool(bot, "premium agent 5000")
    header = "email,name,edition,seat_type,modules,department,assigned_at\n"
    await seats(
        bot,
        header
        + "".join(f"u{i:04d}@example.com,U,premium,agent,,,2026-10-01\n" for i in range(900)),
    )
    first = await activity(
        bot,
        "email,last_active\n"
        + "".join(f"u{i:04d}@example.com,2026-11-{1 + i % 20:02d}\n" for i in range(900)),
    )
    assert first.changed == 900
    again = await activity(
        bot,
        "email,last_active\n"
        + "".join(
            f"u{i:04d}@example.com,2026-11-10\nnobody{i}@example.com,2026-11-10\n"
            for i in range(900)
        ),
    )
    # Only the seats last active before the 10th move; the others keep their later day.
    assert again.changed == sum(1 for i in range(900) if 1 + i % 20 < 10)
    assert len(again.skipped) == 900
    async with bot.db.read() as tx:
        late = await tx.assignments.active_for_email("u0015@example.com")
        early = await tx.assignments.active_for_email("u0002@example.com")
        entry = (await tx.audit.recent(subjects=["u0002@example.com"]))[0]
    assert late is not None and late.last_active_at is not None
    assert late.last_active_at.date().isoformat() == "2026-11-16"
    assert early is not None and early.last_active_at is not None
    assert entry.action == "assignment.activity"
    assert entry.before == {"last_active_at": "2026-11-03T00:00:00+00:00"}
