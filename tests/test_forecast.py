"""The forecast: pure on known series, then from the store's last 30 days in `/license pool`."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from conftest import ADMIN, START, Bot
from flows import set_pool

from bot.licensing.forecast import forecast

TODAY = date(2026, 11, 30)


def test_known_series_runs_out_and_buffer() -> None:
    # 100 bought, 80 used; 15 taken and 3 given back in 30 days: +12, 0.4 a day.
    fc = forecast(100, 80, 15, 3, TODAY)
    assert fc.net == 12 and fc.per_day == pytest.approx(0.4)
    assert fc.runs_out_on == TODAY + timedelta(days=50)  # 20 seats at 0.4 a day
    # Demand in 30 more days: 92; +10 % = 101.2 -> 102, +15 % = 105.8 -> 106.
    assert (fc.buy_low, fc.buy_high) == (2, 6)
    assert fc.describe() == "runs out 2027-01-19 (+12 in 30 days); buy 2–6 for a 10–15 % buffer"


def test_shrinking_or_flat_pool_does_not_run_out() -> None:
    for added, removed in ((3, 5), (4, 4), (0, 0)):
        fc = forecast(100, 50, added, removed, TODAY)
        assert fc.runs_out_on is None and fc.runs_out() == "not at this rate"
        assert (fc.buy_low, fc.buy_high) == (0, 0)
        assert fc.buy() == "10–15 % buffer kept"


def test_full_pool_is_out_now_and_buffer_is_exact() -> None:
    fc = forecast(100, 100, 0, 0, TODAY)
    assert fc.out_now and fc.runs_out_on == TODAY and fc.runs_out() == "out of seats now"
    assert (fc.buy_low, fc.buy_high) == (10, 15)  # 110 and 115 exactly, no float drift


def test_rounding_up_to_the_first_full_day() -> None:
    fc = forecast(10, 0, 9, 0, TODAY)  # 0.3 a day, 10 seats: 33.3 days
    assert fc.runs_out_on == TODAY + timedelta(days=34)
    one = forecast(10, 9, 1, 0, TODAY)
    assert one.runs_out_on == TODAY + timedelta(days=30)
    assert one.buy() == "buy 1–2 for a 10–15 % buffer"  # demand 10: 11 and 11.5 -> 12


def test_a_large_pool_filling_slowly_does_not_run_out_at_this_rate() -> None:
    # 100,000 seats left at +1 in 30 days: 3,000,000 days, past the last date there is.
    slow = forecast(100_000, 0, 1, 0, TODAY)
    assert slow.runs_out_on is None
    assert slow.describe().startswith("not at this rate (+1 in 30 days)")
    last = forecast(1, 0, 1, 0, date.max - timedelta(days=30))  # the last date there is
    assert last.runs_out_on == date.max


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError):
        forecast(1, 0, 1, 0, TODAY, window_days=0)


async def test_pool_shows_the_forecast_from_the_last_30_days(bot: Bot) -> None:
    bot.clock.set(START - timedelta(days=40))
    await set_pool(bot, "premium agent 10")
    await bot.command("assign old@example.com agent premium", user=ADMIN)  # outside the window
    bot.clock.set(START - timedelta(days=20))
    for name in ("a", "b"):
        await bot.command(f"assign {name}@example.com agent premium", user=ADMIN)
    bot.clock.set(START - timedelta(days=10))
    for name in ("c", "d", "e", "f"):
        await bot.command(f"assign {name}@example.com agent premium", user=ADMIN)
    bot.clock.set(START - timedelta(days=5))
    await bot.command("revoke a@example.com", user=ADMIN)
    bot.clock.set(START)

    shown = await bot.command("pool", user=ADMIN)
    # 6 used of 10; +6 -1 = +5 in 30 days; 4 left at 1/6 a day: 24 days. Demand 11:
    # 12.1 -> 13 and 12.65 -> 13, so buy 3.
    assert "`6/10`" in shown.text
    assert "runs out 2026-12-24 (+5 in 30 days); buy 3 for a 10–15 % buffer" in shown.text


async def test_pool_lists_a_large_pool_filling_slowly(bot: Bot) -> None:
    await set_pool(bot, "premium agent 100000")
    await bot.command("assign slow@example.com agent premium", user=ADMIN)

    shown = await bot.command("pool", user=ADMIN)
    # It failed ("Something went wrong") when the date it runs out was past year 9999.
    assert "`1/100000`" in shown.text
    assert "not at this rate (+1 in 30 days)" in shown.text
