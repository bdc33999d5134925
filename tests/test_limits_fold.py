"""`limits` folds (SPEC 7): past a handful of troubled pools in one run, one summary
message, worst first; each pool's resolution updates its line of that message in place."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from alerting import alerts, run, shown
from conftest import ALERTS, START, Bot, BotFactory

from bot.store.assignments import NewSeat

SEAT_TYPES = ("agent", "supervisor", "executive")
MODULES = ("wfo", "qm", "insights", "analytics", "chat", "social", "voice")


def write_catalog(folder: Path, editions: int) -> Path:
    """`editions` editions, each with 3 seat types and 7 modules: 10 pools an edition."""
    lines = [f'[seat_types.{s}]\nlabel = "{s.title()}"\ndescription = "{s}"\n' for s in SEAT_TYPES]
    lines += [f'[modules.{m}]\nlabel = "{m.title()}"\nprice = 20\n' for m in MODULES]
    for i in range(editions):
        lines.append(
            f'[editions.e{i:03d}]\nlabel = "E{i:03d}"\nmodules = {json.dumps(list(MODULES))}\n'
            "prices = { agent = 150, supervisor = 175, executive = 60 }\n"
        )
    path = folder / "catalog.toml"
    path.write_text("\n".join(lines))
    return path


async def many_pools(make_bot: BotFactory, tmp_path: Path, editions: int) -> Bot:
    """Two seats of each seat type in every edition, each holding every module; every pool
    bought with one seat (all over: seat pools 2/1, module pools 6/1), except e005 qm (6/5,
    the least over) and e010 chat (6/6, nearly full)."""
    bot = await make_bot(catalog=write_catalog(tmp_path, editions))
    async with bot.db.transaction() as tx:
        seats = [
            NewSeat(
                email=f"{e}.{s}.{n}@example.com",
                name=f"{e} {s} {n}",
                edition=f"e{e:03d}",
                seat_type=s,
                assigned_at=START - timedelta(days=40),
                modules=MODULES,
                last_active_at=START - timedelta(days=1),
            )
            for e in range(editions)
            for s in SEAT_TYPES
            for n in range(2)
        ]
        await tx.assignments.add_many(seats)
        for e in range(editions):
            for item in (*SEAT_TYPES, *MODULES):
                kind = "seat" if item in SEAT_TYPES else "module"
                bought = {("e005", "qm"): 5, ("e010", "chat"): 6}.get((f"e{e:03d}", item), 1)
                await tx.pools.set(f"e{e:03d}", item, kind, bought, None, START)
    return bot


async def test_two_hundred_pools_over_at_once_is_one_message_worst_first(
    make_bot: BotFactory, tmp_path: Path
) -> None:
    bot = await many_pools(make_bot, tmp_path, 20)
    sent = await run(bot, "limits")
    posted = alerts(bot)
    assert len(posted) <= 5
    assert [m.target for m in sent] == ["channel"]
    assert (sent[0].key or "").startswith(f"limits:summary:{START.isoformat()}:")
    [summary] = posted
    text = shown(summary)
    assert "200 pools need attention" in text
    lines = [line for line in text.split("\\n") if line.startswith(":")]
    assert lines[0].startswith(":rotating_light: *e000 analytics* `6/1` 5 over")  # 600 %, by name
    assert "*e005 qm* `6/5` 1 over" in lines[-2]  # the least over
    assert lines[-1].startswith(":large_orange_circle: *e010 chat* `6/6` nearly full")
    async with bot.db.read() as tx:
        assert len(await tx.alerts.open(job="limits")) == 200  # one alert per pool still

    bot.clock.advance(hours=1)
    assert await run(bot, "limits") == []  # still true: nothing new
    assert len(alerts(bot)) == 1


async def test_a_folded_pool_resolves_its_line_in_place(
    make_bot: BotFactory, tmp_path: Path
) -> None:
    bot = await many_pools(make_bot, tmp_path, 2)  # 20 pools
    await run(bot, "limits")
    [summary] = alerts(bot)
    async with bot.db.transaction() as tx:
        await tx.pools.set("e001", "agent", "seat", 10, None, START)  # 2/10: back under
        await tx.pools.set("e001", "wfo", "module", 20, None, START)
    bot.clock.advance(hours=1)
    dry = await run(bot, "limits", dry_run=True)
    assert [m.target for m in dry] == ["update"]
    sent = await run(bot, "limits")
    assert [m.target for m in sent] == ["update"]
    assert len(alerts(bot)) == 1  # nothing re-posted
    [update] = bot.slack.updates(ALERTS)
    assert update["ts"] == summary["ts"]
    text = shown(update)
    assert "18 pools need attention* (2 of 20 resolved since)" in text
    assert "~e001 agent~ resolved 2026-11-30: e001 agent is back within its 10 seats" in text
    assert "~e001 wfo~ resolved" in text and "*e000 wfo* `6/1`" in text
    async with bot.db.read() as tx:
        assert len(await tx.alerts.open(job="limits")) == 18

    bot.clock.advance(hours=1)
    assert await run(bot, "limits") == []
    assert len(bot.slack.updates(ALERTS)) == 1


async def test_a_handful_of_pools_still_get_a_message_each(
    make_bot: BotFactory, tmp_path: Path
) -> None:
    bot = await many_pools(make_bot, tmp_path, 1)
    async with bot.db.transaction() as tx:  # only three pools over
        for item in ("wfo", "qm", "insights", "analytics", "chat", "social", "voice"):
            await tx.pools.set("e000", item, "module", 100 if item != "wfo" else 1, None, START)
        await tx.pools.set("e000", "agent", "seat", 100, None, START)
    await run(bot, "limits")
    posted = alerts(bot)
    assert len(posted) == 3
    assert all("is over its limit" in shown(m) for m in posted)
