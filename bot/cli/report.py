"""`licensebot report KIND [-o FILE]`: the CSV reports of `/license report`, offline.

Needs only the store (LICENSEBOT_DATABASE) and the settings every command requires; it
never calls Slack.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

from bot.cli.common import Command, fail, settings_or_exit
from bot.clock import SystemClock, as_utc
from bot.licensing.catalog import load_catalog
from bot.licensing.commands import REPORT_KINDS
from bot.licensing.entities import AuditFilter
from bot.licensing.errors import CatalogError
from bot.licensing.parsing import DATE_MAX, DATE_MIN, DATE_WINDOW_TEXT
from bot.reports.stream import Written, write_csv
from bot.services.insight import day_range
from bot.services.ledger import Rules
from bot.settings import Settings
from bot.store.db import Database
from bot.store.pg import is_postgres_url


def _args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=REPORT_KINDS, help="which report")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    parser.add_argument(
        "--as-of", metavar="ISO-8601", help="report as if the clock read this (default: now)"
    )
    parser.add_argument("--email", help="audit: only entries about or by this person")
    parser.add_argument("--from", dest="since", metavar="YYYY-MM-DD", help="audit: first day")
    parser.add_argument("--to", dest="until", metavar="YYYY-MM-DD", help="audit: last day")


def run_report(args: argparse.Namespace) -> int:
    settings = settings_or_exit(database_only=True)
    try:
        now = as_utc(datetime.fromisoformat(args.as_of)) if args.as_of else SystemClock().now()
        since = date.fromisoformat(args.since) if args.since else None
        until = date.fromisoformat(args.until) if args.until else None
    except ValueError as error:
        return fail(f"bad date: {error}")
    for flag, value in (("--as-of", now.date()), ("--from", since), ("--to", until)):
        if value is not None and not DATE_MIN <= value <= DATE_MAX:
            return fail(f"{flag} is out of range: {DATE_WINDOW_TEXT}")
    try:
        rules = Rules(settings.policy, load_catalog(settings.catalog), settings.tz)
    except CatalogError as error:
        return fail(str(error))
    if not is_postgres_url(settings.database) and not Path(settings.database).exists():
        return fail(f"no database at {settings.database}: set LICENSEBOT_DATABASE")
    start, end = day_range(since, until, settings.tz)
    where = AuditFilter(email=(args.email or "").lower() or None, since=start, until=end)
    if args.kind == "reconcile":  # against Genesys Cloud (SPEC 8): bot/cli/genesys.py
        from bot.cli.genesys import reconcile_or_fail

        table = reconcile_or_fail(settings, rules, now)
        if table is None:
            return 1
        data = table.csv_bytes()
        if args.output:
            Path(args.output).write_bytes(data)
            print(
                f"licensebot: {args.kind} report written to {args.output}: {table.summary}",
                file=sys.stderr,
            )
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        return 0
    if args.output:
        with Path(args.output).open("w", encoding="utf-8", newline="") as out:
            written = asyncio.run(_write(settings, rules, args.kind, now, where, out))
        print(
            f"licensebot: {args.kind} report written to {args.output}: {written.summary}",
            file=sys.stderr,
        )
    else:
        # Streamed to stdout as it is read: a million rows never sit in memory.
        out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
        try:
            asyncio.run(_write(settings, rules, args.kind, now, where, out))
            out.flush()
        finally:
            out.detach()
    return 0


async def _write(
    settings: Settings, rules: Rules, kind: str, now: datetime, where: AuditFilter, out: TextIO
) -> Written:
    db = await Database.open(settings.database)
    try:
        async with db.read() as tx:
            return await write_csv(tx, rules, kind, now, out, where)
    finally:
        await db.close()


COMMAND = Command("report", _args, run_report, "write a CSV report (stdout, or -o FILE)")
