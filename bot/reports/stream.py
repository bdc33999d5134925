"""Reports written as they are read (SPEC 7): the long ones (assignments, the audit export)
go from the store to the CSV a page at a time, so a million rows never sit in memory;
the short ones (one row per pool or overage period) are built as a Table and written.

`write_csv` writes to any text file. `write_report_file` does it off the event loop: in a
worker thread with its own event loop and its own database connection (a read
transaction beside the bot's writers, WAL), into a file the Slack upload then reads.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any, TextIO

from bot.licensing.commands import REPORT_KINDS
from bot.licensing.policy import inactive_since_cutoff
from bot.reports.build import BUILDERS, build_report
from bot.reports.table import neutralise
from bot.services.ledger import Rules
from bot.store.codec import from_db
from bot.store.db import Database
from bot.store.reports import AuditFilter
from bot.store.unit import Store

ASSIGNMENT_HEADER = [
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
]
AUDIT_HEADER = ["id", "at", "actor", "action", "subject", "before", "after"]


@dataclass(frozen=True)
class Written:
    """What a report wrote: its kind, data rows (without header and totals), summary."""

    kind: str
    rows: int
    summary: str
    path: Path | None = None  # write_report_file: the temporary file written
    size: int = 0  # its length in bytes

    def filename(self, today: date) -> str:
        return f"licensebot-{self.kind}-{today.isoformat()}.csv"


CsvWriter = Any  # what csv.writer returns (its type is private to _csv)
Streamer = Callable[[Store, Rules, datetime, AuditFilter, CsvWriter], Awaitable[Written]]


def _writer(out: TextIO) -> CsvWriter:
    # The excel dialect is RFC 4180: comma, CRLF line ends (as bot/reports/table.py).
    return csv.writer(out, dialect="excel", quoting=csv.QUOTE_MINIMAL)


async def write_csv(
    tx: Store,
    rules: Rules,
    kind: str,
    now: datetime,
    out: TextIO,
    where: AuditFilter | None = None,
) -> Written:
    """The report as CSV into `out` (a text file opened with newline="")."""
    if kind not in BUILDERS:
        raise ValueError(f"unknown report {kind!r}: use one of {', '.join(REPORT_KINDS)}")
    writer = _writer(out)
    where = where or AuditFilter()
    streamer = STREAMERS.get(kind)
    if streamer is not None:
        return await streamer(tx, rules, now, where, writer)
    table = await build_report(tx, rules, kind, now, where)
    writer.writerows(table.lines())
    return Written(kind, len(table.rows), table.summary)


async def _write_file(
    database: Path, rules: Rules, kind: str, now: datetime, where: AuditFilter
) -> Written:
    fd, name = tempfile.mkstemp(prefix=f"licensebot-{kind}-", suffix=".csv")
    path = Path(name)
    try:
        db = await Database.open(database)
        try:
            async with db.read() as tx:
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                    written = await write_csv(tx, rules, kind, now, out, where)
        finally:
            await db.close()
    except BaseException:
        path.unlink(missing_ok=True)  # noqa: ASYNC240 - the worker thread's own loop
        raise
    return replace(written, path=path, size=path.stat().st_size)  # noqa: ASYNC240 - ditto


async def write_report_file(
    database: Path, rules: Rules, kind: str, now: datetime, where: AuditFilter
) -> Written:
    """`write_csv` into a new temporary file (`Written.path`: the caller removes it with
    `remove_file`), in a worker thread on a connection of its own: the calling event loop
    keeps acking while a million rows are read and written."""
    return await asyncio.to_thread(asyncio.run, _write_file(database, rules, kind, now, where))


async def remove_file(path: Path | None) -> None:
    if path is not None:
        await asyncio.to_thread(path.unlink, missing_ok=True)


class _Dates:
    """Stored instants -> (instant, local ISO day), remembered: seats share a few days."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self.seen: dict[str, tuple[datetime, str]] = {}

    def __call__(self, text: str) -> tuple[datetime, str]:
        found = self.seen.get(text)
        if found is None:
            if len(self.seen) > 50_000:
                self.seen.clear()
            at = from_db(text)
            assert at is not None
            found = self.seen[text] = (at, at.astimezone(self.tz).date().isoformat())
        return found


async def _assignments(
    tx: Store, rules: Rules, now: datetime, _: AuditFilter, writer: CsvWriter
) -> Written:
    writer.writerow(ASSIGNMENT_HEADER)
    cutoff = inactive_since_cutoff(now, rules.policy)
    dates = _Dates(rules.tz)
    total = idle_count = 0
    n = neutralise
    async for page in tx.reports.active_seat_pages():
        lines = []
        for (
            seat_id,
            email,
            name,
            slack,
            edition,
            seat_type,
            dept,
            group,
            assigned,
            last,
            req,
        ) in page.rows:
            assigned_at, assigned_day = dates(assigned)
            if last:
                last_at, last_day = dates(last)
            else:
                last_at, last_day = assigned_at, ""
            idle = last_at < cutoff
            idle_count += idle
            lines.append(
                [
                    n(email),
                    n(name),
                    n(slack) if slack else "",
                    n(edition),
                    n(seat_type),
                    n(" ".join(page.modules.get(seat_id, ()))),
                    n(dept) if dept else "",
                    n(group) if group else "",
                    assigned_day,
                    last_day,
                    (now - last_at).days,
                    "yes" if idle else "no",
                    "" if req is None else req,
                ]
            )
        total += len(lines)
        writer.writerows(lines)
        await asyncio.sleep(0)  # a page at a time: let the loop breathe between pages
    summary = (
        f"{total} active seats, {idle_count} inactive for over {rules.policy.inactive_days} days"
    )
    return Written("assignments", total, summary)


def _instant(text: str) -> str:
    """A stored instant as the report shows it (ISO 8601 UTC, seconds)."""
    if len(text) == 25 and text.endswith("+00:00"):
        return text  # stored that way already (bot/store/codec.py to_db)
    at = from_db(text)
    assert at is not None
    return at.isoformat(timespec="seconds")


def _json(text: str | None) -> str:
    """Stored JSON as the report shows it: sorted keys, text unescaped, formula-guarded."""
    if not text or text == "null":
        return ""
    if not (text.isascii() and "\\u" not in text):
        text = json.dumps(json.loads(text), sort_keys=True, ensure_ascii=False)
    return neutralise(text)


async def _audit(
    tx: Store, rules: Rules, now: datetime, where: AuditFilter, writer: CsvWriter
) -> Written:
    writer.writerow(AUDIT_HEADER)
    total = 0
    n = neutralise
    async for rows in tx.reports.audit_pages(where):
        writer.writerows(
            [
                [entry_id, _instant(at), n(actor), n(action), n(subject), _json(bef), _json(aft)]
                for entry_id, at, actor, action, subject, bef, aft in rows
            ]
        )
        total += len(rows)
        await asyncio.sleep(0)
    return Written("audit", total, f"{total} audit entries")


STREAMERS: dict[str, Streamer] = {"assignments": _assignments, "audit": _audit}
