"""The job registry and the one way jobs are run: by the scheduler, by `licensebot jobs
run`, by tests and benchmarks.

    messages = await run_jobs(deps, ["limits", "inactive"], dry_run=True)

runs the jobs as of `deps.clock.now()` and returns the messages they send (or, with
`dry_run`, would send: nothing is written), rendered exactly as they are posted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from bot.blocks.templates import render
from bot.delivery import DeliveryReport
from bot.jobs.base import JobContext, Outgoing
from bot.jobs.digest import digest_job
from bot.jobs.expiring import expiring_job
from bot.jobs.genesys import genesys_job
from bot.jobs.inactive import inactive_job
from bot.jobs.limits import limits_job
from bot.jobs.requests import requests_job
from bot.jobs.trial import trial_job

if TYPE_CHECKING:
    from bot.context import Deps

log = logging.getLogger(__name__)

JobFunction = Callable[[JobContext], Awaitable[list[Outgoing]]]


@dataclass(frozen=True)
class JobSpec:
    name: str
    run: JobFunction
    cron: dict[str, Any]  # APScheduler CronTrigger fields, in LICENSEBOT_TIMEZONE
    schedule: str  # the same, for people


HOURLY = {"minute": 0}
DAILY_9 = {"hour": 9, "minute": 0}
JOBS: dict[str, JobSpec] = {
    spec.name: spec
    for spec in (
        JobSpec("limits", limits_job, HOURLY, "hourly at :00"),
        JobSpec("trial", trial_job, DAILY_9, "daily 09:00"),
        JobSpec("inactive", inactive_job, DAILY_9, "daily 09:00"),
        JobSpec("requests", requests_job, HOURLY, "hourly at :00"),
        JobSpec("digest", digest_job, {"day": 1, **DAILY_9}, "monthly, 1st 09:00"),
        JobSpec("expiring", expiring_job, DAILY_9, "daily 09:00"),
        JobSpec("genesys", genesys_job, HOURLY, "hourly at :00 (when Genesys is set)"),
    )
}


@dataclass(frozen=True)
class Rendered:
    """A message as Slack gets it, and where it goes."""

    job: str
    target: str  # channel | dm | thread | card | update
    key: str | None
    channel: str | None
    user_id: str | None
    text: str
    blocks: list[dict[str, Any]]

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}

    def to_json(self) -> str:
        return json.dumps(
            {
                "job": self.job,
                "target": self.target,
                "channel": self.channel,
                "user": self.user_id,
                "key": self.key,
                "text": self.text,
                "blocks": self.blocks,
            },
            ensure_ascii=False,
        )


@dataclass
class RunResult:
    messages: list[Rendered] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # job -> what went wrong
    delivery: DeliveryReport | None = None


class JobsFailed(Exception):
    def __init__(self, failed: dict[str, str]) -> None:
        super().__init__("; ".join(f"job {name} failed: {why}" for name, why in failed.items()))
        self.failed = failed


def rendered(message: Outgoing, tz: tzinfo) -> Rendered:
    payload = render(message.template, message.request, message.payload, tz).payload()
    return Rendered(
        message.job,
        message.target,
        message.key,
        message.channel,
        message.user_id,
        payload["text"],
        payload["blocks"],
    )


async def execute(
    deps: Deps,
    names: Iterable[str] | None = None,
    *,
    dry_run: bool = False,
    deliver: bool = True,
) -> RunResult:
    """Run the jobs (all when `names` is empty) in order, then deliver what they queued.
    A failing job is logged and reported; the others still run."""
    chosen = list(names or JOBS)
    unknown = [n for n in chosen if n not in JOBS]
    if unknown:
        raise ValueError(f"unknown job {unknown[0]!r}: choose from {', '.join(JOBS)}")
    ctx = JobContext.from_deps(deps, dry_run=dry_run)
    result = RunResult()
    for name in chosen:
        at = ctx.clock.now()
        try:
            sent = await JOBS[name].run(ctx)
        except Exception as error:  # one job's failure must not stop the others
            log.exception("job %s failed", name)
            result.failed[name] = f"{type(error).__name__}: {error}"
            if not dry_run:
                await _record(deps, name, at, ok=False, status=result.failed[name], count=0)
            continue
        if not dry_run:
            await _record(deps, name, at, ok=True, status="ok", count=len(sent))
        result.messages += [rendered(m, deps.rules.tz) for m in sent]
    if not dry_run and deliver:
        result.delivery = await deps.deliverer.flush()
    return result


async def run_jobs(
    deps: Deps, names: Iterable[str] | None = None, *, dry_run: bool = False
) -> list[Rendered]:
    """Run jobs as of deps.clock; the messages sent (or, dry, that would be). Raises
    JobsFailed when a job failed."""
    result = await execute(deps, names, dry_run=dry_run)
    if result.failed:
        raise JobsFailed(result.failed)
    return result.messages


async def _record(deps: Deps, name: str, at: Any, *, ok: bool, status: str, count: int) -> None:
    async with deps.db.transaction() as tx:
        await tx.job_runs.record(name, at, ok=ok, status=status, count=count)
