"""APScheduler 3 inside `licensebot serve`: the jobs on their SPEC 3 schedules in
LICENSEBOT_TIMEZONE, and outbox delivery every DELIVER_SECONDS.

Missed periods: while running, APScheduler's `coalesce` + `misfire_grace_time=None` turn
any number of late fire times into one run. Across restarts the in-memory scheduler
remembers nothing, so the last run of each job is kept in the store (job_runs): at start,
a job whose scheduled time passed since its last run is made due now, once. Alert keys
make a run that repeats a period harmless.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.jobs.runner import JOBS, JobSpec, execute
from bot.metrics import JOB_RUNS

if TYPE_CHECKING:
    from bot.app import Service
    from bot.context import Deps

log = logging.getLogger(__name__)

DELIVER_SECONDS = 30
JOB_DEFAULTS = {"coalesce": True, "misfire_grace_time": None, "max_instances": 1}


def trigger_for(spec: JobSpec, tz: object, start: datetime | None = None) -> CronTrigger:
    return CronTrigger(timezone=tz, start_date=start, **spec.cron)


def next_run(spec: JobSpec, tz: object, after: datetime) -> datetime | None:
    """The first scheduled time strictly after `after`."""
    trigger = trigger_for(spec, tz, start=after + timedelta(seconds=1))
    return trigger.get_next_fire_time(None, after + timedelta(seconds=1))


def current_period(spec: JobSpec, tz: object, now: datetime) -> datetime | None:
    """The latest scheduled time at or before `now`: the period a run at `now` stands for."""
    window = timedelta(days=32) if "day" in spec.cron else timedelta(days=2)
    at = next_run(spec, tz, now - window)
    latest = None
    while at is not None and at <= now:
        latest = at
        at = next_run(spec, tz, at)
    return latest


def missed(spec: JobSpec, tz: object, since: datetime | None, now: datetime) -> bool:
    """A scheduled time fell after `since` (the last run, or when the job was first
    seen) and is already past."""
    if since is None:
        return False
    due = next_run(spec, tz, since)
    return due is not None and due <= now


async def run_scheduled(deps: Deps, *names: str) -> None:
    """What the scheduler runs: the job (or jobs, in order), then delivery. Never raises
    (logged instead)."""
    name = ", ".join(names)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        # Paced (bot/ack_first.py): requests arriving meanwhile are acked first.
        result = await deps.ack_first.paced(execute(deps, list(names), deliver=False))
        ran = loop.time() - started
        delivery = result.delivery = await deps.ack_first.paced(deps.deliverer.flush())
    except Exception:
        log.exception("scheduled job %s failed", name)
        return
    failed = "; ".join(f"{job}: {why}" for job, why in result.failed.items())
    log.info(
        "job %s: %d messages, run in %.1f s, delivered in %.1f s%s%s",
        name,
        len(result.messages),
        ran,
        loop.time() - started - ran,
        f", {delivery.failed} not delivered yet" if delivery.failed else "",
        f", failed: {failed}" if failed else "",
    )


async def deliver(deps: Deps) -> None:
    try:
        await deps.ack_first.paced(deps.deliverer.flush())
    except Exception:
        log.exception("outbox delivery failed")


@dataclass
class JobScheduler:
    """The running scheduler; `shutdown(wait=False)` stops it (serve does)."""

    deps: Deps
    scheduler: AsyncIOScheduler
    caught_up: list[str] = field(default_factory=list)
    catch_up: asyncio.Task[list[str]] | None = None
    # Names of the scheduled runs that finished, in order: tests wait on it, no sleeping.
    finished: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    # The job runs in progress: a stop waits for them to finish (drain).
    running: set[asyncio.Task[Any]] = field(default_factory=set)

    async def run(self, name: str) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.running.add(task)
        try:
            if await self._claim(name):
                JOB_RUNS.labels(job=name, outcome="ran").inc()
                await run_scheduled(self.deps, name)
            else:
                JOB_RUNS.labels(job=name, outcome="skipped").inc()
        finally:
            if task is not None:
                self.running.discard(task)
            self.finished.put_nowait(name)

    def run_now(self) -> asyncio.Task[None]:
        """Every scheduled job once, now, in this process, then delivery: `licensebot jobs
        run` inside `serve` (SIGUSR1 asks for it). Unclaimed: like the command, it runs
        whatever period the scheduler has or has not run."""
        names = [job.id for job in self.scheduler.get_jobs() if job.id in JOBS]

        async def run_all() -> None:
            task = asyncio.current_task()
            if task is not None:
                self.running.add(task)
            try:
                for name in names:
                    JOB_RUNS.labels(job=name, outcome="ran").inc()
                await run_scheduled(self.deps, *names)
            finally:
                if task is not None:
                    self.running.discard(task)
                self.finished.put_nowait("now")

        log.info("running every job now: %s", ", ".join(names))
        return asyncio.get_running_loop().create_task(run_all())

    @property
    def is_running(self) -> bool:
        return bool(self.scheduler.running)

    async def drain(self, within: float) -> bool:
        """Stop starting runs, and wait up to `within` seconds for the running ones to finish;
        True when none is left running."""
        self.shutdown(wait=False)
        pending = [t for t in self.running if not t.done()]
        if not pending:
            return True
        _, left = await asyncio.wait(pending, timeout=within)
        return not left

    async def _claim(self, name: str) -> bool:
        """Each period of a job runs on exactly one process (replica): the one that claims
        (job, period) first. Alert keys already make a repeated period harmless; the claim
        spares the repeated work and the repeated log lines."""
        from bot.store.outbox import lease_owner

        deps = self.deps
        period = current_period(JOBS[name], deps.rules.tz, deps.clock.now())
        if period is None:
            return True
        try:
            mine = await deps.db.claim_period(name, period.isoformat(), lease_owner())
        except Exception:
            log.exception("job %s: could not claim its period; running it anyway", name)
            return True
        if not mine:
            log.info("job %s: period %s already run by another replica", name, period)
        return mine

    def shutdown(self, wait: bool = False) -> None:
        if self.catch_up is not None and not self.catch_up.done():
            self.catch_up.cancel()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)

    async def _catch_up(self) -> list[str]:
        """Make every job whose period was missed while the bot was down due now."""
        deps, tz = self.deps, self.deps.rules.tz
        now = deps.clock.now()
        async with deps.db.transaction() as tx:
            for name in JOBS:
                await tx.job_runs.seen(name, now)
            runs = await tx.job_runs.all()
        for name, spec in JOBS.items():
            run = runs.get(name)
            since = (run.last_run_at or run.first_seen_at) if run else None
            if missed(spec, tz, since, now) and self.scheduler.get_job(name) is not None:
                log.info("job %s missed a run since %s: running it now", name, since)
                self.scheduler.modify_job(name, next_run_time=now)
                self.caught_up.append(name)
        return self.caught_up


def start_scheduler(service: Service) -> JobScheduler:
    """Start the jobs and delivery inside the running event loop (`licensebot serve`)."""
    deps = service.deps
    tz = deps.rules.tz
    scheduler = AsyncIOScheduler(timezone=tz, job_defaults=JOB_DEFAULTS)
    handle = JobScheduler(deps, scheduler)
    for name, spec in JOBS.items():
        if name == "genesys" and getattr(deps, "genesys", None) is None:
            continue  # ledger-only mode (SPEC 8): scheduled only when Genesys is set
        scheduler.add_job(handle.run, trigger_for(spec, tz), args=(name,), id=name, name=name)
    scheduler.add_job(
        deliver,
        "interval",
        seconds=DELIVER_SECONDS,
        args=(deps,),
        id="deliver",
        name="deliver",
    )
    scheduler.start()
    handle.catch_up = asyncio.get_running_loop().create_task(handle._catch_up())
    return handle
