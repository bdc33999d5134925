"""`trial` (daily 09:00): the day-12 reminder and the expiry alert, once each per trial,
nothing once converted."""

from __future__ import annotations

from bot.jobs.base import JobContext, Outgoing
from bot.licensing.alerts import TRIAL_EXPIRED, trial_situation
from bot.licensing.messages import MessageKind
from bot.services.alerts import AlertSpec, supersede

JOB = "trial"
TEMPLATE = MessageKind.TRIAL_ALERT


async def trial_job(ctx: JobContext) -> list[Outgoing]:
    now = ctx.clock.now()
    async with ctx.unit() as tx:
        trial = await tx.trial.get()
        situation = trial_situation(trial, ctx.today(), ctx.policy)
        if trial is None or situation is None:
            return []
        active = await tx.assignments.count_active()
        facts = situation.trial_alert(active)
        if situation.kind == TRIAL_EXPIRED:
            summary = f"the trial ended on {facts.last_day}: convert to a paid plan"
        else:
            summary = f"trial day {facts.day}: {facts.days_left} days left"
        spec = AlertSpec(JOB, situation.kind, "trial", trial.start.isoformat(), summary)
        out = await ctx.alert(tx, spec, TEMPLATE, facts)
        if out is not None and situation.kind == TRIAL_EXPIRED and not ctx.dry_run:
            for reminder in await tx.alerts.open(job=JOB, kind="reminder"):
                await supersede(tx, reminder, "the trial expired", now)
    return [out] if out is not None else []
