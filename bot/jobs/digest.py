"""`digest` (monthly, the 1st at 09:00): utilization per pool against the target band,
over-provisioned pools and their idle monthly cost, the inactive share, module adoption."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot.jobs.base import JobContext, Outgoing, money, price_of
from bot.licensing.messages import Digest, DigestPool, MessageKind, ModuleAdoption
from bot.licensing.policy import Band, inactive_since_cutoff, utilization_band
from bot.services.alerts import AlertSpec

JOB = "digest"
TEMPLATE = MessageKind.DIGEST


async def digest_job(ctx: JobContext) -> list[Outgoing]:
    now, policy, catalog = ctx.clock.now(), ctx.policy, ctx.rules.catalog
    # A digest covers a finished month: the one before the month of `now` (local), keyed
    # by it so that it goes out once, on the 1st or at the first run after it.
    month = (ctx.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    # The figures from a read snapshot: the inactive scan holds no write lock.
    async with ctx.db.read() as tx:
        pools = await tx.pools.all_states()
        prices = await tx.activity.prices()
        inactive = await tx.activity.inactive_summary(
            inactive_since_cutoff(now, policy), now, limit=0
        )
        by_edition = await tx.reports.active_by_edition()
        holders = await tx.reports.module_holders()
        rows, idle_cost = [], Decimal(0)
        for pool in pools:
            band = utilization_band(pool, policy)
            price = price_of(ctx.rules, prices, pool.edition, pool.item)
            idle, cost = None, None
            if band is Band.OVER_PROVISIONED:
                idle = pool.available
                if price is not None:
                    cost = money(price * pool.available)
                    idle_cost += price * pool.available
            rows.append(
                DigestPool(
                    pool=pool.label,
                    used=pool.used,
                    purchased=pool.purchased,
                    utilization=pool.utilization,
                    band=band.value,
                    idle=idle,
                    idle_cost=cost,
                )
            )
        active = sum(by_edition.values())
        modules = []
        for module in catalog.modules:
            offering = [e for e in catalog.editions.values() if module in e.modules]
            eligible = sum(by_edition.get(e.name, 0) for e in offering)
            held = sum(holders.get((e.name, module), 0) for e in offering)
            modules.append(ModuleAdoption(module=module, holders=held, eligible=eligible))
        data = Digest(
            month=month,
            as_of=now,
            low=policy.utilization_low,
            high=policy.utilization_high,
            pools=tuple(rows),
            idle_cost=money(idle_cost),
            active=active,
            inactive=inactive.total,
            modules=tuple(modules),
        )
    spec = AlertSpec(JOB, "monthly", "org", month, f"license digest for {month}")
    async with ctx.unit() as tx:
        out = await ctx.alert(tx, spec, TEMPLATE, data)
        if out is not None and not ctx.dry_run:
            # A digest informs; it is never "open" for anyone to act on.
            await tx.alerts.resolve(spec.key, now, "informational")
    return [out] if out is not None else []
