"""Builds the Bolt app and its services; registers every listener."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.clock import Clock, SystemClock
from bot.commands import admin, approval, request, router  # noqa: F401 - handlers register
from bot.context import Deps, Inflight
from bot.jobs.outbox import Deliverer
from bot.licensing.catalog import load_catalog
from bot.services.ledger import Rules
from bot.settings import Settings
from bot.slack import AdminDirectory, make_client
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
    deliverer = Deliverer(db, client, clock, rules, settings.approvals_channel)
    return Deps(settings, rules, db, client, clock, admins, Inflight(), deliverer)


def build_app(deps: Deps) -> AsyncApp:
    secret = deps.settings.slack_signing_secret
    app = AsyncApp(
        client=deps.client,
        signing_secret=secret.get_secret_value() if secret else "",
        # Slack's own retries of events find decided requests decided (compare-and-set).
        process_before_response=False,
    )
    router.register(app, deps)
    request.register(app, deps)
    approval.register(app, deps)
    return app


@dataclass
class Service:
    """The running pieces of `licensebot serve`, for the CLI and for tests."""

    deps: Deps
    app: AsyncApp

    def web_app(self) -> web.Application:
        """HTTP: POST /slack/events (signed), GET /healthz (200 once the store is open)."""
        web_app = self.app.web_app(path=EVENTS_PATH)
        web_app.router.add_get("/healthz", self._healthz)
        return web_app

    async def _healthz(self, _: web.Request) -> web.Response:
        ok = await self.deps.db.ping()
        return web.json_response({"ok": ok}, status=200 if ok else 503)

    async def close(self) -> None:
        await self.deps.inflight.wait_idle()
        await self.deps.db.close()


async def build_service(settings: Settings, clock: Clock | None = None) -> Service:
    deps = await build_deps(settings, clock)
    return Service(deps, build_app(deps))
