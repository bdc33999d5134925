"""Which situations alert (pure domain), and alert messages within Slack's limits
whatever the data (50 blocks, Block Kit text lengths: slack_sdk validates the latter)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.blocks.base import MAX_BLOCKS
from bot.blocks.templates import render
from bot.jobs import runner  # noqa: F401 - registers the alert templates
from bot.licensing.alerts import pool_situations, trial_situation
from bot.licensing.messages import decode_message
from bot.licensing.policy import Policy, PoolState, Trial

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POLICY = Policy()


def kinds(pool: PoolState, now: datetime = NOW) -> list[str]:
    return [s.kind for s in pool_situations(pool, now, POLICY)]


def test_pool_situations_over_grace_and_nearly_full() -> None:
    since = NOW - timedelta(days=10)
    over = PoolState("premium", "agent", 100, 105, over_since=since)
    assert kinds(over) == ["over"]
    assert kinds(over, since + timedelta(days=27) - timedelta(seconds=1)) == ["over"]
    assert kinds(over, since + timedelta(days=27)) == ["over", "grace-ending"]
    assert kinds(over, since + timedelta(days=30)) == ["over", "grace-ended"]
    [situation] = pool_situations(over, NOW, POLICY)
    assert situation.period == since.isoformat()
    assert situation.facts["grace_ends"] == (since + timedelta(days=30)).isoformat()
    assert kinds(PoolState("premium", "agent", 100, 95)) == ["nearly-full"]
    assert kinds(PoolState("premium", "agent", 100, 94)) == []
    assert kinds(PoolState("premium", "agent", 100, 100)) == ["nearly-full"]
    assert kinds(PoolState("premium", "agent", 0, 0)) == []


def test_trial_situation_by_day() -> None:
    trial = Trial(date(2026, 11, 20))
    by_day = {
        n: trial_situation(trial, date(2026, 11, 19) + timedelta(days=n), POLICY)
        for n in range(1, 17)
    }
    assert [n for n, s in by_day.items() if s and s.kind == "reminder"] == [12, 13, 14]
    assert [n for n, s in by_day.items() if s and s.kind == "expired"] == [15, 16]
    assert by_day[12] is not None and by_day[12].facts["days_left"] == 2
    converted = Trial(date(2026, 11, 20), converted_at=NOW)
    assert trial_situation(converted, date(2026, 12, 1), POLICY) is None
    assert trial_situation(None, date(2026, 12, 1), POLICY) is None


def test_digest_of_3000_pools_stays_within_limits() -> None:
    pools = [
        {
            "pool": f"edition{i:04d} supervisor",
            "used": i,
            "purchased": 2000,
            "utilization": i / 2000,
            "band": "over-provisioned",
            "idle": 2000 - i,
            "idle_cost": "12345.00",
        }
        for i in range(3000)
    ]
    data = {
        "month": "2026-12",
        "as_of": NOW.isoformat(),
        "low": 0.8,
        "high": 0.95,
        "pools": pools,
        "idle_cost": "12345000.00",
        "active": 10,
        "inactive": 2,
        "modules": [{"module": "wfo", "holders": 1, "eligible": 10}],
    }
    message = render("digest", None, decode_message("digest", data), UTC)
    payload = message.payload()  # slack_sdk validates every block here
    assert len(payload["blocks"]) <= MAX_BLOCKS
    assert "more pools" in str(payload["blocks"]) and "…and 2970 more" in str(payload["blocks"])


def test_inactive_summary_with_long_names_stays_within_limits() -> None:
    rows = [
        {
            "id": i,
            "name": "N" * 200,
            "email": f"{'e' * 200}{i}@example.com",
            "user": None,
            "seat": "premium supervisor +wfo +qm +insights +analytics +chat +social",
            "last": NOW.isoformat(),
            "never": False,
            "days": 400,
        }
        for i in range(20)
    ]
    data = {
        "total": 100_000,
        "inactive_days": 30,
        "as_of": NOW.isoformat(),
        "seats": [{"pool": f"edition{i} agent", "count": 1000} for i in range(10)],
        "pools": 200,
        "monthly_cost": "9999999.99",
        "unpriced": 5,
        "rows": rows,
    }
    payload = render(
        "inactive_summary", None, decode_message("inactive_summary", data), UTC
    ).payload()
    assert len(payload["blocks"]) <= MAX_BLOCKS
    assert sum(1 for b in payload["blocks"] if b["type"] == "actions") == 20
    resolved = render(
        "limits_alert",
        None,
        decode_message(
            "limits_alert",
            {
                "kind": "nearly-full",
                "pool": "premium agent",
                "used": 99,
                "purchased": 100,
                "left": 1,
                "utilization": 0.99,
                "high": 0.95,
                "resolved": {"at": NOW.isoformat(), "text": "premium agent is below 95% again"},
            },
        ),
        UTC,
    ).payload()
    assert "Resolved" in resolved["blocks"][0]["text"]["text"]
