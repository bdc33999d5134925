"""The scheduler inside `licensebot serve`: the SPEC 3 schedules in LICENSEBOT_TIMEZONE,
delivery on an interval, periods missed while down run once at start, and a dry run
that shows exactly what the scheduled job posts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from alerting import alerts, assign, payload, run
from conftest import ADMIN, START, Bot
from flows import set_pool

from bot.jobs.runner import JOBS
from bot.jobs.scheduler import JobScheduler, missed, start_scheduler


@pytest.fixture
async def scheduled(bot: Bot) -> AsyncIterator[tuple[Bot, JobScheduler]]:
    handle = start_scheduler(bot.service)
    try:
        yield bot, handle
    finally:
        handle.shutdown(wait=False)
        if handle.catch_up is not None:
            await asyncio.gather(handle.catch_up, return_exceptions=True)


async def over_limit(bot: Bot) -> None:
    await set_pool(bot, "standard agent 1")
    await assign(bot, "one@example.com agent standard")
    await assign(bot, "two@example.com agent standard")


async def test_jobs_and_delivery_are_scheduled_in_the_configured_zone(make_bot) -> None:  # noqa: ANN001
    bot = await make_bot(timezone="Europe/Berlin")
    handle = start_scheduler(bot.service)
    try:
        await handle.catch_up
        jobs = {job.id: job for job in handle.scheduler.get_jobs()}
        assert set(jobs) == {
            "limits",
            "trial",
            "inactive",
            "requests",
            "digest",
            "expiring",
            "deliver",
        }
        # `genesys` is scheduled only when Genesys Cloud is set (test_genesys_settings.py)
        fields = {n: {f.name: str(f) for f in jobs[n].trigger.fields} for n in JOBS if n in jobs}
        assert fields["limits"]["minute"] == "0" and fields["limits"]["hour"] == "*"
        assert (fields["trial"]["hour"], fields["trial"]["minute"]) == ("9", "0")
        assert (fields["inactive"]["hour"], fields["inactive"]["minute"]) == ("9", "0")
        assert (fields["expiring"]["hour"], fields["expiring"]["minute"]) == ("9", "0")
        assert fields["digest"]["day"] == "1" and fields["digest"]["hour"] == "9"
        assert str(jobs["trial"].trigger.timezone) == "Europe/Berlin"
        assert jobs["deliver"].trigger.interval == timedelta(seconds=30)
        assert all(job.coalesce and job.misfire_grace_time is None for job in jobs.values())
    finally:
        handle.shutdown(wait=False)


async def test_dry_run_shows_exactly_what_the_scheduled_job_posts(scheduled) -> None:  # noqa: ANN001
    bot, handle = scheduled
    await over_limit(bot)
    await set_pool(bot, "premium agent 10")
    bot.clock.set(START - timedelta(days=40))
    await assign(bot, "<@U07NINA|nina> agent premium")
    bot.clock.set(START)

    dry = await run(bot, "limits", "inactive", dry_run=True)
    assert [m.target for m in dry] == ["channel", "channel", "dm"]  # over; summary; DM
    assert alerts(bot) == []
    await handle.run("limits")  # what the scheduler calls at :00
    await handle.run("inactive")  # and at 09:00

    posted = [payload(m) for m in alerts(bot)]
    dm = [payload(m) for m in bot.slack.messages("DU07NINA")]
    assert posted + dm == [m.payload() for m in dry if m.target in ("channel", "dm")]
    assert [m.channel for m in dry if m.target == "channel"] == [m["channel"] for m in alerts(bot)]


async def test_missed_period_runs_once_at_start_and_not_after_a_restart(make_bot) -> None:  # noqa: ANN001
    bot = await make_bot()
    await bot.command("trial start 2026-11-19", user=ADMIN)  # START is day 12
    async with bot.db.transaction() as tx:  # the bot last ran the trial job two days ago
        await tx.job_runs.record("trial", START - timedelta(days=2), ok=True, status="ok", count=0)
    handle = start_scheduler(bot.service)
    try:
        assert await handle.catch_up == ["trial"]
        assert await asyncio.wait_for(handle.finished.get(), 30) == "trial"
    finally:
        handle.shutdown(wait=False)
    [reminder] = alerts(bot)
    assert "2 days left" in reminder["text"]
    async with bot.db.read() as tx:
        runs = await tx.job_runs.all()
    assert runs["trial"].last_run_at == START
    assert all(runs[name].first_seen_at is not None for name in JOBS)

    again = start_scheduler(bot.service)  # a restart the same day: nothing was missed
    try:
        assert await again.catch_up == []
    finally:
        again.shutdown(wait=False)
    assert len(alerts(bot)) == 1


def test_missed_means_a_scheduled_time_passed_since_the_last_run() -> None:
    tz = UTC
    daily, hourly = JOBS["trial"], JOBS["limits"]
    at_9 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert not missed(daily, tz, None, at_9)
    assert not missed(daily, tz, at_9, at_9 + timedelta(hours=23))
    assert missed(daily, tz, at_9, at_9 + timedelta(days=1))
    assert missed(daily, tz, at_9 - timedelta(minutes=1), at_9)
    assert not missed(hourly, tz, at_9, at_9 + timedelta(minutes=59))
    assert missed(hourly, tz, at_9, at_9 + timedelta(hours=1))
    assert missed(JOBS["digest"], tz, at_9, datetime(2027, 1, 1, 9, 0, tzinfo=UTC))
    assert not missed(JOBS["digest"], tz, at_9, datetime(2026, 12, 31, 23, 0, tzinfo=UTC))


async def test_run_now_runs_every_scheduled_job_in_the_process(scheduled) -> None:  # noqa: ANN001
    """SIGUSR1 in `serve` (bot/serve.py): every job the scheduler has, now, then delivery,
    as `licensebot jobs run` does; the scheduled runs keep their own periods."""
    bot, handle = scheduled
    await over_limit(bot)
    await handle.catch_up
    await handle.run_now()
    assert await asyncio.wait_for(handle.finished.get(), 30) == "now"
    over, digest = (a["text"] for a in alerts(bot))  # limits, and the digest runs too
    assert over == ":rotating_light: standard agent is over its limit: `2/1`, 1 over"
    assert digest.startswith("License digest")
    async with bot.db.read() as tx:
        runs = await tx.job_runs.all()
    assert {n for n, r in runs.items() if r.last_run_at == START} == set(JOBS) - {"genesys"}
