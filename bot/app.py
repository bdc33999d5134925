"""Builds the Bolt app and its services; registers every listener."""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot import metrics
from bot.clock import Clock, SystemClock
from bot.commands import admin, alerts, approval, home, insight, request, router  # noqa: F401 - handlers register
from bot.commands import delivery as delivery_commands
from bot.commands import genesys as genesys_commands
from bot.commands.lifecycle import register as register_lifecycle
from bot.commands.pipeline import install_error_handler
from bot.context import Deps, Inflight
from bot.delivery import Deliverer
from bot.delivery.pacing import Pacer, post_rates
from bot.guard import ReplayGuard, SlackEndpoint, socket_event_guard, team_guard
from bot.health import Readiness, add_routes, bolt_middleware
from bot.licensing.catalog import load_catalog
from bot.services.ledger import Rules
from bot.settings import Settings
from bot.slack import AdminDirectory, BotAuthorization, make_client
from bot.store.db import Database

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


async def build_deps(settings: Settings, clock: Clock | None = None) -> Deps:
    clock = clock or SystemClock()
    catalog = load_catalog(settings.catalog)
    rules = Rules(settings.policy, catalog, settings.tz)
    db = await Database.open(settings.database)
    client = make_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    admins = AdminDirectory(client, clock, settings.admin_ids, settings.admin_group)
    deliverer = Deliverer(
        db,
        client,
        clock,
        rules,
        settings.approvals_channel,
        alerts_channel=settings.alerts_channel,
        pacer=Pacer(post_rates(settings.slack_post_rate)),
    )
    deps = Deps(settings, rules, db, client, clock, admins, Inflight(), deliverer)
    await db.pace_reads(deps.ack_first.pause_for)
    deliverer.serve_homes(deps)
    if settings.finance_group:
        deps.finance = AdminDirectory(client, clock, frozenset(), settings.finance_group)
    attach_genesys(deps)
    return deps


def attach_genesys(deps: Deps) -> None:
    """Genesys Cloud (SPEC 8): the client and the outbox's `genesys` target, when set."""
    from bot.genesys import make_client
    from bot.genesys.provision import Provisioner

    deps.genesys = make_client(deps.settings)
    if deps.genesys is not None:
        deps.deliverer.genesys = Provisioner(
            deps.db,
            deps.genesys,
            deps.rules.catalog,
            deps.clock,
            deps.settings.alerts_channel,
            deps.rules.tz,
        )


# Bolt reads these from the environment when it is not given them, and `SLACK_BOT_TOKEN`
# then collides with the client and `authorize` passed here ("As you gave `client` as well,
# `token` will be unused"): the settings have read them already, Bolt is given what it needs.
BOLT_ENV = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")


@contextmanager
def _without_env(*names: str) -> Iterator[None]:
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def build_app(
    deps: Deps, authorization: BotAuthorization | None = None, guard: ReplayGuard | None = None
) -> AsyncApp:
    secret = deps.settings.slack_signing_secret
    authorization = authorization or BotAuthorization(deps.client)
    # Bolt takes a client without a token together with `authorize`: the token comes from
    # the authorization, whose auth.test is taken once at start instead of on the first
    # request's ack path (Bolt's single-team default). Same session and retry handlers.
    bolt_client = copy.copy(deps.client)
    bolt_client.token = None
    with _without_env(*BOLT_ENV):
        app = AsyncApp(
            client=bolt_client,
            authorize=authorization.bolt_authorize(),
            signing_secret=secret.get_secret_value() if secret else "",
            # The listener pipeline (bot/commands/pipeline.py) acks, then works in a task
            # of its own: Bolt answers as soon as the listener has acked. Slack's own
            # retries of events find decided requests decided (compare-and-set).
            process_before_response=True,
        )
    app.use(bolt_middleware)  # metrics and log context first: counts what it sees
    # Only the workspace the token belongs to is served (HTTP and Socket Mode alike).
    app.middleware(team_guard(authorization.team_id))
    if guard is not None:  # Socket Mode: Slack's redelivery of an event has no effect
        app.middleware(socket_event_guard(guard))
    install_error_handler(app)  # app.error: what Bolt catches is reported like a listener's
    router.register(app, deps)
    request.register(app, deps)
    approval.register(app, deps)
    alerts.register(app, deps)
    home.register(app, deps)
    insight.register(app, deps)
    register_lifecycle(app, deps)
    genesys_commands.register(app, deps)
    delivery_commands.register(app, deps)
    return app


@dataclass
class Service:
    """The running pieces of `licensebot serve`, for the CLI and for tests."""

    deps: Deps
    app: AsyncApp
    authorization: BotAuthorization | None = None
    session: aiohttp.ClientSession | None = field(default=None, repr=False)
    guard: ReplayGuard | None = field(default=None, repr=False)
    readiness: Readiness = field(default_factory=Readiness)

    def web_app(self) -> web.Application:
        """HTTP: POST /slack/events (signed; junk, replays and forgeries refused before Bolt
        sees them), GET /healthz (200 once the store is open), GET /readyz and GET /metrics
        (bot/health.py)."""
        secret = self.deps.settings.slack_signing_secret
        if self.guard is None:
            self.guard = ReplayGuard(self.deps.db, self.deps.store_health)
        endpoint = SlackEndpoint(
            self.app,
            secret.get_secret_value() if secret else "",
            self.guard,
            self.deps.ack_first.arriving,
            metrics.ACK_SECONDS.labels(kind="http").observe,
        )
        web_app = web.Application()
        web_app.router.add_post(EVENTS_PATH, endpoint.handle)
        add_routes(web_app, self.deps, self.readiness)
        return web_app

    async def warm(self) -> None:
        """Take Bolt's auth.test now, not inside the first request's ack."""
        if self.authorization is not None:
            await self.authorization.warm()

    async def close(self) -> None:
        await self.deps.inflight.wait_idle()
        if self.guard is not None:
            await self.guard.close()
        if self.deps.genesys is not None:
            await self.deps.genesys.close()
        await self.deps.db.close()
        if self.session is not None:
            await self.session.close()


async def build_service(settings: Settings, clock: Clock | None = None) -> Service:
    deps = await build_deps(settings, clock)
    # One keep-alive session for every Web API call of the service: slack_sdk otherwise
    # opens a new session, and a new connection, per call, which costs the event loop
    # (and so every ack waiting on it) more than the call itself.
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=deps.client.timeout))
    deps.client.session = session
    authorization = BotAuthorization(deps.client)
    guard = ReplayGuard(deps.db, deps.store_health)
    app = build_app(deps, authorization, guard)
    return Service(deps, app, authorization, session, guard=guard)
