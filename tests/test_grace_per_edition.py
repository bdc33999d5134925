"""A grace period per edition is one line of catalog data (`grace_days` under an edition):
the card, `/license pool` and the seat rules all follow it; editions without it keep
LICENSEBOT_GRACE_DAYS (30 here)."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest
from conftest import ADMIN, BotFactory
from flows import approve, card, file_request, pool, set_pool, text_of

from bot.licensing.catalog import load_catalog
from bot.licensing.errors import CatalogError
from bot.licensing.policy import Policy, PoolState
from bot.services.ledger import Rules


def _catalog(tmp_path: Path, premium_line: str) -> Path:
    shipped = resources.files("bot.licensing").joinpath("catalog.toml").read_text()
    anchor = '[editions.premium]\nlabel = "Premium"\n'
    assert anchor in shipped
    path = tmp_path / "catalog.toml"
    path.write_text(shipped.replace(anchor, anchor + premium_line + "\n"))
    return path


async def test_premium_and_standard_pools_get_their_own_grace_ends(
    make_bot: BotFactory, tmp_path: Path
) -> None:
    bot = await make_bot(catalog=str(_catalog(tmp_path, "grace_days = 10")))
    await set_pool(bot, "premium agent 1")
    await set_pool(bot, "standard agent 1")
    await approve(bot, await file_request(bot, "p1@example.com agent premium"))
    await approve(bot, await file_request(bot, "s1@example.com agent standard"))

    # Filed on 2026-11-30: the cards preview the overage each pool would enter.
    premium = await file_request(bot, "p2@example.com agent premium")
    standard = await file_request(bot, "s2@example.com agent standard")
    assert "enters grace period until 2026-12-10" in text_of(card(bot.slack, premium))
    assert "enters grace period until 2026-12-30" in text_of(card(bot.slack, standard))

    await approve(bot, premium)
    await approve(bot, standard)
    assert (await pool(bot, "premium", "agent")).used == 2
    assert (await pool(bot, "standard", "agent")).used == 2
    shown = (await bot.command("pool", user=ADMIN)).text
    [premium_line] = [line for line in shown.split("\n") if "*premium agent*" in line]
    [standard_line] = [line for line in shown.split("\n") if "*standard agent*" in line]
    assert "grace ends 2026-12-10" in premium_line
    assert "grace ends 2026-12-30" in standard_line


def test_the_policy_default_holds_where_the_catalog_says_nothing(tmp_path: Path) -> None:
    catalog = load_catalog(_catalog(tmp_path, "grace_days = 7"))
    rules = Rules(Policy(grace_days=30), catalog, UTC)
    assert rules.policy.grace_days_for("premium") == 7
    assert rules.policy.grace_days_for("standard") == 30
    since = datetime(2026, 11, 30, tzinfo=UTC)
    premium = PoolState("premium", "agent", 1, 2, over_since=since)
    partner = PoolState("partner", "agent", 1, 2, over_since=since)
    assert premium.grace_ends_at(rules.policy) == datetime(2026, 12, 7, tzinfo=UTC)
    assert partner.grace_ends_at(rules.policy) == datetime(2026, 12, 30, tzinfo=UTC)
    assert PoolState("premium", "agent", 1, 1).grace_ends_at(rules.policy) is None


@pytest.mark.parametrize("value", ["-1", '"ten"', "true", "1.5"])
def test_a_malformed_grace_period_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(CatalogError, match="grace_days"):
        load_catalog(_catalog(tmp_path, f"grace_days = {value}"))
