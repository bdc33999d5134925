"""When does a pool run out at the current rate, and how many seats keep a growth buffer?

Pure: the caller gives the pool's counts and the seats taken (approvals, assignments) and
given back (revocations) over the last `window_days`. The rate is their net per day; the
pool runs out when that rate has used up the seats still available. The seats to buy keep
a 10–15 % growth buffer over the demand one more window at the same rate would bring.
Integer arithmetic throughout, so 100 seats + 10 % is 110 and never 111.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

WINDOW_DAYS = 30
BUFFER_PERCENT = (10, 15)


@dataclass(frozen=True)
class Forecast:
    purchased: int
    used: int
    added: int  # seats taken in the window
    removed: int  # seats given back in the window
    window_days: int
    runs_out_on: date | None  # None: not at this rate
    buy_low: int  # seats to buy for the low end of the buffer
    buy_high: int  # ... and for the high end
    buffer: tuple[int, int] = BUFFER_PERCENT

    @property
    def net(self) -> int:
        return self.added - self.removed

    @property
    def out_now(self) -> bool:
        return self.used >= self.purchased

    @property
    def per_day(self) -> float:
        return self.net / self.window_days

    def trend(self) -> str:
        return f"{self.net:+d} in {self.window_days} days"

    def runs_out(self) -> str:
        if self.out_now:
            return "out of seats now"
        if self.runs_out_on is None:
            return "not at this rate"
        return f"runs out {self.runs_out_on.isoformat()}"

    def buy(self) -> str:
        low, high = self.buffer
        if self.buy_high == 0:
            return f"{low}–{high} % buffer kept"
        seats = (
            str(self.buy_high)
            if self.buy_low == self.buy_high
            else f"{self.buy_low}–{self.buy_high}"
        )
        return f"buy {seats} for a {low}–{high} % buffer"

    def describe(self) -> str:
        """One line: "runs out 2026-12-20 (+12 in 30 days); buy 3–5 for a 10–15 % buffer"."""
        return f"{self.runs_out()} ({self.trend()}); {self.buy()}"


def forecast(
    purchased: int,
    used: int,
    added: int,
    removed: int,
    today: date,
    *,
    window_days: int = WINDOW_DAYS,
    buffer: tuple[int, int] = BUFFER_PERCENT,
) -> Forecast:
    if window_days <= 0:
        raise ValueError("window_days must be positive")
    net = added - removed
    available = purchased - used
    runs_out_on: date | None
    if available <= 0:
        runs_out_on = today
    elif net <= 0:
        runs_out_on = None
    else:
        # available / (net / window) days, rounded up to the first whole day it is full.
        days = _ceil_div(available * window_days, net)
        # A large pool filling slowly runs out past the last date there is (100,000 seats
        # at +1 a month is 8,000 years): that is "not at this rate", not an error.
        runs_out_on = today + timedelta(days=days) if days <= (date.max - today).days else None
    demand = used + max(net, 0)
    low, high = buffer
    buy_low = max(0, _ceil_div(demand * (100 + low), 100) - purchased)
    buy_high = max(0, _ceil_div(demand * (100 + high), 100) - purchased)
    return Forecast(
        purchased, used, added, removed, window_days, runs_out_on, buy_low, buy_high, buffer
    )


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)
