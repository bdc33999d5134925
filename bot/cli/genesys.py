"""`licensebot genesys check | licenses | sync [--dry-run]` (SPEC 4, 8): a row of the
command table (bot/cli/main.py). `licenses` and `check` need only the Genesys settings
(and the catalog), not Slack's."""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.cli.common import Command, fail, settings_or_exit
from bot.clock import SystemClock
from bot.genesys import LEDGER_ONLY, make_client
from bot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from bot.reports.table import Table
    from bot.services.ledger import Rules

# What each feature needs, and how `check` proves it: one harmless request each.
PERMISSIONS = (
    ("authorization:grant:add", "assign and remove licenses (provisioning, Remove)"),
    ("directory:user:view", "find users by email, read activity"),
    ("billing:subscription:view", "billable usage (report reconcile)"),
)


def _args(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("licenses", help="list the org's license definitions (to fill the catalog)")
    sub.add_parser("check", help="prove the credentials, the permissions and the mapping")
    sync = sub.add_parser("sync", help="read activity and licenses now; post the drift")
    sync.add_argument("--dry-run", action="store_true", help="show what it finds; change nothing")


def _genesys_settings() -> Settings:
    """The settings with Genesys's part from the environment; Slack's are not needed."""
    try:
        return load_settings()
    except SettingsError:
        # Slack settings missing: `licenses` and `check` never talk to Slack.
        return settings_or_exit(
            slack_bot_token="xoxb-unused",
            approvals_channel="C0UNUSED",
            alerts_channel="C0UNUSED",
            admins="U0UNUSED",
        )


def run_genesys(args: argparse.Namespace) -> int:
    if not getattr(args, "verbose", False):
        logging.disable(logging.WARNING)
    if args.action == "sync":
        settings = settings_or_exit()
    else:
        settings = _genesys_settings()
    if not settings.genesys_enabled:
        return fail(f"{LEDGER_ONLY}. Set both to use `genesys {args.action}`.")
    if args.action == "licenses":
        return asyncio.run(_licenses(settings))
    if args.action == "check":
        return asyncio.run(_check(settings))
    return asyncio.run(_sync(settings, args.dry_run))


async def _licenses(settings: Settings) -> int:
    from bot.genesys.client import GenesysError

    client = make_client(settings)
    assert client is not None
    try:
        definitions = await client.license_definitions()
    except GenesysError as error:
        return fail(f"Genesys Cloud: {error}", 1)
    finally:
        await client.close()
    print("LICENSE ID\tNAME / DESCRIPTION")
    for item in sorted(definitions, key=lambda d: str(d.get("id"))):
        print(f"{item.get('id')}\t{item.get('name') or item.get('description') or ''}")
    print(f"{len(definitions)} license definitions; map them in the catalog's [genesys.licenses]")
    return 0


async def _check(settings: Settings) -> int:
    from bot.genesys.client import GenesysAuthError, GenesysError, GenesysForbidden
    from bot.licensing.catalog import load_catalog
    from bot.licensing.errors import CatalogError

    try:
        catalog = load_catalog(settings.catalog)
    except CatalogError as error:
        return fail(str(error))
    client = make_client(settings)
    assert client is not None
    problems = 0
    try:
        try:
            await client.token()
            print(f"ok       credentials: token issued by {client.endpoints.login_url}")
        except GenesysAuthError as error:
            print(f"MISSING  credentials: {error}")
            return 1
        except GenesysError as error:
            print(f"MISSING  credentials: Genesys Cloud unreachable ({error})")
            return 1
        today = SystemClock().now().astimezone(settings.tz).date()
        probes = {
            "authorization:grant:add": (
                "POST",
                "/api/v2/license/organization",
                None,
                {"assignments": []},
            ),
            "directory:user:view": (
                "POST",
                "/api/v2/users/search",
                None,
                {
                    "query": [
                        {"type": "EXACT", "fields": ["email"], "value": "check@licensebot.invalid"}
                    ],
                    "pageSize": 1,
                },
            ),
            "billing:subscription:view": (
                "GET",
                "/api/v2/billing/reports/billableusage",
                {
                    "startDate": (today - timedelta(days=1)).isoformat(),
                    "endDate": today.isoformat(),
                },
                None,
            ),
        }
        for permission, needed_for in PERMISSIONS:
            method, path, params, body = probes[permission]
            try:
                await client.request(method, path, params=params, json=body)
                print(f"ok       {permission}: {needed_for}")
            except GenesysForbidden as error:
                problems += 1
                print(f"MISSING  {permission}: {needed_for} — Genesys said: {error}")
            except GenesysError as error:
                if error.status == 400:
                    # Permissions are checked before the body: refusing the harmless probe's
                    # content (an empty assignment list) means the call itself was allowed.
                    print(f"ok       {permission}: {needed_for} (probe body refused: {error})")
                    continue
                problems += 1
                print(f"UNKNOWN  {permission}: {needed_for} — {error}")
        try:
            known = {str(d.get("id")) for d in await client.license_definitions()}
        except GenesysError:
            known = set()
        for key, ids in sorted(catalog.genesys.items()):
            for license_id in ids:
                if known and license_id not in known:
                    problems += 1
                    print(f"MISSING  mapping {key} -> {license_id}: no such license in the org")
        for seat in catalog.genesys_unmapped():
            print(f"unmapped {seat}: kept in the ledger only (map it in [genesys.licenses])")
    finally:
        await client.close()
    print("genesys check: " + ("all good" if not problems else f"{problems} problem(s)"))
    return 0 if not problems else 1


async def _sync(settings: Settings, dry_run: bool) -> int:
    from bot.app import build_deps
    from bot.genesys.client import GenesysError
    from bot.jobs.base import JobContext
    from bot.jobs.genesys import sync

    deps = await build_deps(settings)
    try:
        ctx = JobContext.from_deps(deps, dry_run=dry_run)
        try:
            result = await sync(ctx)
        except GenesysError as error:
            return fail(f"Genesys Cloud: {error}", 1)
        delivery = None if dry_run else await deps.deliverer.flush()
    finally:
        if deps.genesys is not None:
            await deps.genesys.close()
        await deps.db.close()
    verb = "would update" if dry_run else "updated"
    print(
        f"genesys sync{' (dry run)' if dry_run else ''}: {result.users} users, "
        f"{result.holders} license holders read in {result.requests} requests; "
        f"{verb} the activity of {result.activity_updated} seat(s); "
        f"{result.provisioning_queued} waiting seat(s) to provision; "
        f"{len(result.drift)} difference(s)"
    )
    for row in result.drift:
        print(f"  {row.kind:9} {row.email}  {row.seat}  {row.detail}")
    if delivery is not None and delivery.failed:
        return fail(f"{delivery.failed} message(s) not delivered yet: they stay queued", 1)
    return 0


COMMAND = Command("genesys", _args, run_genesys, "Genesys Cloud: check, licenses, sync")


def reconcile_or_fail(settings: Settings, rules: Rules, now: datetime) -> Table | None:
    """`licensebot report reconcile`: the table, or None after saying why on stderr."""
    if not settings.genesys_enabled:
        fail(f"{LEDGER_ONLY}: there is nothing to reconcile against", 1)
        return None
    return asyncio.run(_reconcile(settings, rules, now))


async def _reconcile(settings: Settings, rules: Rules, now: datetime) -> Table | None:
    from bot.genesys.client import GenesysError
    from bot.genesys.reconcile import reconcile_table
    from bot.store.db import Database

    client = make_client(settings)
    assert client is not None
    db = await Database.open(settings.database)
    try:
        return await reconcile_table(db, rules, client, now)
    except GenesysError as error:
        fail(f"Genesys Cloud: {error}", 1)
        return None
    finally:
        await client.close()
        await db.close()
