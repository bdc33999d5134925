"""`licensebot genesys licenses | check | sync` and `licensebot report reconcile`, as
processes against the fake Genesys (and, for sync, the fake Slack)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import ADMIN, ALERTS, Bot, BotFactory
from fakegenesys import CLIENT_ID, CLIENT_SECRET, FakeGenesys
from fakeslack import FakeSlack
from genesys_env import genesys_bot, mapped_catalog
from test_jobs_cli import cli_env, licensebot


@pytest.fixture
async def org() -> AsyncIterator[FakeGenesys]:
    fake = FakeGenesys()
    await fake.start()
    yield fake
    await fake.stop()


def genesys_env(org: FakeGenesys, home: Path) -> dict[str, str]:
    """Only Genesys's settings: `licenses` and `check` need nothing of Slack's."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "GENESYS_CLIENT_ID": CLIENT_ID,
        "GENESYS_CLIENT_SECRET": CLIENT_SECRET,
        "GENESYS_API_URL": org.url,
        "GENESYS_LOGIN_URL": org.url,
        "LICENSEBOT_CATALOG": str(mapped_catalog(home)),
    }


async def test_licenses_lists_the_org_definitions_without_slack_settings(
    org: FakeGenesys, tmp_path: Path
) -> None:
    code, out, err = await licensebot(genesys_env(org, tmp_path), tmp_path, "genesys", "licenses")
    assert code == 0, err
    assert "cloudCX3\tGenesys Cloud CX 3" in out and "wem\t" in out
    assert CLIENT_SECRET not in out + err


async def test_check_proves_credentials_and_names_missing_permissions_and_unmapped_seats(
    org: FakeGenesys, tmp_path: Path
) -> None:
    env = genesys_env(org, tmp_path)
    code, out, err = await licensebot(env, tmp_path, "genesys", "check")
    assert code == 0, out + err
    assert "ok       credentials" in out
    for permission in (
        "authorization:grant:add",
        "directory:user:view",
        "billing:subscription:view",
    ):
        assert f"ok       {permission}" in out
    assert "unmapped premium executive" in out and "unmapped +qm" in out
    assert "unmapped premium agent" not in out

    org.reject_empty_assignments = True  # a stricter API: the probe's body refused, not us
    code, out, _ = await licensebot(env, tmp_path, "genesys", "check")
    assert code == 0 and "ok       authorization:grant:add" in out and "probe body" in out
    org.permissions.discard("authorization:grant:add")
    code, out, _ = await licensebot(env, tmp_path, "genesys", "check")
    assert code == 1 and "MISSING  authorization:grant:add" in out
    org.permissions.add("authorization:grant:add")

    org.permissions.discard("billing:subscription:view")
    code, out, _ = await licensebot(env, tmp_path, "genesys", "check")
    assert code == 1
    assert "MISSING  billing:subscription:view" in out
    assert "ok       authorization:grant:add" in out

    code, out, err = await licensebot(
        {**env, "GENESYS_CLIENT_SECRET": "wrong"}, tmp_path, "genesys", "check"
    )
    assert code == 1 and "MISSING  credentials" in out
    assert "wrong" not in out + err


async def test_ledger_only_says_so(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    code, _, err = await licensebot(env, tmp_path, "genesys", "licenses")
    assert code == 2 and "ledger-only mode" in err


async def test_sync_dry_run_changes_nothing_and_sync_posts_the_drift(
    make_bot: BotFactory, org: FakeGenesys, slack: FakeSlack, tmp_path: Path
) -> None:
    database = tmp_path / "cli.db"
    bot: Bot
    bot, _ = await genesys_bot(make_bot, org, tmp_path, database=database)
    reply = await bot.command("pool set premium agent 5", user=ADMIN)
    assert "now has" in reply.text
    org.add_user("g-otto", "otto@example.com", licenses=("cloudCX3",))
    env = {**cli_env(slack, database, tmp_path), **genesys_env(org, tmp_path)}

    code, out, err = await licensebot(env, tmp_path, "genesys", "sync", "--dry-run")
    assert code == 0, err
    assert "(dry run)" in out and "1 difference(s)" in out and "unmanaged otto@example.com" in out
    assert slack.messages(ALERTS) == []

    code, out, err = await licensebot(env, tmp_path, "genesys", "sync")
    assert code == 0, err
    [posted] = slack.messages(ALERTS)
    assert "Genesys drift" in posted["text"]


async def test_report_reconcile_from_the_command_line(
    make_bot: BotFactory, org: FakeGenesys, slack: FakeSlack, tmp_path: Path
) -> None:
    database = tmp_path / "cli.db"
    bot, _ = await genesys_bot(make_bot, org, tmp_path, database=database)
    await bot.command("pool set premium agent 5", user=ADMIN)
    org.add_user("g-otto", "otto@example.com", licenses=("cloudCX3",))
    org.billing_in_progress = 0
    env = {**cli_env(slack, database, tmp_path), **genesys_env(org, tmp_path)}
    code, out, err = await licensebot(env, tmp_path, "report", "reconcile")
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.startswith("license_id,license,seats,purchased,ledger_held,genesys_held")
    [cx3] = [r for r in rows if r.startswith("cloudCX3,")]
    assert ",5,0,1,1," in cx3
