"""Reports written as they are read (SPEC 7): the long ones (assignments, the audit export)
go from the store to the CSV a page at a time, so a million rows never sit in memory;
the short ones (one row per pool or overage period) are built as a Table and written.

`write_csv` writes to any text file. `write_report_file` does it off the event loop: in a
process of its own (bot/reports/worker.py) with its own database connection (a read
transaction beside the bot's writers, WAL), into a file the Slack upload then reads.
"""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import os
import pickle
import sys
import tempfile
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from functools import partial
from pathlib import Path
from typing import Any, TextIO, TypeVar

from bot.licensing.commands import REPORT_KINDS
from bot.licensing.entities import AuditFilter
from bot.licensing.policy import inactive_since_cutoff
from bot.reports.build import BUILDERS, build_report
from bot.reports.table import neutralise
from bot.services.ledger import Rules
from bot.store.codec import from_db
from bot.store.cost import timed
from bot.store.db import Database
from bot.store.unit import Store

log = logging.getLogger(__name__)

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
    "ends_on",  # the last day of a time-bound seat (SPEC 9)
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
Streamer = Callable[[Store, Rules, datetime, AuditFilter, TextIO], Awaitable[Written]]


def field(text: str) -> str:
    """One CSV field as csv.writer writes it (excel dialect, QUOTE_MINIMAL: RFC 4180): in
    quotes, inner quotes doubled, when it holds a comma, a quote or a line break. The long
    reports write their lines with this and str.join, twice as fast as csv.writer."""
    if '"' in text or "," in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def _line(cells: list[str]) -> str:
    return ",".join(field(c) for c in cells) + "\r\n"


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
    where = where or AuditFilter()
    streamer = STREAMERS.get(kind)
    if streamer is not None:
        return await streamer(tx, rules, now, where, out)
    table = await build_report(tx, rules, kind, now, where)
    _writer(out).writerows(table.lines())
    return Written(kind, len(table.rows), table.summary)


@dataclass(frozen=True)
class ReportJob:
    """One report to write into `path` (an existing empty file), from the store at
    `database` (a SQLite path or a PostgreSQL URL)."""

    database: Path
    rules: Rules
    kind: str
    now: datetime
    where: AuditFilter
    path: Path


async def write_file(job: ReportJob) -> Written:
    """The report into `job.path`, on a connection of its own (bot/reports/worker.py)."""
    db = await Database.open(job.database)
    try:
        async with db.read() as tx:
            with job.path.open("w", encoding="utf-8", newline="") as out:  # noqa: ASYNC230 - the worker's own loop
                written = await write_csv(tx, job.rules, job.kind, job.now, out, job.where)
    finally:
        await db.close()
    return replace(written, path=job.path, size=job.path.stat().st_size)  # noqa: ASYNC240 - ditto


class _SwitchInterval:
    """While a short report's thread runs, the interpreter hands the GIL over every
    millisecond instead of every 5: the event loop's thread, waiting to ack, gets it back
    sooner. Restored when the last ends."""

    FAST_S = 0.001

    def __init__(self) -> None:
        self.running = 0
        self.previous = sys.getswitchinterval()

    def __enter__(self) -> None:
        if self.running == 0:
            self.previous = sys.getswitchinterval()
            sys.setswitchinterval(min(self.FAST_S, self.previous))
        self.running += 1

    def __exit__(self, *_: object) -> None:
        self.running -= 1
        if self.running == 0:
            sys.setswitchinterval(self.previous)


_switch = _SwitchInterval()


# One report at a time per event loop: a burst of `/license report` queues behind the
# running one rather than thirty builds sharing two cores with the bot.
_one_at_a_time: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def building() -> bool:
    """Whether a report is being built in this event loop (the next one waits for it)."""
    turn = _one_at_a_time.get(asyncio.get_running_loop())
    return turn is not None and turn.locked()


async def write_report_file(
    database: Path,
    rules: Rules,
    kind: str,
    now: datetime,
    where: AuditFilter,
    queued: Callable[[], Awaitable[None]] | None = None,
) -> Written:
    """`write_csv` into a new temporary file (`Written.path`: the caller removes it with
    `remove_file`) on a connection of its own, the long reports (STREAMERS) in a process of
    their own, the short ones in a worker thread: the calling event loop
    keeps acking while a million rows are read and written. One at a time: `queued` is
    awaited first when another report is being built (this one then waits its turn)."""
    turn = _one_at_a_time.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(1))
    if turn.locked() and queued is not None:
        await queued()
    async with turn:
        fd, name = await asyncio.to_thread(
            tempfile.mkstemp, prefix=f"licensebot-{kind}-", suffix=".csv"
        )
        os.close(fd)
        job = ReportJob(database, rules, kind, now, where, Path(name))
        try:
            if kind in STREAMERS:
                return await _in_process_of_its_own(job)
            with _switch:  # one row per pool: shorter to build than a process is to start
                # Charged to the work that asked for it (bot/ack_first.py).
                return await asyncio.to_thread(timed, partial(asyncio.run, write_file(job)))
        except BaseException:  # failed or cancelled (shutdown): no file left behind
            await remove_file(job.path)
            raise


async def _in_process_of_its_own(job: ReportJob) -> Written:
    """`write_file(job)` in `python -m bot.reports.worker`: a thread would share the
    interpreter lock with the event loop, a process runs beside it on the other core."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.reports.worker",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await child.communicate(pickle.dumps(job))
    except BaseException:  # cancelled: the child goes too
        if child.returncode is None:
            child.kill()
            await child.wait()
        raise
    if child.returncode != 0:
        log.warning(
            "report worker failed (exit %s):\n%s",
            child.returncode,
            err.decode(errors="replace").strip(),
        )
        said = pickle.loads(out) if out else None
        raise RuntimeError(said if isinstance(said, str) else f"exit {child.returncode}")
    written = pickle.loads(out)
    assert isinstance(written, Written)
    return written


async def write_report_from(
    db: Database,
    rules: Rules,
    kind: str,
    now: datetime,
    where: AuditFilter,
    queued: Callable[[], Awaitable[None]] | None = None,
) -> Written:
    """`write_report_file` for the database `db` is open on (listeners hand their Database,
    never a path: the connection of the report's own is opened here)."""
    return await write_report_file(db.path, rules, kind, now, where, queued)


async def remove_file(path: Path | None) -> None:
    if path is not None:
        await asyncio.to_thread(path.unlink, missing_ok=True)


T = TypeVar("T")


async def prefetched(pages: AsyncIterator[T]) -> AsyncIterator[T]:
    """The pages, the next one read while the caller writes this one (the database's
    thread works beside ours)."""
    upcoming: asyncio.Future[T] = asyncio.ensure_future(anext(pages))
    while True:
        try:
            page = await upcoming
        except StopAsyncIteration:
            return
        upcoming = asyncio.ensure_future(anext(pages))
        try:
            yield page
        except BaseException:
            upcoming.cancel()
            raise


class _Neutralised(dict[str | None, str]):
    """value -> its CSV field (formula-guarded, quoted; None is empty), made on first use."""

    def __missing__(self, key: str | None) -> str:
        cell = self[key] = field(neutralise(key)) if key else ""
        return cell


def _day_of(tz: tzinfo) -> Callable[[str], tuple[datetime, str]]:
    def day(text: str) -> tuple[datetime, str]:
        at = from_db(text)
        assert at is not None
        return at, at.astimezone(tz).date().isoformat()

    return day


async def _assignments(
    tx: Store, rules: Rules, now: datetime, _: AuditFilter, out: TextIO
) -> Written:
    """A million seats: the hot loop keeps per-cell work to dictionary look-ups (dates and
    the few distinct editions, seat types, modules, departments are converted once)."""
    out.write(_line(ASSIGNMENT_HEADER))
    cutoff = inactive_since_cutoff(now, rules.policy)
    day_of = _day_of(rules.tz)
    days: dict[str, tuple[datetime, str]] = {}
    text = _Neutralised()  # few distinct values: neutralised once
    n, f = neutralise, field
    total = idle_count = 0
    async for page in prefetched(tx.reports.active_seat_pages()):
        modules = {k: " ".join(v) for k, v in page.modules.items()}
        lines = []
        if len(days) > 100_000 or len(text) > 100_000:
            days.clear()
            text = _Neutralised()
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
            ends,
        ) in page.rows:
            found = days.get(assigned)
            if found is None:
                found = days[assigned] = day_of(assigned)
            if last:
                seen = days.get(last)
                if seen is None:
                    seen = days[last] = day_of(last)
                last_at, last_day = seen
            else:
                last_at, last_day = found[0], ""
            idle = last_at < cutoff
            idle_count += idle
            mods = modules.get(seat_id, "")
            lines.append(
                ",".join(
                    (
                        f(n(email)),
                        f(n(name)),
                        f(n(slack)) if slack else "",
                        text[edition],
                        text[seat_type],
                        text[mods],
                        text[dept],
                        text[group],
                        found[1],
                        last_day,
                        str((now - last_at).days),
                        "yes" if idle else "no",
                        "" if req is None else str(req),
                        ends or "",  # an ISO date as stored
                    )
                )
            )
        total += len(lines)
        lines.append("")
        out.write("\r\n".join(lines))
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
    tx: Store, rules: Rules, now: datetime, where: AuditFilter, out: TextIO
) -> Written:
    out.write(_line(AUDIT_HEADER))
    total = 0
    text = _Neutralised()  # actors and actions repeat
    f, n = field, neutralise
    async for rows in prefetched(tx.reports.audit_pages(where)):
        lines = [
            f"{entry_id},{_instant(at)},{text[actor]},{text[action]},{f(n(subject))},"
            f"{f(_json(bef))},{f(_json(aft))}"
            for entry_id, at, actor, action, subject, bef, aft in rows
        ]
        lines.append("")
        out.write("\r\n".join(lines))
        total += len(rows)
        if len(text) > 100_000:
            text = _Neutralised()
    return Written("audit", total, f"{total} audit entries")


STREAMERS: dict[str, Streamer] = {"assignments": _assignments, "audit": _audit}
