"""Admin commands on pools and seats: `pool`, `pool set`, `assign`, `revoke`."""

from __future__ import annotations

from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.blocks.admin import assigned_reply, pool_set_reply, pools_message, revoked_reply
from bot.commands.common import handles, reply, reply_error
from bot.commands.genesys import genesys_outcome
from bot.context import Deps
from bot.licensing.commands import Assign, Revoke, SetPool, ShowPools
from bot.services import queries
from bot.services.seats import assign_seat, revoke_seat, set_pool
from bot.slack import PersonNotFound, resolve_person


@handles(ShowPools)
async def show_pools(deps: Deps, command: ShowPools, body: dict, respond: AsyncRespond) -> None:
    now = deps.clock.now()
    shown = await queries.pools(deps.db, deps.rules.catalog, now, deps.rules.tz)
    pools, forecasts = shown.states, shown.forecasts
    await reply(
        respond,
        pools_message(pools, deps.rules.policy, now, deps.rules.tz, forecasts),
    )


@handles(SetPool)
async def change_pool(deps: Deps, command: SetPool, body: dict, respond: AsyncRespond) -> None:
    now = deps.clock.now()
    before, after = await set_pool(
        deps.db,
        deps.rules,
        edition=command.edition,
        item=command.item,
        seats=command.seats,
        price=command.price,
        admin_id=body["user_id"],
        now=now,
    )
    await reply(
        respond,
        pool_set_reply(before, after, deps.rules.policy, now, deps.rules.tz),
    )


@handles(Assign)
async def assign(deps: Deps, command: Assign, body: dict, respond: AsyncRespond) -> None:
    try:
        person = await resolve_person(deps.client, command.request.person)
    except PersonNotFound as error:
        await reply_error(respond, str(error))
        return
    assert person.email
    assigned = await assign_seat(
        deps.db,
        deps.rules,
        command.request,
        email=person.email,
        name=person.name or person.email,
        slack_user_id=person.slack_user_id,
        admin_id=body["user_id"],
        now=deps.clock.now(),
    )
    await deps.deliver()  # the Genesys Cloud side queued with the seat
    message = assigned_reply(assigned.assignment, assigned.impact, deps.rules.tz)
    await genesys_outcome(deps, message, assigned.assignment.id)
    await reply(respond, message)


@handles(Revoke)
async def revoke(deps: Deps, command: Revoke, body: dict, respond: AsyncRespond) -> None:
    person = command.person
    revoked = await revoke_seat(
        deps.db,
        email=person.email,
        slack_user_id=person.slack_user_id,
        actor=body["user_id"],
        now=deps.clock.now(),
    )
    await deps.deliver()  # the Genesys Cloud side queued with the revocation
    message = revoked_reply(revoked)
    await genesys_outcome(deps, message, revoked.id)
    await reply(respond, message)
