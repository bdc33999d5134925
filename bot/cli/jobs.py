"""`licensebot jobs list`, `licensebot jobs run [JOB ...] [--as-of ISO] [--dry-run]`,
`licensebot import activity|assignments FILE.csv` (SPEC 4): two rows of the command table
(bot/cli/main.py)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import datetime, tzinfo
from pathlib import Path

from bot.cli.common import Command, fail, settings_or_exit
from bot.clock import FixedClock, SystemClock
from bot.settings import Settings

CLI_ACTOR = "cli"


def _jobs_args(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("list", help="each job: schedule, last run, next run")
    run = sub.add_parser("run", help="run jobs once now (or --as-of an instant)")
    run.add_argument(
        "jobs",
        nargs="*",
        metavar="JOB",
        help="limits, trial, inactive, requests, digest, expiring (default: all)",
    )
    run.add_argument(
        "--as-of",
        dest="as_of",
        metavar="ISO-8601",
        help="run as if the clock read this instant (naive: LICENSEBOT_TIMEZONE)",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="print the messages (JSON, one per line) instead of posting them",
    )


def run_jobs_command(args: argparse.Namespace) -> int:
    from bot.jobs.runner import JOBS  # after argument parsing: the heavy imports

    # Listing, and a dry run, only read the database: no Slack settings needed.
    database_only = args.action == "list" or bool(getattr(args, "dry_run", False))
    settings = settings_or_exit(database_only=database_only)
    _quiet(args)
    if args.action == "list":
        return asyncio.run(_list(settings))
    unknown = [name for name in args.jobs if name not in JOBS]
    if unknown:
        return fail(f"unknown job `{unknown[0]}`: choose from {', '.join(JOBS)}")
    as_of = None
    if args.as_of:
        try:
            as_of = parse_as_of(args.as_of, settings.tz)
        except ValueError:
            return fail(
                f"--as-of `{args.as_of}` is not an ISO-8601 instant, e.g. 2026-12-12T09:00:00+00:00"
            )
        from bot.licensing.errors import LicenseError
        from bot.licensing.parsing import DATE_WINDOW_TEXT, check_date_window

        try:
            check_date_window(as_of.astimezone(settings.tz).date(), "--as-of")
        except (LicenseError, OverflowError):
            return fail(f"--as-of `{args.as_of}` is out of range: {DATE_WINDOW_TEXT}")
    return asyncio.run(_run(settings, args.jobs, as_of, args.dry_run))


def _quiet(args: argparse.Namespace) -> None:
    """Retries and delivery warnings are for the log of `serve`; here the outcome is the
    summary line (with -v, everything is logged)."""
    if not getattr(args, "verbose", False):
        logging.disable(logging.CRITICAL)


def parse_as_of(value: str, tz: tzinfo) -> datetime:
    at = datetime.fromisoformat(value.strip())
    return at.replace(tzinfo=tz) if at.tzinfo is None else at


async def _run(settings: Settings, names: list[str], as_of: datetime | None, dry: bool) -> int:
    from bot.app import build_deps
    from bot.jobs.runner import execute

    deps = await build_deps(settings, FixedClock(as_of) if as_of else None)
    try:
        result = await execute(deps, names or None, dry_run=dry)
    finally:
        await deps.db.close()
    for message in result.messages:
        if dry:
            print(message.to_json())
        else:
            where = message.channel or message.user_id or ""
            print(f"{message.job}: {message.target} {where}: {message.text}".rstrip())
    code = 0
    for name, why in result.failed.items():
        code = fail(f"job {name} failed: {why} (run with -v for details)", 1)
    delivery = result.delivery
    if delivery is not None:
        if delivery.failed:
            reason = delivery.errors[0] if delivery.errors else "Slack error"
            code = fail(
                f"{delivery.failed} message(s) not delivered ({reason}): they stay "
                "queued and go out on the next run",
                1,
            )
        elif not dry:
            print(f"delivered {delivery.delivered} message(s)")
        if delivery.gone:
            reason = _first(delivery.gone_errors, "user_not_found")
            print(
                f"{delivery.gone} message(s) ended: the recipient left Slack ({reason}); "
                "listed in the App Home"
            )
        if delivery.ended:
            reason = _first(delivery.ended_errors, "refused")
            code = fail(
                f"{delivery.ended} message(s) refused by Slack ({reason}): kept as failed; "
                "Retry them from the App Home once fixed",
                1,
            )
    return code


def _first(errors: list[str], default: str) -> str:
    return errors[0].removeprefix("slack error: ") if errors else default


async def _list(settings: Settings) -> int:
    from bot.jobs.runner import JOBS
    from bot.jobs.scheduler import next_run
    from bot.store.db import Database

    tz = settings.tz
    db = await Database.open(settings.database)
    try:
        async with db.read() as tx:
            runs = await tx.job_runs.all()
            pending = await tx.outbox.pending_count()
            failed = await tx.outbox.failed_count()
    finally:
        await db.close()
    now = SystemClock().now()
    rows = [("JOB", f"SCHEDULE ({settings.timezone})", "LAST RUN", "NEXT RUN", "LAST STATUS")]
    for name, spec in JOBS.items():
        run = runs.get(name)
        nxt = next_run(spec, tz, now)
        rows.append(
            (
                name,
                spec.schedule,
                _when(run.last_run_at if run else None, tz),
                _when(nxt, tz),
                (run.last_status or "—") if run else "—",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    print(
        f"outbox: {pending} message(s) waiting for delivery"
        + (f", {failed} not deliverable (listed in the App Home)" if failed else "")
    )
    return 0


def _when(at: datetime | None, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if at else "never"


# --- import -------------------------------------------------------------------------


def _import_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "kind",
        choices=("activity", "assignments"),
        help="activity: email,last_active; assignments: email,name,edition,"
        "seat_type,modules,department,assigned_at[,slack_user_id]",
    )
    parser.add_argument("file", type=Path, metavar="FILE.csv")


def run_import(args: argparse.Namespace) -> int:
    settings = settings_or_exit(database_only=True)
    _quiet(args)
    try:
        text = args.file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return fail(f"cannot read {args.file}: {error}", 1)
    return asyncio.run(_import(settings, args.kind, args.file.name, text))


async def _import(settings: Settings, kind: str, source: str, text: str) -> int:
    from bot.licensing.catalog import load_catalog
    from bot.services.imports import ImportRejected, import_activity, import_assignments
    from bot.services.ledger import Rules
    from bot.store.db import Database

    rules = Rules(settings.policy, load_catalog(settings.catalog), settings.tz)
    run = import_activity if kind == "activity" else import_assignments
    db = await Database.open(settings.database)
    try:
        result = await run(db, rules, text, source=source, actor=CLI_ACTOR, now=SystemClock().now())
    except ImportRejected as rejected:
        code = fail(str(rejected), 1)
        for problem in rejected.problems[:20]:
            print(f"  {problem}", file=sys.stderr)
        if len(rejected.problems) > 20:
            print(f"  … and {len(rejected.problems) - 20} more", file=sys.stderr)
        return code
    finally:
        await db.close()
    verb = "updated" if kind == "activity" else "added"
    print(f"{source}: {result.rows} rows, {result.changed} {verb}, {len(result.skipped)} skipped")
    for skipped in result.skipped[:20]:
        print(f"  skipped {skipped}")
    return 0


JOBS = Command("jobs", _jobs_args, run_jobs_command, "list the scheduled jobs, or run them once")
IMPORT = Command("import", _import_args, run_import, "import activity or assignments from a CSV")
