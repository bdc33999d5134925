"""`/license users`, `/license audit` (paged) and `/license check` (each diagnosis)."""

from __future__ import annotations

import json
from datetime import timedelta
from importlib import resources
from pathlib import Path

from conftest import ADMIN, OUTSIDER, START, Bot
from flows import file_request, set_pool
from ledger import build_ledger


def _page_button(reply_or_message: dict, label: str) -> dict:
    for block in reply_or_message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == "insight_page" and element["text"]["text"] == label:
                return element
    raise AssertionError(f"no {label!r} button")


async def test_users_lists_holders_with_filters(bot: Bot) -> None:
    await build_ledger(bot)
    everyone = await bot.command("users", user=ADMIN)
    assert "1–7 of 7" in everyone.text
    for email in ("nina@example.com", "bo@example.com", "old@example.com", "fay@example.com"):
        assert email in everyone.text
    assert "eve@example.com" not in everyone.text  # revoked
    assert "and " not in everyone.replies[0]["text"]

    inactive = await bot.command("users inactive", user=ADMIN)
    assert "1–1 of 1" in inactive.text and "old@example.com" in inactive.text
    assert ":zzz: inactive 45 days" in inactive.text and "nina@example.com" not in inactive.text

    standard = await bot.command("users standard", user=ADMIN)
    assert "1–3 of 3" in standard.text
    assert all(e in standard.text for e in ("cy@", "dee@", "fay@"))
    assert "nina@" not in standard.text
    none = await bot.command("users supervisor", user=ADMIN)
    assert "No supervisor seats." in none.text

    refused = await bot.command("users", user=OUTSIDER)
    assert "only license admins" in refused.text and "nina@" not in refused.text


async def test_users_pages_stay_under_50_blocks_and_page_in_place(bot: Bot) -> None:
    await set_pool(bot, "partner agent 100")
    for i in range(75):
        reply = await bot.command(f"assign hire{i:02d}@example.com agent partner", user=ADMIN)
        assert "now holds" in reply.text
    first = await bot.command("users", user=ADMIN)
    message = first.replies[0]
    assert len(message["blocks"]) <= 50
    assert "1–30 of 75" in first.text and "hire00@" in first.text and "hire30@" not in first.text
    assert "and 45 more — see `/license report assignments`" in first.text

    key = "page2"
    next_button = _page_button(message, "Next 30")
    await bot.client.block_action(
        ADMIN, "insight_page", next_button["value"], response_url=bot.slack.response_url(key)
    )
    await bot.settle()
    [second] = bot.slack.responses(key)
    assert second["replace_original"] is True
    shown = json.dumps(second, ensure_ascii=False)
    assert "31–60 of 75" in shown and "hire30@" in shown and "hire29@" not in shown
    assert "and 15 more" in shown
    _page_button(second, "Previous")

    key = "page3"
    await bot.client.block_action(
        ADMIN,
        "insight_page",
        _page_button(second, "Next 15")["value"],
        response_url=bot.slack.response_url(key),
    )
    await bot.settle()
    last = json.dumps(bot.slack.responses(key)[0], ensure_ascii=False)
    assert "61–75 of 75" in last and "hire74@" in last and "more —" not in last

    await bot.client.block_action(
        OUTSIDER, "insight_page", next_button["value"], response_url=bot.slack.response_url("nope")
    )
    await bot.settle()
    assert bot.slack.responses("nope") == []


async def test_audit_lists_recent_entries_filtered_by_person_and_dates(bot: Bot) -> None:
    nina = await build_ledger(bot)
    for seats in range(20, 40):  # enough pool changes for a second page
        await set_pool(bot, f"premium supervisor {seats}")
    everything = await bot.command("audit", user=ADMIN)
    async with bot.db.read() as tx:
        total = await tx.audit.count()
    assert total > 30 and f"1–30 of {total}" in everything.text
    assert "purchased 38 → 39" in everything.text  # newest first
    assert f"and {total - 30} more — see `/license report audit`" in everything.text
    assert len(everything.replies[0]["blocks"]) <= 50

    about = await bot.command("audit nina@example.com", user=ADMIN)
    assert "1–3 of 3" in about.text
    for expected in (
        f"request:{nina}",
        "request.filed",
        "request.approved",
        "assignment.created",
        f"<@{ADMIN}>",
    ):
        assert expected in about.text

    day = await bot.command("audit from:2026-11-28 to:2026-11-28", user=ADMIN)  # fay's day
    assert "1–1 of 1" in day.text and "fay@example.com" in day.text
    nothing = await bot.command("audit nina@example.com from:2026-12-01", user=ADMIN)
    assert "No audit entries for nina@example.com from 2026-12-01." in nothing.text


async def test_check_all_good(bot: Bot) -> None:
    await build_ledger(bot)
    reply = await bot.command("check <@U07NINA|nina>", user=ADMIN)
    assert "Holds premium agent +wfo since 2026-11-20" in reply.text
    assert "Support_Agent_LicenseGroup" in reply.text
    assert ":white_check_mark: all good" in reply.text and ":x:" not in reply.text


async def test_check_no_license_and_pending_request(bot: Bot) -> None:
    await set_pool(bot, "premium agent 5")
    none = await bot.command("check zed@example.com", user=ADMIN)
    assert ":x: no license assigned to zed@example.com" in none.text
    assert "/license request zed@example.com" in none.text

    bot.clock.set(START - timedelta(days=2))
    request_id = await file_request(bot, "pat@example.com agent premium")
    bot.clock.set(START)
    pending = await bot.command("check pat@example.com", user=ADMIN)
    assert ":x: no license assigned to pat@example.com" in pending.text
    assert f"decide request #{request_id}" in pending.text
    assert f"request #{request_id} (premium agent) pending since 2026-11-28" in pending.text


async def test_check_inactive_and_pool_in_overage_then_grace_ended(bot: Bot) -> None:
    await build_ledger(bot)
    old = await bot.command("check old@example.com", user=ADMIN)
    assert "inactive for 45 days (no activity since assigned 2026-10-16)" in old.text
    assert "`/license revoke old@example.com`" in old.text

    fay = await bot.command("check fay@example.com", user=ADMIN)
    assert (
        "standard agent pool is 1 over its 2 seats (3/2): in overage, grace ends "
        "2026-12-28" in fay.text
    )
    assert "`/license pool set standard agent &lt;seats&gt;` before 2026-12-28" in fay.text

    bot.clock.advance(days=31)
    later = await bot.command("check fay@example.com", user=ADMIN)
    assert "grace period ended on 2026-12-28: approvals into it are refused" in later.text
    assert "reclaim inactive seats" in later.text


async def test_check_module_the_catalog_no_longer_allows(make_bot, tmp_path: Path) -> None:  # noqa: ANN001
    first = await make_bot()
    await set_pool(first, "standard agent 5")
    await set_pool(first, "standard qm 5")
    reply = await first.command("assign cy@example.com agent standard +qm", user=ADMIN)
    assert "now holds" in reply.text
    await first.stop()

    shipped = resources.files("bot.licensing").joinpath("catalog.toml").read_text("utf-8")
    narrowed = shipped.replace('modules = ["qm", "chat"]', 'modules = ["chat"]')
    assert narrowed != shipped
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(narrowed, "utf-8")
    second = await make_bot(catalog=catalog)
    check = await second.command("check cy@example.com", user=ADMIN)
    assert ":x: module +qm is not included in the standard edition" in check.text
    assert "upgrade to premium or drop +qm" in check.text


async def test_check_is_admin_only(bot: Bot) -> None:
    reply = await bot.command("check nina@example.com", user=OUTSIDER)
    assert "only license admins" in reply.text
