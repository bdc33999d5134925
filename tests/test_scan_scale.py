"""The `limits` and `inactive` jobs over many seats (20,000 in CI, 1,000,000 with
LICENSEBOT_SLOW_TESTS=1): the alerts are the pools in trouble, each once, and the inactive
holders are one summary message within Slack's limits, however many there are."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from conftest import ALERTS, START, BotFactory
from slow import size

from bot.jobs.runner import run_jobs
from bot.licensing.policy import utilization_band
from bot.store.assignments import NewSeat

SEATS = ("agent", "supervisor", "executive")
BATCH = 50_000


async def test_a_scan_of_many_seats_alerts_each_pool_once_in_one_summary(
    make_bot: BotFactory,
) -> None:
    bot = await make_bot()
    count = size(20_000, 1_000_000)
    pools = [(e, s) for e in ("premium", "standard", "partner") for s in SEATS]
    held: Counter[tuple[str, str]] = Counter()
    idle = 0
    for start in range(0, count, BATCH):
        batch = []
        for n in range(start, min(count, start + BATCH)):
            edition, seat_type = pools[n % len(pools)]
            quiet = n % 7 == 0  # one in seven idle for 40 days
            idle += quiet
            held[(edition, seat_type)] += 1
            batch.append(
                NewSeat(
                    email=f"s{n}@example.com",
                    name=f"S {n}",
                    edition=edition,
                    seat_type=seat_type,
                    assigned_at=START - timedelta(days=90),
                    last_active_at=START - timedelta(days=40 if quiet else 1),
                    slack_user_id=f"U{n}" if n % 2 else None,
                )
            )
        async with bot.db.transaction() as tx:
            await tx.assignments.add_many(batch)
    async with bot.db.transaction() as tx:
        for i, (edition, seat_type) in enumerate(pools):
            seats = held[(edition, seat_type)]
            purchased = seats + (-3, 0, seats)[i % 3]  # over, full, half used
            await tx.pools.set(edition, seat_type, "seat", purchased, None, START)
            await tx.pools.refresh_overage(edition, seat_type, START)
        states = await tx.pools.all_states()

    messages = await run_jobs(bot.deps, ["limits", "inactive"], dry_run=True)

    troubled = [
        p
        for p in states
        if p.used > p.purchased or utilization_band(p, bot.deps.rules.policy).value == "nearly full"
    ]
    limits = [m for m in messages if m.job == "limits"]
    assert len(troubled) == 6  # past a handful: one summary, a line per pool (SPEC 7)
    [summary] = limits
    shown = str(summary.blocks)
    assert all(f"*{p.edition} {p.item}*" in shown for p in troubled)
    summaries = [m for m in messages if m.job == "inactive" and m.target == "channel"]
    assert len(summaries) == 1 and summaries[0].channel == ALERTS
    assert len(summaries[0].blocks) <= 50 and len(summaries[0].text) < 4000
    assert f"{idle:,}" in summaries[0].text + str(summaries[0].blocks)
    dms = [m for m in messages if m.target == "dm"]
    assert 0 < len(dms) <= 50
