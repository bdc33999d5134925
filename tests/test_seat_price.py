"""A seat's monthly price is worked out once, in the domain (Catalog.price_pool), and
carried on the pool state the views receive: a pool's own price wins, else the catalog's
list price, marked "(list)". Views never ask the catalog (issue 8)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from conftest import ADMIN, Bot
from flows import card, file_request, set_pool

from bot.blocks.admin import pool_line, pools_message
from bot.licensing.catalog import load_catalog
from bot.licensing.policy import Policy, PoolState

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def test_the_domain_prices_a_pool_own_price_first_then_the_list_price() -> None:
    catalog = load_catalog(None)
    own = catalog.price_pool(PoolState("premium", "agent", 5, 1, price=Decimal("120")))
    assert (own.seat_price, own.list_price) == (Decimal("120"), False)
    listed = catalog.price_pool(PoolState("standard", "agent", 5, 1))
    assert (listed.seat_price, listed.list_price) == (Decimal("95"), True)
    module = catalog.price_pool(PoolState("premium", "wfo", 5, 1))
    assert module.seat_price == Decimal("35") and module.list_price  # wfo's list price
    unknown = catalog.price_pool(PoolState("nosuch", "agent", 5, 1))
    assert (unknown.seat_price, unknown.list_price) == (None, False)


def test_the_pool_line_shows_the_price_it_is_given_not_the_catalogs() -> None:
    """A view that asked the catalog again would show $95.00 (standard agent's list price)
    or nothing for a pool the catalog does not know: it shows what the domain carried."""
    carried = PoolState("standard", "agent", 5, 1, seat_price=Decimal("12.34"), list_price=True)
    assert "$12.34/seat (list)" in pool_line(carried, Policy(), NOW, UTC)
    own = PoolState("nosuch", "agent", 5, 1, price=Decimal("7"), seat_price=Decimal("7"))
    line = pool_line(own, Policy(), NOW, UTC)
    assert "$7.00/seat" in line and "(list)" not in line
    unpriced = PoolState("standard", "agent", 5, 1)
    assert "/seat" not in pool_line(unpriced, Policy(), NOW, UTC)
    message = pools_message([carried], Policy(), NOW, UTC)
    assert "$12.34/seat (list)" in json.dumps(message.payload(), default=str)


def section_lines(reply: Any) -> list[str]:
    """Every line of the section blocks the person was shown."""
    return [
        line
        for r in reply.replies
        for block in r.get("blocks") or []
        if block.get("type") == "section"
        for line in block["text"]["text"].split("\n")
    ]


async def test_pool_shows_the_override_and_the_list_price(bot: Bot) -> None:
    reply = await bot.command("pool set premium agent 5 price:120", user=ADMIN)
    assert "$120.00/seat" in reply.text and "(list)" not in reply.text
    reply = await bot.command("pool set standard agent 3", user=ADMIN)
    assert "$95.00/seat (list)" in reply.text

    shown = section_lines(await bot.command("pool", user=ADMIN))
    [premium] = [line for line in shown if "*premium agent*" in line]
    [standard] = [line for line in shown if "*standard agent*" in line]
    assert "$120.00/seat" in premium and "(list)" not in premium
    assert "$95.00/seat (list)" in standard


async def test_the_card_costs_the_seat_at_the_pools_own_price(make_bot: Any) -> None:
    """premium agent lists at $150; the pool's own $80 plus wfo's own $30 is what the
    card shows for the finance stage."""
    bot = await make_bot(finance_group="S0FINANCE", finance_threshold="100")
    await set_pool(bot, "premium agent 10 price:80")
    await set_pool(bot, "premium wfo 10 price:30")
    request_id = await file_request(bot, "sam@example.com agent premium +wfo")
    text = json.dumps(card(bot.slack, request_id), ensure_ascii=False)
    assert "monthly cost $110.00" in text
